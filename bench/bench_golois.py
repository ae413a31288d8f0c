"""Conformance with the course's C++ library golois: every plane of positions golois encoded.

    .venv/bin/python bench/bench_golois.py ../shared/go/golois-sample [--baseline REV]

The folder holds `games.data` (golois' format), `sample.npz` (golois' planes, policy and value
for some positions) and `positions.json` (game, move, golois symmetry of each). Each position is
replayed and encoded by `dl go`, turned by the same symmetry and compared plane by plane.
With `--baseline REV`, the encoder of that git revision is checked the same way beside it (its
planes only: today's replay and symmetry numbering). Also reads golois' games.data and writes it
back, and says whether the bytes are identical.
Writes bench/results/golois.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dlcli.go import dataset, features, gamesdata  # noqa: E402


def encode_positions(games, wanted: dict[int, set[int]], encoder=features) -> dict[tuple[int, int], tuple]:
    """(planes, policy, value) of the wanted (game, move) positions, as `dl go data` encodes them."""
    found = {}
    for index, moves in wanted.items():
        for move, (planes, policy, value) in enumerate(dataset.positions(games[index], encoder)):
            if move in moves:
                found[index, move] = planes, policy, value
            if move >= max(moves):
                break
    return found


def compare(folder: Path, encoder=features) -> dict:
    games = gamesdata.read(folder / "games.data")
    sample = np.load(folder / "sample.npz")
    where = json.loads((folder / "positions.json").read_text())["positions"]
    wanted: dict[int, set[int]] = {}
    for game, move, _ in where:
        wanted.setdefault(game, set()).add(move)
    ours = encode_positions(games, wanted, encoder)
    differing = np.zeros(features.PLANES, dtype=int)
    policy_diff = value_diff = 0
    first: dict[int, list] = {}
    for i, (game, move, symmetry) in enumerate(where):
        planes, policy, value = ours[game, move]
        turned = features.transform_planes(planes, symmetry)
        bad = np.flatnonzero((turned != sample["x"][i]).any(axis=(0, 1)))
        differing[bad] += 1
        for plane in bad:
            first.setdefault(int(plane), []).append(i)
        policy_diff += int(features.transform_point(policy, symmetry) != int(sample["policy"][i]))
        value_diff += int(abs(value - float(sample["value"][i])) > 1e-6)
    return {"positions": len(where), "positions_differing_per_plane": differing.tolist(),
            "positions_with_any_difference": int(sum(1 for i in range(len(where))
                                                     if any(i in v for v in first.values()))),
            "policy_differences": policy_diff, "value_differences": value_diff,
            "first_examples": {str(k): v[:5] for k, v in sorted(first.items())}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--baseline", help="also check the encoder of this git revision")
    options = parser.parse_args()
    text = (options.folder / "games.data").read_text()
    again = gamesdata.write(gamesdata.read(options.folder / "games.data"))
    results = {"folder": str(options.folder), "current": compare(options.folder),
               "games_data_round_trip_byte_identical": again == text, "games_data_bytes": len(text)}
    if options.baseline:
        from baseline import old_features

        results["baseline"] = {"revision": options.baseline,
                               **compare(options.folder, old_features(options.baseline))}
    out = ROOT / "bench" / "results" / "golois.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
