"""The course's own `games.data` text format (KataGo self-play games, as golois reads them).

Whitespace-separated numbers: `nbGames`, then per game `komi winner nbMoves`, then per move
`inter color val points`: `inter` is the point `19 * row + col` (361 is a pass), `color` and
`winner` are 1 for Black and 2 for White (golois' board colours), `val` is the search's
probability that White wins, `points` its score estimate (kept, unused for training).
"""

from __future__ import annotations

from pathlib import Path

from dlcli.go.board import BLACK, PASS, WHITE
from dlcli.go.sgf import GameRecord, SgfError

SIZE = 19
PASS_INDEX = SIZE * SIZE
_COLOURS = {1: BLACK, 2: WHITE}


class GamesDataError(SgfError):
    """A malformed games.data file; the message names the file and the token."""


class _Tokens:
    def __init__(self, text: str, source: str):
        self.words, self.at, self.source = text.split(), 0, source

    def take(self, kind, what: str):
        if self.at >= len(self.words):
            raise GamesDataError(f"{self.source}: the file ends early, expected {what} (token {self.at + 1})")
        word = self.words[self.at]
        self.at += 1
        try:
            return kind(word)
        except ValueError:
            raise GamesDataError(f"{self.source}: token {self.at} is {word!r}, expected {what}") from None


def parse(text: str, source: str = "games.data", limit: int | None = None) -> list[GameRecord]:
    """The games of a games.data text (the first `limit` of them); raises GamesDataError."""
    tokens = _Tokens(text, source)
    count = tokens.take(int, "the number of games")
    games = []
    for number in range(1, count + 1 if limit is None else min(count, limit) + 1):
        komi = tokens.take(float, f"the komi of game {number}")
        winner = tokens.take(int, f"the winner of game {number} (1 Black, 2 White)")
        moves = tokens.take(int, f"the number of moves of game {number}")
        if winner not in _COLOURS or moves < 0:
            raise GamesDataError(f"{source}: game {number} has winner {winner} and {moves} moves; "
                                 "expected winner 1 (Black) or 2 (White) and a move count")
        record = GameRecord(size=SIZE, komi=komi, result="BW"[_COLOURS[winner] - 1] + "+",
                            source=f"{source} (game {number})")
        for move in range(1, moves + 1):
            inter = tokens.take(int, f"a point (0 to 361) at move {move} of game {number}")
            colour = tokens.take(int, f"a colour (1 or 2) at move {move} of game {number}")
            value = tokens.take(float, f"White's win probability at move {move} of game {number}")
            tokens.take(float, f"the points at move {move} of game {number}")
            if not 0 <= inter <= PASS_INDEX or colour not in _COLOURS or not 0 <= value <= 1:
                raise GamesDataError(f"{source}: move {move} of game {number} reads {inter} {colour} {value}; "
                                     "expected a point 0..361, colour 1 or 2 and a probability")
            record.moves.append((_COLOURS[colour], PASS if inter == PASS_INDEX else inter))
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
    """Games in the games.data format (19x19 only); moves without a win rate get the result's."""
    lines = [str(len(games))]
    for game in games:
        if game.size != SIZE:
            raise ValueError("games.data holds 19x19 games only")
        winner = game.winner or WHITE
        lines.append(f"{game.komi:g} {winner} {len(game.moves)}")
        for index, (colour, point) in enumerate(game.moves):
            value = game.white_value(index)
            value = 0.5 if value is None else value
            lines.append(f"{PASS_INDEX if point == PASS else point} {colour} {value:.4f} 0")
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
