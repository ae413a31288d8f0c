"""Benchmarks of `dl translate` and `dl classify imdb --model transformer` on the real data
(never part of the tests).

Measures, through the real `dl` CLI:
  - test token accuracy and corpus BLEU of `dl translate --train` (a configuration a shared
    CPU can train in minutes: see TRANSLATE below, or pass --full for the course's),
  - the per-sentence decoding time of `dl translate -` (encoder once, compiled decoder steps,
    batched) against the course's `decode_sequence` loop (`--decoder course`) on the same model
    and the same test sentences, alternated so that machine noise hits both, plus beam search,
  - test accuracy of the Transformer IMDB classifier against the dense multi-hot default on the
    same reviews.
Usage: python bench/bench_translate.py DATA_DIR [--full] [--sentences N] [--only translate|imdb]
Writes bench/results/translate.json (or translate-imdb.json for `--only imdb`) and prints each result.
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
DL = [sys.executable, "-m", "dlcli"]

# A translation model that trains in minutes on 2 shared cores: 10,000 training+validation pairs,
# vocabularies of 5,000, embedding 64, feed-forward 256, 4 heads, 6 epochs, learning rate 0.002.
# The course's is `--full`: all pairs, 15,000 words, 256/2048/8 heads, 30 epochs (hours on a CPU).
TRANSLATE = ["--preset", "course", "--limit", "10000", "--vocab-size", "5000", "--embed-dim", "64", "--dense-dim", "256", "--heads", "4",
             "--epochs", "6", "--learning-rate", "0.002", "--bleu-sentences", "1000"]
# The IMDB Transformer costs about 4 GFLOP per review per training step (600 positions, embedding
# 256): 1,000 training reviews (250 of them for validation) and 1,000 test reviews, 3 epochs (its
# default); the dense default (4 epochs) on the same reviews.
IMDB = ["--limit", "1000", "--validation-samples", "250"]


def run_json(args: list[str], env: dict[str, str], stdin: str | None = None) -> dict:
    """Run `dl` and parse the JSON object on its last stdout line."""
    completed = subprocess.run([*DL, *args], input=stdin, capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise SystemExit(f"dl {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def train(env: dict[str, str], runs: Path, full: bool) -> dict:
    args = ["translate", "--train", "--quiet", "--json", "--runs-dir", str(runs), *(["--preset", "course"] if full else TRANSLATE)]
    started = time.perf_counter()
    metrics = run_json(args, env)
    print(f"dl {' '.join(args[:-2])}: test accuracy {metrics['test_accuracy']:.4f}, BLEU {metrics['test_bleu']:.2f} "
          f"on {metrics['bleu_sentences']} sentences ({time.perf_counter() - started:.0f} s)", flush=True)
    return {"args": args, "metrics": metrics}


def decoding(env: dict[str, str], run: Path, count: int, repeats: int) -> dict:
    """Per-sentence decoding time (as `dl translate --json` reports it) of each decoder, alternated."""
    with open(run / "test_translations.tsv", encoding="utf-8") as handle:
        english = [row["english"] for row in csv.DictReader(handle, delimiter="\t")][:count]
    stdin = "".join(text + "\n" for text in english)
    variants = {"fast": [], "course": ["--decoder", "course"], "beam 4": ["--beam", "4"]}
    seconds = {name: [] for name in variants}
    outputs = {}
    for _ in range(repeats):
        for name, extra in variants.items():
            result = run_json(["translate", "-", "--model", str(run), "--json", *extra], env, stdin)
            seconds[name].append(result["seconds_per_sentence"])
            outputs[name] = result["translations"]
    per_sentence = {name: statistics.median(values) for name, values in seconds.items()}
    speedup = per_sentence["course"] / per_sentence["fast"]
    same = sum(a == b for a, b in zip(outputs["fast"], outputs["course"])) / len(english)
    print(f"decoding {len(english)} test sentences: fast {1000 * per_sentence['fast']:.1f} ms, course loop "
          f"{1000 * per_sentence['course']:.1f} ms, beam 4 {1000 * per_sentence['beam 4']:.1f} ms per sentence; "
          f"speed-up {speedup:.1f}x (target >= 3x); identical outputs {same:.1%}", flush=True)
    return {"sentences": len(english), "seconds_per_sentence": per_sentence, "all": seconds, "speedup": speedup,
            "met": speedup >= 3, "same_output_share": same}


def imdb(env: dict[str, str], runs: Path) -> dict:
    results = {}
    for model, extra in (("dense", []), ("transformer", [])):
        args = ["classify", "imdb", "--network", model, *IMDB, *extra, "--quiet", "--json", "--runs-dir", str(runs)]
        started = time.perf_counter()
        metrics = run_json(args, env)
        results[model] = {"args": args, "test_accuracy": metrics["test_accuracy"], "epochs": metrics["epochs"],
                          "wall_s": round(time.perf_counter() - started, 1), "test_samples": metrics["test_samples"]}
        print(f"dl {' '.join(args[:-4])}: test accuracy {metrics['test_accuracy']:.4f} "
              f"({results[model]['wall_s']:.0f} s)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--full", action="store_true", help="the course's configuration (hours on a CPU)")
    parser.add_argument("--sentences", type=int, default=100, help="test sentences decoded per timing")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", choices=("translate", "imdb"), help="run one part (the two can run side by side)")
    options = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(Path(options.data_dir).absolute()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder)
        if options.only != "imdb":
            results["translate"] = train(env, runs, options.full)
            results["decoding"] = decoding(env, Path(results["translate"]["metrics"]["run"]), options.sentences, options.repeats)
        if options.only != "translate":
            results["imdb"] = imdb(env, runs)
    (HERE / "results").mkdir(exist_ok=True)
    name = "translate-imdb.json" if options.only == "imdb" else "translate.json"
    (HERE / "results" / name).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
