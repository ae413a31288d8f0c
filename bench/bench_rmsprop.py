"""Keras 3's RMSprop against TensorFlow 2's, command by command, through the real `dl` CLI
(never part of the tests).

    .venv/bin/python bench/bench_rmsprop.py ../shared/datasets [CASE ...] [--seeds N]
    .venv/bin/python bench/bench_rmsprop.py --list

Keras 3 divides RMSprop's step by sqrt(v + 1e-7), TF 2 (the course's) by sqrt(v) + 1e-7
(dlcli/training.py, TF2_RMSPROP_EPSILON). Each case is one `dl` command that trains with rmsprop,
run once per variant and seed, the variants alternating:
  - `keras3`: every rmsprop is Keras 3's (TF2_RMSPROP_EPSILON set to Keras' 1e-7, so that even
    the networks `dl` gives TF 2's RMSprop get Keras 3's),
  - `tf2`: every rmsprop is TF 2's (every make_optimizer call gets tf2_rmsprop=True).
Both go through the same code (`dl` in a subprocess, the one constant or flag patched before the
command runs). Results: bench/results/rmsprop.json, one entry per case, variant and seed (its
metrics and, from 2026-12-02 07:20 on, its history.csv); a run already recorded is not run
again, so the script continues where it was stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "rmsprop.json"
sys.path.insert(0, str(HERE))

from bench_translate import TRANSLATE  # noqa: E402  (the small course-preset translator of translate.json)

PRELUDE = {
    "keras3": "import dlcli.training as t; t.TF2_RMSPROP_EPSILON = 1e-7",
    "tf2": ("import dlcli.training as t; make = t.make_optimizer; "
            "t.make_optimizer = lambda *args, **options: make(*args, **{**options, 'tf2_rmsprop': True})"),
}
# case: (dl arguments, the metrics to keep; the first is the case's verdict metric)
CASES = {
    "translate-course-small": (["translate", "--train", *TRANSLATE], ("test_accuracy", "test_bleu")),
    # the same at Keras' default learning rate (0.001), which the course preset uses without --learning-rate
    "translate-course-small-lr-default": (["translate", "--train", *TRANSLATE[:TRANSLATE.index("--learning-rate")],
                                           *TRANSLATE[TRANSLATE.index("--learning-rate") + 2:]], ("test_accuracy", "test_bleu")),
    "classify-mnist": (["classify", "mnist"], ("test_accuracy",)),
    "classify-imdb": (["classify", "imdb"], ("test_accuracy",)),
    "classify-reuters": (["classify", "reuters"], ("test_accuracy",)),
    "regress-boston": (["regress", "boston"], ("test_mae",)),
}


def run(case: str, variant: str, seed: int, env: dict[str, str], runs: Path) -> dict:
    args, keys = CASES[case]
    command = [sys.executable, "-c", f"{PRELUDE[variant]}; from dlcli.cli import app; app(prog_name='dl')",
               *args, "--seed", str(seed), "--quiet", "--json", "--runs-dir", str(runs)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{case} {variant} seed {seed}: dl {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    return {"command": "dl " + " ".join([*args, "--seed", str(seed)]), "wall_s": round(time.perf_counter() - started, 1),
            **{key: metrics[key] for key in keys}, "history_csv": (Path(metrics["run"]) / "history.csv").read_text()}


def recorded() -> dict:
    """The results so far (read again before each write: cases may run in several processes)."""
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"of {', '.join(CASES)} (default: all)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per variant")
    parser.add_argument("--list", action="store_true")
    options = parser.parse_args()
    if options.list:
        for name, (args, keys) in CASES.items():
            print(f"{name:24s} dl {' '.join(args)}  ({', '.join(keys)})")
        return
    unknown = [case for case in options.cases if case not in CASES]
    if unknown or options.data_dir is None:
        parser.error(f"unknown cases {unknown}" if unknown else "give DATA_DIR")
    env = {**os.environ, "DLCLI_DATA_DIR": str(options.data_dir.resolve()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as folder:
        for case in options.cases or CASES:
            for seed in range(options.seeds):
                for variant in PRELUDE:  # alternating, so that a change of machine load hits both
                    if str(seed) in recorded().get(case, {}).get(variant, {}):
                        continue
                    row = run(case, variant, seed, env, Path(folder))
                    results = recorded()
                    results.setdefault(case, {}).setdefault(variant, {})[str(seed)] = row
                    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
                    print(case, variant, seed, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
