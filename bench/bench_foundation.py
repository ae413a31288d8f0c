"""Benchmarks of the foundation issue on the real datasets (never part of the tests).

Measures, through the real `dl` CLI with default settings:
  - test accuracy of `classify mnist`, `classify imdb`, `classify reuters`,
  - test MAE of `regress boston` and the k-fold mean validation MAE of `kfold boston`,
  - the wall time of `dl --help` against `python -c "import tensorflow"` (same invocation),
  - one epoch of `dl classify mnist` against the course's plain Keras script (bench/plain_mnist.py),
    alternating the two several times so that machine noise hits both alike;
  - with `--seeds 0,1,2`, the accuracy commands again with each other seed (the seed spread);
  - with `--kfold`, the k-fold variants of docs/kfold.md (defaults, 100 epochs, the course's batch 1,
    and 20 epochs, where the smoothed curve still remembers epoch 1), each with `--final`.
Usage: python bench/bench_foundation.py DATA_DIR [--skip-accuracy] [--skip-timing] [--seeds 0,1,2]
       [--kfold [defaults,epochs-100,course-loop,epochs-20]] [--repeats N]
Each invocation merges what it measured into the JSON (by seed and by k-fold variant), so parts can run
side by side.
Writes bench/results/foundation.json and prints a Markdown summary for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
DL = [PYTHON, "-m", "dlcli"]

TARGETS = {  # metric, comparison, bound
    "classify mnist": ("test_accuracy", ">=", 0.978),
    "classify imdb": ("test_accuracy", ">=", 0.88),
    "classify reuters": ("test_accuracy", ">=", 0.78),
    "regress boston": ("test_mae", "<=", 2.7),
    "kfold boston": ("mean_val_mae", "<=", 2.5),
}


def run_json(args: list[str], env: dict[str, str]) -> dict:
    """Run a command that prints one JSON object as its last stdout line."""
    completed = subprocess.run(args, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def wall(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, capture_output=True, env=env, check=True)
    return time.perf_counter() - started


def accuracy(env: dict[str, str], runs: Path, seed: int = 0) -> dict:
    """The targets' commands with one seed (k-fold, the slowest, with seed 0 only)."""
    results = {}
    for command, (metric, op, bound) in TARGETS.items():
        if seed and command.startswith("kfold"):
            continue
        started = time.perf_counter()
        out = run_json([*DL, *command.split(), "--seed", str(seed), "--quiet", "--json", "--runs-dir", str(runs)], env)
        value = out[metric]
        ok = value >= bound if op == ">=" else value <= bound
        results[command] = {"metric": metric, "value": value, "target": f"{op} {bound}", "met": ok,
                            "wall_s": round(time.perf_counter() - started, 1), "run": out["run"]}
        print(f"seed {seed} {command}: {metric} {value:.4f} (target {op} {bound}: {'met' if ok else 'MISSED'})", flush=True)
    return results


KFOLD_VARIANTS = {  # docs/kfold.md's table: label -> extra options of `dl kfold boston --final`
    "defaults": [],
    "epochs-100": ["--epochs", "100"],
    "course-loop": ["--batch-size", "1", "--epochs", "100"],  # the course's loop as written
    "epochs-20": ["--epochs", "20"],  # too few epochs to smooth
}


def kfold_variants(env: dict[str, str], runs: Path, labels: list[str]) -> dict:
    """Each variant's fold scores, best epoch and final test MAE; the raw and smoothed mean curves' last values."""
    results = {}
    for label in labels:
        extra = KFOLD_VARIANTS[label]
        args = ["kfold", "boston", "--final", *extra, "--seed", "0"]
        started = time.perf_counter()
        out = run_json([*DL, *args, "--quiet", "--json", "--runs-dir", str(runs)], env)
        with open(Path(out["run"]) / "history.csv") as handle:
            last = list(csv.DictReader(handle))[-1]
        results[label] = {"command": "dl " + " ".join(args), "wall_s": round(time.perf_counter() - started, 1),
                          **{key: out.get(key) for key in ("mean_val_mae", "fold_val_mae", "best_epoch", "best_val_mae",
                                                           "smoothed", "best_smoothed_val_mae", "test_mae")},
                          "last_mean_val_mae": float(last["mean_val_mae"]),
                          "last_smoothed_val_mae": float(last["smoothed_val_mae"])}
        print(f"{label}: {json.dumps(results[label])}", flush=True)
    return results


