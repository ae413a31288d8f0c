"""`--precision auto|float32|bfloat16`: Keras' mixed bfloat16 where the hardware computes it and
the model family is measured to gain (docs/benchmarks.md), float32 elsewhere.

Mixed bfloat16 keeps the variables in float32 and computes in bfloat16; the layers that produce a
model's outputs (softmax, sigmoid heads) compute in float32 (`outputs_in_float32`, or built so).
"""

from __future__ import annotations

from pathlib import Path

PRECISIONS = ("auto", "float32", "bfloat16")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
# families measured to train faster in mixed bfloat16, as well, on a CPU with AVX512_BF16
# (bench/bench_go_towers.py: 1.8-2.4x for the plain towers, 1.2x with batch norm); every other
# family stays float32 under `auto` until bench/ measures it
GAINS_FROM_BFLOAT16 = {"go_baseline", "go_residual"}


def hardware_has_bfloat16() -> bool:
    """A CPU with AVX512_BF16 or AMX, or a GPU that computes in bfloat16 (compute capability 8+)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        flags = ""
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return True
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
        if capability >= (8, 0):
            return True
    return False


def choose(requested: str, family: str) -> str:
    """'float32' or 'bfloat16' for `requested` (auto decides by hardware and measured family)."""
    if requested != "auto":
        return requested
    return "bfloat16" if family in GAINS_FROM_BFLOAT16 and hardware_has_bfloat16() else "float32"


def apply(precision: str) -> None:
    """Set Keras' global dtype policy for the models built from now on."""
    import keras

    keras.mixed_precision.set_global_policy(POLICIES[precision])


def outputs_in_float32(model) -> None:
    """Make the layers that produce `model`'s outputs compute in float32 (a softmax in bfloat16
    rounds small probabilities away); nested models are followed to their own output layers."""
    import keras

    for output in getattr(model, "outputs", None) or []:
        layer = output._keras_history.operation
        if isinstance(layer, keras.Model):
            outputs_in_float32(layer)
        elif isinstance(layer, keras.layers.Layer):
            layer.dtype_policy = keras.DTypePolicy("float32")
