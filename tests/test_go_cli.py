"""`dl go data`, `dl go train` and `dl go info` end to end, on records written by the test."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from dlcli.errors import DlcliError
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

    # SGF -> games.data in golois' format -> the same training set
    written = tmp_path / "from-sgf.data"
    converted = dl("go", "data", records, "--validation", "0.4", "--shard-size", "50", "--runs-dir", runs,
                   "--write-games-data", written, "--json")
    assert converted.code == 0, converted.stderr
    assert converted.json()["games_data_games"] == 5
    lines = written.read_text().splitlines()
    assert lines[0] == "5" and len(lines) == 11 and lines[1].split()[1] in ("B", "W") and lines[1].split()[2] == "42"
    moves = lines[2].split()
    assert len(moves) == 4 * 42 and set(moves[1::4]) == {"0", "1"} and moves[-4] == moves[-8] == "361"  # passes
    again = dl("go", "data", written, "--validation", "0.4", "--shard-size", "50", "--runs-dir", runs, "--json")
    assert again.code == 0, again.stderr
    first_split = dataset.load_split(run / "shards", manifest, "validation")
    second_run = Path(again.json()["run"])
    second_split = dataset.load_split(second_run / "shards", json.loads((second_run / "shards" / "manifest.json").read_text()),
                                      "validation")
    for a, b in zip(first_split, second_split):
        assert np.array_equal(a, b)

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
    assert list(report)[0] == "run" and report["run"] == str(trained_run)
    assert report["parameters"] == result["parameters"] and report["heads"] == ["policy", "value"]
    assert report["input_shape"] == [19, 19, 31] and report["fits_course_rules"]
    assert "policy" in info.stderr  # the table

    too_big = dl("go", "train", "--data", run, "--max-params", "1000", "--runs-dir", runs)
    assert_one_line_error(too_big, "--max-params 1,000")

    # dl go eval: on the shards it agrees with Keras' own validation metrics
    scored = dl("go", "eval", trained_run, run, "--json")
    assert scored.code == 0, scored.stderr
    report = scored.json()
    assert list(report)[0] == "run" and report["run"] == str(trained_run)
    assert report["all"]["positions"] == 80 and report["games"] == 2
    assert report["all"]["policy_top1"] == pytest.approx(result["val_policy_accuracy"], abs=1e-4)
    assert report["all"]["value_mse"] == pytest.approx(result["val_value_mse"], abs=1e-3)
    assert report["all"]["policy_top1"] <= report["all"]["policy_top5"] <= 1
    assert report["moves 1-50"]["positions"] == 80 and report["moves 151+"]["positions"] == 0
    assert "top-5" in scored.stderr  # the table
    # ... on SGF records, games.data and a zip, by phase of the game
    long_game = random_game(7, moves=160)
    (tmp_path / "long.data").write_text(gamesdata.write([long_game]))
    for source in (tmp_path / "long.data", records):
        by_phase = dl("go", "eval", trained_run / "model.h5", source, "--json")
        assert by_phase.code == 0, by_phase.stderr
        phases = by_phase.json()
        if source == records:
            assert phases["games"] == 5 and phases["all"]["positions"] == 200
        else:
            assert [phases[name]["positions"] for name in ("moves 1-50", "moves 51-150", "moves 151+")] == [50, 100, 10]
            assert phases["all"]["positions"] == 160
            weighted = sum(phases[n]["positions"] * phases[n]["policy_top5"] for n in ("moves 1-50", "moves 51-150", "moves 151+"))
            assert weighted / 160 == pytest.approx(phases["all"]["policy_top5"], abs=1e-3)
    limited = dl("go", "eval", trained_run, records, "--limit", "2", "--json")
    assert limited.json()["games"] == 2 and limited.json()["all"]["positions"] == 80
    assert_one_line_error(dl("go", "eval", trained_run, tmp_path / "nothing"), "nothing")

    # a truncated shard is refused with one line before training starts
    broken = tmp_path / "broken-shards"
    broken.mkdir()
    for item in (run / "shards").iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    first = broken / manifest["splits"]["train"]["shards"][0]["file"]
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    for command in (("go", "train", "--data", broken, "--epochs", "1"), ("go", "eval", trained_run, broken, "--split", "train")):
        assert_one_line_error(dl(*command, "--runs-dir", runs), "not a readable shard")


def test_user_mistakes_are_one_line(tmp_path):
    assert_one_line_error(dl("go", "train", "--network", "alexnet", "--runs-dir", tmp_path), "--network", "mobilenet")
    assert_one_line_error(dl("go", "train", "--data", tmp_path, "--runs-dir", tmp_path), "manifest.json")
    assert_one_line_error(dl("go", "data", tmp_path / "missing", "--runs-dir", tmp_path), "missing")
    junk = tmp_path / "junk.h5"
    junk.write_text("not a network")
    assert_one_line_error(dl("go", "info", junk), f"cannot load the network {junk}")
    bad_winner = tmp_path / "bad.data"
    bad_winner.write_text("1\n7.5 2 1\n72 1 0.0 0\n")  # our old numeric winner, not golois' letter
    assert_one_line_error(dl("go", "data", bad_winner, "--runs-dir", tmp_path), str(bad_winner), "game 1, token 3 is '2'",
                          "B or W")
    truncated = tmp_path / "truncated.data"
    truncated.write_text("1\n7.5 W 2\n72 1 0.0 0\n73 0\n")
    assert_one_line_error(dl("go", "data", truncated, "--runs-dir", tmp_path), str(truncated), "game 1", "token 11")
    assert_one_line_error(dl("go", "eval", junk, bad_winner), f"cannot load the network {junk}")
    assert not list(tmp_path.glob("go-train-*"))  # no run folder for a mistake caught up front


def test_eval_scores_a_students_network_with_heads_renamed_and_reversed(tmp_path):
    """A student's .h5 whose outputs come value first under other names scores as its heads say."""
    import keras

    from dlcli.go import evaluate
    from dlcli.models import gonets

    keras.utils.set_random_seed(3)
    ours = gonets.build_go_baseline(filters=4, blocks=1)
    policy, value = ours.outputs
    student = keras.Model(ours.inputs, [keras.layers.Identity(name="v")(value), keras.layers.Identity(name="p")(policy)])
    student.save(tmp_path / "student.h5")
    games = [random_game(seed, moves=60) for seed in (11, 12)]
    (tmp_path / "games.data").write_text(gamesdata.write(games))

    planes, moves, values, numbers = (np.asarray(c) for c in zip(*[p for g in games for p in dataset.positions(g, numbered=True)]))
    probabilities, white = ours.predict(planes.astype("float32"), verbose=0)
    top1 = np.mean(np.argmax(probabilities, axis=1) == moves)
    top5 = np.mean([m in np.argsort(-row)[:5] for row, m in zip(probabilities, moves)])
    mse = np.mean((white.reshape(-1) - values) ** 2)
    late = numbers > 50

    scored = dl("go", "eval", tmp_path / "student.h5", tmp_path / "games.data", "--json", "--batch-size", "7")
    assert scored.code == 0, scored.stderr
    report = scored.json()
    assert report["all"]["positions"] == 120 and report["games"] == 2
    # (a near-tie may break the other way between two batchings: two positions of slack)
    assert report["all"]["policy_top1"] == pytest.approx(top1, abs=0.02)
    assert report["all"]["policy_top5"] == pytest.approx(top5, abs=0.02)
    assert report["all"]["value_mse"] == pytest.approx(mse, abs=1e-4)
    assert report["moves 51-150"]["positions"] == int(late.sum()) == 20
    assert report["moves 51-150"]["policy_top1"] == pytest.approx(
        np.mean(np.argmax(probabilities[late], axis=1) == moves[late]), abs=0.1)
    assert evaluate.PHASES[0][0] in report


