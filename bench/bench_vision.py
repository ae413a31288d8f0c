"""Benchmarks of `dl cnn`, `dl resnet` and `dl mobilenet` on the real datasets (never part of the tests).

Runs through the real `dl` CLI (seed 0) and measures:
  - mnist: `cnn mnist --pool --dropout` test accuracy (target >= 0.992), all 60,000 training images;
  - cifar: `cnn cifar10 --dropout --augment` (the course's three-conv model) test accuracy;
  - resnet: `resnet cifar10 --compare plain`: the course's residual tower and the plain tower of the
    same depth, trained at equal epochs in one invocation, side by side (on --limit images: the
    tower costs 0.38 GMAC per image, too much for all of CIFAR-10 on 2 CPU cores);
  - mobilenet: parameters, MACs per image and per-epoch seconds of each `mobilenet --block` at the
    same trunk width (16), each the median of its epochs after the first (which traces).
Usage: python bench/bench_vision.py DATA_DIR [--only mnist,cifar,resnet,mobilenet]
Writes bench/results/vision.json (each part merged in as it finishes) and prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DL = [sys.executable, "-m", "dlcli"]
RESULTS = HERE / "results" / "vision.json"

# Every command exactly as run; the numbers in docs/benchmarks.md come from these.
COMMANDS = {
    "mnist": ["cnn", "mnist", "--pool", "--dropout", "0.5", "--batch-size", "128", "--epochs", "8", "--validation", "0"],
    "cifar": ["cnn", "cifar10", "--dropout", "0.25", "--augment"],
    "resnet": ["resnet", "cifar10", "--compare", "--limit", "2000", "--epochs", "3"],
}
MOBILE = ["mobilenet", "cifar10", "--trunk", "16", "--blocks", "5", "--limit", "2000", "--epochs", "3"]
BLOCKS = ("mobilenet", "shufflenet", "convnext")
MNIST_TARGET = 0.992


def run_json(args: list[str], env: dict[str, str], runs: Path) -> dict:
    """Run `dl ARGS --quiet --json`; return its metrics plus the wall time."""
    started = time.perf_counter()
    command = [*DL, *args, "--quiet", "--json", "--runs-dir", str(runs)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    return {**out, "command": "dl " + " ".join(args), "process_wall_s": round(time.perf_counter() - started, 1)}


def summary(out: dict) -> dict:
    keep = ("command", "test_accuracy", "test_loss", "parameters", "macs_per_image", "epochs", "train_samples",
            "test_samples", "epoch_seconds", "process_wall_s", "compare", "run")
    return {key: out[key] for key in keep if key in out}


def mobilenet_blocks(env, runs) -> dict:
    """Each block at trunk 16, one after the other in the same invocation."""
    results = {}
    for block in BLOCKS:
        out = run_json([*MOBILE, "--block", block], env, runs)
        seconds = json.loads((Path(out["run"]) / "metrics.json").read_text())["epoch_seconds"]  # not in --json
        later = seconds[1:] or seconds
        results[block] = {**summary(out), "epoch_seconds": seconds, "median_epoch_s": round(statistics.median(later), 2)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--only", default="mnist,cifar,resnet,mobilenet")
    args = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(args.data_dir.resolve()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as temporary:
        runs = Path(temporary)
        for part in args.only.split(","):
            if part == "mobilenet":
                result = mobilenet_blocks(env, runs)
            else:
                result = summary(run_json(COMMANDS[part], env, runs))
                if part == "mnist":
                    result.update(target=f">= {MNIST_TARGET}", met=result["test_accuracy"] >= MNIST_TARGET)
            result["measured"] = time.strftime("%Y-%m-%d %H:%M")
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # parts may run in parallel
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps({**results, part: result}, indent=2) + "\n")
            print(json.dumps({part: result}, indent=2), flush=True)


if __name__ == "__main__":
    main()
