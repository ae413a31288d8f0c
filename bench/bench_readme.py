"""Wall time and headline result of the README's commands that no other benchmark times, each run
once through the real CLI on the real data (never part of the tests):
`dl backprop`, `dl classify imdb`, `dl classify reuters`, `dl classify imdb --compare`,
`dl regress boston`, `dl textgen --prompt` (on a model trained here on the first 60,000
characters: a prompt's time does not depend on how long the model trained) and
`dl go eval default` on the golois games.data of ../shared/go/golois-sample.
Usage: python bench/bench_readme.py DATA_DIR [GOLOIS_SAMPLE_DIR]
Writes bench/results/readme-times.json and prints it. Run it on an idle machine: whole processes
(start-up, loading, training, testing, plots, saving) are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_foundation import DL, run_json

HERE = Path(__file__).resolve().parent
HEADLINES = ("test_accuracy", "test_mae")  # a command with neither (backprop) is kept whole


def timed(args: list[str], env: dict[str, str]) -> dict:
    """`dl ARGS --json`: its wall time and what it printed (the headline keys when there are many)."""
    started = time.perf_counter()
    out = run_json([*DL, *args, "--json"], env)
    seconds = round(time.perf_counter() - started, 1)
    kept = {key: out[key] for key in HEADLINES if key in out} or out
    return {"command": "dl " + " ".join(args), "wall_s": seconds, **kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("golois_sample", type=Path, nargs="?", default=HERE.parents[1] / "shared" / "go" / "golois-sample")
    options = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(options.data_dir.resolve()), "DLCLI_OFFLINE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = {"command": "bench/bench_readme.py " + " ".join(sys.argv[1:]), "load_average_before": os.getloadavg()[0],
               "commands": {}}
    with tempfile.TemporaryDirectory() as scratch:
        env["DLCLI_RUNS"] = scratch
        commands = [["backprop"], ["classify", "imdb", "--quiet"], ["classify", "reuters", "--quiet"],
                    ["classify", "imdb", "--compare", "--quiet"], ["regress", "boston", "--quiet"]]
        for args in commands:
            row = timed(args, env)
            results["commands"][row["command"]] = row
            print(json.dumps(row), flush=True)
        trained = run_json([*DL, "textgen", "nietzsche", "--limit", "60000", "--epochs", "1", "--quiet", "--json"], env)
        row = timed(["textgen", "--model", trained["run"], "--prompt", "supposing that truth", "--quiet"], env)
        row["command"] = 'dl textgen --prompt "supposing that truth"'
        results["commands"][row["command"]] = {key: value for key, value in row.items() if key in ("command", "wall_s")}
        print(json.dumps(results["commands"][row["command"]]), flush=True)
        games = options.golois_sample / "games.data"
        if games.exists():
            row = timed(["go", "eval", "default", str(games), "--quiet"], env)
            row = {"command": "dl go eval default golois-sample/games.data", "wall_s": row["wall_s"],
                   "games": row.get("games"), "all": row.get("all")}
            results["commands"][row["command"]] = row
            print(json.dumps(row), flush=True)
    results["load_average_after"] = os.getloadavg()[0]
    (HERE / "results" / "readme-times.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
