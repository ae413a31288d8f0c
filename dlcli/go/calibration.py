"""Positions to calibrate an int8 network on: the network's own policy plays a few games against
itself, and their positions, encoded as the search encodes its leaves, show the ranges its layers
take on the positions a search will ask about (opening, middle game, crowded late boards).

Moves are drawn in proportion to the policy among the empty points; an illegal draw (suicide, ko)
is struck out and drawn again; a board with nothing left to draw passes. The seed fixes the games,
so one network always gets the same int8 twin.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from dlcli.go import features
from dlcli.go.board import EMPTY, PASS, Board, IllegalMove


def self_play_planes(policy: Callable[[np.ndarray], np.ndarray], *, size: int = 19, games: int = 8,
                     moves: int = 180, every: int = 3, seed: int = 0) -> np.ndarray:
    """float32 planes (n, size, size, 31) of `games` games played side by side for `moves` moves
    by `policy` (planes in, probabilities over the points out), one position in `every` kept."""
    rng = np.random.default_rng(seed)
    boards = [Board(size) for _ in range(games)]
    kept = []
    for move in range(moves):
        planes = np.stack([features.encode(board) for board in boards]).astype(np.float32)
        if move % every == 0:
            kept.append(planes)
        for board, probabilities in zip(boards, np.asarray(policy(planes), dtype=np.float64)):
            _play_drawn(board, probabilities.reshape(-1), rng)
    return np.concatenate(kept)


def _play_drawn(board: Board, probabilities: np.ndarray, rng: np.random.Generator) -> None:
    weights = np.where(np.asarray(board.colour) == EMPTY, np.maximum(probabilities, 0.0), 0.0)
    while weights.sum() > 0:
        point = int(rng.choice(len(weights), p=weights / weights.sum()))
        try:
            board.play(point, board.to_move)
            return
        except IllegalMove:
            weights[point] = 0.0
    board.play(PASS, board.to_move)
