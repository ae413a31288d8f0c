"""Game records: read SGF (FF[4], main line) and write SGF for the games we play.

A malformed record raises `SgfError` naming the file and the line and column in it; reading a
folder or a zip skips bad files and counts them. Moves are board points (`row * size + col`,
row 0 at the top) or `PASS` (`[]`, or `tt` on boards up to 19x19).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from dlcli.errors import DlcliError
from dlcli.go.board import BLACK, DEFAULT_KOMI, MAX_SIZE, MIN_SIZE, PASS, WHITE, Board, IllegalMove

SGF_SUFFIXES = (".sgf",)
_COLOURS = {"B": BLACK, "W": WHITE}
_WINRATES = re.compile(r"^\s*([01](?:\.\d+)?|\.\d+)\s+([01](?:\.\d+)?|\.\d+)\s+([01](?:\.\d+)?|\.\d+)")


class SgfError(DlcliError):
    """A malformed or unplayable game record; the message names the file and the place in it."""


@dataclass
class GameRecord:
    """One game: its setup, its moves and, per move, White's win probability where known."""

    size: int = 19
    komi: float = DEFAULT_KOMI
    result: str = ""
    handicap: int = 0
    setup_black: list[int] = field(default_factory=list)
    setup_white: list[int] = field(default_factory=list)
    moves: list[tuple[int, int]] = field(default_factory=list)       # (colour, point or PASS)
    white_win: list[float | None] = field(default_factory=list)      # per move, from comments
    players: dict[str, str] = field(default_factory=dict)            # {"B": name, "W": name}
    source: str = ""

    @property
    def winner(self) -> int | None:
        """BLACK or WHITE from the result (`B+R`, `W+3.5`); None for a draw or no result."""
        match = re.match(r"([BW])(\+|$)", self.result.strip().upper())
        return None if match is None else _COLOURS[match.group(1)]

    def white_value(self, move_index: int) -> float | None:
        """White's win probability for the position before move `move_index`: the search's
        estimate from the move's comment when the record has one, else 1/0 from the result."""
        if move_index < len(self.white_win) and self.white_win[move_index] is not None:
            return self.white_win[move_index]
        winner = self.winner
        return None if winner is None else float(winner == WHITE)

    def board(self) -> Board:
        """A fresh board with the record's size, komi and set-up stones.

        Records are replayed without the superko check: under the Japanese rules of many
        records a position may repeat (triple ko), and the record is what was played."""
        board = Board(self.size, self.komi)
        board.seen = None
        board.setup(self.setup_black, self.setup_white)
        if self.moves and (self.setup_black or self.setup_white):  # golois has no set-up stones
            board.to_move = self.moves[0][0]
        elif not self.moves and self.handicap >= 2:
            board.to_move = WHITE
        return board

    def replay(self) -> Iterator[tuple[Board, int, int]]:
        """Yield (board before the move, colour, point) for every move, then play it.

        The board is the same object each time, updated in place: encode it before moving on.
        Its side to move is golois': the opponent of the previous move's colour (Black first),
        even where a record has one colour play twice. Raises SgfError naming the move when the
        record plays an illegal move.
        """
        board = self.board()
        for number, (colour, point) in enumerate(self.moves, 1):
            yield board, colour, point
            try:
                board.play(point, colour)
            except IllegalMove as error:
                raise SgfError(f"{self.source or 'record'}: move {number} ({'BW'[colour - 1]} "
                               f"{point_to_sgf(point, self.size) or 'pass'}) is illegal: {error}") from None

    def final_board(self) -> Board:
        """The position after the last move (raises SgfError at an illegal move)."""
        board = None
        for board, _, _ in self.replay():
            pass
        return self.board() if board is None else board


# ------------------------------------------------------------------ parsing

@dataclass
class _Node:
    properties: dict[str, list[str]]
    offset: int


