"""`dl go data`, `dl go train` and `dl go info` end to end, on records written by the test."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from dlcli.go import dataset, gamesdata, sgf
from dlcli.go.board import PASS, Board
from dlcli.go.sgf import GameRecord
from tests.conftest import assert_one_line_error, dl


def random_game(seed: int, moves: int = 40) -> GameRecord:
    """A legal 19x19 game of random moves, ending in two passes, with KataGo-style win rates."""
    rng = random.Random(seed)
    board = Board(19)
    record = GameRecord(result=rng.choice(["B+R", "W+3.5"]), source=f"random {seed}")
    for _ in range(moves):
        point = rng.choice(board.legal_moves())
        record.moves.append((board.to_move, point))
        record.white_win.append(round(rng.random(), 3))
        board.play(point)
    for _ in range(2):
        record.moves.append((board.to_move, PASS))
        record.white_win.append(None)
        board.play(PASS)
    return record


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    for seed in range(5):
        (folder / f"game{seed}.sgf").write_text(sgf.write(random_game(seed)))
    (folder / "broken.sgf").write_text("(;SZ[19];B[pd];W[")
    return folder


def test_validation_games_are_whole_and_kept_apart(tmp_path):
    games = [random_game(seed, moves=12) for seed in range(5)]
    manifest = dataset.build_shards(games, tmp_path, validation=0.4, shard_size=16)
    splits = manifest["splits"]
    assert (splits["train"]["games"], splits["validation"]["games"]) == (3, 2)
    assert splits["validation"]["positions"] == 2 * 12 and splits["train"]["positions"] == 3 * 12
    held = [g for i, g in enumerate(games) if dataset.is_validation(i, 0.4)]
    planes, policy, value = dataset.load_split(tmp_path, manifest, "validation")
    assert policy.tolist() == [p for g in held for _, p in g.moves if p != PASS]
    assert np.allclose(value, [v for g in held for v in g.white_win if v is not None])
    assert planes.shape == (24, 19, 19, 31) and len(splits["train"]["shards"]) == 3


def test_network_names_match_the_builders():
    from dlcli.commands.go import NETWORKS
    from dlcli.models.gonets import GO_BUILDERS

    assert tuple(GO_BUILDERS) == NETWORKS


def test_data_train_info_end_to_end(records, tmp_path):
    runs = tmp_path / "runs"
    built = dl("go", "data", records, "--validation", "0.4", "--shard-size", "50", "--runs-dir", runs, "--json")
    assert built.code == 0, built.stderr
    metrics = built.json()
    run = Path(metrics["run"])
    assert json.loads((run / "metrics.json").read_text())["status"] == "complete"
    assert metrics["files"] == 6 and metrics["skipped_files"] == 1
    assert (metrics["games"], metrics["train_games"], metrics["validation_games"]) == (5, 3, 2)
    assert metrics["positions"] == 5 * 40 and "broken.sgf" in metrics["skipped"][0]
    manifest = json.loads((run / "shards" / "manifest.json").read_text())
    assert manifest["splits"]["train"]["positions"] == 120

    games_file = tmp_path / "games.data"
    games_file.write_text(gamesdata.write([random_game(seed, moves=10) for seed in range(3)]))
    tiny = dl("go", "data", games_file, "--validation", "0.34", "--runs-dir", runs, "--json")
    assert tiny.code == 0, tiny.stderr
    assert (tiny.json()["games"], tiny.json()["positions"], tiny.json()["validation_games"]) == (3, 30, 1)

    trained = dl("go", "train", "--data", run, "--network", "mobilenet", "--blocks", "1", "--epochs", "1",
                 "--batch-size", "32", "--runs-dir", runs, "--json", "--quiet")
    assert trained.code == 0, trained.stderr
    result = trained.json()
    trained_run = Path(result["run"])
    assert json.loads((trained_run / "metrics.json").read_text())["status"] == "complete"
    assert result["fits_course_rules"] and result["parameters"] < 100_000
    assert 0 <= result["val_policy_accuracy"] <= 1 and 0 <= result["val_value_mse"] <= 1
    assert result["train_positions"] == 120 and result["validation_positions"] == 80
    assert {"model.h5", "model.keras", "history.csv"} <= {p.name for p in trained_run.iterdir()}

    import keras

    import dlcli.models  # noqa: F401 - registers nothing custom, but a student's network would need it

    h5 = keras.saving.load_model(trained_run / "model.h5", compile=False)
    native = keras.saving.load_model(trained_run / "model.keras", compile=False)
    planes, _, _ = dataset.load_split(run / "shards", manifest, "validation", limit=8)
    x = planes.astype("float32")
    for a, b in zip(h5.predict(x, verbose=0), native.predict(x, verbose=0)):
        assert np.allclose(a, b, atol=1e-5)
    assert np.allclose(h5.predict(x, verbose=0)[0].sum(axis=1), 1, atol=1e-4)

    info = dl("go", "info", trained_run / "model.h5", "--json")
    assert info.code == 0, info.stderr
    report = info.json()
    assert report["parameters"] == result["parameters"] and report["heads"] == ["policy", "value"]
    assert report["input_shape"] == [19, 19, 31] and report["fits_course_rules"]
    assert "policy" in info.stderr  # the table

    too_big = dl("go", "train", "--data", run, "--max-params", "1000", "--runs-dir", runs)
    assert_one_line_error(too_big, "--max-params 1,000")


def test_user_mistakes_are_one_line(tmp_path):
    assert_one_line_error(dl("go", "train", "--network", "alexnet", "--runs-dir", tmp_path), "--network", "mobilenet")
    assert_one_line_error(dl("go", "train", "--data", tmp_path, "--runs-dir", tmp_path), "manifest.json")
    assert_one_line_error(dl("go", "data", tmp_path / "missing", "--runs-dir", tmp_path), "missing")
    junk = tmp_path / "junk.h5"
    junk.write_text("not a network")
    assert_one_line_error(dl("go", "info", junk), "not a Keras model")
    assert not list(tmp_path.glob("go-*"))  # no run folder for a mistake caught up front
