"""Refereed games, matches in worker processes, Elo on known results, and resumable tournaments."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys

import pytest

from dlcli.errors import DlcliError
from dlcli.go import sgf
from dlcli.go.board import BLACK, PASS, WHITE, Board, IllegalMove
from dlcli.go.elo import fit_elo, wilson_interval
from dlcli.go.match import PlayerSpec, parse_spec, play_game, play_match, unique_labels
from dlcli.go.player import RESIGN, Player, RandomPlayer, result_text
from dlcli.go import tournament as tm

GTP_RANDOM = f"{sys.executable} -m dlcli.go.gtp --random"


def replayed(text: str) -> tuple[sgf.GameRecord, Board]:
    """Parse an SGF text and replay it with every rule checked (superko included)."""
    (record,) = sgf.parse(text)
    board = Board(record.size, record.komi)
    for colour, point in record.moves:
        board.play(point, colour)  # raises IllegalMove on any illegal move
    return record, board


# ------------------------------------------------------------------ games

def test_random_game_is_legal_and_its_sgf_replays_to_the_scored_position():
    seen = []
    result = play_game(RandomPlayer(1), RandomPlayer(2), size=9, komi=7.5,
                       on_move=lambda colour, move, board: seen.append((colour, move, bytes(board.colour))))
    assert result.reason == "two passes" and result.moves[-2][1] == result.moves[-1][1] == PASS
    assert result.move_count == len(seen) == len(result.moves) > 20
    assert [c for c, _ in result.moves] == [BLACK if i % 2 == 0 else WHITE for i in range(result.move_count)]
    record, board = replayed(result.sgf())
    assert record.players == {"B": "random", "W": "random"} and (record.size, record.komi) == (9, 7.5)
    assert bytes(board.colour) == seen[-1][2]
    assert record.result == result.result == result_text(board.score())
    assert result.winner == ("B" if board.score() > 0 else "W")
    # both players count the same position by the same rules
    assert result.engine_scores == {"B": result.result, "W": result.result}
    assert result.scores_agree == {"B": True, "W": True}


class Resigner(Player):
    name = "resigner"

    def choose(self, colour):
        return RESIGN


class Repeater(Player):
    """Answers the same point every time without asking its board (the second time it is occupied)."""

    name = "repeater"

    def genmove(self, colour):
        return 40


class Stubborn(Player):
    """Chooses an occupied point through the normal genmove: its own board raises IllegalMove."""

    name = "stubborn"

    def choose(self, colour):
        occupied = [p for p in range(self.board.points) if self.board.colour[p]]
        return occupied[0] if occupied else 40


class Refuser(RandomPlayer):
    """Refuses every move the opponent makes."""

    def play(self, colour, point):
        if colour == BLACK:
            raise IllegalMove("no")
        super().play(colour, point)


def test_resignation_loses():
    result = play_game(RandomPlayer(3), Resigner(), size=9, black_label="rnd")
    assert (result.winner, result.result, result.reason, result.move_count) == ("B", "B+R", "resignation", 1)
    assert result.engine_scores == {} and result.score is None
    record, _ = replayed(result.sgf())
    assert record.result == "B+R" and record.players == {"B": "rnd", "W": "resigner"}


@pytest.mark.parametrize("cheater", [Repeater, Stubborn])
def test_an_illegal_move_forfeits_the_game_and_stays_out_of_the_record(cheater):
    result = play_game(cheater(), RandomPlayer(4), size=9)
    assert (result.winner, result.result, result.reason) == ("W", "W+F", "illegal move")
    assert result.move_count == 2 and result.detail.startswith("B ")
    replayed(result.sgf())  # the illegal move is not in the SGF: the record stays legal


def test_refusing_a_legal_move_loses():
    result = play_game(RandomPlayer(5), Refuser(6), size=9)
    assert (result.result, result.reason, result.move_count) == ("B+F", "refused a legal move", 1)


def test_move_cap_scores_the_position_as_it_stands():
    result = play_game(RandomPlayer(7), RandomPlayer(8), size=9, max_moves=11)
    assert (result.reason, result.move_count) == ("move cap", 11)
    _, board = replayed(result.sgf())
    assert result.score == board.score() and result.result == result_text(board.score())


# ------------------------------------------------------------------ specs and matches

def test_parse_spec_recognises_networks_random_players_and_commands(tmp_path):
    (tmp_path / "small.h5").write_bytes(b"")
    run = tmp_path / "go-train-resnet-2"
    run.mkdir()
    (run / "model.h5").write_bytes(b"")
    net = parse_spec(str(tmp_path / "small.h5"), playouts=8)
    assert (net.kind, net.label, net.options) == ("network", "small", {"playouts": 8})
    assert parse_spec(str(run)) == PlayerSpec("network", str(run / "model.h5"), "go-train-resnet-2")
    assert parse_spec("random:7") == PlayerSpec("random", "7", "random:7")
    assert parse_spec("random").source == ""
    gtp = parse_spec(GTP_RANDOM)
    assert (gtp.kind, gtp.source, gtp.label) == ("gtp", GTP_RANDOM, "dlcli.go.gtp")
    assert pickle.loads(pickle.dumps(net)) == net
    policy = parse_spec(f"policy:{tmp_path / 'small.h5'}", playouts=8, seconds=2.0)
    assert (policy.kind, policy.label, policy.options) == ("network", "small-policy", {"playouts": 0, "seconds": 2.0})
    assert [s.label for s in unique_labels([gtp, gtp, net])] == ["dlcli.go.gtp", "dlcli.go.gtp#2", "small"]
    for text, needle in [("no-such-engine --gtp", "is not a player"), (str(tmp_path), "holds no model"),
                         ("random:x", "must be an integer"), ("policy:random", "network file")]:
        with pytest.raises(DlcliError, match=needle):
            parse_spec(text)


def test_match_in_two_processes_alternates_colours_and_matches_a_serial_run():
    a, b = parse_spec("random:1", label="A"), parse_spec("random:2", label="B")
    seen = []
    outcomes = play_match(a, b, games=4, size=9, jobs=2, on_game=lambda i, o: seen.append(i), first_seed=5)
    assert sorted(seen) == [0, 1, 2, 3] and [o.index for o in outcomes] == [0, 1, 2, 3]
    for outcome in outcomes:
        black, white = ("A", "B") if outcome.index % 2 == 0 else ("B", "A")
        assert outcome.a_black == (outcome.index % 2 == 0)
        assert (outcome.result.black, outcome.result.white) == (black, white)
        record, board = replayed(outcome.sgf)
        assert record.players == {"B": black, "W": white} and record.result == outcome.result.result
        assert outcome.score_a == (0.5 if outcome.result.winner is None else
                                   float((outcome.result.winner == "B") == outcome.a_black))
    serial = play_match(a, b, games=4, size=9, jobs=1, skip={1, 2}, first_seed=5)
    assert [o.index for o in serial] == [0, 3]
    assert [o.sgf for o in serial] == [outcomes[0].sgf, outcomes[3].sgf]  # seeded per game: same games


def test_match_against_a_gtp_engine_subprocess():
    outcomes = play_match(parse_spec(GTP_RANDOM), parse_spec("random:9"), games=2, size=9, max_moves=200)
    assert [o.result.black for o in outcomes] == ["dlcli.go.gtp", "random:9"]
    for outcome in outcomes:
        record, board = replayed(outcome.sgf)
        if outcome.result.reason == "two passes":
            assert record.result == result_text(board.score())
            assert outcome.result.scores_agree == {"B": True, "W": True}  # the server counts with final_score


# ------------------------------------------------------------------ Elo

def test_elo_on_known_results():
    games = [("a", "b", 1.0)] * 75 + [("a", "b", 0.0)] * 25
    exact = fit_elo(["a", "b"], games, prior=0)
    assert exact["a"][0] - exact["b"][0] == pytest.approx(400 * math.log10(3), abs=0.01)  # 190.85
    assert exact["a"][0] == pytest.approx(-exact["b"][0])  # mean 0
    # the prior (one virtual draw each against 0) pulls the difference in by less than 1%
    with_prior = fit_elo(["a", "b"], games)
    assert 189 < with_prior["a"][0] - with_prior["b"][0] < 190.85
    # standard error of the difference: 1 / sqrt(n p (1 - p)) in natural units
    difference_error = 400 / math.log(10) / math.sqrt(100 * 0.75 * 0.25)
    assert 2 * exact["a"][1] == pytest.approx(difference_error, rel=1e-3)
    more = fit_elo(["a", "b"], games * 4, prior=0)
    assert more["a"][1] == pytest.approx(exact["a"][1] / 2, rel=1e-3)


def test_wilson_interval_of_a_match_result():
    assert wilson_interval(5, 10) == [0.2366, 0.7634]  # the textbook interval of 5 wins in 10
    assert wilson_interval(10, 10) == [0.7225, 1.0]  # never past 1, and not empty at a clean sweep
    low, high = wilson_interval(2.5, 10)  # draws count half
    assert low < 0.25 < high and wilson_interval(25, 100)[1] - wilson_interval(25, 100)[0] < high - low


def test_elo_symmetry_sweeps_and_order():
    even = fit_elo(["a", "b"], [("a", "b", 1.0), ("a", "b", 0.0), ("b", "a", 0.5)] * 5)
    assert even["a"][0] == pytest.approx(even["b"][0], abs=1e-9)
    sweep = fit_elo(["a", "b"], [("a", "b", 1.0)] * 10)  # finite thanks to the prior
    assert 100 < sweep["a"][0] < 600 and math.isfinite(sweep["a"][1])
    with pytest.raises(ValueError, match="infinite"):
        fit_elo(["a", "b"], [("a", "b", 1.0)] * 10, prior=0)
    games = [("x", "y", 1.0)] * 14 + [("x", "y", 0.0)] * 6 + [("y", "z", 1.0)] * 14 + [("y", "z", 0.0)] * 6 \
        + [("x", "z", 1.0)] * 17 + [("x", "z", 0.0)] * 3
    ratings = fit_elo(["z", "x", "y"], games)
    assert ratings["x"][0] > ratings["y"][0] > ratings["z"][0]
    assert sum(r for r, _ in ratings.values()) == pytest.approx(0, abs=1e-9)


# ------------------------------------------------------------------ tournaments

def test_schedule_sizes_and_colours():
    pairings = tm.schedule(["a", "b", "c", "d"], 3)
    assert len(pairings) == 6 * 3 and len({p.key for p in pairings}) == 18
    first = [p for p in pairings if (p.a, p.b) == ("a", "b")]
    assert [(p.black, p.white) for p in first] == [("a", "b"), ("b", "a"), ("a", "b")]


def test_tournament_resumes_after_a_truncated_log(tmp_path):
    specs = [parse_spec(f"random:{i}", label=name) for i, name in enumerate(["p", "q", "r"])]
    calls = []
    results = tm.play_tournament(specs, games_per_pair=2, folder=tmp_path, size=9, max_moves=60,
                                 on_game=lambda pairing, entry, so_far: calls.append((pairing.key, len(so_far))))
    assert [n for _, n in calls] == [1, 2, 3, 4, 5, 6] and len(results) == 6
    log = tmp_path / tm.RESULTS
    lines = log.read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["moves"] <= 60 for line in lines)
    first = json.loads(lines[0])
    assert first["pair"] == ["p", "q"] and first["black"] == "p" and (tmp_path / first["sgf"]).is_file()
    replayed((tmp_path / first["sgf"]).read_text())

    # an interruption: two games logged, the third cut short mid-line
    log.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][: len(lines[2]) // 2])
    assert [tm.entry_key(e) for e in tm.load_results(log)] == [("p", "q", 0), ("p", "q", 1)]
    assert [p.key for p in tm.remaining(tm.schedule(["p", "q", "r"], 2), tm.load_results(log))] == \
        [("p", "r", 0), ("p", "r", 1), ("q", "r", 0), ("q", "r", 1)]
    calls.clear()
    results = tm.play_tournament(specs, games_per_pair=2, folder=tmp_path, size=9, max_moves=60,
                                 on_game=lambda pairing, entry, so_far: calls.append((pairing.key, len(so_far))))
    assert [key for key, _ in calls] == [("p", "r", 0), ("p", "r", 1), ("q", "r", 0), ("q", "r", 1)]
    entries = tm.load_results(log)
    assert len(log.read_text().splitlines()) == 6 and sorted(map(tm.entry_key, entries)) == \
        sorted(p.key for p in tm.schedule(["p", "q", "r"], 2))
    # the same games as the uninterrupted run (seeded by pair and game)
    assert [e["result"] for e in entries] == [json.loads(line)["result"] for line in lines]
    assert len(list((tmp_path / tm.GAMES).glob("*.sgf"))) == 6

    log.write_text("not json\n" + lines[0] + "\n")
    with pytest.raises(DlcliError, match="line 1"):
        tm.load_results(log)


def entry(a, b, game, score_a):
    return {"pair": [a, b], "game": game, "score_a": score_a}


def test_standings_ranking_and_the_plot(tmp_path):
    from dlcli import plots

    results = [entry("a", "b", g, 1.0) for g in range(6)] + [entry("b", "c", g, 1.0 if g < 5 else 0.5) for g in range(6)] \
        + [entry("a", "c", 0, 0.0)] + [entry("a", "c", g, 1.0) for g in range(1, 6)] + [entry("x", "a", 0, 1.0)]
    table = tm.standings(["a", "b", "c"], results)
    assert table["a"] == {"games": 12, "wins": 11, "losses": 1, "draws": 0, "points": 11.0, "score": 91.7}
    assert table["c"]["draws"] == 1 and table["c"]["games"] == 12  # the game with unknown 'x' is left out
    assert tm.crosstable(["a", "b", "c"], results)["c"]["a"] == (1.0, 6)
    rows = tm.save_ranking(tmp_path, ["c", "b", "a"], results)
    assert [row["name"] for row in rows] == ["a", "b", "c"] and rows[0]["elo"] > 0 > rows[2]["elo"]
    assert all(row["error"] > 0 for row in rows)
    assert json.loads((tmp_path / tm.RANKING).read_text()) == rows
    path = plots.elo_ranking(rows, tmp_path / "elo.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_the_modules_do_not_load_tensorflow():
    code = ("import sys, dlcli.go.match, dlcli.go.elo, dlcli.go.tournament; "
            "print(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
