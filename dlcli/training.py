"""Compile, fit and evaluate with the standard callbacks; seeding; library versions.

Commands never call `model.fit` themselves: they come here, so that every command gets the same
NaN guard, seeding and history format.
"""

from __future__ import annotations

import math
import platform
from typing import Any, Sequence

import keras
import numpy as np

from dlcli.errors import TrainingDiverged

OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "nadam", "adagrad")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, as `keras.utils.set_random_seed` does."""
    keras.utils.set_random_seed(seed)


def library_versions() -> dict[str, str]:
    """The versions that decide a run's numbers, for config.json."""
    import sklearn
    import tensorflow as tf

    from dlcli import __version__

    return {"dlcli": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def make_optimizer(name: str, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """An optimizer by name with Keras' default learning rate unless one is given."""
    optimizer = keras.optimizers.get(name)
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    return optimizer


def compile_model(model: keras.Model, *, optimizer: str, learning_rate: float | None, loss: str,
                  metrics: Sequence[str]) -> keras.Model:
    model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss=loss, metrics=list(metrics))
    return model


class NanGuard(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose loss is NaN or infinite."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_epoch = epoch + 1
            self.model.stop_training = True


def fit(model: keras.Model, x, y, *, epochs: int, batch_size: int, validation_data=None,
        callbacks: Sequence[keras.callbacks.Callback] = (), shuffle: bool = True) -> dict[str, list[float]]:
    """Train; return the history as {metric: [value per epoch]}; raise TrainingDiverged on NaN."""
    guard = NanGuard()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                        callbacks=[guard, *callbacks], shuffle=shuffle, verbose=0)
    if guard.bad_epoch is not None:
        raise TrainingDiverged(f"training diverged: the loss became NaN at epoch {guard.bad_epoch}; "
                               "lower --learning-rate or change the optimizer")
    return {name: [float(v) for v in values] for name, values in history.history.items()}


class _PassMeans(keras.callbacks.Callback):
    """Recover each pass's mean loss and metrics from Keras' running means within one long epoch."""

    def __init__(self, steps_per_pass: int):
        super().__init__()
        self.steps_per_pass = steps_per_pass
        self.history: dict[str, list[float]] = {}
        self._previous: dict[str, float] = {}

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        steps = batch + 1
        if steps % self.steps_per_pass:
            return
        for name, running_mean in (logs or {}).items():
            total = float(running_mean) * steps  # running mean over equal-sized batches -> running sum
            self.history.setdefault(name, []).append((total - self._previous.get(name, 0.0)) / self.steps_per_pass)
            self._previous[name] = total


def fit_passes(model: keras.Model, x, y, *, epochs: int, batch_size: int, seed: int = 0) -> dict[str, list[float]]:
    """`fit` for a dataset of a handful of samples, where Keras' per-epoch set-up (about 50 ms)
    dwarfs the work: the `epochs` reshuffled passes are fed as one long epoch and the history is
    split back into passes. Same updates as `fit(..., shuffle=True)`, about 20 times faster.
    """
    if len(x) % batch_size:
        return fit(model, x, y, epochs=epochs, batch_size=batch_size)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(x)) for _ in range(epochs)])
    means = _PassMeans(steps_per_pass=len(x) // batch_size)
    model.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0, callbacks=[means])
    bad = next((i + 1 for i, loss in enumerate(means.history.get("loss", [])) if not math.isfinite(loss)), None)
    if bad is not None:
        raise TrainingDiverged(f"training diverged: the loss became NaN at epoch {bad}; lower the learning rate")
    return means.history


def evaluate(model: keras.Model, x, y, *, batch_size: int = 256, prefix: str = "test_") -> dict[str, float]:
    """Evaluate on held-out data; return {prefix + metric: value}."""
    results = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {f"{prefix}{name}": float(value) for name, value in results.items()}


def predict(model: keras.Model, x, *, batch_size: int = 256) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
