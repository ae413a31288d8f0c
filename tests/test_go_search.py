"""PUCT search invariants (dlcli/go/mcts.py) with evaluators whose answers the test knows."""

from __future__ import annotations

import numpy as np
import pytest

from dlcli.go import features, mcts
from dlcli.go.board import BLACK, PASS, WHITE, Board, from_diagram
from dlcli.go.player import RESIGN


class UniformEvaluator:
    """A uniform prior and, as value, White's lead by area turned into a probability (0.5 when
    `by_score` is off): a 'network' whose only knowledge is the score, so what the search finds
    it found by searching."""

    def __init__(self, by_score: bool = True):
        self.by_score = by_score
        self.batches: list[list[Board]] = []

    def __call__(self, boards):
        self.batches.append(boards)
        policy = np.full((len(boards), boards[0].points), 1 / boards[0].points)
        if not self.by_score:
            return policy, np.full(len(boards), 0.5)
        white_lead = np.array([-board.score() for board in boards])
        return policy, 1 / (1 + np.exp(-white_lead / 3))


def search(evaluator, **settings) -> mcts.Search:
    return mcts.Search(evaluator, mcts.Settings(**{"seconds": None, **settings}), seed=1)


def test_visit_counts_sum_to_the_playouts_and_batches_hold_distinct_positions():
    evaluator = UniformEvaluator(by_score=False)
    result = search(evaluator, playouts=61, batch_size=8).run(Board(9))
    assert result.playouts == 61 and result.visits.sum() == 61
    assert max(len(batch) for batch in evaluator.batches) == 8
    for batch in evaluator.batches:
        paths = {tuple(b.moves) for b in batch}
        assert len(paths) == len(batch)  # virtual loss sent the batch's playouts to different leaves


CAPTURE = """
. . . . . . . . .
. X X X X . . . .
X O O O O . . . .
. X X X X . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . O . .
. . . . . . . . .
. . . . . . . . .
"""


@pytest.mark.parametrize("batch_size", [1, 8])
def test_a_forced_capture_is_found_with_a_uniform_prior(batch_size):
    board = from_diagram(CAPTURE, komi=0.5, to_move=BLACK)
    capture = board.point(2, 5)  # the four white stones' last liberty
    assert board.liberties[board.string[board.point(2, 1)]] == {capture}
    result = search(UniformEvaluator(), playouts=300, batch_size=batch_size).run(board)
    assert result.best() == capture


def test_passing_after_the_opponents_pass_is_chosen_when_it_wins_and_avoided_when_it_loses():
    ahead = from_diagram(CAPTURE, komi=0.5, to_move=BLACK)
    ahead.play(PASS, WHITE)
    ahead.to_move = BLACK
    assert ahead.passes == 1 and ahead.winner() == BLACK
    assert search(UniformEvaluator(by_score=False), playouts=100).run(ahead).best() == PASS
    behind = from_diagram(CAPTURE, komi=30.5, to_move=BLACK)
    behind.play(PASS, WHITE)
    behind.to_move = BLACK
    assert search(UniformEvaluator(by_score=False), playouts=100).run(behind).best() != PASS


LOST = """
O O O O O O O O O
O O O O O O O O O
O . O . O . O . O
O O O O O O O O O
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . X X .
"""


def engine(evaluator, **settings) -> mcts.Engine:
    return mcts.Engine(evaluator, mcts.Settings(**{"seconds": None, "playouts": 40, **settings}), seed=3)


def test_a_dead_lost_position_makes_it_resign_but_only_after_several_moves_and_never_early():
    player = engine(UniformEvaluator(), resign_moves=2, resign_after=0)
    player.board = from_diagram(LOST, komi=7.5)
    first = player.genmove(BLACK)
    assert first not in (RESIGN, PASS) and player.last.value < 0.05
    player.play(WHITE, PASS)
    assert player.genmove(BLACK) == RESIGN
    patient = engine(UniformEvaluator(), resign_moves=1, resign_after=100)
    patient.board = from_diagram(LOST, komi=7.5)
    assert patient.genmove(BLACK) != RESIGN


def test_without_search_the_networks_own_value_decides_resignation_by_the_same_rule():
    player = engine(UniformEvaluator(), playouts=0, resign_moves=2, resign_after=0)
    player.board = from_diagram(LOST, komi=7.5)
    first = player.genmove(BLACK)
    assert first not in (RESIGN, PASS) and player.last.stop == "policy" and player.last.value < 0.05
    player.play(WHITE, PASS)
    assert player.genmove(BLACK) == RESIGN
    never = engine(UniformEvaluator(), playouts=0, resign_threshold=0.0, resign_moves=1, resign_after=0)
    never.board = from_diagram(LOST, komi=7.5)
    assert never.genmove(BLACK) != RESIGN  # --resign 0: the policy plays on, as before


