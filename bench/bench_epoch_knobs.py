"""What stands between an epoch and this CPU's peak (issue 12): for the course's dense net, its
MNIST and CIFAR-10 convnets and its Transformer classifier, one process trains the same network
under each knob in turn, alternating round after round so a load on the machine falls on all:

  reference   float32, batch 128, NumPy arrays into `fit`, no XLA (what `dl` does)
  jit         the same with `jit_compile=True` (XLA)
  batch 32 / batch 512
  tf.data     a `tf.data` pipeline (cached tensors, batched, prefetched) instead of NumPy arrays
  bfloat16    Keras' mixed_bfloat16 policy, outputs in float32 (`--precision bfloat16`)
  bfloat16 + jit

Each variant builds its network afresh (seed 0), trains one epoch to trace, then times two
epochs on a slice of the real training data: samples per second, and the multiply-accumulates
per second they make (dlcli.models.macs x3 for forward + backward) as a share of the practical
peak that bench/bench_precision.py measured in the same precision (bench/results/precision.json).

    DLCLI_DATA_DIR=../shared/datasets taskset -c 0 .venv/bin/python bench/bench_epoch_knobs.py [--rounds 2] [--only dense cnn-mnist ...]

Writes bench/results/epoch-knobs.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "epoch-knobs.json"
PEAKS = ROOT / "bench" / "results" / "precision.json"

VARIANTS = {  # name -> (precision, batch size, jit_compile, tf.data)
    "reference": ("float32", 128, False, False),
    "jit": ("float32", 128, True, False),
    "batch 32": ("float32", 32, False, False),
    "batch 512": ("float32", 512, False, False),
    "tf.data": ("float32", 128, False, True),
    "bfloat16": ("bfloat16", 128, False, False),
    "bfloat16 + jit": ("bfloat16", 128, True, False),
}
# family -> (dataset, model kind, builder options, samples, the shape MACs are counted on, loss)
FAMILIES = {
    "dense": ("mnist", "dense", {}, 20_000, None, "sparse_categorical_crossentropy"),
    "cnn-mnist": ("mnist", "mnist_cnn", {"pool": True, "dropout": 0.5}, 6_000, None, "sparse_categorical_crossentropy"),
    "cnn-cifar10": ("cifar10", "cifar_cnn", {"dropout": 0.25}, 6_000, None, "sparse_categorical_crossentropy"),
    "transformer-imdb": ("imdb", "transformer_classifier", {}, 256, (600,), "binary_crossentropy"),
}
# the Transformer trains about 8 reviews a second here: its slice is too small for batch 512, and
# its input is never the bottleneck, so it is measured on the knobs that change its arithmetic
ONLY_VARIANTS = {"transformer-imdb": ("reference", "jit", "batch 32", "bfloat16", "bfloat16 + jit")}


def arrays(family: str):
    """(x, y, input shape, outputs) of the family's slice, prepared as its command prepares them."""
    import keras
    import numpy as np

    from dlcli.data import registry

    dataset, _, _, samples, _, _ = FAMILIES[family]
    data = registry.load(dataset, limit=samples, download=False)
    if dataset == "imdb":
        x = keras.utils.pad_sequences(data.x_train, maxlen=600, dtype="int64", padding="post", truncating="post")
        return x, data.y_train.astype("float32"), (600,), 1
    x = data.x_train.astype("float32") / 255.0
    if family == "dense":
        x = x.reshape(len(x), -1)
    elif x.ndim == 3:
        x = x[..., None]
    return x, data.y_train, x.shape[1:], 10


def measure(family: str, variant: str, x, y, input_shape, outputs) -> dict:
    import keras
    import tensorflow as tf

    from dlcli import lowprecision, models, precision

    _, kind, options, _, _, loss = FAMILIES[family]
    dtype, batch, jit, pipeline = VARIANTS[variant]
    precision.apply(dtype)
    keras.utils.set_random_seed(0)
    model = models.build(kind, input_shape, outputs, **options)
    if dtype == "bfloat16":
        lowprecision.outputs_in_float32(model)
    model.compile(optimizer="adam" if kind != "dense" else "rmsprop", loss=loss, metrics=["accuracy"],
                  jit_compile=jit)
    if pipeline:
        data = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(x), seed=0).batch(batch)
        fit = lambda epochs: model.fit(data.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=0)  # noqa: E731
    else:
        fit = lambda epochs: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)  # noqa: E731
    fit(1)  # tracing, XLA compilation
    started = time.perf_counter()
    history = fit(2)
    seconds = time.perf_counter() - started
    precision.apply("float32")
    return {"samples_per_s": round(2 * len(x) / seconds, 1), "loss": round(float(history.history["loss"][-1]), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    from dlcli import lowprecision
    from dlcli.models import macs

    peaks = json.loads(PEAKS.read_text()).get("peak_macs_per_s", {}) if PEAKS.exists() else {}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"families": {}}
    results.update(machine=lowprecision.cpu_description(), cpus_usable=len(os.sched_getaffinity(0)),
                   command=" ".join(["bench/bench_epoch_knobs.py", *sys.argv[1:]]), peaks_from=PEAKS.name,
                   peak_macs_per_s=peaks, variants={k: dict(zip(("precision", "batch_size", "jit_compile", "tf_data"), v))
                                                   for k, v in VARIANTS.items()})
    for family in [f for f in FAMILIES if not args.only or f in args.only]:
        x, y, input_shape, outputs = arrays(family)
        from dlcli import models

        _, kind, options, _, shape, _ = FAMILIES[family]
        per_sample = int(macs.count_macs(models.build(kind, input_shape, outputs, **options), shape or input_shape))
        runs = {variant: [] for variant in ONLY_VARIANTS.get(family, VARIANTS)}
        for _ in range(args.rounds):
            for variant in runs:
                runs[variant].append(measure(family, variant, x, y, input_shape, outputs))
                print(family, variant, runs[variant][-1], flush=True)
        rates = {v: statistics.median(r["samples_per_s"] for r in rs) for v, rs in runs.items()}
        entry = {"samples": len(x), "macs_per_sample": per_sample, "runs": runs, "samples_per_s": rates,
                 "speed_vs_reference": {v: round(r / rates["reference"], 3) for v, r in rates.items()}}
        if peaks:
            entry["share_of_peak"] = {v: round(3 * per_sample * r / peaks[VARIANTS[v][0]], 4) for v, r in rates.items()}
        results["families"][family] = entry
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
