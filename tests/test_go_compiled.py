"""The compiled board and planes (dlcli/go/compiled.py) against the pure-Python reference: the same
legal moves, captures, hashes and 31 planes on random games and replayed records."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dlcli.go import compiled, features, mcts, sgf
from dlcli.go.board import BLACK, PASS, WHITE, Board
from dlcli.go.constants import PASS_PRIOR
from dlcli.go.player import sensible_moves
from tests.test_go_board import REAL_RECORD
from tests.test_go_features import LADDER, STONE
from tests.test_go_sgf import KATAGO

pytestmark = pytest.mark.skipif(compiled.numba is None, reason="numba is not installed")


def check_position(board: Board, ints: np.ndarray, bits: np.ndarray) -> None:
    """The arrays played along with `board` hold its position, and every query agrees with it."""
    n = board.points
    assert ints[:n].tolist() == board.colour
    assert int(bits[-1]) == board.hash
    assert ints[8 * n + compiled.CAPTURED:][:2].tolist() == [board.captured[BLACK], board.captured[WHITE]]
    seen = compiled.seen_array(board)
    for colour in (BLACK, WHITE):
        legal = compiled.moves(ints, bits, board.size, colour, seen, sensible=False)
        assert legal.tolist() == board.legal_moves(colour)
    assert compiled.moves(ints, bits, board.size, board.to_move, seen, sensible=True).tolist() == sensible_moves(board)
    np.testing.assert_array_equal(compiled.encode_board(board), features.encode_python(board))


def random_game(size: int, seed: int, moves: int, *, superko: bool = True):
    """A random game's positions: the Board and the compiled arrays played along with it."""
    rng = random.Random(seed)
    board = Board(size)
    if not superko:
        board.seen = None
    ints, bits = compiled.state_of(board)
    for _ in range(moves):
        yield board, ints, bits
        legal = board.legal_moves()
        move = rng.choice(legal) if legal and rng.random() > 0.03 else PASS
        colour = board.to_move
        board.play(move)
        compiled.play(ints, bits, size, move, colour)
        if board.over:
            return


@pytest.mark.parametrize("size, games, moves", [(9, 12, 120), (13, 4, 200), (19, 2, 300)])
def test_random_games_agree_with_the_reference_at_every_position(size, games, moves):
    positions = 0
    for seed in range(games):
        for board, ints, bits in random_game(size, seed, moves, superko=seed % 2 == 0):
            check_position(board, ints, bits)
            positions += 1
    assert positions > games * moves // 2


def test_replayed_records_agree_with_the_reference():
    for record in (*sgf.parse(REAL_RECORD), *sgf.parse(KATAGO)):
        positions = 0
        for board, _, _ in record.replay():
            ints, bits = compiled.state_of(board)
            check_position(board, ints, bits)
            positions += 1
        assert positions == len(record.moves)


def test_ladders_and_ko_are_read_as_the_reference_reads_them():
    from dlcli.go.board import from_diagram

    board = from_diagram(LADDER)
    planes = compiled.encode_board(board).reshape(81, -1)
    assert planes[STONE, 3] == 1 and planes[:, 3].sum() == 1
    np.testing.assert_array_equal(compiled.encode_board(board), features.encode_python(board))


def test_the_selected_encoder_follows_the_environment(monkeypatch):
    board = from_record_at(100)
    monkeypatch.setenv("DLCLI_GO_COMPILED", "0")
    assert not compiled.enabled()
    python = features.encode(board)
    monkeypatch.setenv("DLCLI_GO_COMPILED", "1")
    assert compiled.enabled()
    np.testing.assert_array_equal(features.encode(board), python)


def from_record_at(move: int) -> Board:
    (record,) = sgf.parse(REAL_RECORD)
    for index, (board, _, _) in enumerate(record.replay()):
        if index == move:
            return board
    raise AssertionError(move)


@pytest.mark.parametrize("move, batch_size, by_score, pass_after",
                         [(0, 1, False, None), (120, 8, False, None), (200, 8, True, None), (120, 32, True, None),
                          (200, 8, True, 0), (120, 8, True, 121)])  # pass at every node / from the root's children on
def test_the_compiled_search_visits_what_the_reference_visits(move, batch_size, by_score, pass_after):
    from tests.test_go_search import UniformEvaluator

    board = from_record_at(move)
    board.seen = {board.hash}  # a search plays by positional superko
    settings = mcts.Settings(seconds=None, playouts=96, batch_size=batch_size, pass_after=pass_after)
    reference = mcts.Search(UniformEvaluator(by_score), settings, seed=1).run(board)
    ours = mcts.CompiledSearch(UniformEvaluator(by_score), settings, seed=1).run(board)
    assert ours.playouts == reference.playouts == 96
    np.testing.assert_array_equal(ours.moves, reference.moves)
    np.testing.assert_array_equal(ours.visits, reference.visits)
    np.testing.assert_allclose(ours.values, reference.values, rtol=1e-12)
    assert (PASS in ours.moves) == (pass_after is not None and move >= pass_after)


def test_pass_is_a_move_from_pass_after_on():
    board = from_record_at(120)
    policy = np.full(board.points, 1 / board.points)
    for pass_after, expected in ((None, False), (121, False), (120, True), (0, True)):
        node = mcts.Node()
        node.expand(board, policy, pass_after)
        assert (PASS in node.moves) == expected
        if expected:
            assert node.priors[-1] == pytest.approx(PASS_PRIOR) and node.priors.sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="pass_after"):
        mcts.Settings(pass_after=-1)


def test_the_compiled_search_keeps_the_subtree_of_the_move_played():
    from tests.test_go_search import UniformEvaluator

    searches = [cls(UniformEvaluator(False), mcts.Settings(seconds=None, playouts=64, batch_size=4), seed=2)
                for cls in (mcts.Search, mcts.CompiledSearch)]
    board = Board(9)
    for _ in range(3):
        results = [search.run(board) for search in searches]
        np.testing.assert_array_equal(results[0].visits, results[1].visits)
        move = results[0].best()
        board.play(move)
        for search in searches:
            search.advance(board, move)
        assert searches[1].root.visits.sum() == searches[0].root.visits.sum() > 0

