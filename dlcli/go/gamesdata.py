"""The course's `games.data` text format, exactly as golois reads and writes it.

Whitespace-separated tokens: `nbGames`, then per game `komi winner nbMoves` with the winner the
letter `B` or `W`, then per move `inter color val points`: `inter` is the point `19 * row + col`
(361 is a pass), `color` is golois' own constant (1 Black, 0 White), `val` White's win (1.0 or
0.0, or the search's win rate), `points` a score estimate (kept, unused for training).
"""

from __future__ import annotations

from pathlib import Path

from dlcli.go.board import BLACK, PASS, WHITE
from dlcli.go.sgf import GameRecord, SgfError

SIZE = 19
PASS_INDEX = SIZE * SIZE
GOLOIS_COLOURS = {1: BLACK, 0: WHITE}  # golois' Black and White constants
GOLOIS_CODE = {BLACK: 1, WHITE: 0}
WINNERS = {"B": BLACK, "W": WHITE}


class GamesDataError(SgfError):
    """A malformed games.data file; the message names the file, the game and the token."""


class _Tokens:
    def __init__(self, text: str, source: str):
        self.words, self.at, self.source = text.split(), 0, source

    def take(self, kind, what: str, game: int | None = None):
        where = f"game {game}, " if game is not None else ""
        if self.at >= len(self.words):
            raise GamesDataError(f"{self.source}: {where}the file ends early at token {self.at + 1}, expected {what}")
        word = self.words[self.at]
        self.at += 1
        try:
            return kind(word)
        except (ValueError, KeyError):
            raise GamesDataError(f"{self.source}: {where}token {self.at} is {word!r}, expected {what}") from None


def _winner(word: str) -> int:
    return WINNERS[word]


def _colour(word: str) -> int:
    return GOLOIS_COLOURS[int(word)]


def _point(word: str) -> int:
    point = int(word)
    if not 0 <= point <= PASS_INDEX:
        raise ValueError(word)
    return PASS if point == PASS_INDEX else point


def _probability(word: str) -> float:
    value = float(word)
    if not 0 <= value <= 1:
        raise ValueError(word)
    return value


def _count(word: str) -> int:
    value = int(word)
    if value < 0:
        raise ValueError(word)
    return value


def parse(text: str, source: str = "games.data", limit: int | None = None) -> list[GameRecord]:
    """The games of a games.data text (the first `limit` of them); raises GamesDataError."""
    tokens = _Tokens(text, source)
    count = tokens.take(_count, "the number of games")
    games = []
    for number in range(1, count + 1 if limit is None else min(count, limit) + 1):
        komi = tokens.take(float, "the komi", number)
        winner = tokens.take(_winner, "the winner, B or W", number)
        moves = tokens.take(_count, "the number of moves", number)
        record = GameRecord(size=SIZE, komi=komi, result="BW"[winner - 1] + "+", source=f"{source} (game {number})")
        for move in range(1, moves + 1):
            point = tokens.take(_point, f"a point 0..361 at move {move}", number)
            colour = tokens.take(_colour, f"a colour (1 Black, 0 White) at move {move}", number)
            value = tokens.take(_probability, f"White's win, 0..1, at move {move}", number)
            tokens.take(float, f"the points at move {move}", number)
            record.moves.append((colour, point))
            record.white_win.append(value)
        games.append(record)
    return games


def read(path: str | Path, limit: int | None = None) -> list[GameRecord]:
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise GamesDataError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse(text, str(path), limit)


def write(games: list[GameRecord]) -> str:
    """Games in golois' games.data format (19x19 only). `val` is White's win: the record's win
    rate where it has one, else 1.0/0.0 from the result (golois' own choice); a game without a
    result is written as a White win with 0.5 per move."""
    lines = [str(len(games))]
    for game in games:
        if game.size != SIZE:
            raise ValueError("games.data holds 19x19 games only")
        if game.setup_black or game.setup_white:
            raise ValueError("games.data cannot hold set-up (handicap) stones")
        winner = game.winner or WHITE
        lines.append(f"{float(game.komi)!r} {'BW'[winner - 1]} {len(game.moves)}")
        moves = []
        for index, (colour, point) in enumerate(game.moves):
            value = game.white_value(index)
            value = 0.5 if value is None else value
            moves.append(f"{PASS_INDEX if point == PASS else point} {GOLOIS_CODE[colour]} {float(value)!r} 0")
        lines.append(" ".join(moves))  # golois writes a game's moves on one line
    return "\n".join(lines) + "\n"


def looks_like(path: str | Path) -> bool:
    """Whether a file is in the games.data format: its name, or its first token a count."""
    path = Path(path)
    if path.suffix == ".data":
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).split()
    except OSError:
        return False
    return bool(head) and head[0].isdigit()
