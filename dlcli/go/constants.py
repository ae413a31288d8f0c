"""Numbers and small rules that the pure-Python reference (`features`, `mcts`) and the compiled
path (`compiled`) share, kept here so that neither imports the other for them."""

from __future__ import annotations

import numpy as np

PLANES = 31
LADDER_DEPTH = 80   # plies read at most; a ladder crosses a 19x19 board in about 70
LADDER_NODES = 1000  # positions read at most per string (golois counts 1,000); past it: safe
PASS_PRIOR = 0.1  # prior of passing when the opponent has just passed (the rest share 0.9)
FIRST_PLAY_REDUCTION = 0.1  # an unvisited move is valued at its parent's value minus this


def komi_plane(komi: float) -> int:
    """Index among the ten komi planes: the integer part of White's komi, clipped to 0..9."""
    return int(min(max(np.floor(komi), 0), 9))
