"""A second opinion on every resignation of a match: GNU Go's own judgement of the position resigned.

    taskset -c 1 .venv/bin/python bench/bench_go_resignations.py bench/results/go-play-runs/vs-policy [--level 10]

A match between two of our engines (the search against its own policy, say) ends mostly by
resignation, and each resignation rests on our network's value: a value head that gave up on
positions still open would inflate the winner's score. For each game of the run folder that ended
by resignation, GNU Go 3.8 (Debian's `gnugo`, `--level 10`, Chinese rules, the game's komi) loads
the record as it stood when the loser resigned (GTP `loadsgf`) and gives `estimate_score` (its
quick influence count) and `final_score` (its count after reading the status of every group, as
if both passed now). A resignation is confirmed when GNU Go's `final_score` names the same winner.
Writes bench/results/go-resignations-<run folder name>.json and prints a summary. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcli.go.gtp import GtpPlayer, find_program  # noqa: E402


def winner_of(score: str) -> str | None:
    """'W+12.5 (upper bound: ...)' -> 'W'; '0' or anything unreadable -> None."""
    head = (score.split() or [""])[0]
    return head[0] if head[:2] in ("B+", "W+") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a `dl go match` run folder (results.jsonl, games/*.sgf)")
    parser.add_argument("--level", type=int, default=10)
    parser.add_argument("--no-final", action="store_true",
                        help="estimate_score only (final_score reads the status of every group: far slower)")
    options = parser.parse_args()
    program = find_program("gnugo")
    if program is None:
        raise SystemExit("gnugo is not installed (Debian: apt-get install gnugo)")
    games = [json.loads(line) for line in (options.run / "results.jsonl").read_text().splitlines() if line.strip()]
    resigned = [game for game in games if game["reason"] == "resignation"]
    judge = GtpPlayer(f"{program} --mode gtp --chinese-rules --level {options.level}", timeout=600)
    rows = []
    try:
        for game in resigned:
            sgf = (options.run / game["sgf"]).resolve()
            judge.command(f"loadsgf {sgf}")
            estimate = judge.command("estimate_score")
            final = None if options.no_final else judge.command("final_score")
            winner = game["result"][0]
            rows.append({"game": game["game"], "result": game["result"], "moves": game["moves"],
                         "winner": game["winner"], "gnugo_estimate_score": estimate, "gnugo_final_score": final,
                         "estimate_agrees": winner_of(estimate) == winner, "final_agrees": None if final is None else winner_of(final) == winner})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        judge.close()
    summary = {"run": str(options.run), "judge": f"gnugo --level {options.level} --chinese-rules", "games": len(games),
               "resignations": len(resigned), "final_score_agrees": None if options.no_final else sum(row["final_agrees"] for row in rows),
               "estimate_score_agrees": sum(row["estimate_agrees"] for row in rows),
               "resignation_moves": sorted(row["moves"] for row in rows), "rows": rows}
    out = ROOT / "bench" / "results" / f"go-resignations-{options.run.name}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))


if __name__ == "__main__":
    main()