def startup(env: dict[str, str], repeats: int) -> dict:
    helps, imports = [], []
    for _ in range(repeats):  # alternate so that noise hits both
        helps.append(wall([*DL, "--help"], env))
        imports.append(wall([PYTHON, "-c", "import tensorflow"], env))
    help_s, import_s = statistics.median(helps), statistics.median(imports)
    ratio = help_s / import_s
    print(f"dl --help {help_s:.3f}s vs import tensorflow {import_s:.3f}s: {ratio:.1%} (target <= 15%)", flush=True)
    return {"help_s": help_s, "import_tensorflow_s": import_s, "ratio": ratio, "met": ratio <= 0.15,
            "help_all": helps, "import_all": imports}


def epoch_overhead(data_dir: str, env: dict[str, str], runs: Path, repeats: int, epochs: int = 2) -> dict:
    """Per-epoch wall time (epochs after the first, which also traces the graph) of both, alternated."""
    cli, plain, cli_total, plain_total = [], [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        out = run_json([*DL, "classify", "mnist", "--epochs", str(epochs), "--quiet", "--json", "--runs-dir", str(runs)], env)
        cli_total.append(time.perf_counter() - started)
        cli.append(json.loads((Path(out["run"]) / "metrics.json").read_text())["epoch_seconds"])  # not in --json
        started = time.perf_counter()
        base = run_json([PYTHON, str(HERE / "plain_mnist.py"), data_dir, str(epochs)], env)
        plain_total.append(time.perf_counter() - started)
        plain.append(base["epoch_seconds"])
    steady_cli = statistics.median(s for run in cli for s in run[1:])
    steady_plain = statistics.median(s for run in plain for s in run[1:])
    first_cli = statistics.median(run[0] for run in cli)
    first_plain = statistics.median(run[0] for run in plain)
    ratio = steady_cli / steady_plain
    print(f"one epoch of classify mnist: dl {steady_cli:.3f}s vs plain Keras {steady_plain:.3f}s: "
          f"{ratio - 1:+.1%} (target <= +5%); first epoch {first_cli:.2f}s vs {first_plain:.2f}s; "
          f"whole process {statistics.median(cli_total):.1f}s vs {statistics.median(plain_total):.1f}s", flush=True)
    return {"epoch_s_dl": steady_cli, "epoch_s_plain": steady_plain, "ratio": ratio, "met": ratio <= 1.05,
            "first_epoch_s_dl": first_cli, "first_epoch_s_plain": first_plain,
            "process_s_dl": statistics.median(cli_total), "process_s_plain": statistics.median(plain_total),
            "dl_epochs": cli, "plain_epochs": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-timing", action="store_true", help="no start-up or epoch timing")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of the accuracy commands (the seed spread)")
    parser.add_argument("--kfold", nargs="?", const=",".join(KFOLD_VARIANTS), default=None, metavar="VARIANTS",
                        help=f"also the k-fold variants of docs/kfold.md (all, or some of {','.join(KFOLD_VARIANTS)})")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    env = {**os.environ, "DLCLI_DATA_DIR": data_dir, "DLCLI_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    results: dict = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}}
    with tempfile.TemporaryDirectory() as scratch:
        runs = Path(scratch)
        if not args.skip_timing:
            results["startup"] = startup(env, args.repeats)
            results["epoch"] = epoch_overhead(data_dir, env, runs, max(2, args.repeats // 2 + 1))
        if not args.skip_accuracy:
            seeds = [int(seed) for seed in args.seeds.split(",")]
            results["accuracy"] = {str(seed): accuracy(env, runs, seed) for seed in seeds}
        if args.kfold:
            results["kfold"] = kfold_variants(env, runs, args.kfold.split(","))
    out = HERE / "results" / "foundation.json"
    out.parent.mkdir(exist_ok=True)
    earlier = json.loads(out.read_text()) if out.exists() else {}  # the parts (and seeds) not run this time are kept
    for part in ("accuracy", "kfold"):  # by seed, by variant
        results[part] = {**earlier.get(part, {}), **results.get(part, {})}
    results["commands"] = [*earlier.get("commands", []), "bench/bench_foundation.py DATA_DIR " + " ".join(sys.argv[2:])]
    out.write_text(json.dumps({**earlier, **results}, indent=2) + "\n")
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
