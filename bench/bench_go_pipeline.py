"""The Go training input pipeline alone (no model): positions/s of `dataset.stream` today and at
an earlier revision, alternating, on the same `dl go data` run.

    .venv/bin/python bench/bench_go_pipeline.py DATA_RUN [--baseline efeb088] [--seconds 30] [--rounds 2]

Writes bench/results/go-pipeline.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from baseline import old_module  # noqa: E402


def rate(module, folder: Path, manifest: dict, seconds: float) -> float:
    """Positions/s over `seconds` of batches, after the first few (start-up, first window read)."""
    stream = module.stream(folder, manifest, "train", batch_size=128, augment=True, seed=0)
    data = stream[0]
    started = time.perf_counter()
    counted = begun = None
    for index, (planes, _) in enumerate(data):
        if index == 20:
            begun, counted = time.perf_counter(), 0
        elif begun is not None:
            counted += int(planes.shape[0])
            if time.perf_counter() - begun > seconds:
                break
        if time.perf_counter() - started > 10 * seconds:
            break
    return counted / (time.perf_counter() - begun)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_run", type=Path)
    parser.add_argument("--baseline", default="efeb088")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    from dlcli.go import dataset

    old = old_module(options.baseline, "dlcli/go/dataset.py")
    folder, manifest = dataset.load_manifest(options.data_run)
    rounds = {"current": [], "baseline": []}
    for _ in range(options.rounds):
        rounds["baseline"].append(round(rate(old, folder, manifest, options.seconds), 1))
        rounds["current"].append(round(rate(dataset, folder, manifest, options.seconds), 1))
        print(json.dumps(rounds), flush=True)
    results = {"command": " ".join(["bench/bench_go_pipeline.py", *sys.argv[1:]]), "baseline_revision": options.baseline,
               "positions_per_s": rounds, "ratio_best": round(max(rounds["current"]) / max(rounds["baseline"]), 2)}
    (ROOT / "bench" / "results" / "go-pipeline.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
