"""Time management (dlcli/go/timing.py and its use in mcts.Search and mcts.Engine): the allocation
keeps every clock's margin, the search stops early on decided moves and extends on unclear ones,
GTP's time commands reach the engine, and games played on a fake clock never run out of time.
No test reads the wall clock: every second here is a fake clock's."""

from __future__ import annotations

import numpy as np
import pytest

from dlcli.go import compiled, mcts, timing
from dlcli.go.board import BLACK, WHITE, Board, from_diagram
from dlcli.go.gtp import GtpServer
from dlcli.go.player import RESIGN, RandomPlayer
from dlcli.go.timing import Budget, ClockState, Stopper, TimeControl

SEARCHES = [mcts.Search, pytest.param(mcts.CompiledSearch, marks=pytest.mark.skipif(
    compiled.numba is None, reason="numba is not installed"))]


class FakeClock:
    """Seconds that pass only when the test (or an evaluator) says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TimedEvaluator:
    """A network that takes `cost` seconds of the fake clock per call: its prior is `favourites`
    (point -> weight, the rest of the board sharing 1 %), its value always 0.5."""

    def __init__(self, clock: FakeClock, cost: float, favourites: dict[int, float] | None = None):
        self.clock, self.cost, self.favourites = clock, cost, favourites or {}

    def __call__(self, boards):
        self.clock.now += self.cost
        points = boards[0].points
        policy = np.full((len(boards), points), 0.01 / points)
        for point, weight in self.favourites.items():
            policy[:, point] += weight
        return policy, np.full(len(boards), 0.5)


def searcher(cls, clock, cost, favourites=None, **settings):
    options = mcts.Settings(**{"seconds": 1.0, "batch_size": 4, **settings})
    return cls(TimedEvaluator(clock, cost, favourites), options, seed=1, clock=clock)


# ------------------------------------------------------------------ the allocation

CONTROLS = [TimeControl("absolute", 300), TimeControl("canadian", 300, 60, 10), TimeControl("byoyomi", 300, 30, periods=5),
            TimeControl("canadian", 0, 5, 25), TimeControl("byoyomi", 0, 1, periods=1)]


def states(control: TimeControl):
    """Clocks in main time (much, little, none left) and, with byo-yomi, inside a period."""
    for main in (control.main, 60, 3, 0.4, 0):
        yield ClockState(min(main, control.main), period=control.period, stones=control.stones, periods=control.periods)
    if control.kind == "canadian":
        for period, stones in ((control.period, control.stones), (2.0, 5), (0.5, 1), (9.0, 1)):
            yield ClockState(0, True, period, stones)
    if control.kind == "byoyomi":
        yield ClockState(0, True, control.period, 0, control.periods)


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"{c.kind}-{c.main:g}-{c.period:g}")
def test_the_allocation_never_passes_the_time_left_less_its_margin(control):
    for state in states(control):
        for size, move in ((9, 0), (9, 70), (19, 0), (19, 150), (19, 700)):
            budget = timing.allocate(control, state, size, move)
            # the time this move may take on the clock: main time and, in byo-yomi, the current
            # period; before it, one move's share of what byo-yomi gives back
            if control.kind == "absolute":
                available = state.main
            elif control.kind == "byoyomi":
                available = state.main + (state.period if state.in_byoyomi else control.period)
            elif state.in_byoyomi:
                available = state.period
            else:
                available = state.main + control.period / control.stones
            assert 0 <= budget.target <= budget.maximum
            # the margin: 10 % of the time and a fixed 0.2 s at least, whatever the constants say
            assert budget.maximum + 0.2 <= 0.9 * available + 1e-9 or budget.maximum == 0
            if control.kind == "canadian" and state.in_byoyomi and state.stones > 1:
                # the other stones of the period keep at least half of it
                assert budget.maximum + 0.2 <= 0.9 * state.period / 2 + 1e-9 or budget.maximum == 0


def test_the_moves_expected_shrink_as_the_game_goes_on_so_each_move_gets_more():
    control = TimeControl("absolute", 600)
    state = ClockState(300)
    targets = [timing.allocate(control, state, 19, move).target for move in (0, 100, 200, 300)]
    assert targets == sorted(targets) and targets[-1] > 1.5 * targets[0]
    assert timing.expected_moves_left(19, 10_000) == pytest.approx(361 * timing.MOVES_LEFT_FLOOR)  # a floor


def test_a_clock_without_limit_and_gtps_special_values():
    assert timing.allocate(TimeControl(), ClockState(0), 19, 0) is None
    assert TimeControl.from_gtp(0, 10, 0) == TimeControl()                    # byo-yomi time, no stones: no limit
    assert TimeControl.from_gtp(300, 0, 0) == TimeControl("absolute", 300)
    assert TimeControl.from_gtp(300, 30, 5) == TimeControl("canadian", 300, 30, 5)
    assert timing.allocate(TimeControl("absolute", 0), ClockState(0), 19, 0) == Budget(0.0, 0.0)
    with pytest.raises(ValueError):
        TimeControl("fischer", 300)
    with pytest.raises(ValueError):
        TimeControl("byoyomi", 300, 30, 0, 0)


def test_time_left_and_the_time_spent_move_the_clock():
    canadian = TimeControl("canadian", 10, 30, 3)
    state = ClockState.start(canadian)
    state = timing.spend(canadian, state, 4)
    assert state == ClockState(6, period=30, stones=3)
    state = timing.spend(canadian, state, 8)           # 2 s into byo-yomi: the first stone of a period
    assert state.in_byoyomi and (state.period, state.stones) == (28, 2)
    state = timing.spend(canadian, timing.spend(canadian, state, 10), 10)
    assert (state.period, state.stones) == (30, 3)     # the period's stones played: a fresh period
    assert timing.update(canadian, state, 12, 2) == ClockState(0, True, 12, 2)
    japanese = TimeControl("byoyomi", 60, 10, periods=3)
    assert timing.update(japanese, ClockState.start(japanese), 25, 0).main == 25
    assert timing.update(japanese, ClockState.start(japanese), 7, 2) == ClockState(0, True, 7, 0, 2)
    assert timing.update(japanese, ClockState.start(japanese), 0, 0) == ClockState(0, True, 10, 0, 3)
    state = timing.spend(japanese, ClockState(0, True, 10, 0, 3), 4)
    assert (state.period, state.periods) == (10, 3)    # a move inside its period keeps every period


# ------------------------------------------------------------------ the stopper

def test_the_stopper_stops_decided_moves_and_extends_unclear_ones():
    budget = Budget(1.0, 3.0)
    check = lambda visits, values, elapsed, playouts=40, left=None, batch=0.1: Stopper(budget).check(  # noqa: E731
        np.array(visits, float), np.array(values, float), elapsed=elapsed, playouts=playouts,
        playouts_left=left, batch_seconds=batch)
    assert check([7], [3], 0.1) == "forced"
    assert check([50, 2, 1], [25, 1, 0.5], 0.5, playouts=10) == "decided"  # 20 playouts/s: 50 out of reach
    assert check([30, 10, 1], [15, 5, 0.5], 0.2) is None                   # catchable, and early
    assert check([36, 2, 1, 1], [18, 1, 0.5, 0.5], 0.3) == "decided"       # 90 % of the visits
    assert check([30, 10, 1], [15, 5, 0.5], 1.0) == "budget"               # the target, clear
    assert check([30, 27, 1], [15, 13, 0.5], 1.0) is None                  # the target, close: go on
    assert check([30, 10, 1], [12, 8, 0.5], 1.0) is None                   # a better value behind: go on
    assert check([30, 27, 1], [15, 13, 0.5], 2.95) == "budget"             # the next batch passes 3 s
    assert check([30, 27, 1], [15, 13, 0.5], 0.5, left=0) == "playouts"
    assert Stopper(None).check(np.array([5.0, 1.0]), np.array([1.0, 1.0]), elapsed=9, playouts=6,
                               playouts_left=None, batch_seconds=1) is None  # playouts alone: no time rule
    extending = Stopper(budget)
    assert extending.check(np.array([30.0, 27.0]), np.array([15.0, 13.0]), elapsed=1.0, playouts=40,
                           playouts_left=None, batch_seconds=0.1) is None
    assert extending.check(np.array([60.0, 27.0]), np.array([30.0, 13.0]), elapsed=1.5, playouts=70,
                           playouts_left=None, batch_seconds=0.1) == "extended"


# ------------------------------------------------------------------ the search

FORCED = """
X X X X X X X X X
X . X . X . X . X
X X X X X X X X X
X . X . X . X . X
X X X X X X X X X
X . X . X . X . X
X X X X X X X X X
X X X X X X X X X
X X X X O . X X X
"""


@pytest.mark.parametrize("cls", SEARCHES)
def test_a_forced_move_stops_after_one_batch(cls):
    board = from_diagram(FORCED, to_move=BLACK)  # Black's one sensible move captures O; the rest are eyes
    clock = FakeClock()
    result = searcher(cls, clock, 0.1).run(board, budget=Budget(2.0, 6.0))
    assert result.moves.tolist() == [board.point(8, 5)]
    assert result.stop == "forced" and result.playouts <= 4 and result.seconds <= 0.2


@pytest.mark.parametrize("cls", SEARCHES)
def test_an_unclear_move_gets_more_time_than_a_clear_one_and_never_the_maximum_passed(cls):
    board = Board(9)
    a, b = board.point(2, 2), board.point(6, 6)
    runs = {}
    for name, favourites in {"clear": {a: 0.95}, "unclear": {a: 0.47, b: 0.47}}.items():
        clock = FakeClock()
        runs[name] = searcher(cls, clock, 0.1, favourites).run(board, budget=Budget(1.0, 3.0))
    clear, unclear = runs["clear"], runs["unclear"]
    assert clear.stop in ("decided", "budget") and clear.seconds <= 1.1 and clear.best() == a
    assert unclear.stop == "extended" and 1.0 < unclear.seconds <= 3.0
    assert unclear.seconds > 2 * clear.seconds


@pytest.mark.parametrize("cls", SEARCHES)
def test_a_per_move_budget_is_a_cap_never_passed_even_by_a_batch(cls):
    clock = FakeClock()
    result = searcher(cls, clock, 0.3, seconds=1.0).run(Board(9))  # root 0.3, batches of 0.3: stops at 0.9
    assert result.seconds <= 1.0 and result.stop in ("budget", "decided") and result.playouts == 8


def test_a_fixed_number_of_playouts_is_played_in_full():
    clock = FakeClock()
    result = searcher(mcts.Search, clock, 0.1, {0: 0.99}, seconds=None, playouts=40).run(Board(9))
    assert result.playouts == 40 and result.stop == "playouts"  # no early stop without a time budget


# ------------------------------------------------------------------ the engine and GTP

def engine(clock, cost=0.1, seconds=None, **settings):
    options = mcts.Settings(**{"seconds": seconds, "playouts": None if seconds else 10_000, "batch_size": 4,
                               "resign_threshold": 0.0, **settings})
    player = mcts.Engine(TimedEvaluator(clock, cost), options, seed=2)
    player.search.clock = clock
    return player


def test_time_left_updates_the_allocation_of_that_colour_only():
    player = engine(FakeClock(), seconds=30)
    player.new_game(9)
    assert player.budget(BLACK) == Budget(30, 30)  # no clock: the per-move cap
    player.set_time_control(TimeControl("absolute", 600))
    full = player.budget(BLACK)
    player.time_left(BLACK, 60, 0)
    assert player.budget(BLACK).target < full.target / 5
    assert player.budget(WHITE) == full
    player.set_time_control(TimeControl("canadian", 0, 30, 5))
    player.time_left(WHITE, 12, 2)
    assert player.budget(WHITE).target == pytest.approx((0.9 * 12) / 2 - timing.OVERHEAD_S)
    player.set_time_control(TimeControl("absolute", 3600))
    assert player.budget(BLACK).maximum <= 30  # --time stays a cap under a clock


def test_kgs_time_settings_parses_every_form_and_refuses_bad_ones():
    player = engine(FakeClock())
    server = GtpServer(player, size=9)
    assert "kgs-time_settings" in server.handle("list_commands")
    assert server.handle("known_command kgs-time_settings") == "= true\n\n"
    forms = {"none": TimeControl(), "absolute 300": TimeControl("absolute", 300),
             "byoyomi 600 30 5": TimeControl("byoyomi", 600, 30, periods=5),
             "canadian 600 300 25": TimeControl("canadian", 600, 300, 25)}
    for arguments, control in forms.items():
        assert server.handle(f"7 kgs-time_settings {arguments}") == "=7 \n\n"
        assert player.time_control == control
    assert server.handle("time_settings 300 20 4") == "= \n\n" and player.time_control == TimeControl(
        "canadian", 300, 20, 4)
    for bad in ("", "fischer 300 10", "none 5", "absolute", "absolute 300 5", "byoyomi 600 30", "byoyomi 600 0 5",
                "byoyomi 600 30 0", "canadian 600 300 0", "canadian 600 -3 5", "canadian 600 a 5", "absolute 1e3"):
        answer = server.handle(f"kgs-time_settings {bad}")
        assert answer.startswith("? ") and answer.endswith("\n\n") and "\n" not in answer[:-2], (bad, answer)
    assert player.time_control == TimeControl("canadian", 300, 20, 4)  # a refused setting changes nothing
    assert server.handle("kgs-time_settings byoyomi 0 2 3") == "= \n\n"
    assert server.handle("time_left b 2 3") == "= \n\n"
    period = pytest.approx(0.9 * 2 - timing.OVERHEAD_S)
    assert player.budget(BLACK).target == period and player.budget(BLACK).maximum == period


def play_on_clock(player, control: TimeControl, *, lag: float, moves: int, tell_time: bool):
    """`player` (Black, on the fake clock) against a random White; as a controller would, the clock
    counts each genmove plus `lag`, and `time_left` is sent before each move when `tell_time`.
    Returns the clock after every move of Black's and the seconds each took."""
    clock, white = player.search.clock, RandomPlayer(seed=5)
    player.set_time_control(control)
    for someone in (player, white):
        someone.new_game(9, 7.5)
    state, history = ClockState.start(control), []
    for _ in range(moves):
        if tell_time:
            in_byoyomi = state.in_byoyomi
            player.time_left(BLACK, state.period if in_byoyomi else state.main,
                             (state.stones if control.kind == "canadian" else state.periods) if in_byoyomi else 0)
        started = clock()
        move = player.genmove(BLACK)
        taken = clock() - started + lag
        clock.now += lag
        state = timing.spend(control, state, taken)
        history.append((state, taken))
        assert move != RESIGN
        white.play(BLACK, move)
        reply = white.genmove(WHITE)
        player.play(WHITE, reply)
        if player.board.over:
            break
    return history


