"""Score a Go network on the games a `dl go data` run held out of training, through `dl go eval`:
on the run's validation shards (every held-out position, as training saw them), and on the same
games written out in golois' games.data format (the phases of the game, and a round trip through
the course's file format).

    .venv/bin/python bench/bench_go_network.py DATA_RUN NETWORK [--name shipped]

Writes bench/results/go-network-<name>.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_go import dl  # noqa: E402

from dlcli.go import dataset, gamesdata, sgf  # noqa: E402


def held_out_games(data_run: Path) -> tuple[list, int]:
    """The validation games of a `dl go data` run, chosen as it chose them (legal games in order,
    `dataset.is_validation`), and how many of them golois' format cannot hold (set-up stones)."""
    config = json.loads((data_run / "config.json").read_text())
    options = config["options"]
    games, index, unfit = [], 0, 0
    for game in dataset.read_games(options["sources"], sgf.Tally(), kind=options["format"]):
        try:
            game.final_board()
        except sgf.SgfError:
            continue
        if dataset.is_validation(index, options["validation"]):
            if game.setup_black or game.setup_white or game.size != gamesdata.SIZE:
                unfit += 1
            else:
                games.append(game)
        index += 1
    return games, unfit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_run", type=Path)
    parser.add_argument("network")
    parser.add_argument("--name", default="network")
    options = parser.parse_args()
    results = {"command": " ".join(["bench/bench_go_network.py", *sys.argv[1:]]), "network": options.network}
    results["shards"] = dl("go", "eval", options.network, options.data_run, "--split", "validation")
    games, unfit = held_out_games(options.data_run)
    folder = Path(tempfile.mkdtemp(prefix="bench-go-network-"))
    (folder / "held-out.data").write_text(gamesdata.write(games))
    results["games_data"] = dl("go", "eval", options.network, folder / "held-out.data")
    results["games_data"]["left_out_with_setup_stones"] = unfit
    out = ROOT / "bench" / "results" / f"go-network-{options.name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
