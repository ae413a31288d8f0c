"""The Go Text Protocol, version 2: a server that puts any `Player` behind GTP, and a client that
makes any GTP program (GNU Go, another network) a `Player`.

`GtpServer.handle(line)` answers one command line and knows nothing of files or processes;
`serve(stdin, stdout)` loops over a stream until `quit` or end of input. `GtpPlayer` runs an
outside engine in a subprocess and keeps its own board in step, so that a match checks every
move and scores the game by our rules. Vertices are GTP's: a column letter A-T without I and a
row number counted from the bottom (our points count rows from the top).

`python -m dlcli.go.gtp --random [--seed N]` serves a RandomPlayer (a trivial opponent for tests).
"""

from __future__ import annotations

import os
import queue
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

from dlcli.errors import DlcliError
from dlcli.go.board import BLACK, DEFAULT_KOMI, EMPTY, MAX_SIZE, MIN_SIZE, PASS, WHITE, Board, IllegalMove
from dlcli.go.player import RESIGN, Player, result_text
from dlcli.go.timing import TimeControl

EXIT_POLL_S = 0.25  # how often a silent engine is checked for having exited

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP skips I; Board sizes stop at 19
COLOURS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}
_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


class GtpError(DlcliError):
    """A GTP engine failed: it answered a command with an error, exited, or did not answer in time."""


class GtpRefused(GtpError):
    """The engine answered a command with `?` (it is still running and in step)."""


class GtpIllegalMove(GtpError, IllegalMove):
    """The engine's genmove answer is not a legal move by our rules: it loses the game, the match goes on."""


class _Fail(Exception):
    """A command's GTP error answer (the text after `? `)."""


# --------------------------------------------------------------------------- vertices and colours

def vertex_to_point(text: str, size: int) -> int:
    """A GTP vertex (`D4`, `pass`, any case) -> our point (row 0 at the top) or PASS; ValueError."""
    vertex = text.strip().upper()
    if vertex == "PASS":
        return PASS
    column, row = vertex[:1], vertex[1:]
    if not column or column not in COLUMNS[:size] or not row.isdigit() or not 1 <= int(row) <= size:
        raise ValueError(f"invalid vertex {text!r} on a {size}x{size} board")
    return (size - int(row)) * size + COLUMNS.index(column)


def point_to_vertex(point: int, size: int) -> str:
    """Our point (or PASS) -> a GTP vertex such as `D4` or `pass`."""
    if point == PASS:
        return "pass"
    if not 0 <= point < size * size:
        raise ValueError(f"point {point} is off the {size}x{size} board")
    row, col = divmod(point, size)
    return f"{COLUMNS[col]}{size - row}"


def parse_colour(text: str) -> int:
    colour = COLOURS.get(text.lower())
    if colour is None:
        raise ValueError(f"invalid colour {text!r}")
    return colour


def colour_letter(colour: int) -> str:
    return "b" if colour == BLACK else "w"


def diagram(board: Board) -> str:
    """The board with GTP coordinates on all four sides, the captures and the side to move."""
    size, letters = board.size, " ".join(COLUMNS[:board.size])
    marks = {EMPTY: ".", BLACK: "X", WHITE: "O"}
    last = board.moves[-1][1] if board.moves else PASS
    lines = [f"   {letters}"]
    for row in range(size):
        gaps = [" "] * (size + 1)  # the last move between parentheses, as GNU Go shows it
        if last != PASS and last // size == row:
            gaps[last % size], gaps[last % size + 1] = "(", ")"
        cells = "".join(gap + marks[board.colour[row * size + col]] for col, gap in enumerate(gaps[:-1]))
        lines.append(f"{size - row:2d}{cells}{gaps[-1]}{size - row}")
    lines.append(f"   {letters}")
    lines.append(f"Black (X) captured {board.captured[BLACK]}, White (O) captured {board.captured[WHITE]}; "
                 f"{'Black' if board.to_move == BLACK else 'White'} to move")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the server

KGS_TIME_SYSTEMS = {"none": (), "absolute": ("main",), "byoyomi": ("main", "period", "periods"),
                    "canadian": ("main", "period", "stones")}  # kgs-time_settings: its arguments, as TimeControl's


def _ints(args: list[str], count: int, what: str) -> list[int]:
    if len(args) != count:
        raise _Fail(f"syntax error: expected {what}")
    try:
        values = [int(a) for a in args]
    except ValueError:
        raise _Fail(f"syntax error: expected {what}") from None
    if any(v < 0 for v in values):
        raise _Fail(f"syntax error: {what} must not be negative")
    return values


