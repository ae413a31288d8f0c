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


@pytest.fixture(autouse=True, params=["compiled", "python"])
def encoder(request, monkeypatch):
    """Every test here runs with the compiled encoder (the default) and the pure-Python reference."""
    monkeypatch.setenv("DLCLI_GO_COMPILED", "1" if request.param == "compiled" else "0")
    return request.param


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
    # plane 4: every stone of the Black strings touching it (golois), never an empty point
    assert sorted(np.flatnonzero(planes[:, 4])) == [1 * 9 + 2, 1 * 9 + 3, 2 * 9 + 1]
    broken = from_diagram(with_stone(LADDER, 4, 6, "O"))
    assert not features.ladder_captures(broken, STONE)
    assert encode(broken)[..., 3:5].sum() == 0


def test_atari_plane_after_extension():
    atari = with_stone(LADDER, 3, 2, "X")  # Black has played the atari: White extends at (2, 3) in vain
    board = from_diagram(atari, to_move=WHITE)
    planes = encode(board).reshape(81, 31)
    assert planes[STONE, 1] == 1 and planes[:, 1].sum() == 1
    assert sorted(np.flatnonzero(planes[:, 2])) == [1 * 9 + 2, 1 * 9 + 3, 2 * 9 + 1, 3 * 9 + 2]
    escaping = from_diagram(with_stone(atari, 4, 6, "O"), to_move=WHITE)
    assert encode(escaping)[..., 1:3].sum() == 0


# Two positions of a strong AI game (game 4 of the course's sample, before moves 155 and 81).
KO_IN_LADDER = """
....X...X..O.OX....
...XOOOXOXXXOX.XX..
....XO.XOOX.O.XOX..
...X.O...OXXOOOOX..
.........OOX.X.O...
..XXOO...OXX.X.OXX.
..XOX....OX.OOOOOX.
..XO.....OX.XX.OXX.
..OOX..OOXXXOXXOO..
...O...OX...OOX....
...OX..OX.X.O.OOO..
......XXOX.X.OXXXO.
........OXOXO.O..XO
..OO...XOOXOX..XXO.
..X....XO.XO.O...X.
...X.X....O.XO.OX..
.......O...OOXO.X..
.....X.............
..................."""
LONG_LADDER = """
....X...X..........
...XOOOXOXX........
....XO.XOOX....OX..
...X.O...O.....OX..
...........X...O...
..XXOO...O.....OXX.
..XOX....OX....OOX.
..XO.....OX....OXX.
..O.....OXX...XOO..
...O.........O.....
...............OO..
..............XXX..
...................
..OO...........X...
..X..........O.....
...X.X......XO.OX..
.......O...OOXO.X..
.....X.............
..................."""


class _KoRetakenFreely(set):
    """A reading line that forgets every position: the defender may retake a ko (not golois)."""

    def __contains__(self, item):
        return False


def test_a_ko_is_never_retaken_to_escape_a_ladder(monkeypatch):
    board = from_diagram(KO_IN_LADDER, to_move=BLACK)
    stone = 0 * 19 + 11  # White's stone on the top edge, two liberties, one of them a ko
    assert board.liberty_count(stone) == 2
    assert features.ladder_captures(board, stone)  # golois: captured
    planes = encode(board).reshape(361, 31)
    assert planes[stone, 3] == 1 and planes[[28, 29, 30, 48], 4].tolist() == [1, 1, 1, 1]
    original = features._Budget.__init__

    def retaking(self, root_hash, nodes=features.LADDER_NODES):
        original(self, root_hash, nodes)
        self.line = _KoRetakenFreely()

    monkeypatch.setattr(features._Budget, "__init__", retaking)
    assert not features.ladder_captures(board, stone)  # with ko retaken at will it would "escape"


