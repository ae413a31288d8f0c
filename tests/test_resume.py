"""--resume for every training command: interrupted after epoch 1 and resumed, a run ends with the
history and weights of an uninterrupted one. Runs in-process (TensorFlow loads once) on tiny data."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests import datafiles

TINY_TEXT = "The cat sat on the mat. The dog sat on the log.\n" * 6


def run_dl(*args) -> tuple[int, str, str]:
    """`dl ARGS` in this process: (exit code, stdout, stderr)."""
    from dlcli.cli import app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app([str(a) for a in args])
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def interrupt_after_first_epoch(monkeypatch):
    """Ctrl-C during the first epoch: raised where `dl` raises a real one, once the epoch's
    callbacks (checkpoint, table, samples) are done."""
    from dlcli import training

    def interrupt(self, epoch, logs=None):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(training.StopBetweenBatches, "on_epoch_end", interrupt)
        yield


def data_folder(tmp_path) -> Path:
    folder = tmp_path / "data"
    datafiles.write_mnist(folder, n_train=48, n_test=16)
    datafiles.write_fashion_mnist(folder, n_train=48, n_test=16)
    datafiles.write_cifar10(folder, n_per_batch=8, n_test=8)
    (folder / "spa-eng").mkdir()
    pairs = [("Go now.", "Ve ahora."), ("I am here.", "Estoy aquí."), ("We eat.", "Comemos."), ("Run!", "¡Corre!")]
    (folder / "spa-eng" / "spa.txt").write_text("".join(f"{e}\t{s}\n" for e, s in pairs * 4), encoding="utf-8")
    (folder / "tiny.txt").write_text(TINY_TEXT, encoding="utf-8")
    return folder


EPOCHS = ["--epochs", "2", "--seed", "5", "--deterministic", "--quiet"]
# each training command on tiny data with a tiny model; {data} is the data folder
COMMANDS = {
    "classify": ["classify", "digits", "--limit", "64", "--validation-samples", "16", "--units", "8", "--batch-size", "16"],
    "regress": ["regress", "diabetes", "--limit", "64", "--units", "8", "--batch-size", "16"],
    "kfold": ["kfold", "diabetes", "--folds", "2", "--final", "--limit", "40", "--units", "8", "--batch-size", "16"],
    "cnn": ["cnn", "mnist", "--batch-size", "16", "--net", "small", "--pool", "--dropout", "0.3", "--schedule", "cosine"],
    # a schedule resumes from the saved step count: a restart from step 0 would train other weights
    "resnet": ["resnet", "cifar10", "--batch-size", "16", "--limit", "16", "--blocks", "1", "--filters", "4",
               "--optimizer", "sgd", "--momentum", "0.9", "--learning-rate", "0.05", "--schedule", "one-cycle"],
    "mobilenet": ["mobilenet", "cifar10", "--batch-size", "16", "--limit", "16", "--blocks", "1", "--trunk", "8"],
    "autoencode": ["autoencode", "fashion-mnist", "--batch-size", "16"],
    "vae": ["vae", "mnist", "--latent-dim", "2", "--batch-size", "16"],
    "textgen": ["textgen", "--text", "{data}/tiny.txt", "--window", "8", "--step", "4", "--units", "8",
                "--batch-size", "16", "--sample-length", "5", "--temperatures", "0.5,1.0"],
    "timeseries": ["timeseries", "sinwave", "--limit", "120", "--window", "8", "--layer-units", "4,4", "--batch-size", "16",
                   "--horizon", "4"],
    "translate": ["translate", "--train", "--embed-dim", "8", "--dense-dim", "8", "--heads", "1", "--encoder-layers", "1",
                  "--decoder-layers", "1", "--batch-size", "8",
                  "--vocab-size", "40", "--sequence-length", "6", "--bleu-sentences", "2"],
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    yield data_folder(tmp_path_factory.mktemp("resume-data"))
    from tensorflow.python.framework import config

    config.disable_op_determinism()  # --deterministic turned it on for this whole process: off for later tests


def weights(run: Path) -> list[np.ndarray]:
    """The weights of every model the run saved (model.keras, or encoder and decoder)."""
    import keras

    import dlcli.models  # noqa: F401 - custom layers

    files = sorted(run.glob("*.keras"))
    assert files, f"{run} saved no model"
    return [w for path in files for w in keras.saving.load_model(path, compile=False).get_weights()]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_interrupted_after_epoch_one_resumes_to_the_uninterrupted_run(command, folder, tmp_path, monkeypatch):
    args = [a.replace("{data}", str(folder)) for a in COMMANDS[command]] + EPOCHS + ["--data-dir", folder]
    code, stdout, stderr = run_dl(*args, "--out", tmp_path / "whole")
    assert code == 0, stderr
    with interrupt_after_first_epoch(monkeypatch):
        code, stdout, stderr = run_dl(*args, "--out", tmp_path / "cut")
    assert code == 130, stderr
    cut = tmp_path / "cut"
    assert json.loads((cut / "metrics.json").read_text())["status"] == "interrupted"
    code, stdout, stderr = run_dl(command, "--resume", cut, "--quiet")
    assert code == 0, stderr
    resumed, whole = (json.loads((run / "metrics.json").read_text()) for run in (cut, tmp_path / "whole"))
    assert resumed["status"] == "complete"
    config = json.loads((cut / "config.json").read_text())  # the command that started it, and the resume
    assert config["argv"] == [*map(str, args), "--out", str(cut)]
    assert config["resumed_argv"] == [[command, "--resume", str(cut), "--quiet"]]
    assert len(resumed["epoch_seconds"]) == len(whole["epoch_seconds"]) - 1  # epoch 1 came from the checkpoint
    assert (cut / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()
    for resumed, whole in zip(weights(cut), weights(tmp_path / "whole"), strict=True):
        np.testing.assert_allclose(resumed, whole, rtol=1e-5, atol=1e-6)
    if command == "textgen":  # every epoch's samples, the ones before the interruption too
        assert (cut / "samples.md").read_text() == (tmp_path / "whole" / "samples.md").read_text()


def test_go_train_interrupted_after_epoch_one_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    from dlcli.go import sgf
    from tests.test_go_cli import random_game

    games = tmp_path / "games"
    games.mkdir()
    for seed in range(4):
        (games / f"game{seed}.sgf").write_text(sgf.write(random_game(seed, moves=16)))
    code, stdout, stderr = run_dl("go", "data", games, "--validation", "0.25", "--out", tmp_path / "data", "--quiet")
    assert code == 0, stderr
    args = ["go", "train", "--data", tmp_path / "data", "--network", "mobilenet", "--blocks", "1", "--batch-size", "8",
            *EPOCHS]
    code, stdout, stderr = run_dl(*args, "--out", tmp_path / "whole")
    assert code == 0, stderr
    with interrupt_after_first_epoch(monkeypatch):
        code, stdout, stderr = run_dl(*args, "--out", tmp_path / "cut")
    assert code == 130, stderr
    code, stdout, stderr = run_dl("go", "train", "--resume", tmp_path / "cut", "--quiet")
    assert code == 0, stderr
    assert (tmp_path / "cut" / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()
    for resumed, whole in zip(weights(tmp_path / "cut"), weights(tmp_path / "whole"), strict=True):
        np.testing.assert_allclose(resumed, whole, rtol=1e-5, atol=1e-6)