def test_fresh_value_head_keeps_the_trunk_and_policy_and_starts_the_value_head_anew(tmp_path):
    import keras

    from dlcli.commands.go import _start_from
    from dlcli.models import gonets

    keras.utils.set_random_seed(1)
    trained = gonets.build_go_baseline(filters=4, blocks=1)
    trained.save(tmp_path / "trained.h5")
    keras.utils.set_random_seed(2)
    model = gonets.build_go_baseline(filters=4, blocks=1)
    initial = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    _start_from(model, tmp_path / "trained.h5", fresh_value_head=True)
    head = {layer.name for layer in gonets.value_head_layers(model)}
    assert len(head) == 2 and "value" in head
    for layer, source in zip(model.layers, trained.layers):
        expected = initial[layer.name] if layer.name in head else source.get_weights()
        for got, want in zip(layer.get_weights(), expected):
            assert np.array_equal(got, want), layer.name
    assert_one_line_error(dl("go", "train", "--fresh-value-head", "--runs-dir", tmp_path), "--fresh-value-head", "--init")


def test_relative_value_head_turns_the_movers_advantage_round_for_black_and_reloads(tmp_path):
    import keras

    from dlcli.models import gonets

    keras.utils.set_random_seed(3)
    model = gonets.build_go_baseline(filters=4, blocks=1, value_head="relative")
    stem = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    kernel, bias = stem.get_weights()
    kernel[:, :, 0, :] = 0.0  # the trunk no longer sees whose turn it is: only the head's turn layer does
    stem.set_weights([kernel, bias + 0.3])
    planes = np.random.default_rng(0).integers(0, 2, (6, 19, 19, 31)).astype("float32")
    black, white = planes.copy(), planes.copy()
    black[..., 0], white[..., 0] = 1.0, 0.0
    for_black = model.predict(black, verbose=0)[1][:, 0]
    for_white = model.predict(white, verbose=0)[1][:, 0]
    assert np.allclose(for_black, 1.0 - for_white, atol=1e-5) and not np.allclose(for_white, 0.5, atol=1e-3)
    head = gonets.value_head_layers(model)
    assert {layer.name for layer in head} >= {"value_turn"} and len(head) == 3
    assert not model.get_layer("value_turn").trainable
    model.save(tmp_path / "relative.h5")
    again = keras.saving.load_model(tmp_path / "relative.h5", compile=False)
    assert np.allclose(again.predict(white, verbose=0)[1][:, 0], for_white, atol=1e-6)
    assert gonets.describe(again)["fits_course_rules"]