def test_a_new_game_warms_the_search_up_without_changing_the_game_it_plays():
    def played(warm: bool):
        evaluator = UniformEvaluator()
        player = engine(evaluator, playouts=48, batch_size=8, noise_fraction=0.25, dirichlet_alpha=0.3)
        if not warm:
            player.warm_sizes.add(9)
        player.new_game(9)
        warm_calls = len(evaluator.batches)
        assert not player.search.root.expanded and player.board.moves == []  # the tree and board are new
        moves = [player.genmove(colour) for colour in (BLACK, WHITE, BLACK)]
        return warm_calls, player.search.batch_seconds, moves, player.search.root.visits.copy()

    warm_calls, batch_seconds, moves, visits = played(warm=True)
    cold_calls, _, cold_moves, cold_visits = played(warm=False)
    assert warm_calls >= 2 and cold_calls == 0 and batch_seconds > 0  # two batches ran, the second measured
    assert moves == cold_moves and np.array_equal(visits, cold_visits)  # with the noise drawn as before


def test_one_slow_batch_does_not_keep_every_later_move_from_searching():
    player = engine(UniformEvaluator(), playouts=None, seconds=0.5)
    player.new_game(9)
    player.search.batch_seconds = 60.0  # a first call that compiled code, or a stalled machine
    player.genmove(BLACK)
    assert player.last.stop == "no time" and player.search.batch_seconds < 60.0  # measured again
    player.genmove(WHITE)
    assert player.last.stop != "no time" and player.last.playouts > 0


def test_in_self_play_the_winners_moves_do_not_reset_the_losers_count():
    player = engine(UniformEvaluator(), resign_moves=2, resign_after=0)
    player.board = from_diagram(LOST, komi=7.5)
    assert player.genmove(BLACK) != RESIGN and player.last.value < 0.05
    assert player.genmove(WHITE) != RESIGN and player.last.value > 0.95  # the same engine plays White
    assert player.genmove(BLACK) == RESIGN


def test_the_tree_is_reused_after_a_move():
    player = engine(UniformEvaluator(by_score=False), playouts=64)
    player.new_game(9)
    move = player.genmove(BLACK)
    kept = player.search.root.visits.sum() if player.search.root.expanded else 0
    assert move >= 0 and kept > 0  # the chosen move's subtree became the root
    reply = int(player.search.root.moves[np.argmax(player.search.root.visits)])
    player.play(WHITE, reply)
    assert player.search.root.expanded  # the opponent's most visited reply was searched too


def test_the_time_budget_bounds_a_search():
    clock = iter(np.arange(0, 100, 0.5)).__next__  # every call to the clock advances half a second
    searcher = mcts.Search(UniformEvaluator(by_score=False), mcts.Settings(seconds=2.0, batch_size=4), clock=clock)
    result = searcher.run(Board(9))
    assert 1 <= result.playouts <= 16 and result.seconds <= 3


def test_noise_and_temperature_vary_self_play_openings():
    moves = set()
    for seed in range(6):
        player = mcts.Engine(UniformEvaluator(by_score=False),
                             mcts.Settings(seconds=None, playouts=16, noise_fraction=0.25, temperature=1.0), seed=seed)
        player.new_game(9)
        moves.add(player.genmove(BLACK))
    assert len(moves) > 1


def test_every_symmetry_is_undone_by_its_targets():
    policy = np.random.default_rng(0).random(361)
    for symmetry, targets in enumerate(features.symmetry_targets(19)):
        turned = features.transform_policy(policy, symmetry)
        assert np.array_equal(turned[targets], policy)


def stone_seeking_network():
    """A Keras network whose policy points at the side to move's own stones (plane 11), so that a
    wrongly undone symmetry shows as a policy pointing elsewhere."""
    import keras

    planes = keras.Input((19, 19, 31))
    select = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="zeros")
    logits = select(planes)
    weights = np.zeros((1, 1, 31, 1), dtype="float32")
    weights[0, 0, 11, 0] = 10.0
    select.set_weights([weights])
    policy = keras.layers.Activation("softmax", name="policy")(keras.layers.Flatten()(logits))
    value = keras.layers.Dense(1, activation="sigmoid", name="value")(keras.layers.GlobalAveragePooling2D()(planes))
    return keras.Model(planes, [value, policy])  # heads in the 'wrong' order on purpose


def test_the_network_evaluator_undoes_its_random_symmetries():
    evaluator = mcts.NetworkEvaluator(stone_seeking_network(), symmetries=True, seed=0)
    evaluator.rng = type("EverySymmetry", (), {"integers": lambda self, n, size: np.arange(size) % n})()
    board = Board(19)
    board.play(board.point(2, 5), BLACK)
    board.play(board.point(15, 3), WHITE)  # Black to move: its stone at (2, 5) is the target
    policy, white = evaluator([board] * 16)
    assert policy.shape == (16, 361) and white.shape == (16,)
    assert set(np.argmax(policy, axis=1)) == {board.point(2, 5)}


def test_an_engine_on_a_real_network_plays_legal_moves_and_policy_only_mode():
    network = stone_seeking_network()
    for playouts in (0, 24):
        player = mcts.Engine(mcts.NetworkEvaluator(network), mcts.Settings(seconds=None, playouts=playouts))
        player.new_game(19)
        referee = Board(19)
        for colour in (BLACK, WHITE, BLACK):
            referee.play(player.genmove(colour), colour)  # raises IllegalMove on an illegal answer
        assert player.board.moves == referee.moves and len(referee.moves) == 3
