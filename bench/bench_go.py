"""Go benchmark on the real SGF collection: replay and encoding speed, then each tower trained
through the real CLI on a held-out set of whole games.

    .venv/bin/python bench/bench_go.py ../shared/datasets [--games 150] [--epochs 1]
    .venv/bin/python bench/bench_go.py ../shared/datasets --replay-only   # replay + encoding speed only
    .venv/bin/python bench/bench_go.py ../shared/datasets --replay-only --baseline aba2117  # beside that revision

With --baseline REV the encoder of git revision REV is timed on the same games, alternating with
today's, round after round, and each side's best round is reported.

Writes bench/results/go.json and prints it. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NETWORKS = ("baseline", "residual", "mobilenet", "convnext")


def dl(*args: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dlcli", *map(str, args), "--quiet", "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"dl {' '.join(map(str, args))} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 1)
    return result


def long_games(archive: Path, games: int = 20, moves: int = 250) -> list:
    """The first `games` records of the collection with at least `moves` moves."""
    from dlcli.go import sgf

    chosen = []
    for game in sgf.read_collection(archive, check=False):
        if len(game.moves) >= moves:
            chosen.append(game)
        if len(chosen) == games:
            break
    return chosen


def replay_speed(chosen: list, features=None) -> dict:
    """Milliseconds to replay a whole game, and to replay it encoding every position."""
    if features is None:
        from dlcli.go import features

    started = time.perf_counter()
    for game in chosen:
        game.final_board()
    replayed = time.perf_counter()
    positions = 0
    for game in chosen:
        ladders = features.LadderCache()  # as `dl go data` encodes a game
        for board, _, _ in game.replay():
            features.encode(board, ladders)
            positions += 1
    encoded = time.perf_counter()
    return {"games": len(chosen), "mean_moves": positions / len(chosen),
            "replay_ms_per_game": round(1000 * (replayed - started) / len(chosen), 2),
            "replay_encode_ms_per_game": round(1000 * (encoded - replayed) / len(chosen), 1),
            "positions_per_s": round(positions / (encoded - replayed), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--games", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--replay-only", action="store_true", help="only measure replay and encoding speed")
    parser.add_argument("--replay-games", type=int, default=20, help="games (of 250 moves or more) timed")
    parser.add_argument("--baseline", help="git revision whose encoder is timed beside today's")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --baseline")
    options = parser.parse_args()
    archive = options.data_dir / "go" / "go_ai_games_sgf.zip"
    runs = Path(tempfile.mkdtemp(prefix="bench-go-"))
    chosen = long_games(archive, options.replay_games)
    if options.baseline:
        from baseline import old_features

        old = old_features(options.baseline)
        rounds = {"current": [], "baseline": []}
        for _ in range(options.rounds):
            rounds["baseline"].append(replay_speed(chosen, old))
            rounds["current"].append(replay_speed(chosen))
            print(json.dumps({k: v[-1]["positions_per_s"] for k, v in rounds.items()}), flush=True)
        best = {k: max(v, key=lambda r: r["positions_per_s"]) for k, v in rounds.items()}
        results = {"replay": best["current"], "baseline_revision": options.baseline, "baseline_replay": best["baseline"],
                   "rounds": {k: [r["positions_per_s"] for r in v] for k, v in rounds.items()},
                   "speed_ratio_current_over_baseline": round(best["current"]["positions_per_s"]
                                                              / best["baseline"]["positions_per_s"], 3),
                   "command": f"bench/bench_go.py {options.data_dir} --replay-only --baseline {options.baseline}"}
    else:
        results = {"replay": replay_speed(chosen)}
    print(json.dumps(results["replay"]), flush=True)
    if options.replay_only:
        (ROOT / "bench" / "results" / "go-encode.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
        return
    data = dl("go", "data", archive, "--limit", options.games, "--validation", "0.1", "--runs-dir", runs)
    results["data"] = {k: data[k] for k in ("games", "positions", "train_positions", "validation_positions",
                                            "validation_games", "positions_per_s", "wall_time_s")}
    print(json.dumps(results["data"]), flush=True)
    results["train"] = {}
    for network in options.networks.split(","):
        trained = dl("go", "train", "--data", data["run"], "--network", network, "--epochs", options.epochs, "--runs-dir", runs)
        results["train"][network] = {k: trained.get(k) for k in ("parameters", "val_policy_accuracy", "val_value_mse",
                                                                  "val_loss", "samples_per_s", "wall_time_s")}
        print(network, json.dumps(results["train"][network]), flush=True)
    results["command"] = f"bench/bench_go.py {options.data_dir} --games {options.games} --epochs {options.epochs}"
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "go.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
