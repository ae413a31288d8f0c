"""Threads (issue 12): how much faster does an epoch train on both of this machine's cores than
on one? TensorFlow sizes its thread pools to the CPUs a process may use, so each run is a fresh
`dl` process under `taskset -c 0` (one core) or `taskset -c 0,1` (two), alternating, round after
round, so a drift of the machine's speed falls on both. Each run trains 2 epochs on a slice of
the real data; the second epoch's wall time (the run's metrics.json `epoch_seconds`, start-up and
tracing left out) is compared. Run it with both cores otherwise idle.

    DLCLI_DATA_DIR=../shared/datasets .venv/bin/python bench/bench_threads.py [--rounds 2] [--only dense ...]

Writes bench/results/threads.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_precision  # noqa: E402  (its `train`: one `dl` run and what it wrote)
RESULTS = ROOT / "bench" / "results" / "threads.json"
CPUS = {"1 core": "0", "2 cores": "0,1"}

# family -> (command after `dl`, precision)
FAMILIES = {
    "dense": (["classify", "mnist", "--limit", "20000"], "float32"),
    "mnist-convnet": (["cnn", "mnist", "--limit", "6000", "--validation", "0"], "float32"),
    "cifar-convnet": (["cnn", "cifar10", "--limit", "6000", "--validation", "0"], "float32"),
    "cifar-convnet-bfloat16": (["cnn", "cifar10", "--limit", "6000", "--validation", "0"], "bfloat16"),
    "transformer-classifier": (["classify", "imdb", "--network", "transformer", "--limit", "300",
                                "--validation-samples", "60"], "float32"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=list(FAMILIES), help="families to run (default: all)")
    options = parser.parse_args()
    from dlcli import lowprecision

    if "DLCLI_DATA_DIR" not in os.environ:
        parser.error("set DLCLI_DATA_DIR to the real datasets (../shared/datasets)")
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs two CPUs (cores 0 and 1)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = {"machine": lowprecision.cpu_description(), "rounds": options.rounds,
               "command": "dl ARGS --epochs 2 --seed 0 --precision P under taskset -c CPUS", "families": {}}
    with tempfile.TemporaryDirectory() as runs_dir:
        for name in options.only or FAMILIES:
            args, precision = FAMILIES[name]
            entry = results["families"][name] = {"command": "dl " + " ".join(args) + f" --epochs 2 --seed 0 --precision {precision}",
                                                 "epoch_s": {label: [] for label in CPUS}}
            for round_ in range(options.rounds):
                for label in CPUS if round_ % 2 == 0 else list(CPUS)[::-1]:
                    trained = bench_precision.train([*args, "--epochs", "2", "--seed", "0"], precision, Path(runs_dir), env,
                                                    cpus=CPUS[label])
                    if "error" in trained:
                        raise SystemExit(f"{name} on {label}: {trained['error']}")
                    entry["epoch_s"][label].append(round(trained["metrics"]["epoch_seconds"][-1], 2))
                    print(name, label, entry["epoch_s"][label][-1], flush=True)
            one, two = (statistics.median(entry["epoch_s"][label]) for label in CPUS)
            entry["speedup_2_cores"] = round(one / two, 2)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            print(name, "2 cores:", entry["speedup_2_cores"], "x", flush=True)
    print(RESULTS)


if __name__ == "__main__":
    main()
