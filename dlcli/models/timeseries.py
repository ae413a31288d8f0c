"""The course's stacked LSTM for time series, and forecasting with it on its own predictions."""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
from keras import layers


def build_series_lstm(input_shape: Sequence[int], outputs: int = 1, *, units: Sequence[int] = (50, 100),
                      dropout: float = 0.2, name: str = "series_lstm") -> keras.Model:
    """LSTM(50, return sequences), Dropout(0.2), LSTM(100), Dropout(0.2), Dense(1) linear.

    `input_shape` is `(window, features)`, the course's `(50, 1)`; every LSTM but the last
    returns its whole sequence to the next.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="window")
    x = inputs
    for index, width in enumerate(units, start=1):
        x = layers.LSTM(width, return_sequences=index < len(units), name=f"lstm_{index}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout_{index}")(x)
    prediction = layers.Dense(outputs, name="next_value")(x)
    return keras.Model(inputs, prediction, name=name)


def forecast(predict: Callable[[np.ndarray], np.ndarray], windows: np.ndarray, horizon: int) -> np.ndarray:
    """`horizon` values after each window (rows of raw values), each prediction fed back as input.

    `predict` maps a batch of raw windows to their next raw values (normalising inside if the
    model wants it), so every step sees a window of real values whatever the scaling.
    """
    frames = np.array(windows, dtype=np.float64)
    out = np.empty((len(frames), horizon))
    for step in range(horizon):
        out[:, step] = predict(frames)
        frames = np.concatenate([frames[:, 1:], out[:, step:step + 1]], axis=1)
    return out


def errors(prefix: str, truth, predicted) -> dict[str, float]:
    """Mean squared and mean absolute error of `predicted` against `truth`, as `<prefix>_mse/_mae`."""
    difference = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {f"{prefix}_mse": float(np.mean(difference ** 2)), f"{prefix}_mae": float(np.mean(np.abs(difference)))}


def multistep_scores(predict, test_rows, horizon: int):
    """Forecast `horizon` steps on the model's own predictions from every `horizon`-th test window,
    and score them, and the flat forecast "every next value equals the last known one", against
    the true values. Returns (start rows, forecasts, {multistep_*, multistep_naive_*})."""
    starts = np.arange(0, len(test_rows), horizon)
    forecasts = forecast(predict, test_rows[starts, :-1], horizon)
    spans = [(start, min(horizon, len(test_rows) - start)) for start in starts]
    truth = np.concatenate([test_rows[start:start + n, -1] for start, n in spans])
    model = np.concatenate([values[:n] for values, (_, n) in zip(forecasts, spans)])
    flat = np.concatenate([np.full(n, test_rows[start, -2]) for start, n in spans])
    return starts, forecasts, {**errors("multistep", truth, model), **errors("multistep_naive", truth, flat)}
