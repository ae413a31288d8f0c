"""`dl go gtp`, `match`, `tournament` and `selfplay` end to end, with tiny networks built by the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlcli.go import sgf
from dlcli.go.board import Board
from dlcli.go.gtp import point_to_vertex, vertex_to_point
from tests.conftest import assert_one_line_error, dl

SEARCH = ["--playouts", "4", "--search-batch", "4"]


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    """Two tiny course-shaped networks (31 planes in, policy and value out) in .h5, as students hand in."""
    import keras

    from dlcli.models import gonets

    folder = tmp_path_factory.mktemp("nets")
    paths = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        path = folder / f"net{seed}.h5"
        gonets.build_go_baseline(filters=4, blocks=1).save(path)
        paths.append(path)
    return paths


class Gtp:
    """A test GTP controller: one command in, one response out, through the engine's pipes."""

    def __init__(self, *args):
        self.process = subprocess.Popen([sys.executable, "-m", "dlcli", "go", "gtp", *map(str, args)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def send(self, command: str) -> tuple[bool, str]:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while (line := self.process.stdout.readline()) not in ("\n", ""):
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        self.ident, _, body = text[1:].partition(" ") if text[1:2] not in (" ", "") else ("", "", text[1:])
        return text.startswith("="), body.strip()


def test_gtp_engine_answers_every_command_errors_and_plays(networks):
    engine = Gtp("--model", networks[0], *SEARCH)
    ok, commands = engine.send("list_commands")
    listed = set(commands.split())
    assert ok and {"protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
                   "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
                   "time_settings", "time_left", "quit"} <= listed
    assert engine.send("protocol_version") == (True, "2")
    assert engine.send("name") == (True, "dlcli")
    assert engine.send("known_command genmove") == (True, "true")
    assert engine.send("known_command fly") == (True, "false")
    assert engine.send("boardsize 9") == (False, "unacceptable size")  # the network's input is 19x19
    assert engine.send("boardsize 19")[0] and engine.send("clear_board")[0] and engine.send("komi 6.5")[0]
    assert engine.send("time_settings 300 10 5")[0] and engine.send("time_left b 200 0")[0]
    assert engine.send("fly away") == (False, "unknown command")
    assert not engine.send("play b Z99")[0] and not engine.send("play purple D4")[0] and not engine.send("play b")[0]
    referee = Board(19, komi=6.5)
    for turn in range(12):  # a game: our moves by play, the engine's by genmove, refereed here
        colour = "bw"[turn % 2]
        if turn % 3 == 0:
            move = next(p for p in referee.legal_moves() if p % 7 == turn % 7)
            assert engine.send(f"play {colour} {point_to_vertex(move, 19)}")[0]
        else:
            ok, vertex = engine.send(f"genmove {colour}")
            assert ok
            move = vertex_to_point(vertex, 19)
        referee.play(move)
    assert not engine.send(f"play b {point_to_vertex(referee.moves[-1][1], 19)}")[0]  # occupied: illegal
    ok, board = engine.send("showboard")
    assert ok and board.count("X") >= 6 and board.count("O") >= 6
    ok, score = engine.send("final_score")
    expected = referee.score()
    assert ok and score == f"{'B' if expected > 0 else 'W'}+{abs(expected):g}"
    assert engine.send("undo")[0]
    assert engine.send("7 name") == (True, "dlcli") and engine.ident == "7"
    assert engine.send("quit")[0]
    assert engine.process.wait(timeout=30) == 0


def test_gtp_with_a_file_that_is_no_network_is_one_line(tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_text("not a network")
    assert_one_line_error(dl("go", "gtp", "--model", broken), f"cannot load the network {broken}")


def test_match_between_two_networks_writes_legal_sgf_and_alternates_colours(networks, tmp_path):
    """B is the second network behind our own GTP engine, driven by the match as any outside engine is."""
    engine_b = f"{sys.executable} -m dlcli go gtp --model {networks[1]} {' '.join(SEARCH)}"
    result = dl("go", "match", networks[0], engine_b, "--games", "2", "--max-moves", "24", *SEARCH,
                "--runs-dir", tmp_path, "--json")
    assert result.code == 0, result.stderr
    metrics = result.json()
    assert metrics["games"] == 2 and metrics["a_wins"] + metrics["a_losses"] + metrics["draws"] == 2
    run = Path(metrics["run"])
    records = [record for path in sorted((run / "games").glob("*.sgf")) for record in sgf.read(path)]
    assert [r.players["B"] for r in records] == ["net1", "dlcli"]  # A is Black in game 1, White in game 2
    for record in records:
        final = Board(19, komi=record.komi)
        for colour, point in record.moves:
            final.play(point, colour)  # raises on an illegal move, superko included
        assert record.result == (f"{'B' if final.score() > 0 else 'W'}+{abs(final.score()):g}")
        assert len(record.moves) == 24
    logged = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert [entry["result"] for entry in logged] == [r.result for r in records]
    assert metrics["engine_scores_checked"] == 4 and metrics["engine_scores_agree"] == 4  # both count as we do
    assert all(set(entry["search"]) == {"net1"} for entry in logged)  # B is an outside engine: no stats of its own
    searched = metrics["search"]["net1"]
    assert searched["searched_moves"] == 24 and searched["playouts_per_move"] > 0  # 12 moves a game
    assert searched["network_precision"] in ("int8", "bfloat16", "float32")
    assert (metrics["a_network_precision"], metrics["a_playouts_per_move"]) == (searched["network_precision"],
                                                                              searched["playouts_per_move"])


def test_an_interrupted_tournament_resumes_where_it_stopped(networks, tmp_path):
    args = ["go", "tournament", networks[0], "random", "random:5", "--games", "4", "--max-moves", "300", *SEARCH,
            "--runs-dir", str(tmp_path)]  # not --quiet: the game lines on stderr tell when to stop it
    process = subprocess.Popen([sys.executable, "-m", "dlcli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen, deadline = "", time.time() + 120
    while "game 2:" not in seen and time.time() < deadline and process.poll() is None:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 143, seen + rest
    run = next(tmp_path.iterdir())
    assert json.loads((run / "metrics.json").read_text())["status"] == "interrupted"
    before = (run / "results.jsonl").read_text().splitlines()
    assert 2 <= len(before) < 12
    resumed = dl("go", "tournament", "--resume", run, "--quiet", "--json")
    assert resumed.code == 0, resumed.stderr
    after = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert after[:len(before)] == [json.loads(line) for line in before]  # kept, not replayed
    assert sorted((tuple(e["pair"]), e["game"]) for e in after) == sorted(
        {(tuple(e["pair"]), e["game"]) for e in after})  # every game once
    assert len(after) == 12 and resumed.json()["games"] == 12
    ranking = json.loads((run / "ranking.json").read_text())
    assert {row["name"] for row in ranking} == {"net1", "random", "random:5"}
    assert sum(row["wins"] + row["draws"] / 2 for row in ranking) == 12
    assert (run / "plots" / "elo.png").stat().st_size > 0


def test_selfplay_records_become_training_data_for_the_next_network(networks, tmp_path):
    played = dl("go", "selfplay", "--model", networks[0], "--games", "2", "--max-moves", "20", *SEARCH,
                "--runs-dir", tmp_path, "--json")
    assert played.code == 0, played.stderr
    assert played.json()["games"] == 2 and played.json()["positions"] == 40
    records = [r for path in sorted((Path(played.json()["run"]) / "games").glob("*.sgf")) for r in sgf.read(path)]
    assert all(len(r.white_win) == 20 and all(0 <= w <= 1 for w in r.white_win) for r in records)
    data = dl("go", "data", Path(played.json()["run"]) / "games", "--validation", "0", "--runs-dir", tmp_path, "--json")
    assert data.code == 0, data.stderr
    assert data.json()["positions"] == 40
    trained = dl("go", "train", "--data", data.json()["run"], "--filters", "4", "--blocks", "1", "--epochs", "1",
                 "--init", networks[0], "--runs-dir", tmp_path, "--json")
    assert trained.code == 0, trained.stderr
    other = dl("go", "train", "--data", data.json()["run"], "--filters", "8", "--blocks", "1", "--epochs", "1",
               "--init", networks[0], "--runs-dir", tmp_path)
    assert_one_line_error(other, "--init", "differ")


@pytest.mark.parametrize("args, needle", [
    (["go", "match", "nowhere.h5", "random"], "is not a player"),
    (["go", "tournament", "random"], "at least two players"),
    (["go", "match", "random", "random", "--time", "0"], "--playouts"),
    (["go", "match", "random", "random", "--size", "25"], "--size"),
    (["go", "match", "random", "random", "--jobs", "0"], "--jobs"),
    (["go", "match", "random", "random", "--pass-after", "-1"], "--pass-after"),
])
def test_user_mistakes_are_one_line(args, needle, tmp_path):
    assert_one_line_error(dl(*args, "--runs-dir", tmp_path), needle)


def test_a_network_on_the_wrong_board_size_is_one_line(networks, tmp_path):
    assert_one_line_error(dl("go", "match", networks[0], "random", "--size", "9", *SEARCH, "--runs-dir", tmp_path),
                          "19x19")
