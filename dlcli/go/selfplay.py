"""Self-play: a search engine plays itself and the game becomes a training record.

Each move's comment holds the search's estimate of White's winning chances (KataGo's order: White
win, White loss, no result), which `dl go data` reads as the value target of that position; the
moves themselves are the policy targets. Noise and temperature in the engine's settings make the
games differ from one another.
"""

from __future__ import annotations

from dlcli.go.board import BLACK, opponent
from dlcli.go.match import default_move_cap
from dlcli.go.player import RESIGN, result_text
from dlcli.go.sgf import GameRecord


def play(engine, *, size: int = 19, komi: float = 7.5, max_moves: int | None = None) -> GameRecord:
    """One game of `engine` (an `mcts.Engine`) against itself, ended by two passes, a resignation
    or `max_moves` (default: a match's cap; then scored as it stands, by area)."""
    max_moves = default_move_cap(size) if max_moves is None else max_moves
    engine.new_game(size, komi)
    record = GameRecord(size=size, komi=komi, players={"B": engine.name, "W": engine.name}, source="self-play")
    colour = BLACK
    while not engine.board.over and len(engine.board.moves) < max_moves:
        move = engine.genmove(colour)
        if move == RESIGN:
            record.result = f"{'W' if colour == BLACK else 'B'}+R"
            return record
        record.moves.append((colour, move))
        record.white_win.append(round(engine.last.white_win, 4) if engine.last else None)
        colour = opponent(colour)
    record.result = result_text(engine.board.score())
    return record
