"""End-to-end: classify, regress and kfold through the real CLI on tiny data files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from dlcli import data
from dlcli.commands.families import dense as dense_tasks
from tests import datafiles
from tests.conftest import assert_one_line_error, dl

RUN_FILES = {"config.json", "metrics.json", "history.csv", "model.keras", "model.h5", "plots"}


def read_history(run):
    with open(run / "history.csv") as handle:
        return list(csv.DictReader(handle))


def assert_complete_run(run, command: str, dataset: str, epochs: int):
    assert run.name.startswith(f"{command}-{dataset}-")
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert metrics["parameters"] > 0 and metrics["wall_time_s"] > 0
    config = json.loads((run / "config.json").read_text())
    assert config["command"] == command and config["versions"]["tensorflow"]
    assert config["machine"]["cpu"] and config["machine"]["cores"] >= 1  # runs on two machines are told apart
    assert len(read_history(run)) == epochs
    assert (run / "plots" / "curves.png").stat().st_size > 1000
    return metrics, config


def reloaded_accuracy(run, name: str, data_dir, limit=None, num_words=10_000):
    """Reload model.keras and model.h5, check they agree, and score the test set again."""
    dataset = data.load(name, data_dir=data_dir, limit=limit, num_words=num_words)
    prepared = dense_tasks.prepare(dataset, num_words)
    native = keras.saving.load_model(run / "model.keras")
    legacy = keras.saving.load_model(run / "model.h5", compile=False)
    scores = native.predict(prepared.x_test, verbose=0)
    np.testing.assert_allclose(scores, legacy.predict(prepared.x_test, verbose=0), rtol=1e-5, atol=1e-6)
    if prepared.task == "binary":
        return float(np.mean((scores[:, 0] > 0.5) == prepared.y_test))
    return float(np.mean(scores.argmax(axis=1) == prepared.y_test))


def test_classify_digits_end_to_end(tmp_path):
    result = dl("classify", "digits", "--epochs", "3", "--runs-dir", tmp_path)
    assert result.code == 0, result.stderr
    metrics, config = assert_complete_run(result.run, "classify", "digits", 3)
    assert config["options"]["units"] == 64 and config["options"]["validation_samples"] == 300
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_samples"] == 360
    assert (result.run / "plots" / "confusion.png").exists()
    assert "epoch 3/3" in result.stderr and "samples/s" in result.stderr
    assert reloaded_accuracy(result.run, "digits", None) == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_classify_mnist_uses_course_defaults_and_keeps_the_users_file(tmp_path):
    folder = tmp_path / "data"
    path = datafiles.write_mnist(folder, n_train=96, n_test=32)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    result = dl("classify", "mnist", "--epochs", "2", "--data-dir", folder, "--runs-dir", tmp_path / "runs", "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    run = Path(summary["run"])
    metrics, config = assert_complete_run(run, "classify", "mnist", 2)
    assert summary["test_accuracy"] == metrics["test_accuracy"]
    assert summary["parameters"] == 784 * 512 + 512 + 512 * 10 + 10  # the course's Dense 512 + softmax
    assert config["data"][0]["sha256"] == before[0]
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert reloaded_accuracy(run, "mnist", folder) == pytest.approx(
        metrics["test_accuracy"], abs=1e-6)


def test_classify_imdb_multi_hot_binary(tmp_path):
    folder = tmp_path / "data"
    datafiles.write_imdb(folder)
    result = dl("classify", "imdb", "--validation-samples", "10", "--epochs", "2", "--num-words", "50",
                "--data-dir", folder, "--runs-dir", tmp_path, "--quiet")
    assert result.code == 0, result.stderr
    metrics, config = assert_complete_run(result.run, "classify", "imdb", 2)
    assert metrics["train_samples"] == 30 and metrics["validation_samples"] == 10
    assert metrics["parameters"] == 50 * 16 + 16 + 16 * 16 + 16 + 16 + 1  # 16-16-1 on 50 words
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(read_history(result.run)[0])
    assert reloaded_accuracy(result.run, "imdb", folder, num_words=50) == pytest.approx(metrics["test_accuracy"], abs=1e-6)


def test_classify_reuters_compare_overlays_three_variants(tmp_path):
    folder = tmp_path / "data"
    datafiles.write_reuters(folder)
    result = dl("classify", "reuters", "--compare", "--validation-samples", "10", "--epochs", "2",
                "--data-dir", folder, "--runs-dir", tmp_path, "--quiet")
    assert result.code == 0, result.stderr
    run = result.run
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["compare"]) == {"baseline", "l2", "dropout"}
    assert (run / "plots" / "compare.png").exists()
    assert {"model-l2.keras", "model-dropout.keras"} <= {p.name for p in run.iterdir()}
    header = read_history(run)[0]
    assert {"baseline_val_loss", "l2_val_loss", "dropout_val_loss"} <= set(header)
    dropout_model = keras.saving.load_model(run / "model-dropout.keras")
    assert any(isinstance(layer, keras.layers.Dropout) for layer in dropout_model.layers)


def test_regress_boston_standardises_and_reports_mae(tmp_path):
    folder = tmp_path / "data"
    datafiles.write_boston(folder)
    result = dl("regress", "boston", "--epochs", "3", "--data-dir", folder, "--runs-dir", tmp_path, "--quiet", "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    run = Path(summary["run"])
    metrics, _ = assert_complete_run(run, "regress", "boston", 3)
    assert metrics["train_samples"] == 404 and metrics["test_samples"] == 102
    assert metrics["test_mae"] > 0 and metrics["test_mse"] >= metrics["test_mae"] ** 2 * 0.99 - 1e-6
    assert (run / "plots" / "predicted_vs_true.png").exists()
    dataset = data.load("boston", data_dir=folder)
    prepared = dense_tasks.prepare(dataset)
    model = keras.saving.load_model(run / "model.keras")
    predicted = model.predict(prepared.x_test, verbose=0)[:, 0]
    assert float(np.mean(np.abs(predicted - prepared.y_test))) == pytest.approx(metrics["test_mae"], rel=1e-4)


def test_kfold_boston_scores_each_fold_and_trains_the_final_model(tmp_path):
    folder = tmp_path / "data"
    datafiles.write_boston(folder)
    result = dl("kfold", "boston", "--folds", "3", "--epochs", "4", "--batch-size", "16", "--limit", "90", "--final",
                "--data-dir", folder, "--runs-dir", tmp_path)
    assert result.code == 0, result.stderr
    run = result.run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["folds"] == 3
    # 4 epochs are too few to smooth (0.9 needs 44): the best epoch is the raw mean curve's
    rows = read_history(run)
    mean = [float(row["mean_val_mae"]) for row in rows]
    assert metrics["smoothed"] is False and "best_smoothed_val_mae" not in metrics
    assert metrics["best_epoch"] == 1 + int(np.argmin(mean)) and metrics["best_val_mae"] == pytest.approx(min(mean), rel=1e-4)
    assert metrics["still_improving"] == (metrics["best_epoch"] == 4)
    assert len(metrics["fold_val_mae"]) == 3
    assert metrics["mean_val_mae"] == pytest.approx(np.mean(metrics["fold_val_mae"]))
    assert 1 <= metrics["best_epoch"] <= 4 and metrics["final_epochs"] == metrics["best_epoch"]
    assert metrics["test_mae"] > 0
    rows = read_history(run)
    assert len(rows) == 4 and {"mean_val_mae", "smoothed_val_mae", "fold3_val_mae"} <= set(rows[0])
    assert (run / "plots" / "kfold.png").exists() and (run / "model.keras").exists()
    assert "fold 3/3" in result.stderr


def test_kfold_smoothing_is_the_courses_moving_average():
    from dlcli.commands.kfold import smooth

    assert smooth([10.0, 0.0, 0.0], 0.9).tolist() == pytest.approx([10.0, 9.0, 8.1])


def test_missing_dataset_offline_names_file_folders_and_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    result = dl("classify", "mnist", "--data-dir", tmp_path / "empty", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "mnist.npz")
    assert "--data-dir" in result.stderr
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "metrics.json").read_text())["status"] == "failed"
    assert not (run / "model.keras").exists()


def test_corrupt_data_file_is_a_user_error(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(b"not a zip at all")
    result = dl("classify", "mnist", "--data-dir", folder, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "mnist.npz")
    assert (folder / "mnist.npz").read_bytes() == b"not a zip at all"


def test_unwritable_runs_dir_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = dl("classify", "digits", "--runs-dir", blocker)
    assert_one_line_error(result, "cannot write the run folder")


def test_nan_training_stops_naming_the_epoch_and_marks_the_run(tmp_path):
    result = dl("regress", "diabetes", "--learning-rate", "1e30", "--optimizer", "sgd", "--epochs", "3",
                "--runs-dir", tmp_path)
    assert result.code == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("dl: error:")]
    assert len(errors) == 1 and "NaN at epoch 1" in errors[0] and result.stderr.strip().endswith(errors[0])
    run = next(tmp_path.iterdir())
    assert json.loads((run / "metrics.json").read_text())["status"] == "failed"


def test_validation_larger_than_training_set(tmp_path):
    result = dl("classify", "digits", "--validation-samples", "5000", "--runs-dir", tmp_path)
    assert_one_line_error(result, "--validation-samples 5000", "no training data")


def test_kfold_takes_a_classification_dataset(tmp_path):
    result = dl("kfold", "digits", "-k", "2", "--epochs", "2", "--limit", "200", "--runs-dir", tmp_path, "--quiet", "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    assert len(summary["fold_val_accuracy"]) == 2 and 0 <= summary["mean_val_accuracy"] <= 1
    assert summary["best_epoch"] in (1, 2) and "test_accuracy" not in summary
    # --quiet: nothing on stderr, one line on stdout; --json: `run` first, no status or per-epoch times
    assert result.stderr == "" and len(result.stdout.strip().splitlines()) == 1
    assert list(summary)[0] == "run" and "status" not in summary and "epoch_seconds" not in summary
    metrics = json.loads((Path(summary["run"]) / "metrics.json").read_text())
    assert len(metrics["epoch_seconds"]) == 4 and summary["mean_val_accuracy"] == metrics["mean_val_accuracy"]


def test_ctrl_c_marks_the_run_interrupted_and_exits_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "dlcli", "classify", "digits", "--epochs", "1000",
                                "--runs-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = ""
    deadline = time.time() + 120
    while "epoch 2/1000" not in seen and time.time() < deadline:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    run = next(tmp_path.iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "interrupted"
    assert not (run / "model.keras").exists()
    assert stdout == ""

