"""The course's 31 input planes (golois' encoding), channels last, and the 8 board symmetries.

  0       all ones when Black is to move
  1       stones of strings with one liberty that are still captured in a ladder after extending
  2       every stone of the opponent strings next to the strings of plane 1
  3       stones of strings with two liberties that a ladder captures (attacker to move)
  4       every stone of the opponent strings next to the strings of plane 3
  5-10    liberties of the string of every stone, one-hot: 1, 2, 3, 4, 5, 6 or more
  11-20   the current position and the four before it, two planes each: side to move, opponent
  21-30   White's komi, integer part, one-hot from 0 to 9 (clipped)

A ladder is read by the usual rules: the attacker ataris from one of the two liberties, the
defender extends or captures an attacking string in atari; three liberties or more escape.
As in golois, no position may repeat along the line being read (so a ko is never retaken to
escape), and a reading visits at most LADDER_NODES positions per string, past which the string
is called safe. The side to move is golois': the opponent of the previous move's colour.
`encode(board, LadderCache())` reuses readings from one position of a game to the next (same planes).
Policy target: one-hot of `19 * row + col`; value target: White's win probability.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dlcli.go.board import BLACK, EMPTY, HISTORY, WHITE, Board, opponent
from dlcli.go.constants import LADDER_DEPTH, LADDER_NODES, PLANES, komi_plane  # noqa: F401 - features.X for callers

TO_MOVE, LADDER_ATARI, LADDER_ATARI_LIBERTY, LADDER_TWO, LADDER_TWO_LIBERTIES = 0, 1, 2, 3, 4
LIBERTY_PLANES = slice(5, 11)
HISTORY_PLANES = slice(11, 21)
KOMI_PLANES = slice(21, 31)


class _Budget:
    """Counts the positions a ladder reading visits, so that a tangle cannot blow up, and
    records the points it looked at (moves tried, extensions, the target's stones) so that a
    `LadderCache` knows which changes can alter the outcome."""

    def __init__(self, root_hash: int, nodes: int = LADDER_NODES):
        self.left = nodes
        self.root_hash = root_hash
        self.looked: set[int] = set()
        self.line: set[int] = {root_hash}  # hashes of the positions along the line being read
        self.hashes: list[int] = []

    def play(self, board: Board, move: int, colour: int, hash_after: int) -> Board:
        """The position after a legal move: a reading copy of `board` (which stays as it is)."""
        self._enter(hash_after)
        after = board.copy(superko=False)
        after._place(move, colour)
        return after

    def back(self, after: Board) -> None:
        """Done with the position `play` returned."""
        self.line.discard(self.hashes.pop())

    def _enter(self, hash_after: int) -> None:
        self.line.add(hash_after)
        self.hashes.append(hash_after)


class _InPlace(_Budget):
    """A budget whose reading plays its moves on the board itself and takes them back (`back`),
    instead of copying the board at every position: the same positions, read faster. The board
    must own its liberty sets (not share them with another board: see `LadderCache.captured`)
    and not check superko; its capture counts are not kept up to date."""

    def __init__(self, root_hash: int, nodes: int = LADDER_NODES):
        super().__init__(root_hash, nodes)
        self.undo: list[list] = []

    def play(self, board: Board, move: int, colour: int, hash_after: int) -> Board:
        self._enter(hash_after)
        self.undo.append(_play_in_place(board, move, colour))
        board.hash = hash_after
        return board

    def back(self, after: Board) -> None:
        _take_back(after, self.undo.pop())
        self.line.discard(self.hashes.pop())
        after.hash = self.hashes[-1] if self.hashes else self.root_hash


_PLACED, _MERGED, _REMOVED, _ADDED, _DISCARDED = range(5)


def _play_in_place(board: Board, point: int, colour: int) -> list:
    """`Board._place` (the same strings and liberties; ids may differ), logging what it changes."""
    colour_of, string_of, stones_of, liberties_of, neighbours = (board.colour, board.string, board.stones,
                                                                 board.liberties, board.neighbours)
    log: list = [(_PLACED, point)]
    colour_of[point] = colour
    string_of[point] = point
    stones_of[point] = [point]
    liberties_of[point] = {q for q in neighbours[point] if colour_of[q] == EMPTY}
    mine = point
    other = BLACK + WHITE - colour
    for q in neighbours[point]:
        c = colour_of[q]
        if c == colour:
            b = string_of[q]
            if b != mine:
                a = mine
                if len(stones_of[a]) < len(stones_of[b]):
                    a, b = b, a
                moved = stones_of.pop(b)
                log.append((_MERGED, a, b, stones_of[a], liberties_of[a], moved, liberties_of[b]))
                for stone in moved:
                    string_of[stone] = a
                stones_of[a] = stones_of[a] + moved
                liberties_of[a] = liberties_of[a] | liberties_of.pop(b)
                mine = a
        elif c == other:
            string = string_of[q]
            libs = liberties_of[string]
            if point in libs:
                libs.discard(point)
                log.append((_DISCARDED, libs, point))
                if not libs:
                    stones = stones_of.pop(string)
                    log.append((_REMOVED, string, stones, liberties_of.pop(string), other))
                    for stone in stones:
                        colour_of[stone] = EMPTY
                        string_of[stone] = -1
                    for stone in stones:
                        for r in neighbours[stone]:
                            neighbour = string_of[r]
                            if neighbour >= 0:
                                libs = liberties_of[neighbour]
                                if stone not in libs:
                                    libs.add(stone)
                                    log.append((_ADDED, libs, stone))
    libs = liberties_of[mine]  # a set made by this move (new or merged): no need to log
    libs.discard(point)
    return log


def _take_back(board: Board, log: list) -> None:
    """Undo `_play_in_place`."""
    colour_of, string_of, stones_of, liberties_of = board.colour, board.string, board.stones, board.liberties
    for entry in reversed(log):
        kind = entry[0]
        if kind == _DISCARDED:
            entry[1].add(entry[2])
        elif kind == _ADDED:
            entry[1].discard(entry[2])
        elif kind == _REMOVED:
            _, string, stones, libs, colour = entry
            stones_of[string], liberties_of[string] = stones, libs
            for stone in stones:
                colour_of[stone] = colour
                string_of[stone] = string
        elif kind == _MERGED:
            _, a, b, stones_a, libs_a, moved, libs_b = entry
            stones_of[a], liberties_of[a], stones_of[b], liberties_of[b] = stones_a, libs_a, moved, libs_b
            for stone in moved:
                string_of[stone] = b
        else:
            point = entry[1]
            colour_of[point] = EMPTY
            string_of[point] = -1
            del stones_of[point], liberties_of[point]


# ------------------------------------------------------------------ ladders

def _extension_liberties(board: Board, stone: int, extension: int, blocked: int = -1) -> int | None:
    """Liberties the string at `stone` would have after its owner plays `extension`, with
    `blocked` taken by the attacker; None when a capture makes the count unsure (read it)."""
    colour_of, string_of, liberties_of, neighbours = board.colour, board.string, board.liberties, board.neighbours
    colour = colour_of[stone]
    for point in (extension, blocked):
        if point < 0:
            continue
        mover = colour if point == extension else BLACK + WHITE - colour
        for q in neighbours[point]:  # a capturing move changes liberties: read it
            c = colour_of[q]
            if c != EMPTY and c != mover and len(liberties_of[string_of[q]]) <= 2:
                return None
    liberties = set(liberties_of[string_of[stone]])
    for q in neighbours[extension]:
        c = colour_of[q]
        if c == EMPTY:
            liberties.add(q)
        elif c == colour:
            liberties |= liberties_of[string_of[q]]
    liberties.discard(extension)
    liberties.discard(blocked)
    return len(liberties)


_OUT_OF_BUDGET = object()


def _after(board: Board, move: int, colour: int, budget: _Budget):
    """The position after `colour` plays `move` (`budget.play`); None if illegal, _OUT_OF_BUDGET
    when the reading has visited its allowance of positions."""
    budget.looked.add(move)
    if board.colour[move] != EMPTY:  # board.legality, inlined: the reading's hottest path
        return None
    captures = board._captures(move, colour)
    if captures is None:
        return None
    hash_after = board._hash_after(move, colour, captures)
    if hash_after in budget.line or (board.seen is not None and hash_after in board.seen):
        return None  # a position repeated along the line read (a ko retaken), or in the game
    budget.left -= 1  # one more position read
    if budget.left < 0:
        return _OUT_OF_BUDGET
    return budget.play(board, move, colour, hash_after)


def _escapes(board: Board, stone: int, depth: int, budget: _Budget) -> bool:
    """The string at `stone` is in atari and its owner moves: can it get out of the ladder?"""
    colour_of, string_of, liberties_of, neighbours = board.colour, board.string, board.liberties, board.neighbours
    defender = colour_of[stone]
    attacker = BLACK + WHITE - defender
    string = string_of[stone]
    (liberty,) = liberties_of[string]
    captures = []
    stones = board.stones[string]
    budget.looked.update(stones)
    for s in stones:  # capturing an attacking string in atari also escapes
        for q in neighbours[s]:
            if colour_of[q] == attacker:
                libs = liberties_of[string_of[q]]
                if len(libs) == 1:
                    captures.extend(libs)
    captures.sort()  # a fixed order, so that the outcome depends on the position only
    if not captures:
        budget.looked.add(liberty)
        count = _extension_liberties(board, stone, liberty)
        if count is not None and count >= 3:
            return True
        if count is not None and count <= 1:
            return False
    for move in dict.fromkeys([liberty, *captures]) if captures else (liberty,):
        after = _after(board, move, defender, budget)
        if after is _OUT_OF_BUDGET:
            return True
        if after is None:
            continue
        count = len(after.liberties[after.string[stone]])
        escaped = count >= 3 or (count == 2 and not _captures(after, stone, depth - 1, budget))
        budget.back(after)
        if escaped:
            return True
    return False


def _captures(board: Board, stone: int, depth: int, budget: _Budget) -> bool:
    """The string at `stone` has two liberties and the attacker moves: does a ladder take it?"""
    libs = board.liberties[board.string[stone]]
    if len(libs) == 1:
        return True
    if len(libs) != 2 or depth <= 0:
        return False
    first, second = sorted(libs)  # a fixed order (see _escapes)
    attacker = BLACK + WHITE - board.colour[stone]
    budget.looked.add(first)
    budget.looked.add(second)
    for atari, other in ((first, second), (second, first)):
        count = _extension_liberties(board, stone, other, atari)
        if count is not None and count >= 3:
            continue  # the defender extends out of it
        after = _after(board, atari, attacker, budget)
        if after is _OUT_OF_BUDGET:
            return False
        if after is None:
            continue
        captured = len(after.liberties[after.string[stone]]) == 1 and not _escapes(after, stone, depth - 1, budget)
        budget.back(after)
        if captured:
            return True
    return False


def ladder_captured_after_extension(board: Board, stone: int) -> bool:
    """Plane 1: the string at `stone` has one liberty and stays captured even if it extends."""
    return board.liberty_count(stone) == 1 and not _escapes(board, stone, LADDER_DEPTH, _Budget(board.hash))


def ladder_captures(board: Board, stone: int) -> bool:
    """Plane 3: the string at `stone` has two liberties and a ladder (attacker first) takes it."""
    return board.liberty_count(stone) == 2 and _captures(board, stone, LADDER_DEPTH, _Budget(board.hash))


def _reading_area(board: Board, stone: int, looked: set[int]) -> frozenset[int]:
    """Every point whose colour a reading of the string at `stone` may depend on: the points it
    looked at and their neighbours, then every string there with its stones and their neighbours
    (a string's liberties are fixed by the colours of its stones and their neighbours; strings
    formed during the reading are root strings joined by stones played next to them)."""
    neighbours, string_of, stones = board.neighbours, board.string, board.stones
    near = set(looked)
    near.update(stones[string_of[stone]])
    for point in list(near):
        near.update(neighbours[point])
    area = set(near)
    strings = {string_of[point] for point in near} - {-1}
    for string in strings:
        for s in stones[string]:
            area.add(s)
            area.update(neighbours[s])
    return frozenset(area)


class LadderCache:
    """Ladder readings (planes 1-4) kept from one position to the next of a game.

    Each reading is stored with its area (`_reading_area`): the points whose colours can change
    its outcome. When the next position is encoded, the points whose colour changed (the move and
    its captures) drop the readings whose area they touch; the others are reused as they are. The
    planes are the same as without a cache (the reading's outcome depends on those colours only);
    a board that checks superko is read afresh, its root moves' legality depending on its history.
    The positions need not follow each other: any change of colour is found by comparing them.
    """

    def __init__(self):
        self.colour: bytes | None = None
        self.readings: dict[int, tuple[bool, frozenset[int]]] = {}  # string id -> (captured, area)
        self.hits = self.misses = 0
        self.reader: Board | None = None  # this position's copy, read in place (see _InPlace)

    def sync(self, board: Board) -> None:
        """Forget the readings that the changes since the last synced position may alter."""
        colour = bytes(board.colour)
        if self.colour is None or len(self.colour) != len(colour):
            self.readings.clear()
        elif colour != self.colour:
            changed = np.flatnonzero(np.frombuffer(colour, np.uint8) != np.frombuffer(self.colour, np.uint8)).tolist()
            self.readings = {string: reading for string, reading in self.readings.items()
                             if reading[1].isdisjoint(changed)}
        self.colour = colour
        self.reader = None

    def captured(self, board: Board, string: int, count: int) -> bool:
        """Plane 1 (count 1) or plane 3 (count 2) for the string `string` of the synced board."""
        reading = self.readings.get(string)
        if reading is not None:
            self.hits += 1
            return reading[0]
        self.misses += 1
        if self.reader is None:
            self.reader = board.copy(superko=False)  # with liberty sets of its own, read in place
            self.reader.liberties = {s: set(libs) for s, libs in board.liberties.items()}
            self.reader.owned = None
        budget = _InPlace(self.reader.hash)
        if count == 1:
            result = not _escapes(self.reader, string, LADDER_DEPTH, budget)
        else:
            result = _captures(self.reader, string, LADDER_DEPTH, budget)
        self.readings[string] = (result, _reading_area(board, string, budget.looked))
        return result


# ------------------------------------------------------------------ planes

def encode(board: Board, ladders: LadderCache | None = None) -> np.ndarray:
    """The 31 planes of `board` for its side to move: uint8, shape (size, size, 31).

    Compiled (`dlcli.go.compiled`) when numba is there and DLCLI_GO_COMPILED is not 0, else
    `encode_python`: the same planes. `ladders` serves the pure-Python path only."""
    from dlcli.go import compiled

    if compiled.enabled():
        return compiled.encode_board(board)
    return encode_python(board, ladders)


def encode_python(board: Board, ladders: LadderCache | None = None) -> np.ndarray:
    """`encode` in pure Python: the reference the compiled encoder is tested against.

    `ladders`: a `LadderCache` for encoding the positions of one game in turn (much faster; the
    planes are the same)."""
    if ladders is not None and board.seen is not None:
        ladders = None
    if ladders is not None:
        ladders.sync(board)
    n = board.size
    planes = np.zeros((n * n, PLANES), dtype=np.uint8)
    me, other = board.to_move, opponent(board.to_move)
    if me == BLACK:
        planes[:, TO_MOVE] = 1
    liberty_count = [0] * (n * n)
    marked: tuple[list[int], ...] = ([], [], [], [])  # stones of planes 1, 2, 3 and 4
    liberties_of = board.liberties
    for string, stones in board.stones.items():
        libs = liberties_of[string]
        count = len(libs)
        for stone in stones:
            liberty_count[stone] = count
        if count > 2:
            continue
        if ladders is not None:
            captured = ladders.captured(board, string, count)
        else:
            captured = (ladder_captured_after_extension if count == 1 else ladder_captures)(board, string)
        if captured:
            first = 0 if count == 1 else 2
            marked[first].extend(stones)
            marked[first + 1].extend(_adjacent_opponent_stones(board, stones))
    for plane, points in enumerate(marked, LADDER_ATARI):
        planes[points, plane] = 1
    liberty_count = np.array(liberty_count)
    stones = np.flatnonzero(liberty_count)
    planes[stones, LIBERTY_PLANES.start + np.minimum(liberty_count[stones], 6) - 1] = 1
    ages = min(HISTORY, len(board.history))
    positions = np.frombuffer(b"".join(board.history[:-ages - 1:-1]), dtype=np.uint8).reshape(ages, n * n).T
    planes[:, HISTORY_PLANES.start:HISTORY_PLANES.start + 2 * ages:2] = positions == me
    planes[:, HISTORY_PLANES.start + 1:HISTORY_PLANES.start + 2 * ages:2] = positions == other
    planes[:, KOMI_PLANES.start + komi_plane(board.komi)] = 1
    return planes.reshape(n, n, PLANES)


def _adjacent_opponent_stones(board: Board, stones: list[int]) -> list[int]:
    """Every stone of the opponent strings that touch `stones` (planes 2 and 4, as in golois)."""
    colour_of, string_of, neighbours = board.colour, board.string, board.neighbours
    other = opponent(colour_of[stones[0]])
    strings = {string_of[q] for s in stones for q in neighbours[s] if colour_of[q] == other}
    return [stone for string in strings for stone in board.stones[string]]


def policy_index(point: int, size: int = 19) -> int:
    """The course's policy index, `19 * row + col` (the point itself on a 19x19 board)."""
    row, col = divmod(point, size)
    return row * size + col


# ------------------------------------------------------------------ symmetries

SYMMETRIES = 8


def transform_planes(planes: np.ndarray, symmetry: int) -> np.ndarray:
    """One of the 8 symmetries of planes shaped (..., rows, cols, channels), numbered as golois
    numbers them: the point (row, col) goes to 0 (row, col), 1 (18-row, col), 2 (row, 18-col),
    3 (18-row, 18-col), 4 (col, row), 5 (18-col, row), 6 (col, 18-row), 7 (18-col, 18-row).
    That is: `symmetry & 4` transposes, then `& 1` flips the rows and `& 2` the columns."""
    out = np.swapaxes(planes, -3, -2) if symmetry & 4 else planes
    if symmetry & 1:
        out = np.flip(out, axis=-3)
    if symmetry & 2:
        out = np.flip(out, axis=-2)
    return out


@lru_cache(maxsize=None)
def symmetry_targets(size: int = 19) -> np.ndarray:
    """Where each point goes under each symmetry: int32 (8, size*size), `transform_point` in bulk.
    `planes[targets[s]] = encoded` turns encoded planes; `policy[:, targets[s]]` turns a policy back."""
    return np.array([[transform_point(p, s, size) for p in range(size * size)] for s in range(SYMMETRIES)], np.int32)


def transform_point(point: int, symmetry: int, size: int = 19) -> int:
    """Where `point` goes under the same symmetry as `transform_planes`."""
    grid = np.zeros((size, size, 1), dtype=np.uint8)
    grid.reshape(-1)[point] = 1
    return int(np.argmax(transform_planes(grid, symmetry).reshape(-1)))


def transform_policy(policy: np.ndarray, symmetry: int, size: int = 19) -> np.ndarray:
    """A policy vector (..., size*size) under the same symmetry as `transform_planes`."""
    grid = policy.reshape(*policy.shape[:-1], size, size, 1)
    return transform_planes(grid, symmetry).reshape(policy.shape)
