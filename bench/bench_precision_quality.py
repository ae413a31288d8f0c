"""The quality side of `--precision auto` (issue 12): does a family train as well in mixed
bfloat16 as in float32? Each family's command runs on the whole real data, at a length where its
metric has settled, for several seeds in both precisions (alternating, so a load on the machine
falls on both). Per family: the metric's mean and spread per precision, the median epoch time of
each, and a verdict that `dlcli.precision.GAINS_FROM_BFLOAT16` follows.

    DLCLI_DATA_DIR=../shared/datasets .venv/bin/python bench/bench_precision_quality.py [--seeds 3] [--only cnn-mnist ...]

Every finished run is written to bench/results/precision-quality.json at once, and runs already
there are skipped, so a stopped invocation continues where it was (the same command again).
A family "gains" when bfloat16's median epoch time is at most 0.9x float32's and its mean metric
is no worse than float32's mean by more than the larger of the two seed spreads (standard
deviations). Never part of the tests.
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
RESULTS = ROOT / "bench" / "results" / "precision-quality.json"
PRECISIONS = ("float32", "bfloat16")
FASTER = 0.9  # bfloat16's epoch time at most this share of float32's

# family -> (`dlcli.precision` family, command after `dl` without --seed/--precision, metric, higher is better)
FAMILIES = {
    "dense-mnist": ("classify", ["classify", "mnist"], "test_accuracy", True),
    "cnn-mnist": ("cnn", ["cnn", "mnist", "--pool", "--dropout", "0.5"], "test_accuracy", True),
    "cnn-cifar10": ("cnn", ["cnn", "cifar10", "--dropout", "0.25", "--augment", "--epochs", "20"], "test_accuracy",
                    True),
    # ResNet-20 as its course row trains it (bench_course.py resnet20-*), over 5 epochs of the
    # one-cycle schedule: the course's 378 M-MAC tower would take about 10 hours for 3 seeds here
    "resnet-cifar10": ("resnet", ["resnet", "cifar10", "--depth", "20", "--optimizer", "sgd", "--momentum", "0.9",
                                  "--learning-rate", "0.1", "--schedule", "one-cycle", "--batch-size", "128",
                                  "--epochs", "5"], "test_accuracy", True),
    "vae-mnist": ("vae", ["vae", "mnist", "--epochs", "10"], "test_total_loss", False),
}


def run(args: list[str], precision: str, seed: int, runs_dir: Path, env: dict) -> dict:
    trained = bench_precision.train([*args, "--seed", str(seed)], precision, runs_dir, env)
    if "error" in trained:
        raise SystemExit(f"dl {' '.join(args)} --seed {seed} --precision {precision} failed: {trained['error']}")
    metrics = trained["metrics"]
    return {"metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
            "epoch_s": statistics.median(metrics["epoch_seconds"]),
            "precision_used": trained["config"].get("precision_used"), "process_s": trained["process_s"]}


def summary(runs: dict, metric: str, higher: bool) -> dict:
    """Mean and spread of `metric` per precision, the epoch-time ratio, and the verdict."""
    values = {p: [r["metrics"][metric] for r in runs[p].values()] for p in PRECISIONS}
    times = {p: statistics.median(r["epoch_s"] for r in runs[p].values()) for p in PRECISIONS}
    mean = {p: statistics.fmean(v) for p, v in values.items()}
    spread = {p: statistics.stdev(v) if len(v) > 1 else 0.0 for p, v in values.items()}
    loss = (mean["float32"] - mean["bfloat16"]) if higher else (mean["bfloat16"] - mean["float32"])
    ratio = times["bfloat16"] / times["float32"]
    as_well = loss <= max(spread.values())
    return {"seeds": len(values["float32"]), "mean": mean, "std": spread, "epoch_s": times,
            "bfloat16_time_ratio": round(ratio, 3), "bfloat16_worse_by": loss, "as_well": as_well,
            "faster": ratio <= FASTER, "gains": as_well and ratio <= FASTER}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(FAMILIES), help="families to run (default: all)")
    parser.add_argument("--limit", type=int, help="train on N samples (a smoke test of this script; results not kept)")
    options = parser.parse_args()
    from dlcli import lowprecision

    if "DLCLI_DATA_DIR" not in os.environ:
        parser.error("set DLCLI_DATA_DIR to the real datasets (../shared/datasets)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = RESULTS if options.limit is None else Path(tempfile.mkdtemp()) / "precision-quality.json"
    results = json.loads(out.read_text()) if out.exists() else {"families": {}}
    results.update(machine=lowprecision.cpu_description(), cpus_usable=len(os.sched_getaffinity(0)),
                   rule=f"gains: bfloat16 epoch time <= {FASTER} x float32's and mean metric no worse than "
                        "the larger seed std")
    with tempfile.TemporaryDirectory() as runs_dir:
        for name in options.only or FAMILIES:
            family, args, metric, higher = FAMILIES[name]
            args = [*args, "--limit", str(options.limit)] if options.limit else args
            entry = results["families"].setdefault(name, {"family": family, "metric": metric, "higher_is_better": higher,
                                                          "command": "dl " + " ".join(args) + " --seed S --precision P",
                                                          "runs": {p: {} for p in PRECISIONS}})
            for seed in range(options.seeds):
                for precision in PRECISIONS if seed % 2 == 0 else PRECISIONS[::-1]:
                    if str(seed) in entry["runs"][precision]:
                        continue
                    entry["runs"][precision][str(seed)] = run(args, precision, seed, Path(runs_dir), env)
                    out.write_text(json.dumps(results, indent=2) + "\n")
                    print(name, precision, seed, entry["runs"][precision][str(seed)]["metrics"].get(metric), flush=True)
            entry["summary"] = summary(entry["runs"], metric, higher)
            out.write_text(json.dumps(results, indent=2) + "\n")
            print(name, json.dumps(entry["summary"]), flush=True)
    print(out)


if __name__ == "__main__":
    main()
