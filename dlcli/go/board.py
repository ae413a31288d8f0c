"""The rules of Go: captures, suicide refused, positional superko, passes, area scoring.

Points are integers `row * size + col` (row 0 at the top, as in SGF and the course's
`19 * row + col` policy index); `PASS` is -1. Strings keep their stones and liberties
incrementally: a move touches only the strings next to it, so replaying a game costs
microseconds per move. Positions are Zobrist-hashed for positional superko.
"""

from __future__ import annotations

import random
from functools import lru_cache

EMPTY, BLACK, WHITE = 0, 1, 2
PASS = -1
MIN_SIZE, MAX_SIZE = 9, 19
DEFAULT_KOMI = 7.5
HISTORY = 5  # positions kept for the feature planes: the current one and the four before it
COLOUR_NAMES = {BLACK: "Black", WHITE: "White"}


def opponent(colour: int) -> int:
    return BLACK + WHITE - colour


class IllegalMove(ValueError):
    """A move the rules forbid (occupied point, suicide, superko, off the board)."""


@lru_cache(maxsize=None)
def neighbour_table(size: int) -> tuple[tuple[int, ...], ...]:
    """For every point, the points orthogonally next to it."""
    table = []
    for row in range(size):
        for col in range(size):
            table.append(tuple(r * size + c for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
                               if 0 <= r < size and 0 <= c < size))
    return tuple(table)


@lru_cache(maxsize=None)
def diagonal_table(size: int) -> tuple[tuple[int, ...], ...]:
    """For every point, the points diagonally next to it."""
    table = []
    for row in range(size):
        for col in range(size):
            corners = ((row - 1, col - 1), (row - 1, col + 1), (row + 1, col - 1), (row + 1, col + 1))
            table.append(tuple(r * size + c for r, c in corners if 0 <= r < size and 0 <= c < size))
    return tuple(table)


