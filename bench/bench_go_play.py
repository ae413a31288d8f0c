"""Go playing benchmark: search speed, then matches of a trained network through the real CLI.

    .venv/bin/python bench/bench_go_play.py ../shared/datasets --network RUN_OR_FILE [--games 20] [--time 2]
    .venv/bin/python bench/bench_go_play.py ../shared/datasets --network default --skip-speed --games 40 \
        --jobs 1 --levels 1 5 10     # issue 14's matches: one game at a time, each engine on its own core
    .venv/bin/python bench/bench_go_play.py ../shared/datasets --speed-only

1. Playouts per second of `mcts.Search` at batch sizes 1, 8 and 32 with a network of just under
   100,000 parameters (the course's golois tower at 46 filters: 99,369), on an empty board and on a
   middle-game position from the real collection. The weights are random: speed does not depend on them.
2. The network (`--network`, a `dl go train` run, a model file or `default`, the shipped one; trained
   here with `dl go data` + `dl go train` when not given) against GNU Go at each of `--levels`
   (default 1; Debian package `gnugo`, installed here with apt-get when missing), `--games` games with
   alternating colours and `--time` seconds per move, komi 7.5.
3. The same network with search against itself choosing moves from its policy alone (`policy:NET`).

Writes bench/results/go_play.json and prints it. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_go import dl  # noqa: E402 - the same CLI runner as part 1's benchmark

GNUGO_FLAGS = "--mode gtp --chinese-rules --positional-superko --capture-all-dead"  # and --level N


def search_speed(archive: Path, playouts: int = 256, repeats: int = 2) -> dict:
    """Playouts per second at batch sizes 1, 8 and 32 (best of `repeats`), with what the time goes to."""
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    from dlcli.go import features, mcts, sgf
    from dlcli.go.board import Board
    from dlcli.models import gonets

    network = gonets.build_go_baseline(filters=46)
    middle = next(game for game in sgf.read_collection(archive, check=False) if len(game.moves) >= 200)
    board = middle.board()
    board.seen = set()  # our engine plays with the superko check: give the replayed board one
    for colour, point in middle.moves[:120]:
        board.play(point, colour)
    positions = {"empty": Board(19), "move 120": board}
    started = time.perf_counter()
    for _ in range(50):
        features.encode(board)
    encode_ms = 1000 * (time.perf_counter() - started) / 50
    rows = []
    for batch in (1, 8, 32):
        evaluator = mcts.NetworkEvaluator(network, seed=0)
        evaluator([Board(19)] * batch)  # the one trace of the compiled function
        for name, position in positions.items():
            best = None
            for _ in range(repeats):
                search = mcts.Search(evaluator, mcts.Settings(seconds=None, playouts=playouts, batch_size=batch))
                result = search.run(position)
                best = result if best is None or result.seconds < best.seconds else best
            rows.append({"batch": batch, "position": name, "playouts": best.playouts,
                         "seconds": round(best.seconds, 3), "playouts_per_s": round(best.playouts / best.seconds, 1)})
    import numpy as np

    planes = np.zeros((32, 19, 19, 31), dtype=np.float32)
    forward = mcts.NetworkEvaluator(network)._forward
    for batch in (1, 8, 32):
        forward(planes[:batch])
        started = time.perf_counter()
        for _ in range(20):
            forward(planes[:batch])
        rows.append({"batch": batch, "position": "network call only", "ms_per_call": round(1000 * (time.perf_counter() - started) / 20, 2)})
    return {"parameters": network.count_params(), "encode_ms_per_position_move_120": round(encode_ms, 2), "rows": rows}


def ensure_gnugo() -> str:
    """The gnugo program, installed from Debian's packages when missing."""
    found = shutil.which("gnugo") or (Path("/usr/games/gnugo").exists() and "/usr/games/gnugo")
    if not found:
        subprocess.run(["apt-get", "install", "-y", "gnugo"], check=True, capture_output=True)
        found = shutil.which("gnugo") or "/usr/games/gnugo"
    return str(found)


def train_network(archive: Path, games: int, epochs: int, runs: Path) -> str:
    data = dl("go", "data", archive, "--limit", games, "--validation", "0.05", "--runs-dir", runs)
    trained = dl("go", "train", "--data", data["run"], "--network", "baseline", "--epochs", epochs, "--runs-dir", runs)
    return trained["run"]


def match(folder: Path, player: str, opponent: str, play: list) -> dict:
    """A match in its own fixed run folder, so a stopped one (Ctrl-C, a session's end) continues
    where it stopped when the same command runs again (`dl go match --resume`), and a finished one
    is read back, not replayed. Changing the players or settings needs a new --runs-dir."""
    metrics = folder / "metrics.json"
    status = json.loads(metrics.read_text()).get("status") if metrics.exists() else None
    if status == "complete":
        return json.loads(metrics.read_text())
    if status is not None:
        return dl("go", "match", "--resume", folder)
    return dl("go", "match", player, opponent, *play, "--out", folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--network", help="a `dl go train` run folder or model file (default: train one here)")
    parser.add_argument("--train-games", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--time", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=2, help="games at once (1: each engine on its own core)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1], help="GNU Go levels to play, one match each")
    parser.add_argument("--max-moves", type=int, default=400)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--only", choices=("gnugo", "policy"), help="play one of the two matches only")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "bench" / "results" / "go-play-runs")
    options = parser.parse_args()
    archive = options.data_dir / "go" / "go_ai_games_sgf.zip"
    results_file = ROOT / "bench" / "results" / "go_play.json"
    results = {}
    if not options.skip_speed:
        results["search_speed"] = search_speed(archive)
    if not options.speed_only:
        network = options.network or train_network(archive, options.train_games, options.epochs, options.runs_dir)
        results["network"] = network
        play = ["--games", options.games, "--time", options.time, "--jobs", options.jobs,
                "--max-moves", options.max_moves]
        options.runs_dir.mkdir(parents=True, exist_ok=True)
        if options.only in (None, "gnugo"):
            for level in options.levels:
                gnugo = f"{ensure_gnugo()} {GNUGO_FLAGS} --level {level}"
                results[f"vs_gnugo_level_{level}"] = match(options.runs_dir / f"vs-gnugo-level-{level}", network, gnugo, play)
        if options.only in (None, "policy"):
            results["vs_policy_alone"] = match(options.runs_dir / "vs-policy", network, f"policy:{network}", play)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(results_file.read_text()) if results_file.exists() else {}  # read late: parts may run at once
    results_file.write_text(json.dumps({**earlier, **results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