@pytest.mark.parametrize("tell_time", [True, False])
def test_a_game_under_absolute_time_never_runs_out_and_uses_its_time(tell_time):
    clock = FakeClock()
    player = engine(clock, cost=0.1, seconds=60, batch_size=2)  # a network call and the lag: the overhead
    history = play_on_clock(player, TimeControl("absolute", 60), lag=0.1, moves=40, tell_time=tell_time)
    left = [state.main for state, _ in history]
    assert len(history) == 40 and min(left) > 0
    assert left[-1] < 0.4 * 60  # and it did spend the clock: most of it, not nothing
    stops = player.search_stats()["search_stops"]
    assert player.last is not None and sum(stops.values()) >= 10


def test_japanese_byoyomi_never_overruns_a_period_and_canadian_never_a_period_of_stones():
    clock = FakeClock()
    player = engine(clock, cost=0.2, seconds=60, batch_size=2)
    for _, taken in play_on_clock(player, TimeControl("byoyomi", 0, 2, periods=1), lag=0.2, moves=25, tell_time=True):
        assert taken <= 2
    clock = FakeClock()
    player = engine(clock, cost=0.2, seconds=60, batch_size=2)
    history = play_on_clock(player, TimeControl("canadian", 0, 10, 5), lag=0.2, moves=25, tell_time=False)
    assert all(state.in_byoyomi and state.period > 0 for state, _ in history)
    assert max(taken for _, taken in history) > 10 / 5  # time moves within a period, where it is needed
