"""The epoch display: one row per epoch with metrics, seconds and samples/s, live or plain."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from rich.console import Console

from dlcli import training
from dlcli.errors import TrainingDiverged
from dlcli.models import build
from dlcli.progress import Display, EpochLines, EpochTable, format_value


def tiny_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = build("dense", (3,), 1, units=(4,), output_activation="sigmoid")
    training.compile_model(model, optimizer="rmsprop", learning_rate=None, loss="binary_crossentropy",
                           metrics=["accuracy"])
    return model, x, y


@pytest.mark.parametrize("kind", [EpochLines, EpochTable])
def test_one_row_per_epoch_with_metrics_and_speed(kind):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=kind is EpochTable, width=200)
    model, x, y = tiny_problem()
    callback = kind(console, samples=48, label="fold 1/2")
    history = training.fit(model, x[:48], y[:48], epochs=3, batch_size=16, validation_data=(x[48:], y[48:]),
                           callbacks=[callback])
    assert [row["epoch"] for row in callback.rows] == ["1/3", "2/3", "3/3"]
    for row, loss in zip(callback.rows, history["loss"]):
        assert row["loss"] == pytest.approx(loss)
        assert {"accuracy", "val_loss", "val_accuracy", "s", "samples/s"} <= set(row)
        assert row["samples/s"] == pytest.approx(48 / row["s"])
    text = buffer.getvalue()
    assert "val_accuracy" in text
    if kind is EpochLines:
        lines = [line for line in text.splitlines() if line.startswith("fold 1/2 epoch")]
        assert len(lines) == 3 and "samples/s" in lines[0]


def test_plain_lines_when_output_is_not_a_terminal():
    display = Display(quiet=False)  # pytest captures stdout: not a terminal
    model, x, y = tiny_problem()
    assert isinstance(display.epoch_table(samples=len(x)), EpochLines)
    assert not isinstance(display.epoch_table(samples=len(x)), EpochTable)
    assert not Display(quiet=True).live


def test_nan_loss_stops_training_naming_the_epoch():
    model, x, y = tiny_problem()
    y[5] = np.nan
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        training.fit(model, x, y, epochs=5, batch_size=64)


def test_format_value():
    assert format_value(0.123456) == "0.1235"
    assert format_value(float("nan")) == "nan"
    assert format_value(3) == "3"


def test_fit_passes_splits_one_long_epoch_back_into_passes():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
    y = np.array([[0], [1], [1], [0]], "float32")
    keras.utils.set_random_seed(3)
    model = build("dense", (2,), 1, units=(8,), activation="tanh", output_activation="sigmoid")
    training.compile_model(model, optimizer="sgd", learning_rate=0.1, loss="mse", metrics=["accuracy"])
    before = [float(v) for v in model.evaluate(x, y, batch_size=1, verbose=0)]
    history = training.fit_passes(model, x, y, epochs=30, batch_size=2, seed=1)
    assert len(history["loss"]) == 30 and len(history["accuracy"]) == 30
    quarters = np.asarray(history["accuracy"]) * 4  # each pass scores 0 to 4 of the 4 samples
    np.testing.assert_allclose(quarters, np.round(quarters), atol=1e-3)
    # the first pass starts from the untrained weights: its mean loss is close to their loss
    assert history["loss"][0] == pytest.approx(before[0], abs=0.05)
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("kind", [EpochLines, EpochTable])
def test_annotate_adds_a_text_column_after_the_epoch_time(kind):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=kind is EpochTable, width=200)
    model, x, y = tiny_problem()
    seen = []
    callback = kind(console, samples=len(x), annotate=lambda epoch, logs: seen.append(logs["loss"]) or
                    {"sample": f"text of epoch {epoch + 1}"})
    training.fit(model, x, y, epochs=2, batch_size=16, callbacks=[callback])
    assert [row["sample"] for row in callback.rows] == ["text of epoch 1", "text of epoch 2"]
    assert len(seen) == 2 and "text of epoch 2" in buffer.getvalue()
