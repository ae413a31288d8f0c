"""The 31 planes on positions where each value is known by hand, ladders, and symmetries."""

from __future__ import annotations

import numpy as np
import pytest

from dlcli.go import features
from dlcli.go.board import BLACK, WHITE, Board, from_diagram
from dlcli.go.features import encode

# White's stone at (2, 2) has two liberties; Black ataris from below and the ladder runs to the
# lower right; a white stone at (4, 6) on its path breaks it.
LADDER = """
. . . . . . . . .
. . X X . . . . .
. X O . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . ."""
STONE = 2 * 9 + 2


def with_stone(diagram: str, row: int, col: int, mark: str) -> str:
    rows = [line.split() for line in diagram.strip().splitlines()]
    rows[row][col] = mark
    return "\n".join(" ".join(r) for r in rows)


def test_colour_komi_and_shape():
    board = Board(19, komi=7.5)
    planes = encode(board)
    assert planes.shape == (19, 19, 31) and planes.dtype == np.uint8
    assert planes[..., 0].all()
    assert planes[..., 21 + 7].all() and planes[..., 21:31].sum() == 361
    board.play(60)
    assert not encode(board)[..., 0].any()
    assert features.komi_plane(-3) == 0 and features.komi_plane(12.5) == 9 and features.komi_plane(0.5) == 0


def test_history_planes_side_to_move_first():
    board = Board(9)
    board.play(0)      # Black
    board.play(80)     # White
    board.play(40)     # Black; White to move
    planes = encode(board).reshape(81, 31)
    assert planes[[80], 11].tolist() == [1] and planes[[0, 40], 12].tolist() == [1, 1]   # now
    assert planes[:, 11].sum() == 1 and planes[:, 12].sum() == 2
    assert planes[40, 14] == 0 and planes[0, 14] == 1 and planes[80, 13] == 1               # one move ago
    assert planes[80, 15] == 0 and planes[0, 16] == 1                                       # two moves ago
    assert planes[:, 17:21].sum() == 0  # three moves ago the board was empty; four: before the game


def test_liberty_planes_for_every_stone():
    board = from_diagram("""
        X O . . . . . . .
        . O . . . . . . .
        . . . . X X . . .
        . . . . X . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""")
    planes = encode(board).reshape(81, 31)
    assert planes[0, 5] == 1                      # the corner stone: 1 liberty
    assert planes[1, 8] == 1 and planes[10, 8] == 1  # the white pair: 4 liberties
    for point in (22, 23, 31):
        assert planes[point, 10] == 1 and planes[point, 5:10].sum() == 0  # 7 liberties: "6 or more"
    assert planes[:, 5:11].sum() == 6 and planes[2, 5:11].sum() == 0  # one-hot, stones only


def test_a_working_ladder_and_a_broken_one():
    board = from_diagram(LADDER)
    assert features.ladder_captures(board, STONE)
    planes = encode(board).reshape(81, 31)
    assert planes[STONE, 3] == 1 and planes[:, 3].sum() == 1
    assert planes[[2 * 9 + 3, 3 * 9 + 2], 4].tolist() == [1, 1] and planes[:, 4].sum() == 2
    broken = from_diagram(with_stone(LADDER, 4, 6, "O"))
    assert not features.ladder_captures(broken, STONE)
    assert encode(broken)[..., 3:5].sum() == 0


def test_atari_plane_after_extension():
    atari = with_stone(LADDER, 3, 2, "X")  # Black has played the atari: White extends at (2, 3) in vain
    board = from_diagram(atari, to_move=WHITE)
    planes = encode(board).reshape(81, 31)
    assert planes[STONE, 1] == 1 and planes[2 * 9 + 3, 2] == 1 and planes[:, 1:3].sum() == 2
    escaping = from_diagram(with_stone(atari, 4, 6, "O"), to_move=WHITE)
    assert encode(escaping)[..., 1:3].sum() == 0


@pytest.mark.parametrize("symmetry", range(8))
def test_symmetries_move_planes_and_policy_together(symmetry):
    board = from_diagram(LADDER)
    board.play(4 * 9 + 7, BLACK)
    planes = encode(board)
    moved = features.transform_planes(planes, symmetry)
    # the transformed position encodes to the transformed planes
    black = [features.transform_point(p, symmetry, 9) for p in range(81) if board.colour[p] == BLACK]
    white = [features.transform_point(p, symmetry, 9) for p in range(81) if board.colour[p] == WHITE]
    other = Board(9)
    other.setup(black, white)
    other.to_move = board.to_move
    assert np.array_equal(encode(other)[..., :11], moved[..., :11])
    # a one-hot policy goes where its point goes
    policy = np.zeros(81, np.float32)
    policy[30] = 1
    assert np.argmax(features.transform_policy(policy, symmetry, 9)) == features.transform_point(30, symmetry, 9)
    assert len({features.transform_point(p, s, 9) for s in range(8) for p in [1]}) == 8


def test_replaying_a_record_encodes_every_position():
    from dlcli.go import sgf
    from tests.test_go_board import REAL_RECORD

    (record,) = sgf.parse(REAL_RECORD)
    count = 0
    for board, colour, point in record.replay():
        if count in (0, 100):
            planes = encode(board)
            assert planes[..., 0].all() == (colour == BLACK)
            assert planes[..., 11].sum() == board.colour.count(colour)
        count += 1
    assert count == 250


def random_positions(size: int, moves: int, seed: int):
    """The positions of a game of random legal moves (replayed as records are: no superko)."""
    import random

    from dlcli.go.board import EMPTY, PASS

    rng = random.Random(seed)
    board = Board(size)
    board.seen = None
    for _ in range(moves):
        yield board
        empty = [p for p in range(board.points) if board.colour[p] == EMPTY]
        rng.shuffle(empty)
        board.play(next((p for p in empty if board.is_legal(p)), PASS))


def test_the_ladder_cache_gives_the_planes_of_a_fresh_reading():
    from dlcli.go import sgf
    from tests.test_go_board import REAL_RECORD

    (record,) = sgf.parse(REAL_RECORD)
    games = [(board for board, _, _ in record.replay()),
             random_positions(9, 120, 1), random_positions(13, 200, 2), random_positions(19, 300, 3)]
    compared = hits = misses = marked = 0
    for positions in games:
        ladders = features.LadderCache()
        for board in positions:
            fresh = encode(board)
            assert np.array_equal(encode(board, ladders), fresh), f"position {compared}:\n{board}"
            marked += int(fresh[..., 1:5].any())
            compared += 1
        hits, misses = hits + ladders.hits, misses + ladders.misses
    assert compared == 250 + 120 + 200 + 300
    assert hits > misses > 0 and marked > 20  # the cache was used, and ladders were on the boards


def test_the_ladder_cache_forgets_a_ladder_that_a_far_stone_breaks():
    ladders = features.LadderCache()
    working, broken = from_diagram(LADDER), from_diagram(with_stone(LADDER, 4, 6, "O"))
    working.seen = broken.seen = None  # a board checking superko is always read afresh
    assert encode(working, ladders).reshape(81, 31)[STONE, 3] == 1
    assert encode(broken, ladders)[..., 3:5].sum() == 0
    assert encode(working, ladders).reshape(81, 31)[STONE, 3] == 1
    assert ladders.misses == 3 and ladders.hits == 0
    assert encode(working, ladders).reshape(81, 31)[STONE, 3] == 1 and ladders.hits == 1
