"""Why the IMDB Transformer misses 0.87 (issue 12): which padding mask its attention uses.

The course's `TransformerEncoder` calls `MultiHeadAttention(inputs, inputs, attention_mask=mask[:,
None, :])`. Under TensorFlow 2.6, where DLwP measured 0.87-0.88, that masks the padded *keys* only:
each of the up to 600 positions, padding included, attends to the review's words, and global max
pooling sees all of them. Keras 3 (3.15) also masks the padded *queries* (from the mask its inputs
carry), and its fused `dot_product_attention` path gives a fully masked row a uniform weight over
every position: each padded position gets the mean of all 600 values, padding included, so the
shorter the review, the more its words are diluted there. `dl classify imdb --network transformer`
(dlcli/models/transformer.py) does the latter (checked: its attention mask's padded rows are all
False, and its padded positions' outputs still differ between reviews).

This trains both on the same data as `dl classify imdb --network transformer` (20,000 reviews,
the first 5,000 of the training set validate, batch 32, rmsprop), same seed, alternating epoch by
epoch in one process so that a load on the machine falls on both, and tests each at its best
validation-loss epoch:

    keys   the course's code under TF 2.6: padded keys masked, every query attends
    query  Keras 3 (ours): padded keys and queries masked (padded queries: uniform attention)

both with Keras 3's RMSprop; `--variants query-tf2-rmsprop` (or keys-tf2-rmsprop) trains the same
with RMSprop as TF 2 computed it, `dl`'s optimizer for this network since 2026-12-02.

    DLCLI_DATA_DIR=../shared/datasets taskset -c 1 .venv/bin/python bench/bench_imdb_mask.py --epochs 3

About 22 min per variant-epoch on one core (1,270-1,370 s measured). After each variant-epoch the model (with its optimizer)
is saved under --state-dir and its record written to bench/results/imdb-mask.json, so the same
command continues a stopped invocation. `--limit N --validation-samples M` make a smoke test.
Never part of the tests. bench/results/imdb-mask.json was made at commit 4b38d95, whose "keys" model
was a bench-only MultiHeadAttention that cleared the query's mask: the same computation as
`mask_queries=False`, which it now uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from dlcli import training  # noqa: E402
from dlcli.commands.families import dense  # noqa: E402
from dlcli.data import registry  # noqa: E402
from dlcli.models import transformer  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "imdb-mask.json"
# variant -> (mask padded queries too, RMSprop as TF 2 computed it: dlcli.training.TF2_RMSPROP_EPSILON)
VARIANTS = {"keys": (False, False), "query": (True, False), "query-tf2-rmsprop": (True, True),
            "keys-tf2-rmsprop": (False, True)}


def build(variant: str, data, settings, seed: int):
    """`dl classify`'s Transformer classifier; for "keys", its encoders with `mask_queries=False`
    (read when the layer is called, so set before the first training step). Each variant compiles
    its own RMSprop: Keras 3's (`sqrt(v + 1e-7)`, what `dl` used before 2026-12-02) or, for the
    "-tf2-rmsprop" variants, TF 2's (`sqrt(v) + 1e-7`, what `dl` uses now; see dlcli/training.py)."""
    keras.utils.set_random_seed(seed)
    model = dense.build_model(data, settings, kind="transformer")
    mask_queries, tf2_rmsprop = VARIANTS[variant]
    for layer in model.layers:
        if isinstance(layer, transformer.TransformerEncoder):
            layer.mask_queries = mask_queries
    return training.compile_model(model, optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                                  loss=data.loss, metrics=data.metrics, tf2_rmsprop=tf2_rmsprop)


def kernel_change(initial, trained) -> dict[str, float]:
    """How far training moved each attention kernel (and the embeddings) from its initial value:
    |trained - initial| / |initial| (Frobenius norms), by weight path."""
    import numpy as np

    start = {weight.path: weight.numpy() for weight in initial.weights}
    return {weight.path: round(float(np.linalg.norm(weight.numpy() - start[weight.path]) / np.linalg.norm(start[weight.path])), 4)
            for weight in trained.weights
            if weight.path in start and (("attention" in weight.path and "kernel" in weight.path) or "embeddings" in weight.path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="smoke tests: the first N reviews of each split")
    parser.add_argument("--validation-samples", type=int, default=None, help="smoke tests (default 5,000)")
    parser.add_argument("--state-dir", type=Path, default=Path("/work/imdb-mask"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["keys", "query"])
    options = parser.parse_args()
    settings = dense.resolve("imdb", "transformer", validation_samples=options.validation_samples)
    dataset = registry.load("imdb", limit=options.limit, num_words=settings.num_words, download=False)
    data = dense.prepare(dataset, settings.num_words, kind="transformer")
    (x_train, y_train), (x_val, y_val) = dense.split_validation(data.x_train, data.y_train, settings)
    key = f"seed{options.seed}" + (f"-limit{options.limit}" if options.limit else "")
    results = json.loads(options.results.read_text()) if options.results.exists() else {}
    run = results.setdefault(key, {"command": " ".join(sys.argv[1:]), "settings": settings.as_dict(),
                                   "epochs": {}})
    for variant in options.variants:
        run["epochs"].setdefault(variant, [])
    state = options.state_dir / key
    state.mkdir(parents=True, exist_ok=True)
    models = {}
    for variant in options.variants:
        saved = state / f"{variant}-last.keras"
        models[variant] = keras.saving.load_model(saved) if run["epochs"][variant] else build(
            variant, data, settings, options.seed)

    def save() -> None:
        options.results.write_text(json.dumps(results, indent=2) + "\n")

    for epoch in range(1, options.epochs + 1):
        for variant in options.variants:
            if len(run["epochs"][variant]) >= epoch:
                continue
            model = models[variant]
            started = time.perf_counter()
            history = model.fit(x_train, y_train, batch_size=settings.batch_size, epochs=epoch, initial_epoch=epoch - 1,
                                validation_data=(x_val, y_val), verbose=0)
            record = {"epoch": epoch, "seconds": round(time.perf_counter() - started, 1),
                      **{name: round(float(values[-1]), 5) for name, values in history.history.items()}}
            model.save(state / f"{variant}-last.keras")
            best = min(run["epochs"][variant], key=lambda r: r["val_loss"], default=None)
            if best is None or record["val_loss"] < best["val_loss"]:
                model.save(state / f"{variant}-best.keras")
            run["epochs"][variant].append(record)
            print(json.dumps({"variant": variant, **record}), flush=True)
            save()
    run.setdefault("test", {})
    for variant in options.variants:
        best_epoch = min(run["epochs"][variant], key=lambda r: r["val_loss"])["epoch"]
        model = keras.saving.load_model(state / f"{variant}-best.keras")
        loss, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0)
        run["test"][variant] = {"best_epoch": best_epoch, "test_loss": round(float(loss), 5),
                                "test_accuracy": round(float(accuracy), 5),
                                "kernel_change": kernel_change(build(variant, data, settings, options.seed), model)}
        print(json.dumps({"variant": variant, **run["test"][variant]}), flush=True)
    save()


if __name__ == "__main__":
    main()