class _Parser:
    """A recursive-descent reader of the SGF collection grammar, keeping each game's main line."""

    def __init__(self, text: str, source: str):
        self.text, self.source, self.at = text, source, 0

    def fail(self, message: str, offset: int | None = None) -> SgfError:
        offset = self.at if offset is None else offset
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return SgfError(f"{self.source}: line {line}, column {column}: {message}")

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def collection(self) -> list[list[_Node]]:
        games = []
        self.skip_space()
        start = self.text.find("(")
        if start < 0:
            raise self.fail("no game found (an SGF record starts with '(;')", 0)
        self.at = start
        while True:
            self.skip_space()
            if self.at >= len(self.text):
                break
            if self.text[self.at] != "(":
                break  # trailing text after the last game is ignored, as most readers do
            games.append(self.game_tree())
        return games

    def game_tree(self) -> list[_Node]:
        """'(' sequence subtree* ')': the sequence plus the main line of the first subtree.

        Iterative, because some writers nest every move in its own subtree."""
        nodes, openings = [], []
        while True:
            openings.append(self.at)
            self.at += 1
            self.skip_space()
            if self.at >= len(self.text) or self.text[self.at] != ";":
                raise self.fail("expected ';' to start a node")
            while self.at < len(self.text) and self.text[self.at] == ";":
                nodes.append(self.node())
                self.skip_space()
            if self.at < len(self.text) and self.text[self.at] == "(":
                continue
            break
        for level in reversed(range(len(openings))):
            self.skip_space()
            if self.at >= len(self.text):
                raise self.fail("the game tree opened here is never closed with ')'", openings[level])
            if self.text[self.at] != ")":
                raise self.fail(f"unexpected {self.text[self.at]!r}; expected a property, ';', '(' or ')'")
            self.at += 1
            if level:
                self.skip_space()
                while self.at < len(self.text) and self.text[self.at] == "(":
                    self.skip_tree()
                    self.skip_space()
        return nodes

    def skip_tree(self) -> None:
        """Pass over a variation that is not on the main line."""
        opening, depth = self.at, 0
        while self.at < len(self.text):
            ch = self.text[self.at]
            if ch == "[":
                self.value()
                continue
            depth += (ch == "(") - (ch == ")")
            self.at += 1
            if depth == 0:
                return
        raise self.fail("the variation opened here is never closed with ')'", opening)

    def node(self) -> _Node:
        offset = self.at
        self.at += 1
        properties: dict[str, list[str]] = {}
        self.skip_space()
        while self.at < len(self.text) and (self.text[self.at].isalpha()):
            start = self.at
            while self.at < len(self.text) and self.text[self.at].isalpha():
                self.at += 1
            name = "".join(ch for ch in self.text[start:self.at] if ch.isupper())  # FF[3] lowercase letters
            self.skip_space()
            if self.at >= len(self.text) or self.text[self.at] != "[":
                raise self.fail(f"property {self.text[start:self.at].strip()!r} has no value", start)
            values = properties.setdefault(name, [])
            while self.at < len(self.text) and self.text[self.at] == "[":
                values.append(self.value())
                self.skip_space()
        return _Node(properties, offset)

    def value(self) -> str:
        opening = self.at
        self.at += 1
        parts = []
        while True:
            end = self.text.find("]", self.at)
            if end < 0:
                raise self.fail("a property value opened here is never closed with ']'", opening)
            backslashes = len(self.text[self.at:end]) - len(self.text[self.at:end].rstrip("\\"))
            parts.append(self.text[self.at:end])
            self.at = end + 1
            if backslashes % 2 == 0:
                break
            parts.append("]")
        return re.sub(r"\\(.)", r"\1", "".join(parts).replace("\\\n", ""), flags=re.S)


def point_from_sgf(value: str, size: int) -> int:
    """SGF coordinates ('pd': column p, row d) to a point; '' and 'tt' (up to 19x19) are PASS."""
    if value == "" or (value == "tt" and size <= 19):
        return PASS
    if len(value) != 2 or not value.isalpha() or not value.islower():
        raise ValueError(f"bad point {value!r}")
    col, row = ord(value[0]) - ord("a"), ord(value[1]) - ord("a")
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"point {value!r} is off the {size}x{size} board")
    return row * size + col


def point_to_sgf(point: int, size: int) -> str:
    if point == PASS:
        return ""
    row, col = divmod(point, size)
    return chr(ord("a") + col) + chr(ord("a") + row)


def _expand(value: str, size: int) -> list[int]:
    """A point or a compressed rectangle 'aa:cc' (FF[4] point lists)."""
    if ":" not in value:
        return [point_from_sgf(value, size)]
    first, last = (point_from_sgf(v, size) for v in value.split(":", 1))
    (r1, c1), (r2, c2) = divmod(first, size), divmod(last, size)
    return [r * size + c for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)]


def white_winrate(comment: str) -> float | None:
    """White's win probability from a KataGo self-play comment ('0.56 0.44 0.00 1.3 v=...':
    White win, White loss, no result, ...); None when the comment is not of that form."""
    match = _WINRATES.match(comment)
    if not match:
        return None
    win, loss, draw = (float(g) for g in match.groups())
    if not (0 <= win <= 1 and 0 <= loss <= 1 and abs(win + loss + draw - 1) < 0.02):
        return None
    return win


def _number(parser: _Parser, node: _Node, name: str, kind, default):
    values = node.properties.get(name)
    if not values:
        return default
    try:
        return kind(values[0].strip())
    except ValueError:
        raise parser.fail(f"{name}[{values[0]}] is not a number", node.offset) from None


