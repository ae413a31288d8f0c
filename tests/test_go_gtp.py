"""GTP: our server driven through a real pipe by a small client, and GtpPlayer driving that server."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dlcli.errors import DlcliError
from dlcli.go.board import BLACK, PASS, WHITE, Board, IllegalMove, opponent
from dlcli.go.gtp import GtpError, GtpPlayer, GtpServer, point_to_vertex, vertex_to_point
from dlcli.go.player import RESIGN, RandomPlayer, result_text

ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "dlcli.go.gtp", "--random", "--seed", "1"]
COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
            "komi", "play", "genmove", "undo", "showboard", "final_score", "time_settings", "kgs-time_settings",
            "time_left", "quit")
RESULT = re.compile(r"^(0|[BW]\+\d+(\.\d+)?)$")


class Client:
    """A minimal GTP controller: one command at a time, each answer read up to its blank line."""

    def __init__(self, argv=SERVER):
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(x) for x in self.process.stdout], daemon=True).start()

    def ask(self, command: str) -> str:
        """The raw response without its terminating blank line, e.g. '= 2' or '?3 unknown command'."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.lines.get(timeout=20)) != "\n":
            lines.append(line.rstrip("\n"))
        return "\n".join(lines)

    def ok(self, command: str) -> str:
        response = self.ask(command)
        assert response.startswith("= ") or response == "=", (command, response)
        return response[2:]

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(timeout=20)


@pytest.fixture
def client():
    c = Client()
    yield c
    c.close()


def test_vertices_follow_gtp_coordinates():
    assert vertex_to_point("A1", 19) == 18 * 19          # row 1 is the bottom row, our row 18
    assert vertex_to_point("t19", 19) == 18               # T is the 19th column (no I)
    assert vertex_to_point("J9", 9) == 8 and vertex_to_point("H9", 9) == 7
    assert vertex_to_point("D4", 9) == 5 * 9 + 3
    assert vertex_to_point("Pass", 9) == PASS and point_to_vertex(PASS, 9) == "pass"
    for size in (9, 13, 19):
        assert all(vertex_to_point(point_to_vertex(p, size), size) == p for p in range(size * size))
    for bad in ("I5", "K1", "A10", "A0", "D", "", "44", "resign"):
        with pytest.raises(ValueError):
            vertex_to_point(bad, 9)


def test_every_listed_command_answers_through_a_pipe(client):
    assert client.ok("protocol_version") == "2"
    assert client.ok("name") == "dlcli-random"
    assert client.ok("version")
    assert set(client.ok("list_commands").splitlines()) == set(COMMANDS)
    assert client.ok("known_command genmove") == "true"
    assert client.ok("known_command fly_to_the_moon") == "false"
    assert client.ok("boardsize 9") == "" and client.ok("clear_board") == "" and client.ok("komi 6.5") == ""
    move = client.ok("genmove b")
    assert move == "pass" or vertex_to_point(move, 9) >= 0
    client.ok("undo")
    assert client.ok("play b D4") == "" and client.ok("play W e5") == ""
    assert client.ask("play white D4") == "? illegal move"
    board = client.ok("showboard").splitlines()
    assert board[0] == "" and "A B C D E F G H J" in board[1]
    row4 = next(line for line in board if line.startswith(" 4"))
    row5 = next(line for line in board if line.startswith(" 5"))
    assert row4[3 + 2 * 3] == "X" and row5[3 + 2 * 4] == "O" and "(O)" in row5   # the last move is marked
    assert sum(line.count("X") + line.count("O") for line in board[2:11]) == 2
    client.ok("undo")                                      # takes back White's E5
    assert "O" not in "".join(client.ok("showboard").splitlines()[2:11])
    assert RESULT.match(client.ok("final_score"))
    assert client.ok("time_settings 300 10 5") == "" and client.ok("time_left b 120 0") == ""
    assert client.ok("time_left white 5 3") == ""
    assert client.ok("quit") == ""
    assert client.process.wait(timeout=20) == 0