@lru_cache(maxsize=None)
def zobrist_table(size: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """64-bit random keys per (colour, point), fixed by a seed so hashes are reproducible."""
    rng = random.Random(20160309 + size)
    keys = tuple(tuple(rng.getrandbits(64) for _ in range(size * size)) for _ in range(2))
    return ((0,) * (size * size), keys[0], keys[1])


class Board:
    """A Go position with its move history, the side to move and the superko record."""

    def __init__(self, size: int = 19, komi: float = DEFAULT_KOMI):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"board size must be between {MIN_SIZE} and {MAX_SIZE}, got {size}")
        self.size = size
        self.komi = float(komi)
        self.points = size * size
        self.neighbours = neighbour_table(size)
        self.zobrist = zobrist_table(size)
        self.colour = [EMPTY] * self.points
        self.string = [-1] * self.points          # point -> id of its string (-1 when empty)
        self.stones: dict[int, list[int]] = {}    # string id -> its stones (lists are never mutated)
        self.liberties: dict[int, set[int]] = {}  # string id -> its liberties
        self.owned: set[int] | None = None        # a reading copy: ids whose liberty sets it owns
                                                  # (the others it shares); None: owns them all
        self.to_move = BLACK
        self.hash = 0
        self.seen: set[int] | None = {0}          # positional hashes so far (None: superko not checked)
        self.passes = 0
        self.moves: list[tuple[int, int]] = []
        self.captured = {BLACK: 0, WHITE: 0}      # stones each colour has captured
        self.history: list[bytes] = [bytes(self.points)]  # the last HISTORY positions, newest last

    # ----------------------------------------------------------------- queries

    def point(self, row: int, col: int) -> int:
        if not (0 <= row < self.size and 0 <= col < self.size):
            raise IllegalMove(f"({row}, {col}) is off the {self.size}x{self.size} board")
        return row * self.size + col

    def liberty_count(self, point: int) -> int:
        """Liberties of the string at `point` (0 for an empty point)."""
        string = self.string[point]
        return len(self.liberties[string]) if string >= 0 else 0

    @property
    def over(self) -> bool:
        """Two passes in a row end the game."""
        return self.passes >= 2

    def legality(self, point: int, colour: int | None = None) -> str | None:
        """None when `colour` may play at `point`, else the reason it may not."""
        colour = self.to_move if colour is None else colour
        if point == PASS:
            return None
        if not 0 <= point < self.points:
            return f"point {point} is off the board"
        if self.colour[point] != EMPTY:
            return "the point is occupied"
        captures = self._captures(point, colour)
        if captures is None:
            return "suicide is not allowed"
        if self.seen is not None and self._hash_after(point, colour, captures) in self.seen:
            return "the move repeats an earlier position (positional superko)"
        return None

    def is_legal(self, point: int, colour: int | None = None) -> bool:
        return self.legality(point, colour) is None

    def legal_moves(self, colour: int | None = None) -> list[int]:
        """Every legal point (passing is always legal and not listed)."""
        return [p for p in range(self.points) if self.colour[p] == EMPTY and self.is_legal(p, colour)]

    def _captures(self, point: int, colour: int) -> list[int] | None:
        """Strings a stone at `point` would capture; None when the move would be suicide."""
        other = opponent(colour)
        captures, breathes = [], False
        for q in self.neighbours[point]:
            c = self.colour[q]
            if c == EMPTY:
                breathes = True
            elif c == colour:
                if len(self.liberties[self.string[q]]) > 1:
                    breathes = True
            elif c == other:
                string = self.string[q]
                if len(self.liberties[string]) == 1 and string not in captures:
                    captures.append(string)
        if captures or breathes:
            return captures
        return None

    def _hash_after(self, point: int, colour: int, captures: list[int]) -> int:
        value = self.hash ^ self.zobrist[colour][point]
        keys = self.zobrist[opponent(colour)]
        for string in captures:
            for stone in self.stones[string]:
                value ^= keys[stone]
        return value

    # ----------------------------------------------------------------- moves

    def play(self, point: int, colour: int | None = None) -> None:
        """Play `colour` (default: the side to move) at `point` or pass; raise IllegalMove."""
        colour = self.to_move if colour is None else colour
        if point == PASS:
            self.passes += 1
        else:
            reason = self.legality(point, colour)
            if reason is not None:
                raise IllegalMove(reason)
            self._place(point, colour)
            self.passes = 0
            if self.seen is not None:
                self.seen.add(self.hash)
        self.moves.append((colour, point))
        self.to_move = opponent(colour)
        self.history.append(bytes(self.colour))
        if len(self.history) > HISTORY:
            del self.history[0]

    def setup(self, black: list[int] = (), white: list[int] = ()) -> None:
        """Put handicap or set-up stones on the board (SGF AB/AW); they capture nothing."""
        for colour, points in ((BLACK, black), (WHITE, white)):
            for point in points:
                if self.colour[point] == EMPTY:
                    self._place(point, colour)
        if self.seen is not None:
            self.seen.add(self.hash)
        self.history[-1] = bytes(self.colour)

    def _place(self, point: int, colour: int) -> None:
        """Put a stone, merge strings, remove captured ones; legality is the caller's."""
        colour_of, string_of, neighbours = self.colour, self.string, self.neighbours
        colour_of[point] = colour
        string_of[point] = point
        self.hash ^= self.zobrist[colour][point]
        self.stones[point] = [point]
        self.liberties[point] = {q for q in neighbours[point] if colour_of[q] == EMPTY}
        if self.owned is not None:
            self.owned.add(point)
        mine = point
        other = opponent(colour)
        for q in neighbours[point]:
            c = colour_of[q]
            if c == colour:
                if string_of[q] != mine:
                    mine = self._merge(mine, string_of[q])
            elif c == other:
                string = string_of[q]
                libs = self._own(string)
                libs.discard(point)
                if not libs:
                    self._remove(string)
        self._own(mine).discard(point)

    def _own(self, string: int) -> set[int]:
        """The liberty set of `string`, copied first if this board shares it with another."""
        libs = self.liberties[string]
        if self.owned is not None and string not in self.owned:
            self.owned.add(string)
            libs = self.liberties[string] = set(libs)
        return libs

    def _merge(self, a: int, b: int) -> int:
        """Merge two strings of one colour; the larger keeps its id."""
        if len(self.stones[a]) < len(self.stones[b]):
            a, b = b, a
        moved = self.stones.pop(b)
        for stone in moved:
            self.string[stone] = a
        self.stones[a] = self.stones[a] + moved
        self.liberties[a] = self.liberties[a] | self.liberties.pop(b)
        if self.owned is not None:
            self.owned.add(a)
        return a

    def _remove(self, string: int) -> None:
        """Take a captured string off the board, giving liberties back to its neighbours."""
        stones = self.stones.pop(string)
        del self.liberties[string]
        colour = self.colour[stones[0]]
        keys = self.zobrist[colour]
        colour_of, string_of, neighbours, liberties = self.colour, self.string, self.neighbours, self.liberties
        for stone in stones:
            colour_of[stone] = EMPTY
            string_of[stone] = -1
            self.hash ^= keys[stone]
        for stone in stones:
            for q in neighbours[stone]:
                neighbour = string_of[q]
                if neighbour >= 0:
                    (liberties[neighbour] if self.owned is None or neighbour in self.owned
                     else self._own(neighbour)).add(stone)
        self.captured[opponent(colour)] += len(stones)

    def copy(self, *, superko: bool = True) -> "Board":
        """An independent copy; `superko=False` makes a cheap one for reading (ladders)."""
        other = Board.__new__(Board)
        other.size, other.komi, other.points = self.size, self.komi, self.points
        other.neighbours, other.zobrist = self.neighbours, self.zobrist
        other.colour = self.colour[:]
        other.string = self.string[:]
        other.stones = dict(self.stones)  # the lists themselves are replaced, never mutated
        if superko:
            other.liberties = {string: set(libs) for string, libs in self.liberties.items()}
            other.owned = None
        else:  # a reading copy shares the liberty sets and copies one only before changing it;
            # the board it was copied from must not change while the copy is in use
            other.liberties = dict(self.liberties)
            other.owned = set()
        other.to_move, other.hash, other.passes = self.to_move, self.hash, self.passes
        other.seen = set(self.seen) if superko and self.seen is not None else None
        other.moves = self.moves[:] if superko else []
        other.captured = dict(self.captured)
        other.history = self.history[:] if superko else [b""]
        return other

    # ----------------------------------------------------------------- scoring

    def area(self) -> tuple[int, int]:
        """Tromp-Taylor area: (Black, White) stones plus empty regions reaching only that colour."""
        counts = {BLACK: self.colour.count(BLACK), WHITE: self.colour.count(WHITE)}
        visited = [False] * self.points
        for start in range(self.points):
            if self.colour[start] != EMPTY or visited[start]:
                continue
            region, borders, stack = 0, set(), [start]
            visited[start] = True
            while stack:
                p = stack.pop()
                region += 1
                for q in self.neighbours[p]:
                    c = self.colour[q]
                    if c == EMPTY:
                        if not visited[q]:
                            visited[q] = True
                            stack.append(q)
                    else:
                        borders.add(c)
            if len(borders) == 1:
                counts[borders.pop()] += region
        return counts[BLACK], counts[WHITE]

    def score(self) -> float:
        """Black's area minus White's area minus komi: positive when Black wins."""
        black, white = self.area()
        return black - white - self.komi

    def winner(self) -> int | None:
        """BLACK or WHITE by area scoring with komi; None on a draw (integer komi)."""
        score = self.score()
        return BLACK if score > 0 else WHITE if score < 0 else None

    def __str__(self) -> str:
        marks = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        return "\n".join("".join(marks[self.colour[r * self.size + c]] for c in range(self.size))
                         for r in range(self.size))


def from_diagram(diagram: str, komi: float = DEFAULT_KOMI, to_move: int = BLACK) -> Board:
    """A board from rows of `X` (Black), `O` (White) and `.` (empty), for tests and docs."""
    rows = [line.split() and "".join(line.split()) for line in diagram.strip().splitlines()]
    board = Board(len(rows), komi)
    black = [r * board.size + c for r, row in enumerate(rows) for c, mark in enumerate(row) if mark == "X"]
    white = [r * board.size + c for r, row in enumerate(rows) for c, mark in enumerate(row) if mark == "O"]
    board.setup(black, white)
    board.to_move = to_move
    return board