class GtpServer:
    """Answers GTP version 2 commands for one player; `done` turns true after `quit`."""

    def __init__(self, player: Player, name: str = "dlcli", version: str = "", *, size: int | None = None,
                 komi: float = DEFAULT_KOMI):
        self.player = player
        self.name = name
        self.version = version
        sizes = getattr(player, "sizes", None)
        self.sizes = frozenset(sizes) if sizes is not None else frozenset(range(MIN_SIZE, MAX_SIZE + 1))
        self.size = size if size is not None else (19 if 19 in self.sizes else max(self.sizes))
        self.komi = float(komi)
        self.done = False
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda args: "2",
            "name": lambda args: self.name,
            "version": lambda args: self.version,
            "known_command": self.known_command,
            "list_commands": lambda args: "\n".join(self.commands),
            "boardsize": self.boardsize,
            "clear_board": self.clear_board,
            "komi": self.set_komi,
            "play": self.play,
            "genmove": self.genmove,
            "undo": self.undo,
            "showboard": lambda args: "\n" + diagram(self.player.board),
            "final_score": self.final_score,
            "time_settings": self.time_settings,
            "kgs-time_settings": self.kgs_time_settings,
            "time_left": self.time_left,
            "quit": self.quit,
        }
        self.player.new_game(self.size, self.komi)

    # ----------------------------------------------------------------- protocol

    def handle(self, line: str) -> str | None:
        """The full response to one command line ("=id text\\n\\n" or "?id message\\n\\n"), or None
        for a line GTP discards (empty, or only a comment)."""
        line = line.translate(_CONTROL).split("#", 1)[0].replace("\t", " ")
        words = line.split()
        if not words:
            return None
        ident = ""
        if words[0].isdigit():
            ident, words = words[0], words[1:]
            if not words:
                return self._response("?", ident, "syntax error: no command after the id")
        command, args = words[0], words[1:]
        handler = self.commands.get(command)
        if handler is None:
            return self._response("?", ident, "unknown command")
        try:
            return self._response("=", ident, handler(args))
        except _Fail as fail:
            return self._response("?", ident, str(fail))
        except IllegalMove:
            return self._response("?", ident, "illegal move")
        except Exception as error:  # a player's failure answers the command; the engine keeps running
            return self._response("?", ident, str(error) or type(error).__name__)

    @staticmethod
    def _response(mark: str, ident: str, text: str) -> str:
        if mark == "?":
            body = " ".join(text.split())  # an error message is one line
        else:  # no empty line inside a response: an empty line ends it
            first, *rest = text.replace("\r", "").split("\n")
            body = "\n".join([first, *(line for line in rest if line.strip())])
        return f"{mark}{ident} {body}\n\n"

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        """Answer commands from `stdin` on `stdout` until `quit` or the end of the input."""
        for line in iter(stdin.readline, ""):
            response = self.handle(line)
            if response is not None:
                stdout.write(response)
                stdout.flush()
            if self.done:
                break

    # ----------------------------------------------------------------- commands

    def known_command(self, args: list[str]) -> str:
        if len(args) != 1:
            raise _Fail("syntax error: expected a command name")
        return "true" if args[0] in self.commands else "false"

    def boardsize(self, args: list[str]) -> str:
        (size,) = _ints(args, 1, "a board size")
        if size not in self.sizes:
            raise _Fail("unacceptable size")
        self.size = size
        self.player.new_game(size, self.komi)
        return ""

    def clear_board(self, args: list[str]) -> str:
        self.player.new_game(self.size, self.komi)
        return ""

    def set_komi(self, args: list[str]) -> str:
        try:
            (komi,) = [float(a) for a in args]
        except ValueError:
            raise _Fail("syntax error: expected a komi") from None
        if komi != komi or abs(komi) == float("inf"):
            raise _Fail("syntax error: expected a finite komi")
        self.komi = komi
        moves = self.player.board.moves
        self.player.new_game(self.size, komi)  # a new komi mid-game: replay the moves under it
        for colour, point in moves:
            self.player.play(colour, point)
        return ""

    def _colour(self, text: str) -> int:
        try:
            return parse_colour(text)
        except ValueError as error:
            raise _Fail(f"syntax error: {error}") from None

    def play(self, args: list[str]) -> str:
        if len(args) != 2:
            raise _Fail("syntax error: expected a colour and a vertex")
        colour = self._colour(args[0])
        try:
            point = vertex_to_point(args[1], self.player.board.size)
        except ValueError as error:
            raise _Fail(f"syntax error: {error}") from None
        self.player.play(colour, point)
        return ""

    def genmove(self, args: list[str]) -> str:
        if len(args) != 1:
            raise _Fail("syntax error: expected a colour")
        colour = self._colour(args[0])
        move = self.player.genmove(colour)
        return "resign" if move == RESIGN else point_to_vertex(move, self.player.board.size)

    def undo(self, args: list[str]) -> str:
        if not self.player.board.moves:
            raise _Fail("cannot undo")
        try:
            self.player.undo()
        except IllegalMove:
            raise _Fail("cannot undo") from None
        return ""

    def final_score(self, args: list[str]) -> str:
        score = self.player.final_score()
        return score if score is not None else result_text(self.player.board.score())

    def time_settings(self, args: list[str]) -> str:
        main, byo_time, byo_stones = _ints(args, 3, "main time, byo-yomi time and byo-yomi stones")
        self.player.set_time(main, byo_time, byo_stones)
        return ""

    def kgs_time_settings(self, args: list[str]) -> str:
        """KGS's extension: `none`, `absolute MAIN`, `byoyomi MAIN PERIOD PERIODS` (Japanese byo-yomi)
        or `canadian MAIN BYO_YOMI STONES`, in whole seconds."""
        kind = args[0].lower() if args else ""
        if kind not in KGS_TIME_SYSTEMS:
            raise _Fail("syntax error: expected none, absolute, byoyomi or canadian")
        fields = KGS_TIME_SYSTEMS[kind]
        values = _ints(args[1:], len(fields), " ".join([kind, *(field.upper() for field in fields)]))
        try:
            control = TimeControl(kind, **dict(zip(fields, values)))
        except ValueError as error:
            raise _Fail(f"invalid time settings: {error}") from None
        self.player.set_time_control(control)
        return ""

    def time_left(self, args: list[str]) -> str:
        if len(args) != 3:
            raise _Fail("syntax error: expected a colour, a time and a number of stones")
        colour = self._colour(args[0])
        seconds, stones = _ints(args[1:], 2, "a time and a number of stones")
        self.player.time_left(colour, seconds, stones)
        return ""

    def quit(self, args: list[str]) -> str:
        self.done = True
        return ""


