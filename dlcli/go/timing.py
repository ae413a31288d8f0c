"""Time management: how long one move's search may take, and when it should stop.

A game's clock (`TimeControl`: none, absolute, Canadian or Japanese byo-yomi, as GTP's
`time_settings` and KGS's `kgs-time_settings` set it) and each colour's time left (`ClockState`,
from GTP's `time_left` or counted here from the time each move took) give a `Budget` for the next
move: a target and a hard maximum, in seconds of search (`allocate`). During the search a
`Stopper` decides after every batch whether to go on: it stops early when the move is decided and
extends towards the maximum when it is not. Pure logic with no clock of its own: every time is
passed in, so the tests drive it with a fake clock. No NumPy import (the GTP server loads this
without it); the root's statistics come in as NumPy arrays and are used through their methods.

Never losing on time: of every pool of time only 90 % is planned (`SAFETY`), every move is charged
`OVERHEAD_S` for what is not search (the network's first call, GTP, the controller's lag), a move
may search at most `EXTEND` times its target and never more than half its pool (so the moves after
it keep at least as much); a Japanese byo-yomi period is never planned beyond 90 % of it, less the
overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("none", "absolute", "canadian", "byoyomi")

SAFETY = 0.10            # of every pool of time (main time, a byo-yomi period): never planned
OVERHEAD_S = 0.25        # charged to every move for what is not search: first network call, GTP, lag
EXTEND = 3.0             # an unclear move may search this many times its target (at most half its pool)
GAME_LENGTH = 0.8        # a game is expected to last this many moves per point of the board ...
MOVES_LEFT_FLOOR = 1 / 5  # ... and one's own moves left never to drop below this many per point

CLOSE = 0.8              # unclear: the second most visited has this share of the first's visits ...
CONTENDER = 0.25         # ... or a move with this share of them has a better mean value
DOMINANT = 0.9           # decided: the most visited holds this share of the root's visits ...
DOMINANT_VISITS = 32     # ... of at least this many ...
DOMINANT_AFTER = 0.25    # ... once this share of the target has been searched
MIN_SEARCH_S = 0.01      # a budget below this (or below one batch) plays the network's move, no search


@dataclass(frozen=True)
class TimeControl:
    """A game's clock. `period`: Canadian, the time for `stones` moves; Japanese (`byoyomi`), the
    time of each of `periods` periods, which a move must not overrun."""

    kind: str = "none"
    main: float = 0.0
    period: float = 0.0
    stones: int = 0
    periods: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"time system must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not all(math.isfinite(v) and v >= 0 for v in (self.main, self.period, self.stones, self.periods)):
            raise ValueError("times and counts must be finite and not negative")
        if self.kind == "canadian" and (self.period <= 0 or self.stones < 1):
            raise ValueError("canadian byo-yomi needs a period time > 0 and at least 1 stone")
        if self.kind == "byoyomi" and (self.period <= 0 or self.periods < 1):
            raise ValueError("byoyomi needs a period time > 0 and at least 1 period")

    @classmethod
    def from_gtp(cls, main: float, byo_yomi: float, stones: int) -> "TimeControl":
        """GTP `time_settings`: Canadian byo-yomi; no byo-yomi time is absolute time, and byo-yomi
        time with 0 stones means no time limit (GTP 2, section 4.2)."""
        if byo_yomi > 0 and stones == 0:
            return cls()
        if byo_yomi == 0:
            return cls("absolute", main)
        return cls("canadian", main, byo_yomi, stones)

    def gtp_settings(self) -> tuple[float, float, int]:
        """The nearest GTP `time_settings` (main, byo-yomi time, stones): Japanese byo-yomi becomes one
        period of one stone, which keeps an engine that knows only Canadian inside every period."""
        if self.kind == "none":
            return 0, 1, 0
        if self.kind == "absolute":
            return self.main, 0, 0
        return self.main, self.period, self.stones if self.kind == "canadian" else 1


@dataclass
class ClockState:
    """One colour's clock: main time left, then in byo-yomi the time left in the current period
    and (Canadian) the stones still to play in it or (Japanese) the periods left."""

    main: float
    in_byoyomi: bool = False
    period: float = 0.0
    stones: int = 0
    periods: int = 0

    @classmethod
    def start(cls, control: TimeControl) -> "ClockState":
        return cls(control.main, period=control.period, stones=control.stones, periods=control.periods)


@dataclass(frozen=True)
class Budget:
    """One move's search: aim for `target` seconds, never pass `maximum`."""

    target: float
    maximum: float

    def capped(self, seconds: float | None) -> "Budget":
        """The same budget under a per-move cap (`--time`)."""
        return self if seconds is None else Budget(min(self.target, seconds), min(self.maximum, seconds))


def expected_moves_left(size: int, move_number: int) -> float:
    """How many moves of one's own the game is expected to still need: half the plies left of a game
    of GAME_LENGTH moves per point, never fewer than MOVES_LEFT_FLOOR per point (games run long)."""
    points = size * size
    return max(points * MOVES_LEFT_FLOOR, (points * GAME_LENGTH - move_number) / 2)