def _record(parser: _Parser, nodes: list[_Node], index: int) -> GameRecord:
    root = nodes[0].properties
    size_text = root.get("SZ", ["19"])[0].split(":")[0]
    try:
        size = int(size_text)
    except ValueError:
        raise parser.fail(f"SZ[{size_text}] is not a board size", nodes[0].offset) from None
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise parser.fail(f"board size {size} is not supported (from {MIN_SIZE} to {MAX_SIZE})", nodes[0].offset)
    komi = _number(parser, nodes[0], "KM", float, DEFAULT_KOMI)
    if abs(komi) >= 50:  # Fox writes KM[750] for 7.5
        komi /= 100
    source = parser.source if index == 0 else f"{parser.source} (game {index + 1})"
    record = GameRecord(size=size, komi=komi, result=root.get("RE", [""])[0].strip(),
                        handicap=_number(parser, nodes[0], "HA", int, 0), source=source,
                        players={c: root[f"P{c}"][0] for c in "BW" if f"P{c}" in root})
    for node in nodes:
        props = node.properties
        try:
            for name, target in (("AB", record.setup_black), ("AW", record.setup_white)):
                for value in props.get(name, []):
                    target.extend(p for p in _expand(value, size) if p != PASS)
            for name, colour in _COLOURS.items():
                for value in props.get(name, [])[:1]:
                    record.moves.append((colour, point_from_sgf(value.strip(), size)))
                    record.white_win.append(white_winrate(props.get("C", [""])[0]))
        except ValueError as error:
            raise parser.fail(str(error), node.offset) from None
    return record


def parse(text: str | bytes, source: str = "<sgf>") -> list[GameRecord]:
    """Every game in an SGF collection (the main line of each); raises SgfError."""
    if isinstance(text, bytes):
        text = _decode(text)
    parser = _Parser(text, source)
    return [_record(parser, nodes, index) for index, nodes in enumerate(parser.collection())]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read(path: str | Path) -> list[GameRecord]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SgfError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse(data, str(path))


# ------------------------------------------------------------------ collections

@dataclass
class Tally:
    """What reading a collection found: files read, games, and the bad files skipped."""

    files: int = 0
    games: int = 0
    skipped: list[str] = field(default_factory=list)  # one message per bad file


def sources(path: str | Path) -> list[tuple[str, callable]]:
    """The SGF files in a folder, a zip or a single file, as (name, read bytes) pairs, sorted."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SGF_SUFFIXES)
        return [(str(p), p.read_bytes) for p in files]
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        names = sorted(n for n in archive.namelist() if n.lower().endswith(SGF_SUFFIXES))
        return [(f"{path}:{n}", (lambda n=n: archive.read(n))) for n in names]
    if path.is_file():
        return [(str(path), path.read_bytes)]
    raise SgfError(f"{path}: no such file or folder of SGF records")


def read_collection(path: str | Path, tally: Tally | None = None, *, check: bool = True) -> Iterator[GameRecord]:
    """Yield every game in a folder, zip or file of SGF records, skipping (and counting) bad files.

    With `check`, each game is replayed once so that an illegal move is found here, not later.
    """
    tally = Tally() if tally is None else tally
    for name, load in sources(path):
        tally.files += 1
        try:
            games = parse(load(), name)
            if check:
                for game in games:
                    game.final_board()
        except SgfError as error:
            tally.skipped.append(str(error))
            continue
        tally.games += len(games)
        yield from games


# ------------------------------------------------------------------ writing

def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def write(record: GameRecord, *, comments: list[str] | None = None) -> str:
    """The record as SGF text (FF[4]); `comments`, one per move, go in C[] (KataGo style when
    they are win rates)."""
    head = [f"GM[1]FF[4]CA[UTF-8]AP[dlcli]SZ[{record.size}]KM[{record.komi:g}]RU[Chinese]"]
    if record.handicap:
        head.append(f"HA[{record.handicap}]")
    if record.result:
        head.append(f"RE[{_escape(record.result)}]")
    for colour in "BW":
        if colour in record.players:
            head.append(f"P{colour}[{_escape(record.players[colour])}]")
    for name, points in (("AB", record.setup_black), ("AW", record.setup_white)):
        if points:
            head.append(name + "".join(f"[{point_to_sgf(p, record.size)}]" for p in points))
    body = []
    for index, (colour, point) in enumerate(record.moves):
        node = f";{'BW'[colour - 1]}[{point_to_sgf(point, record.size)}]"
        comment = comments[index] if comments and index < len(comments) else None
        if comment is None and index < len(record.white_win) and record.white_win[index] is not None:
            win = record.white_win[index]
            comment = f"{win:.4f} {1 - win:.4f} 0.0000"
        if comment:
            node += f"C[{_escape(comment)}]"
        body.append(node)
    return "(;" + "".join(head) + "\n" + "\n".join(body) + ")\n"
