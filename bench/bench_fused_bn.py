"""Keras 3's BatchNormalization against the same layers routed through TensorFlow's fused kernel
(`dlcli.fusedbn`, what `training.fit` does), on whole models with batch normalisation: each
model trains one epoch of real CIFAR-10 images (Go towers: random planes) after a warm-up, in
float32 and mixed bfloat16, the two ways alternating round after round in one process so that a
load on the machine falls on both. Also the loss after the timed epoch each way (same seed,
same batches: equal up to rounding).

    DLCLI_DATA_DIR=../shared/datasets .venv/bin/python bench/bench_fused_bn.py [--rounds 2] [--samples 2048]

Writes bench/results/fused_bn.json (with --only, replaces just those rows; each row keeps the
command and date that measured it). Run it on an otherwise idle machine (or pin it with taskset;
the results record the CPUs it could use). Never part of the tests.
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
RESULTS = ROOT / "bench" / "results" / "fused_bn.json"

# name -> (builder, its options, input kind): the towers of `dl mobilenet --stages 3`, `dl resnet`, `dl go train`
MODELS = {
    "mobilenet tower (3 stages x 3 blocks, trunk 16, expand 32)":
        ("mobile_tower", dict(block="mobilenet", stages=3, blocks=3, trunk=16, expand=32, flip=True, shift=0.125), "cifar"),
    "shufflenet tower (3 stages x 2 blocks, trunk 16, expand 96)":
        ("mobile_tower", dict(block="shufflenet", stages=3, blocks=2, trunk=16, expand=96, flip=True, shift=0.125), "cifar"),
    "convnext tower (3 stages x 3 blocks, trunk 12, expand 48)":
        ("mobile_tower", dict(block="convnext", stages=3, blocks=3, trunk=12, expand=48, flip=True, shift=0.125), "cifar"),
    "resnet20": ("resnet_v1", dict(depth=20), "cifar"),
    "go residual tower (32 filters, 5 blocks)": ("go_residual", dict(filters=32, blocks=5), "go"),
}


def inputs(kind: str, samples: int, data_dir: str | None):
    import numpy as np

    rng = np.random.default_rng(0)
    if kind == "go":
        planes = (rng.random((samples, 19, 19, 31)) < 0.2).astype("float32")
        policy = np.eye(361, dtype="float32")[rng.integers(0, 361, samples)]
        return planes, {"policy": policy, "value": rng.random(samples).astype("float32")}
    from dlcli import data
    from dlcli.data import transforms

    cifar = data.load("cifar10", data_dir=data_dir, limit=samples)
    return transforms.prepare_images(cifar.x_train, "cifar10"), cifar.y_train.astype("int64")


def epoch(builder: str, options: dict, x, y, *, fused: bool, precision: str, batch: int) -> dict:
    import keras

    from dlcli import fusedbn, models

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    keras.utils.set_random_seed(0)
    shape = x.shape[1:]
    model = models.build(builder, shape, 361 if builder == "go_residual" else 10, **options)
    layers = fusedbn.fuse(model) if fused else 0
    loss = {"policy": "categorical_crossentropy", "value": "mse"} if isinstance(y, dict) else "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.Adam(1e-3), loss)
    model.fit(x[:2 * batch], {k: v[:2 * batch] for k, v in y.items()} if isinstance(y, dict) else y[:2 * batch],
              batch_size=batch, epochs=1, shuffle=False, verbose=0)  # graph building, off the clock
    started = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - started
    keras.mixed_precision.set_global_policy("float32")
    return {"seconds": seconds, "samples_per_s": len(x) / seconds, "loss": float(history.history["loss"][-1]),
            "fused_layers": layers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2048, help="images (positions) per timed epoch")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--only", nargs="*", help="model names (substrings) to run")
    args = parser.parse_args()
    from dlcli import lowprecision

    rows = {}
    for name, (builder, options, kind) in MODELS.items():
        if args.only and not any(part in name for part in args.only):
            continue
        x, y = inputs(kind, args.samples, os.environ.get("DLCLI_DATA_DIR"))
        for precision in ("float32", "bfloat16"):
            runs: dict[str, list[dict]] = {"keras": [], "fused": []}
            for _ in range(args.rounds):
                for way in ("keras", "fused"):
                    runs[way].append(epoch(builder, options, x, y, fused=way == "fused", precision=precision,
                                           batch=args.batch))
            rate = {way: statistics.median(r["samples_per_s"] for r in runs[way]) for way in runs}
            rows[f"{name}, {precision}"] = {
                "keras_samples_per_s": round(rate["keras"], 1), "fused_samples_per_s": round(rate["fused"], 1),
                "time_ratio_fused_over_keras": round(rate["keras"] / rate["fused"], 3),
                "fused_layers": runs["fused"][0]["fused_layers"],
                "loss_keras": runs["keras"][-1]["loss"], "loss_fused": runs["fused"][-1]["loss"], "runs": runs}
            print(f"{name}, {precision}: keras {rate['keras']:.1f}/s, fused {rate['fused']:.1f}/s, "
                  f"time ratio {rate['keras'] / rate['fused']:.3f}", flush=True)
    command = " ".join(["bench/bench_fused_bn.py", *sys.argv[1:]])
    for row in rows.values():
        row.update(command=command, date=time.strftime("%Y-%m-%d"))
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.only else {}
    result = {"command": command, "samples": args.samples, "batch": args.batch, "rounds": args.rounds,
              "cpus_usable": len(os.sched_getaffinity(0)), "machine": lowprecision.cpu_description(),
              "models": {**earlier.get("models", {}), **rows}}  # --only: the other rows stay as measured
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(RESULTS)


if __name__ == "__main__":
    main()
