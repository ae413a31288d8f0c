"""How well a policy/value network predicts recorded games: policy top-1 and top-5 accuracy and
value MSE, overall and by phase of the game (moves 1-50, 51-150, 151+), as the course scores them.

Works on positions from game records (replayed and encoded here) or from training shards; the
network is any callable from a batch of planes to (policy probabilities, White's win).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from dlcli.go import dataset
from dlcli.go.sgf import GameRecord, SgfError

PHASES = (("moves 1-50", 1, 50), ("moves 51-150", 51, 150), ("moves 151+", 151, None))
ALL = "all"


@dataclass
class _Tally:
    positions: int = 0
    top1: int = 0
    top5: int = 0
    squared_error: float = 0.0

    def add(self, hits1: np.ndarray, hits5: np.ndarray, errors: np.ndarray) -> None:
        self.positions += len(hits1)
        self.top1 += int(hits1.sum())
        self.top5 += int(hits5.sum())
        self.squared_error += float(np.square(errors).sum())

    def report(self) -> dict:
        n = self.positions
        return {"positions": n, "policy_top1": round(self.top1 / n, 4) if n else None,
                "policy_top5": round(self.top5 / n, 4) if n else None,
                "value_mse": round(self.squared_error / n, 4) if n else None}


@dataclass
class Scores:
    """Running tallies, overall and per phase (positions whose move number is unknown count in
    the overall figures only)."""

    tallies: dict[str, _Tally] = field(default_factory=lambda: {name: _Tally() for name in (ALL, *(p[0] for p in PHASES))})
    games: int = 0
    skipped_games: list[str] = field(default_factory=list)

    def add(self, policy: np.ndarray, value: np.ndarray, moves: np.ndarray, probabilities: np.ndarray,
            white_win: np.ndarray) -> None:
        """One batch: targets (move index, White's win, move number or 0) and the network's outputs."""
        top5 = np.argpartition(-probabilities, 5, axis=1)[:, :5]
        hits5 = (top5 == policy[:, None]).any(axis=1)
        hits1 = np.argmax(probabilities, axis=1) == policy
        errors = white_win.reshape(-1) - value
        self.tallies[ALL].add(hits1, hits5, errors)
        for name, first, last in PHASES:
            keep = (moves >= first) & ((moves <= last) if last is not None else True)
            if keep.any():
                self.tallies[name].add(hits1[keep], hits5[keep], errors[keep])

    def report(self) -> dict:
        return {"games": self.games, **{name: tally.report() for name, tally in self.tallies.items()},
                "skipped_games": len(self.skipped_games), "skipped": self.skipped_games[:10]}


def record_positions(games: Iterable[GameRecord], scores: Scores) -> Iterator[tuple[np.ndarray, int, float, int]]:
    """(planes, move index, White's win, move number from 1) of every non-pass move; a game with
    an illegal move is skipped whole and listed in `scores`."""
    for game in games:
        try:
            encoded = list(dataset.positions(game, numbered=True))
        except SgfError as error:
            scores.skipped_games.append(str(error))
            continue
        scores.games += 1
        yield from encoded


def shard_positions(folder, manifest: dict, split: str, limit: int | None = None):
    """(planes, move index, White's win, move number or 0) of a `dl go data` split."""
    taken = 0
    for entry in manifest["splits"][split]["shards"]:
        planes, policy, value, moves = dataset.read_shard(folder / entry["file"], with_moves=True)
        for i in range(len(policy)):
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield planes[i], int(policy[i]), float(value[i]), int(moves[i])


def score(predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
          positions: Iterable[tuple[np.ndarray, int, float, int]], scores: Scores, *, batch_size: int = 512,
          progress: Callable[[int], None] | None = None) -> Scores:
    """Feed the positions to `predict` in batches and tally its answers into `scores`."""
    batch: list = []

    def flush() -> None:
        planes, policy, value, moves = (np.asarray(column) for column in zip(*batch))
        probabilities, white_win = predict(planes)
        scores.add(policy, value, moves, np.asarray(probabilities), np.asarray(white_win))
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for position in positions:
        batch.append(position)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return scores
