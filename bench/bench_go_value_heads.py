"""Which value head learns on a trained trunk? Each variant starts from the same network's trunk
and policy head (`--init`), with a fresh value head, and trains all of it on the same positions of
a `dl go data` run; then the held-out value MSE (a constant 0.5 scores 0.25).

    .venv/bin/python bench/bench_go_value_heads.py DATA_RUN INIT_NETWORK [--positions 200000]
        [--variants course relative spatial]

Variants: `course` (GlobalAveragePooling, Dense 50 relu, Dense 1 sigmoid), `relative` (the same
read from the side to move's point of view: `dl go train --value-head relative`), `spatial` (1x1
convolution to 2 planes, Flatten, Dense 16 relu, Dense 1 sigmoid: keeps where things are).
Appends one object per variant to bench/results/go-value-heads.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "go-value-heads.json"


def build(variant: str, filters: int, blocks: int):
    import keras
    from keras import layers

    from dlcli.models import gonets

    if variant in gonets.VALUE_HEADS:
        return gonets.build_go_baseline(filters=filters, blocks=blocks, value_head=variant)
    model = gonets.build_go_baseline(filters=filters, blocks=blocks)
    trunk = next(layer for layer in model.layers if isinstance(layer, layers.GlobalAveragePooling2D)).input
    value = layers.Conv2D(2, 1, activation="relu", kernel_regularizer=gonets._l2())(trunk)
    value = layers.Dense(16, activation="relu", kernel_regularizer=gonets._l2())(layers.Flatten()(value))
    value = layers.Dense(1, activation="sigmoid", name="value", kernel_regularizer=gonets._l2(), dtype="float32")(value)
    return keras.Model(model.input, [model.get_layer("policy").output, value], name="go_baseline")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_run", type=Path)
    parser.add_argument("init", type=Path)
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--validation-positions", type=int, default=12_000)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--value-weight", type=float, default=1.0)
    parser.add_argument("--variants", nargs="+", default=["course", "relative", "spatial"])
    args = parser.parse_args()

    import keras

    from dlcli import precision
    from dlcli.go.dataset import load_manifest, stream
    from dlcli.models import gonets

    precision.apply("bfloat16")
    folder, manifest = load_manifest(args.data_run)
    source = keras.saving.load_model(args.init, compile=False)
    convolutions = [layer for layer in source.layers if isinstance(layer, keras.layers.Conv2D)]
    filters, blocks = convolutions[0].filters, len(convolutions) - 2  # stem, the blocks, the policy's 1x1
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for variant in args.variants:
        keras.utils.set_random_seed(7)
        model = build(variant, filters, blocks)
        gonets.copy_weights(model, source, fresh_value_head=True)
        train, steps, clock = stream(folder, manifest, "train", batch_size=128, augment=True, seed=7,
                                     limit=args.positions)
        held_out, _, _ = stream(folder, manifest, "validation", batch_size=512, shuffle=False,
                                limit=args.validation_positions)
        gonets.compile_go(model, learning_rate=keras.optimizers.schedules.CosineDecay(args.learning_rate, steps),
                          value_weight=args.value_weight)
        start = time.perf_counter()
        history = model.fit(train, epochs=1, verbose=2, callbacks=[clock.callback])
        scores = model.evaluate(held_out, return_dict=True, verbose=0)
        results.append({"variant": variant, "parameters": int(model.count_params()), "init": str(args.init),
                        "data": str(args.data_run), "positions": args.positions, "learning_rate": args.learning_rate,
                        "value_weight": args.value_weight, "precision": "bfloat16",
                        "train_value_mse": float(history.history["value_mse"][-1]),
                        "val_value_mse": float(scores["value_mse"]), "val_policy_accuracy": float(scores["policy_accuracy"]),
                        "validation_positions": args.validation_positions, "seconds": round(time.perf_counter() - start, 1),
                        "command": " ".join(sys.argv)})
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
