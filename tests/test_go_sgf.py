"""SGF and games.data reading on edge cases, fuzzed input, and collections with bad files."""

from __future__ import annotations

import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlcli.go import gamesdata, sgf
from dlcli.go.board import BLACK, PASS, WHITE
from dlcli.go.sgf import SgfError

KATAGO = "(;FF[4]GM[1]SZ[9]KM[6.5]RE[B+3.5]AB[cc][gg]AW[ee];W[dd]C[0.42 0.58 0.00 -1.2 v=100];B[]C[0.40 0.60 0.00];W[tt])"


def test_header_setup_passes_and_katago_comments():
    (game,) = sgf.parse(KATAGO, "k.sgf")
    assert (game.size, game.komi, game.result, game.winner) == (9, 6.5, "B+3.5", BLACK)
    assert game.setup_black == [2 * 9 + 2, 6 * 9 + 6] and game.setup_white == [4 * 9 + 4]
    assert game.moves == [(WHITE, 3 * 9 + 3), (BLACK, PASS), (WHITE, PASS)]
    assert game.white_win == [0.42, 0.40, None]
    assert game.white_value(0) == 0.42 and game.white_value(2) == 0.0  # no comment: the result (Black won)
    board = game.board()
    assert board.to_move == WHITE and board.colour[2 * 9 + 2] == BLACK


def test_main_line_escapes_point_lists_and_several_games():
    text = r"(;SZ[19]C[a \] bracket]AB[aa:bb];B[pd](;W[dd];B[pp])(;W[dp]))(;SZ[9];B[ee])"
    first, second = sgf.parse(text, "two.sgf")
    assert first.setup_black == [0, 1, 19, 20]
    assert [p for _, p in first.moves] == [3 * 19 + 15, 3 * 19 + 3, 15 * 19 + 15]
    assert second.size == 9 and second.moves == [(BLACK, 40)] and "game 2" in second.source


def test_every_move_nested_is_read_without_recursion():
    moves = [f";{'BW'[i % 2]}[{chr(97 + i % 19)}{chr(97 + i // 19)}]" for i in range(300)]
    text = "(;SZ[19]" + "".join("(" + m for m in moves) + ")" * 301
    (game,) = sgf.parse(text)
    assert len(game.moves) == 300


@pytest.mark.parametrize("text, needle", [
    ("", "no game found"),
    ("(;SZ[19];B[pd]", "never closed with ')'"),
    ("(;SZ[19];B[pd", "never closed with ']'"),
    ("(;SZ[abc])", "SZ[abc]"),
    ("(;SZ[25])", "not supported"),
    ("(;SZ[9];B[zz])", "off the 9x9 board"),
    ("(;KM[x])", "KM[x] is not a number"),
    ("(;B)", "has no value"),
    ("(x)", "expected ';'"),
])
def test_malformed_records_name_the_file_and_the_place(text, needle):
    with pytest.raises(SgfError) as caught:
        sgf.parse(text, "bad.sgf")
    assert str(caught.value).startswith("bad.sgf") and needle in str(caught.value)
    assert "line" in str(caught.value) or "no game" in str(caught.value)


def test_an_illegal_move_names_the_move():
    (game,) = sgf.parse("(;SZ[9];B[ee];W[ee])", "ill.sgf")
    with pytest.raises(SgfError, match="ill.sgf: move 2 .W ee. is illegal: the point is occupied"):
        game.final_board()


def test_written_records_read_back():
    (game,) = sgf.parse(KATAGO)
    game.players = {"B": "dl [net]", "W": "student"}
    (again,) = sgf.parse(sgf.write(game))
    for field in ("size", "komi", "result", "setup_black", "setup_white", "moves", "white_win", "players"):
        assert getattr(again, field) == getattr(game, field), field


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("();[]\\:BWABSZKMREC abcdst0123456789.+\n")), max_size=80))
def test_fuzzed_text_gives_a_record_or_an_sgf_error(text):
    try:
        games = sgf.parse(text, "fuzz.sgf")
    except SgfError as error:
        assert str(error).startswith("fuzz.sgf")
        return
    for game in games:
        try:
            game.final_board()
        except SgfError:
            pass


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=120))
def test_fuzzed_bytes_never_crash(data):
    try:
        sgf.parse(data, "bytes.sgf")
    except SgfError:
        pass