def test_errors_answer_question_marks_and_the_server_keeps_answering():
    script = [
        "boardsize 9", "1 undo", "2 fly_to_the_moon", "play", "play b", "play x D4", "play b Z9", "play b I3",
        "3 boardsize 3", "boardsize nine", "komi much", "genmove", "genmove purple", "time_settings 1 2",
        "time_settings a b c", "time_left b 1", "known_command", "4 play b C3", "5 play w C3", "",
        "  # a comment only", "6 na\x01me # the rest is a comment", "7\tprotocol_version", "8", "quit",
        "name",  # after quit: never answered
    ]
    out = subprocess.run(SERVER, input="\n".join(script) + "\n", capture_output=True, text=True, cwd=ROOT,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    answers = out.stdout.split("\n\n")
    assert answers[-1] == "" and all(answers[:-1])
    answers = answers[:-1]
    assert answers == [
        "= ", "?1 cannot undo", "?2 unknown command", "? syntax error: expected a colour and a vertex",
        "? syntax error: expected a colour and a vertex", "? syntax error: invalid colour 'x'",
        "? syntax error: invalid vertex 'Z9' on a 9x9 board", "? syntax error: invalid vertex 'I3' on a 9x9 board",
        "?3 unacceptable size", "? syntax error: expected a board size", "? syntax error: expected a komi",
        "? syntax error: expected a colour", "? syntax error: invalid colour 'purple'",
        "? syntax error: expected main time, byo-yomi time and byo-yomi stones",
        "? syntax error: expected main time, byo-yomi time and byo-yomi stones",
        "? syntax error: expected a colour, a time and a number of stones",
        "? syntax error: expected a command name", "=4 ", "?5 illegal move", "=6 dlcli-random", "=7 2",
        "?8 syntax error: no command after the id", "= ",
    ]


def play_out(ask, cap=250):
    """genmove b / genmove w until two passes in a row, a resignation or the cap; the moves played."""
    moves, colour = [], BLACK
    while len(moves) < cap and not (len(moves) >= 2 and moves[-1][1] == moves[-2][1] == PASS):
        answer = ask(colour)
        if answer == RESIGN:
            break
        moves.append((colour, answer))
        colour = opponent(colour)
    return moves


def test_full_game_through_the_pipe_scores_like_our_board(client):
    client.ok("boardsize 9")
    client.ok("komi 7.5")
    moves = play_out(lambda colour: vertex_to_point(r, 9) if (r := client.ok(f"genmove {'bw'[colour - 1]}"))
                     != "resign" else RESIGN)
    assert len(moves) > 40 and moves[-1][1] == moves[-2][1] == PASS   # random players pass only when done
    board = Board(9, 7.5)
    for colour, point in moves:
        board.play(point, colour)                                      # every move legal by our rules
    assert client.ok("final_score") == result_text(board.score())
    client.ok("quit")
    assert client.process.wait(timeout=20) == 0


def test_gtp_player_plays_a_full_game_against_an_in_process_player():
    engine, local = GtpPlayer(SERVER), RandomPlayer(seed=7)
    try:
        assert engine.name.startswith("dlcli-random")
        engine.set_time(60, 5, 1)
        engine.time_left(BLACK, 55, 0)
        for player in (engine, local):
            player.new_game(9, 7.5)
        players = {BLACK: engine, WHITE: local}

        def ask(colour):
            move = players[colour].genmove(colour)
            if move != RESIGN:
                players[opponent(colour)].play(colour, move)   # raises IllegalMove if it were illegal
            return move

        moves = play_out(ask)
        assert len(moves) > 40
        assert engine.board.moves == local.board.moves == moves
        assert str(engine.board) == str(local.board)
        assert engine.final_score() == local.final_score() == result_text(local.board.score())
        engine.undo()
        assert engine.board.moves == moves[:-1]
        with pytest.raises(IllegalMove):
            engine.play(BLACK, next(p for c, p in moves if p != PASS))  # occupied: refused before sending
    finally:
        engine.close()
    assert engine.process.returncode == 0


def test_gtp_player_errors_name_the_engine_and_the_command(tmp_path):
    with GtpPlayer(SERVER, name="rnd") as engine:
        with pytest.raises(GtpError, match=r"'rnd'.*'fly_to_the_moon'.*unknown command"):
            engine.command("fly_to_the_moon")
        with pytest.raises(GtpError, match="unacceptable size"):
            engine.command("boardsize 3")
        assert engine.command("protocol_version") == "2"     # still in step after the errors
    with pytest.raises(GtpError, match=r"cannot start GTP engine 'no-such-gtp-engine-x'.*no such program") as error:
        GtpPlayer("no-such-gtp-engine-x --mode gtp")
    assert isinstance(error.value, DlcliError)
    with pytest.raises(GtpError, match="exited"):
        GtpPlayer([sys.executable, "-c", "pass"])
    with pytest.raises(GtpError, match="no answer within 0.5 s"):
        GtpPlayer([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    # an engine that always answers A1: its second genmove is illegal by our rules
    fake = tmp_path / "a1.py"
    fake.write_text("import sys\nfor line in sys.stdin:\n    print('= ' + ('' if line.startswith(('play', 'boardsize',"
                    " 'clear', 'komi', 'quit')) else 'A1') + '\\n', flush=True)\n")
    with GtpPlayer([sys.executable, str(fake)]) as engine:
        engine.new_game(9)
        assert engine.genmove(BLACK) == vertex_to_point("A1", 9)
        with pytest.raises(GtpError, match="'A1', which is not a legal move"):
            engine.genmove(WHITE)


class Failing(RandomPlayer):
    sizes = (9, 13)

    def genmove(self, colour):
        raise ValueError("the network file is\nbroken")


def test_server_turns_player_failures_into_gtp_errors_and_keeps_komi_changes():
    server = GtpServer(Failing(1), "failing", "0")
    assert server.player.board.size == 13                     # the largest size the player accepts
    assert server.handle("boardsize 19") == "? unacceptable size\n\n"
    assert server.handle("boardsize 9") == "= \n\n"
    assert server.handle("genmove b") == "? the network file is broken\n\n"
    assert server.handle("play b e5\r\n") == "= \n\n"
    assert server.handle("komi 0.5") == "= \n\n"
    assert server.player.board.komi == 0.5 and len(server.player.board.moves) == 1
    assert server.handle("final_score") == "= B+80.5\n\n"
    assert server.handle("\t \r\n") is None and server.handle("# only a comment") is None
    assert not server.done and server.handle("12 quit") == "=12 \n\n" and server.done


def test_engines_are_found_where_debian_installs_games(tmp_path, monkeypatch):
    """`gnugo` lives in /usr/games on Debian, often not on PATH: the engine is found there too."""
    from dlcli.go import gtp, match

    games = tmp_path / "games"
    games.mkdir()
    engine = games / "fakego"
    engine.write_text("#!/bin/sh\nexit 0\n")
    engine.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(gtp, "GAME_FOLDERS", (str(games),))
    assert gtp.find_program("fakego") == str(engine)
    spec = match.parse_spec("fakego --mode gtp")
    assert spec.kind == "gtp" and spec.label == "fakego"
    assert gtp.find_program("nosuchengine") is None
    with pytest.raises(DlcliError, match="not a player"):
        match.parse_spec("nosuchengine --mode gtp")
