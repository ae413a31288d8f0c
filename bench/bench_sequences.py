"""Benchmarks of `dl textgen` and `dl timeseries` on the real data (never part of the tests).

Through the real `dl` CLI:
  - textgen nietzsche: loss per epoch and the samples at each temperature after the last epoch
    (CPU budget: `--epochs` epochs on the whole text, or `--limit` characters),
  - timeseries sinwave and sp500: test MAE (real units) of the LSTM and of the naive forecast
    "the next value equals the last one" on the same test windows, one step ahead and over the
    multi-step horizon, with the course's 1 epoch and with `--series-epochs` epochs.
Usage: python bench/bench_sequences.py DATA_DIR [--epochs 2] [--limit N] [--series-epochs 20,100]
Writes bench/results/sequences.json and prints a Markdown summary for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_foundation import DL, run_json

HERE = Path(__file__).resolve().parent
SERIES_METRICS = ("test_mae", "naive_mae", "multistep_mae", "multistep_naive_mae", "test_mse", "naive_mse")


def textgen(env: dict[str, str], runs: Path, epochs: int, limit: int | None) -> dict:
    args = [*DL, "textgen", "nietzsche", "--epochs", str(epochs), "--quiet", "--json", "--runs-dir", str(runs)]
    if limit:
        args += ["--limit", str(limit)]
    started = time.perf_counter()
    out = run_json(args, env)
    with open(Path(out["run"]) / "history.csv") as handle:
        losses = [float(row["loss"]) for row in csv.DictReader(handle)]
    seconds = json.loads((Path(out["run"]) / "metrics.json").read_text())["epoch_seconds"]  # not in --json
    return {"command": " ".join(["dl", *args[3:]]), "loss_per_epoch": losses, "epoch_seconds": seconds,
            "windows": out["windows"], "characters": out["characters"], "samples": out["samples"],
            "wall_s": round(time.perf_counter() - started, 1), "run": out["run"]}


def timeseries(env: dict[str, str], runs: Path, dataset: str, epochs: int) -> dict:
    args = [*DL, "timeseries", dataset, "--epochs", str(epochs), "--quiet", "--json", "--runs-dir", str(runs)]
    started = time.perf_counter()
    out = run_json(args, env)
    return {"command": " ".join(["dl", *args[3:]]), **{key: out[key] for key in SERIES_METRICS},
            "better_one_step": out["better_one_step"], "test_windows": out["test_windows"],
            "wall_s": round(time.perf_counter() - started, 1), "run": out["run"]}


def markdown(results: dict) -> str:
    text = results["textgen"]
    lines = [f"`{text['command']}` ({text['characters']} characters, {text['windows']} windows per epoch, "
             f"{text['wall_s']} s): loss per epoch {', '.join(f'{v:.4f}' for v in text['loss_per_epoch'])}", "",
             "| temperature | sample after the last epoch (first 160 characters) |", "|---|---|"]
    for temperature, sample in text["samples"].items():
        lines.append(f"| {temperature} | {' '.join(sample.split())[:160].replace('|', '/')} |")
    lines += ["", "| command | test windows | LSTM MAE | naive MAE | lower one step | LSTM MAE over horizon | naive MAE over horizon | wall s |",
              "|---|---|---|---|---|---|---|---|"]
    for row in results["timeseries"]:
        lines.append(f"| `{row['command']}` | {row['test_windows']} | {row['test_mae']:.4g} | {row['naive_mae']:.4g} | "
                     f"{row['better_one_step']} | {row['multistep_mae']:.4g} | {row['multistep_naive_mae']:.4g} | {row['wall_s']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--epochs", type=int, default=2, help="textgen epochs (default 2: what a CPU run allows)")
    parser.add_argument("--limit", type=int, default=None, help="textgen: use only the first N characters")
    parser.add_argument("--series-epochs", default="20", help="timeseries epochs beside the course's 1 (comma-separated)")
    options = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(options.data_dir.resolve()), "DLCLI_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder)
        results = {"command": "bench/bench_sequences.py DATA_DIR " + " ".join(sys.argv[2:]),
                   "textgen": textgen(env, runs, options.epochs, options.limit),
                   "timeseries": [timeseries(env, runs, dataset, epochs) for dataset in ("sinwave", "sp500")
                                  for epochs in sorted({1, *map(int, options.series_epochs.split(","))})]}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "sequences.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    sys.exit(main())