def test_folder_and_zip_skip_and_count_bad_files(tmp_path):
    folder = tmp_path / "records"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.sgf").write_text(KATAGO)
    (folder / "sub" / "two.SGF").write_text("(;SZ[9];B[ee])(;SZ[9];B[dd])")
    (folder / "broken.sgf").write_text("(;SZ[9];B[ee")
    (folder / "illegal.sgf").write_text("(;SZ[9];B[ee];W[ee])")
    (folder / "notes.txt").write_text("not a record")
    tally = sgf.Tally()
    games = list(sgf.read_collection(folder, tally))
    assert (tally.files, tally.games, len(games), len(tally.skipped)) == (4, 3, 3, 2)
    assert any("broken.sgf" in message for message in tally.skipped)
    archive = tmp_path / "records.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.rglob("*"):
            if path.is_file():
                zipped.write(path, path.relative_to(folder))
    tally = sgf.Tally()
    assert len(list(sgf.read_collection(archive, tally))) == 3 and len(tally.skipped) == 2


def test_games_data_reads_and_round_trips_golois_format(tmp_path):
    # golois: winner B or W; colour 1 Black, 0 White; val White's win; 361 a pass
    text = "2\n7.5 W 3\n72 1 0.45 -3\n288 0 0.52 1.5\n361 1 0.6 2\n6.5 B 1\n60 1 0.0 0\n"
    first, second = gamesdata.parse(text)
    assert first.komi == 7.5 and first.winner == WHITE and first.white_win == [0.45, 0.52, 0.6]
    assert first.moves == [(BLACK, 72), (WHITE, 288), (BLACK, PASS)]
    assert second.winner == BLACK and second.moves == [(BLACK, 60)] and second.white_win == [0.0]
    written = gamesdata.write([first, second])  # golois' layout: a game's moves on one line
    assert written.splitlines() == ["2", "7.5 W 3", "72 1 0.45 0 288 0 0.52 0 361 1 0.6 0", "6.5 B 1", "60 1 0.0 0"]
    path = tmp_path / "games.data"
    path.write_text(written)
    again = gamesdata.read(path)
    assert [g.moves for g in again] == [first.moves, second.moves]
    assert [g.white_win for g in again] == [first.white_win, second.white_win]
    assert gamesdata.looks_like(path)


def test_games_data_from_sgf_takes_values_from_the_result():
    (record,) = sgf.parse("(;GM[1]SZ[19]KM[6.5]RE[B+R];B[pd];W[dp])")
    assert gamesdata.write([record]).splitlines() == ["1", "6.5 B 2", "72 1 0.0 0 288 0 0.0 0"]


@pytest.mark.parametrize("text, needle", [
    ("2\n7.5 W 1\n72 1 0.4 0\n", "game 2, the file ends early at token 9, expected the komi"),
    ("1\n7.5 W 1\n400 1 0.4 0\n", "game 1, token 5 is '400', expected a point 0..361 at move 1"),
    ("1\n7.5 2 1\n72 1 0.4 0\n", "game 1, token 3 is '2', expected the winner, B or W"),
    ("1\n7.5 X 1\n72 1 0.4 0\n", "game 1, token 3 is 'X', expected the winner, B or W"),
    ("1\n7.5 B 2\n72 1 0.4 0\n73 2 0.4 0\n", "game 1, token 10 is '2', expected a colour .1 Black, 0 White. at move 2"),
    ("1\n7.5 B 1\n72 1 1.5 0\n", "game 1, token 7 is '1.5', expected White's win, 0..1"),
    ("1\n7.5 B 2\n72 1 0.4 0\n73 0", "game 1, the file ends early at token 11, expected White's win"),
    ("x", "token 1 is 'x', expected the number of games")])
def test_games_data_errors_name_the_file_game_and_token(text, needle):
    with pytest.raises(gamesdata.GamesDataError, match=f"^games.data: {needle}"):
        gamesdata.parse(text, "games.data")