# --------------------------------------------------------------------------- the client

GAME_FOLDERS = ("/usr/games", "/usr/local/games")  # where Debian installs game engines such as gnugo


def find_program(name: str) -> str | None:
    """The path of an engine's program: on PATH, or in the folders where Debian puts games (often
    not on a user's PATH); None if it is nowhere."""
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(GAME_FOLDERS))


class GtpPlayer(Player):
    """An outside GTP engine (a command line) as a Player, with its own board kept in step."""

    def __init__(self, command: str | list[str], name: str | None = None, timeout: float = 60,
                 log: str | Path | None = None):
        super().__init__()
        try:
            self.argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        except ValueError as error:
            raise GtpError(f"cannot read the GTP engine command line {command!r}: {error}") from None
        if not self.argv:
            raise GtpError("empty GTP engine command line")
        self.argv[0] = find_program(self.argv[0]) or self.argv[0]
        self.program = self.argv[0]
        self.name = Path(self.program).name
        self.timeout = timeout
        self._known: dict[str, bool] = {}
        self._log = open(log, "ab") if log is not None else None
        try:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._log if self._log is not None else subprocess.DEVNULL,
                text=True, encoding="utf-8", errors="replace", bufsize=1)
        except OSError as error:
            if self._log is not None:
                self._log.close()
            reason = "no such program" if isinstance(error, FileNotFoundError) else error.strerror or str(error)
            raise GtpError(f"cannot start GTP engine {self.program!r}: {reason}; check the command line "
                           f"{shlex.join(self.argv)!r}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            if name is None:
                found = self.command("name")
                try:
                    version = self.command("version")
                except GtpRefused:
                    version = ""
                name = f"{found} {version}".strip() or self.name
        except GtpError:
            self.close()
            raise
        self.name = name

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _describe(self, command: str) -> str:
        return f"GTP engine {self.name!r} ({self.program}), command {command!r}"

    def _next_line(self, command: str) -> str:
        """The engine's next output line. An engine that exits is reported at once, even when a
        process it started keeps its output open (then no end of file ever comes)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self._lines.get(timeout=min(EXIT_POLL_S, max(deadline - time.monotonic(), 0)))
                break
            except queue.Empty:
                if self.process.poll() is not None:  # exited: its last lines, if any, arrive at once
                    try:
                        line = self._lines.get(timeout=EXIT_POLL_S * 4)
                        break
                    except queue.Empty:
                        raise GtpError(f"{self._describe(command)}: the engine exited "
                                       f"(code {self.process.returncode})") from None
                if time.monotonic() >= deadline:
                    self._kill()
                    raise GtpError(f"{self._describe(command)}: no answer within {self.timeout:g} s") from None
        if line is None:
            code = self.process.wait()
            raise GtpError(f"{self._describe(command)}: the engine exited (code {code})")
        return line.rstrip("\r\n").replace("\r", "")

    def command(self, command: str) -> str:
        """Send one command and return its answer's text; GtpError when it fails."""
        if self.process.poll() is not None and self._lines.empty():
            raise GtpError(f"{self._describe(command)}: the engine has exited (code {self.process.returncode})")
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            code = self.process.wait()
            raise GtpError(f"{self._describe(command)}: the engine exited (code {code})") from None
        line = self._next_line(command)
        while not line.startswith(("=", "?")):  # tolerate chatter before an answer
            line = self._next_line(command)
        lines = [line]
        while True:
            line = self._next_line(command)
            if not line.strip():
                break
            lines.append(line)
        first = lines[0][1:]
        first = first.lstrip("0123456789")  # we send no id; drop any the engine echoes anyway
        first = first.strip()
        rest = lines[1:]
        text = "\n".join([first, *rest] if first or not rest else rest).rstrip()  # keep a diagram's indent
        if lines[0].startswith("?"):
            raise GtpRefused(f"{self._describe(command)}: the engine answered '? {' '.join(text.split())}'")
        return text

    def knows(self, command: str) -> bool:
        """The engine's known_command answer (cached)."""
        if command not in self._known:
            try:
                self._known[command] = self.command(f"known_command {command}").lower() == "true"
            except GtpRefused:
                self._known[command] = False
        return self._known[command]

    # ----------------------------------------------------------------- Player

    def new_game(self, size: int = 19, komi: float = DEFAULT_KOMI) -> None:
        super().new_game(size, komi)
        self.command(f"boardsize {size}")
        self.command("clear_board")
        self.command(f"komi {komi:g}")

    def play(self, colour: int, point: int) -> None:
        reason = self.board.legality(point, colour)
        if reason is not None:
            raise IllegalMove(reason)
        self.command(f"play {colour_letter(colour)} {point_to_vertex(point, self.board.size)}")
        super().play(colour, point)

    def genmove(self, colour: int) -> int:
        command = f"genmove {colour_letter(colour)}"
        answer = self.command(command)
        if answer.lower() == "resign":
            return RESIGN
        try:
            move = vertex_to_point(answer, self.board.size)
            super().play(colour, move)
        except (ValueError, IllegalMove) as error:  # IllegalMove is a ValueError
            raise GtpIllegalMove(f"{self._describe(command)}: the engine answered {answer!r}, which is not a legal "
                           f"move here ({error})") from None
        return move

    def undo(self) -> None:
        if not self.board.moves:
            raise IllegalMove("there is no move to take back")
        self.command("undo")
        moves = self.board.moves[:-1]
        self.board = Board(self.board.size, self.board.komi)
        for colour, point in moves:
            Player.play(self, colour, point)

    def final_score(self) -> str | None:
        """The engine's own score (`B+3.5`, `W+0.5`, `0`) when it has final_score, else None."""
        if not self.knows("final_score"):
            return None
        try:
            return self.command("final_score").split()[0]
        except (GtpRefused, IndexError):
            return None

    def set_time(self, main_seconds: float, byo_yomi_seconds: float, byo_yomi_stones: int) -> None:
        if self.knows("time_settings"):
            self.command(f"time_settings {round(main_seconds)} {round(byo_yomi_seconds)} {int(byo_yomi_stones)}")

    def set_time_control(self, control: TimeControl) -> None:
        """kgs-time_settings where the engine knows it and GTP's time_settings cannot say the clock
        (Japanese byo-yomi), else the nearest time_settings."""
        if control.kind == "byoyomi" and self.knows("kgs-time_settings"):
            self.command(f"kgs-time_settings byoyomi {round(control.main)} {round(control.period)} {control.periods}")
        else:
            self.set_time(*control.gtp_settings())

    def time_left(self, colour: int, seconds: float, stones: int) -> None:
        if self.knows("time_left"):
            self.command(f"time_left {colour_letter(colour)} {round(seconds)} {int(stones)}")

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Say `quit`, wait a little for the engine to leave, then kill it. Safe to call twice."""
        if self.process.poll() is None:
            try:
                timeout, self.timeout = self.timeout, min(self.timeout, 5)
                self.command("quit")
            except GtpError:
                pass
            finally:
                self.timeout = timeout
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "GtpPlayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- python -m dlcli.go.gtp

def main(argv: list[str] | None = None) -> int:
    """Serve a RandomPlayer on stdin/stdout: a trivial opponent for tests and matches."""
    import argparse
    import sys

    from dlcli import __version__
    from dlcli.go.player import RandomPlayer

    parser = argparse.ArgumentParser(prog="python -m dlcli.go.gtp", description=main.__doc__)
    parser.add_argument("--random", action="store_true", required=True, help="play uniformly random sensible moves")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random player")
    options = parser.parse_args(argv)
    player = RandomPlayer(options.seed)
    GtpServer(player, "dlcli-random", __version__).serve(sys.stdin, sys.stdout)
    player.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
