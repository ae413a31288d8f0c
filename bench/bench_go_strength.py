"""Does the search beat its own network's policy, and what does the network's precision cost in play?
Short matches of the search against `policy:NET` (the same network choosing its most probable move,
no search) at a fixed number of playouts per move, in each precision the engines can call.

    .venv/bin/python bench/bench_go_strength.py [--network default] [--rows f32-p128 i8-p128 ...]
    .venv/bin/python bench/bench_go_strength.py --list

Each row is one `dl go match NET policy:NET --playouts N --time 30 --games 10 --max-moves 300
--jobs 1` (or another cap, and other options: `--list`) with `DLCLI_GO_PRECISION` set, colours
alternating, komi 7.5. Playouts, not seconds,
bound the search (the 30 s cap is never reached), so a row's result does not depend on the load of
the machine; games stopped at the cap are scored as they stand by area (both engines' scores are
checked). Each match keeps a fixed run folder under bench/results/go-strength-runs/, so a stopped
row resumes and a finished one is read back. Run the process on one core (`taskset -c 0`) for the
playouts-per-second figures. Writes bench/results/go-strength.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_go_play import match  # noqa: E402 - the same resumable match runner

# row -> (DLCLI_GO_PRECISION, playouts per move, the move cap, other `dl go match` options)
ROWS = {
    "f32-p128": ("float32", 128, 300, []),
    "i8-p128": ("int8", 128, 300, []),
    "f32-p1024": ("float32", 1024, 300, []),
    "bf16-p1024": ("bfloat16", 1024, 300, []),
    "i8-p1024": ("int8", 1024, 300, []),
    # games to move 400 (issue 14's matches), with and without letting the search pass first
    "i8-p1024-cap400": ("int8", 1024, 400, []),
    "i8-p1024-cap400-pass150": ("int8", 1024, 400, ["--pass-after", 150]),
}


def summary(metrics: dict, results: list[dict], precision: str, playouts: int) -> dict:
    wins = sum(entry["score_a"] for entry in results)
    margins = []
    for entry in results:  # the search's margin in points, from its side (+: it won)
        result = entry["result"]
        points = float(result.split("+")[1]) if result[2:].replace(".", "").isdigit() else None
        if points is not None:
            margins.append(points if entry["winner"] == entry["pair"][0] else -points)
    search = metrics["search"][results[0]["pair"][0]]
    return {"precision_asked": precision, "playouts_per_move_cap": playouts, "games": len(results),
            "search_wins": wins, "win_rate": round(wins / len(results), 3),
            "mean_margin_points": round(sum(margins) / len(margins), 1) if margins else None,
            "endings": metrics.get("endings"), "engine_scores_agree": metrics.get("engine_scores_agree"),
            "engine_scores_checked": metrics.get("engine_scores_checked"),
            "results": [entry["result"] for entry in results], "search": search}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="default")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), help=f"of {', '.join(ROWS)}")
    parser.add_argument("--games", type=int, default=10)
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "bench" / "results" / "go-strength-runs")
    parser.add_argument("--list", action="store_true")
    options = parser.parse_args()
    if options.list:
        for name, (precision, playouts, cap, extra) in ROWS.items():
            print(f"{name:24s} DLCLI_GO_PRECISION={precision:9s} --playouts {playouts} --max-moves {cap}",
                  *extra)
        return
    unknown = [name for name in options.rows if name not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    results_file = ROOT / "bench" / "results" / "go-strength.json"
    options.runs_dir.mkdir(parents=True, exist_ok=True)
    for name in options.rows:
        precision, playouts, cap, extra = ROWS[name]
        os.environ["DLCLI_GO_PRECISION"] = precision
        folder = options.runs_dir / name
        play = ["--playouts", playouts, "--time", 30, "--games", options.games, "--max-moves", cap, "--jobs", 1, *extra]
        metrics = match(folder, options.network, f"policy:{options.network}", play)
        games = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line.strip()]
        row = {"command": f"DLCLI_GO_PRECISION={precision} dl go match {options.network} policy:{options.network} "
                          + " ".join(map(str, play)),
               "run": str(folder.relative_to(ROOT)), **summary(metrics, games, precision, playouts)}
        everything = json.loads(results_file.read_text()) if results_file.exists() else {}
        everything[name] = row
        results_file.write_text(json.dumps(everything, indent=2) + "\n")
        print(name, json.dumps({k: row[k] for k in ("search_wins", "games", "mean_margin_points")}), flush=True)


if __name__ == "__main__":
    main()
