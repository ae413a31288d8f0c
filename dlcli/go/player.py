"""What plays a game: the interface a match, the GTP engine and self-play drive, and simple players.

A player keeps its own board. `play` tells it a move (its own or the opponent's), `genmove` asks
it to choose one for a colour and play it. Our search engine (`mcts.Engine`), a GTP program in a
subprocess (`gtp.GtpPlayer`) and the random and policy-only players here all look the same.
"""

from __future__ import annotations

import random

from dlcli.go.board import BLACK, DEFAULT_KOMI, EMPTY, PASS, WHITE, Board, IllegalMove, diagonal_table, opponent
from dlcli.go.timing import TimeControl

RESIGN = -2  # genmove's answer when the player gives up (PASS is -1)


def fills_own_eye(board: Board, point: int, colour: int) -> bool:
    """True when `point` is an eye of `colour`: every neighbour is its stone, and the opponent holds
    at most one diagonal (none on the edge). Filling one's own eye is never worth a playout."""
    if board.colour[point] != EMPTY or any(board.colour[q] != colour for q in board.neighbours[point]):
        return False
    on_board = diagonal_table(board.size)[point]
    enemy = sum(board.colour[q] == opponent(colour) for q in on_board)
    return enemy == 0 if len(on_board) < 4 else enemy <= 1


def sensible_moves(board: Board, colour: int | None = None) -> list[int]:
    """Legal points that do not fill the player's own eye: the moves a search considers."""
    colour = board.to_move if colour is None else colour
    return [p for p in board.legal_moves(colour) if not fills_own_eye(board, p, colour)]


class Player:
    """A player with its own board; subclasses choose moves in `choose`."""

    name = "player"

    def __init__(self) -> None:
        self.board = Board()

    def new_game(self, size: int = 19, komi: float = DEFAULT_KOMI) -> None:
        self.board = Board(size, komi)

    def play(self, colour: int, point: int) -> None:
        """A move by `colour` (either side); raises IllegalMove when the rules forbid it."""
        self.board.to_move = colour
        self.board.play(point, colour)

    def genmove(self, colour: int) -> int:
        """Choose a move for `colour`, play it on the player's board and return it (or RESIGN)."""
        self.board.to_move = colour
        move = self.choose(colour)
        if move != RESIGN:
            self.play(colour, move)
        return move

    def choose(self, colour: int) -> int:
        raise NotImplementedError

    def undo(self) -> None:
        """Take back the last move (the board is replayed from the start)."""
        if not self.board.moves:
            raise IllegalMove("there is no move to take back")
        moves = self.board.moves[:-1]
        self.new_game(self.board.size, self.board.komi)
        for colour, point in moves:
            self.play(colour, point)

    def final_score(self) -> str | None:
        """The result by area scoring, GTP style: 'B+3.5', 'W+0.5' or '0'."""
        return result_text(self.board.score())

    def set_time(self, main_seconds: float, byo_yomi_seconds: float, byo_yomi_stones: int) -> None:
        """GTP time_settings (Canadian byo-yomi, absolute time or none): see `set_time_control`."""
        self.set_time_control(TimeControl.from_gtp(main_seconds, byo_yomi_seconds, byo_yomi_stones))

    def set_time_control(self, control: TimeControl) -> None:
        """The game's clock (GTP time_settings, kgs-time_settings); players without a clock ignore it."""

    def time_left(self, colour: int, seconds: float, stones: int) -> None:
        """GTP time_left; players without a clock ignore it."""

    def close(self) -> None:
        """Release what the player holds (a subprocess, say)."""


class RandomPlayer(Player):
    """Uniformly random among the sensible moves; passes when there is none. A baseline for tests."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    def choose(self, colour: int) -> int:
        moves = sensible_moves(self.board, colour)
        return self.rng.choice(moves) if moves else PASS


def result_text(score: float) -> str:
    """Black's score minus White's as GTP and SGF write a result: 'B+3.5', 'W+0.5', '0'."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


def colour_name(colour: int) -> str:
    return {BLACK: "black", WHITE: "white"}[colour]
