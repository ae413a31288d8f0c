"""`--precision auto|float32|bfloat16`: Keras' mixed bfloat16 where the hardware computes it and
the model family is measured to gain (docs/benchmarks.md), float32 elsewhere.

Mixed bfloat16 keeps the variables in float32 and computes in bfloat16; the layers that produce a
model's outputs (softmax, sigmoid heads) compute in float32 (`outputs_in_float32`, or built so).
"""

from __future__ import annotations

from dlcli.lowprecision import hardware_has_bfloat16, outputs_in_float32  # noqa: F401 - used by session

PRECISIONS = ("auto", "float32", "bfloat16")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
# families measured to train faster in mixed bfloat16, as well, on a CPU with AVX512_BF16: the Go
# towers (bench/bench_go_towers.py: 1.8-2.4x for the plain towers, 1.2x with batch norm) and the
# verdicts of bench/bench_precision_quality.py (whole data, 3 seeds each way): `classify` is the
# dense network, 0.88x the epoch at equal accuracy (the Transformer classifier is
# `classify_transformer`); `cnn` the course's convnets, 0.27x (MNIST) and 0.88x (CIFAR-10 with
# augmentation) at equal accuracy; every other family stays float32 under `auto` until bench/
# measures it
GAINS_FROM_BFLOAT16 = {"go_baseline", "go_residual", "classify", "cnn"}


def choose(requested: str, family: str) -> str:
    """'float32' or 'bfloat16' for `requested` (auto decides by hardware and measured family)."""
    if requested != "auto":
        return requested
    return "bfloat16" if family in GAINS_FROM_BFLOAT16 and hardware_has_bfloat16() else "float32"


def apply(precision: str) -> None:
    """Set Keras' global dtype policy for the models built from now on."""
    import keras

    keras.mixed_precision.set_global_policy(POLICIES[precision])
