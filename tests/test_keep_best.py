"""`--keep-best`: the weights of the epoch with the lowest validation loss are the ones tested and
saved (the course's ModelCheckpoint(save_best_only=True)), kept across --resume, and refused
when nothing is held out."""

from __future__ import annotations

import json

import numpy as np

from tests import datafiles
from tests.test_resume import run_dl


def tiny_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_checkpointer_keeps_the_lowest_validation_loss_across_a_resume(tmp_path):
    from dlcli import training

    model = tiny_model()
    weights = []

    def epoch(callback, number, val_loss):
        model.set_weights([np.full_like(w, number) for w in model.get_weights()])  # each epoch's own weights
        weights.append(model.get_weights())
        callback.on_epoch_end(number - 1, {"loss": 1.0, "val_loss": val_loss})

    first = training.Checkpointer(tmp_path, "train", best="val_loss")
    first.set_model(model)
    for number, val_loss in ((1, 3.0), (2, 1.0), (3, 2.0)):
        epoch(first, number, val_loss)
    record = training.read_checkpoint(tmp_path, "train")
    assert record["best"] == {"epoch": 2, "stem": "train-best-2", "metric": "val_loss", "value": 1.0}

    resumed = training.Checkpointer(tmp_path, "train", record["history"], best="val_loss")  # as --resume builds it
    resumed.set_model(model)
    epoch(resumed, 4, 1.5)  # worse than epoch 2: the best stays
    assert training.read_checkpoint(tmp_path, "train")["best"]["epoch"] == 2
    epoch(resumed, 5, 0.5)  # better: it replaces epoch 2's file
    assert training.read_checkpoint(tmp_path, "train")["best"]["epoch"] == 5
    assert sorted(p.name for p in tmp_path.glob("*best*")) == ["train-best-5.weights.h5"]

    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    assert training.restore_best(model, tmp_path, "train")["epoch"] == 5
    for restored, kept in zip(model.get_weights(), weights[4]):
        np.testing.assert_array_equal(restored, kept)


def test_checkpointer_without_best_keeps_no_best_weights(tmp_path):
    from dlcli import training

    model = tiny_model()
    callback = training.Checkpointer(tmp_path, "train")
    callback.set_model(model)
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    assert "best" not in training.read_checkpoint(tmp_path, "train")
    assert training.restore_best(model, tmp_path, "train") is None
    assert not list(tmp_path.glob("*best*"))


def test_classify_keep_best_tests_and_saves_the_best_epoch(tmp_path, monkeypatch):
    import keras

    from dlcli import training

    datafiles.write_mnist(tmp_path / "data", n_train=48, n_test=16)
    original = training.Checkpointer.on_epoch_end
    scripted = [1.0, 0.5, 0.9, 0.8]  # validation losses with their minimum at epoch 2, not the last

    snapshots = []  # the weights after each epoch (the run folder drops its checkpoints once complete)

    def scripted_validation(self, epoch, logs=None):
        logs["val_loss"] = scripted[epoch]
        snapshots.append(self.model.get_weights())
        original(self, epoch, logs)

    monkeypatch.setattr(training.Checkpointer, "on_epoch_end", scripted_validation)
    run = tmp_path / "run"
    code, out, err = run_dl("classify", "mnist", "--keep-best", "--validation-samples", "16", "--epochs", "4",
                            "--units", "8", "--data-dir", tmp_path / "data", "--out", run, "--seed", "1", "--quiet")
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_epoch"] == 2
    assert json.loads((run / "config.json").read_text())["options"]["keep_best"] is True
    saved = keras.saving.load_model(run / "model.keras", compile=False)
    assert not (run / "checkpoints").exists()
    for kept, wanted in zip(saved.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(kept, wanted)
    assert any(not np.array_equal(a, b) for a, b in zip(saved.get_weights(), snapshots[3]))
    mnist = np.load(tmp_path / "data" / "mnist.npz")
    predicted = saved.predict(mnist["x_test"].astype("float32") / 255, verbose=0).argmax(axis=1)
    assert abs(metrics["test_accuracy"] - float(np.mean(predicted == mnist["y_test"]))) < 1e-6  # tested on the best

def test_keep_best_without_validation_is_refused_before_any_run(tmp_path):
    datafiles.write_mnist(tmp_path / "data", n_train=48, n_test=16)
    code, out, err = run_dl("classify", "mnist", "--keep-best", "--epochs", "1", "--data-dir", tmp_path / "data",
                            "--runs-dir", tmp_path / "runs")
    assert code == 2
    assert "--keep-best" in err and "--validation" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