def test_a_long_ladder_is_read_past_160_positions():
    board = from_diagram(LONG_LADDER, to_move=BLACK)
    stone = 6 * 19 + 4  # Black's lone two-liberty stone on the left side, chased down the board
    budget = features._Budget(board.hash)
    assert features._captures(board, stone, features.LADDER_DEPTH, budget)
    assert features.LADDER_NODES - budget.left > 160  # the old cap would have called it safe
    assert not features._captures(board, stone, features.LADDER_DEPTH, features._Budget(board.hash, 160))
    planes = encode(board).reshape(361, 31)
    assert np.flatnonzero(planes[:, 3]).tolist() == [118, 297]
    assert np.flatnonzero(planes[:, 4]).tolist() == [99, 100, 117, 136, 279, 298, 315, 316]


def test_side_to_move_is_the_opponent_of_the_previous_move_even_when_a_colour_plays_twice():
    from dlcli.go import sgf

    record = sgf.GameRecord(size=9, moves=[(BLACK, 0), (WHITE, 80), (BLACK, 40), (BLACK, 41), (WHITE, 8)])
    sides = [(board.to_move, int(encode(board)[0, 0, 0])) for board, _, _ in record.replay()]
    assert sides == [(BLACK, 1), (WHITE, 0), (BLACK, 1), (WHITE, 0), (WHITE, 0)]
    first = sgf.GameRecord(size=9, moves=[(WHITE, 0), (BLACK, 1)])  # no set-up stones: Black first
    assert [board.to_move for board, _, _ in first.replay()] == [BLACK, BLACK]
    board = None
    for board, colour, _ in record.replay():
        if colour == BLACK and board.to_move == WHITE:  # Black plays twice: planes are White's view
            planes = encode(board).reshape(81, 31)
            assert planes[[80], 11].tolist() == [1] and planes[[0, 40], 12].tolist() == [1, 1]


# golois' numbering: where (row, col) goes under symmetry k on a 19x19 board
GOLOIS_SYMMETRIES = [lambda r, c: (r, c), lambda r, c: (18 - r, c), lambda r, c: (r, 18 - c),
                     lambda r, c: (18 - r, 18 - c), lambda r, c: (c, r), lambda r, c: (18 - c, r),
                     lambda r, c: (c, 18 - r), lambda r, c: (18 - c, 18 - r)]


@pytest.mark.parametrize("symmetry", range(8))
def test_symmetries_are_numbered_as_golois_numbers_them(symmetry):
    grid = np.arange(361).reshape(19, 19, 1)
    turned = features.transform_planes(grid, symmetry)
    for point in (0, 1, 20, 45, 180, 300):
        row, col = divmod(point, 19)
        new_row, new_col = GOLOIS_SYMMETRIES[symmetry](row, col)
        assert turned[new_row, new_col, 0] == point
        assert features.transform_point(point, symmetry) == 19 * new_row + new_col


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
            assert np.array_equal(features.encode_python(board, ladders), fresh), f"position {compared}:\n{board}"
            marked += int(fresh[..., 1:5].any())
            compared += 1
        hits, misses = hits + ladders.hits, misses + ladders.misses
    assert compared == 250 + 120 + 200 + 300
    assert hits > misses > 0 and marked > 20  # the cache was used, and ladders were on the boards


def test_the_ladder_cache_forgets_a_ladder_that_a_far_stone_breaks():
    ladders = features.LadderCache()
    working, broken = from_diagram(LADDER), from_diagram(with_stone(LADDER, 4, 6, "O"))
    working.seen = broken.seen = None  # a board checking superko is always read afresh
    assert features.encode_python(working, ladders).reshape(81, 31)[STONE, 3] == 1
    assert features.encode_python(broken, ladders)[..., 3:5].sum() == 0
    assert features.encode_python(working, ladders).reshape(81, 31)[STONE, 3] == 1
    assert ladders.misses == 3 and ladders.hits == 0
    assert features.encode_python(working, ladders).reshape(81, 31)[STONE, 3] == 1 and ladders.hits == 1