def test_a_course_heads_trunk_starts_a_relative_head(tmp_path):
    import keras

    from dlcli.commands.go import _start_from
    from dlcli.models import gonets

    keras.utils.set_random_seed(1)
    trained = gonets.build_go_baseline(filters=4, blocks=1)
    trained.save(tmp_path / "trained.h5")
    model = gonets.build_go_baseline(filters=4, blocks=1, value_head="relative")
    turn = [w.copy() for w in model.get_layer("value_turn").get_weights()]
    _start_from(model, tmp_path / "trained.h5", fresh_value_head=True)
    planes = np.random.default_rng(1).integers(0, 2, (3, 19, 19, 31)).astype("float32")
    assert np.allclose(model.predict(planes, verbose=0)[0], trained.predict(planes, verbose=0)[0], atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_layer("value_turn").get_weights(), turn))
    with pytest.raises(DlcliError, match="layers differ"):
        _start_from(model, tmp_path / "trained.h5")  # without a fresh head the two must match exactly
    assert_one_line_error(dl("go", "train", "--value-head", "sideways", "--runs-dir", tmp_path), "--value-head")


def test_a_flat_policy_loss_in_every_epoch_is_a_dead_head():
    import math

    from dlcli.models.gonets import policy_head_dead

    flat = math.log(361)
    assert policy_head_dead({"policy_loss": [flat + 1e-5, flat - 2e-4]}, 361)
    assert not policy_head_dead({"policy_loss": [flat, flat - 0.05]}, 361)  # it learnt in epoch 2
    assert not policy_head_dead({"policy_loss": [math.log(81)]}, 361) and not policy_head_dead({}, 361)
    assert policy_head_dead({"policy_loss": [math.log(81)]}, 81)


def test_go_train_warns_when_the_course_policy_head_died(records, tmp_path):
    """A head whose 1x1 kernel is negative everywhere gives ReLU(negative) = 0 at every point (the
    trunk's outputs are never negative): it can never learn, and `dl go train` says so."""
    import keras

    from dlcli.models.gonets import build_go_baseline

    runs = tmp_path / "runs"
    built = dl("go", "data", records, "--validation", "0.4", "--runs-dir", runs, "--json", "--quiet")
    assert built.code == 0, built.stderr
    network = build_go_baseline(filters=8, blocks=1)
    head = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    head.set_weights([-np.abs(head.get_weights()[0]) - 0.1])
    network.save(tmp_path / "dead.h5")
    trained = dl("go", "train", "--data", built.json()["run"], "--network", "baseline", "--filters", "8", "--blocks", "1",
                 "--init", tmp_path / "dead.h5", "--epochs", "1", "--batch-size", "32", "--runs-dir", runs, "--json",
                 "--quiet")
    assert trained.code == 0, trained.stderr
    assert trained.json()["policy_head_dead"] is True
    assert "policy learnt nothing" in trained.stderr and "--seed" in trained.stderr