def allocate(control: TimeControl, state: ClockState, size: int, move_number: int) -> Budget | None:
    """The next move's budget from the clock (None without a time limit).

    A pool of time (the main time for the moves expected, or a Canadian period for its stones left)
    is shared evenly: 90 % of it over its moves; time that comes back for every move (a Japanese
    period, a Canadian period's share once main time is over) is added at 90 %; the overhead is
    taken off. The maximum is EXTEND times that target, but never more than half the pool (90 % of
    it when it is the pool's last move): each move leaves the next ones at least as much as it took.
    With no target (the pool's share does not even pay the overhead) there is no search at all."""
    if control.kind == "none":
        return None
    pool, moves, every_move = state.main, max(expected_moves_left(size, move_number), 1.0), 0.0
    if control.kind == "canadian":
        if state.in_byoyomi:
            pool, moves = state.period, max(state.stones, 1)
        else:
            every_move = control.period / control.stones
    elif control.kind == "byoyomi":
        every_move = state.period if state.in_byoyomi else control.period
        if state.in_byoyomi:
            pool = 0.0
    safe_pool, safe_every = (1 - SAFETY) * max(pool, 0.0), (1 - SAFETY) * every_move
    target = max(safe_pool / moves + safe_every - OVERHEAD_S, 0.0)
    return Budget(target, max(min(EXTEND * target, safe_pool / 2 + safe_every - OVERHEAD_S), target))


def update(control: TimeControl, state: ClockState, seconds: float, stones: int) -> ClockState:
    """GTP `time_left`: `seconds` left, in main time when `stones` is 0; in byo-yomi `seconds` of
    the current period and `stones` the stones (Canadian) or, KGS's way, the periods (Japanese) left.
    A controller may say `0 0` when main time ends: byo-yomi then starts afresh."""
    if control.kind in ("none", "absolute") or (stones == 0 and seconds > 0):
        return ClockState(seconds, period=control.period, stones=control.stones, periods=control.periods)
    if stones == 0:
        return ClockState(0.0, True, control.period, control.stones, control.periods)
    if control.kind == "canadian":
        return ClockState(0.0, True, seconds, stones, 0)
    return ClockState(0.0, True, seconds, 0, stones)


def spend(control: TimeControl, state: ClockState, seconds: float) -> ClockState:
    """The clock after a move that took `seconds` (when no `time_left` says otherwise)."""
    if control.kind == "none":
        return state
    if not state.in_byoyomi:
        left = state.main - seconds
        if left >= 0 or control.kind == "absolute":
            return ClockState(left, period=state.period, stones=state.stones, periods=state.periods)
        state, seconds = ClockState(0.0, True, control.period, control.stones, control.periods), -left
    if control.kind == "canadian":
        period, stones = state.period - seconds, state.stones - 1
        return ClockState(0.0, True, *((control.period, control.stones) if stones <= 0 else (period, stones)))
    lost = math.floor(seconds / control.period) if seconds > 0 else 0  # periods overrun (never planned)
    return ClockState(0.0, True, control.period, 0, max(state.periods - lost, 0))


class Stopper:
    """Decides after each batch of a timed search whether it should stop, and why:

    - 'forced': the root has one move only;
    - 'decided': the most visited move cannot be caught by the second in the playouts the time left
      allows at the rate measured, or it holds DOMINANT of the visits after DOMINANT_AFTER of the
      target;
    - 'budget': the target is reached and the move is clear, or the next batch would pass the
      maximum;
    - 'extended': any of these after the target was passed because the move was unclear (the two
      most visited close, or a well-visited move with a better value than the most visited);
    - 'playouts': the playout cap is reached.
    """

    def __init__(self, budget: Budget | None):
        self.budget = budget
        self.extending = False

    def check(self, visits, values, *, elapsed: float, playouts: int,
              playouts_left: int | None, batch_seconds: float) -> str | None:
        if playouts_left is not None and playouts_left <= 0:
            return "playouts"
        budget = self.budget
        if budget is None:
            return None
        reason = self._reason(visits, values, elapsed, playouts, playouts_left, batch_seconds, budget)
        if reason is None and elapsed >= budget.target:
            self.extending = True
        return "extended" if reason in ("decided", "budget") and self.extending else reason

    @staticmethod
    def _reason(visits, values, elapsed, playouts, playouts_left, batch_seconds, budget) -> str | None:
        if len(visits) < 2:
            return "forced"
        if elapsed + batch_seconds > budget.maximum:
            return "budget"
        second, first = visits.argsort(kind="stable")[-2:]
        rate = playouts / elapsed if elapsed > 0 else math.inf
        horizon = max(budget.maximum - elapsed, 0.0)
        possible = rate * horizon if horizon else 0.0
        if playouts_left is not None:
            possible = min(possible, playouts_left)
        if visits[first] - visits[second] > possible:
            return "decided"
        total = visits.sum()
        if total >= DOMINANT_VISITS and visits[first] >= DOMINANT * total and elapsed >= DOMINANT_AFTER * budget.target:
            return "decided"
        if elapsed < budget.target or _unclear(visits, values, first, second):
            return None
        return "budget"


def _unclear(visits, values, first: int, second: int) -> bool:
    """The two most visited are close, or a move visited enough has a better mean than the first."""
    if visits[second] >= CLOSE * visits[first]:
        return True
    contenders = visits >= max(CONTENDER * visits[first], 1)
    return bool((values[contenders] / visits[contenders]).max() > values[first] / visits[first])
