"""Compile, fit and evaluate with the standard callbacks; seeding; library versions.

Commands never call `model.fit` themselves: they come here, so that every command gets the same
NaN guard, seeding and history format.
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from dlcli import distribute, fusedbn, interrupts
from dlcli.atomic import atomic_path, write_json
from dlcli.errors import DlcliError, TrainingDiverged

def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the backend; with `deterministic`, make TensorFlow's ops deterministic too."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def library_versions() -> dict[str, str]:
    """The versions that decide a run's numbers, for config.json."""
    import sklearn
    import tensorflow as tf

    from dlcli import __version__

    return {"dlcli": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


ONE_CYCLE_WARMUP = 0.3  # one-cycle: the share of the steps that climb to the peak learning rate
ONE_CYCLE_START = 25.0  # ...from the peak divided by this (Smith's one-cycle, as fast.ai's default)


def learning_rate_schedule(schedule: str, learning_rate: float, total_steps: int):
    """The learning rate over `total_steps` updates: `constant`, `cosine` (from `learning_rate`
    down to 0) or `one-cycle` (a linear climb from `learning_rate`/25 to `learning_rate` over the
    first 30 % of the steps, then a cosine down to 0). Keras' own CosineDecay, so a saved model
    reloads and `--resume` continues it from the optimizer's step count."""
    if schedule == "constant":
        return learning_rate
    schedules = keras.optimizers.schedules
    if schedule == "cosine":
        return schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps), alpha=0.0)
    if schedule == "one-cycle":
        warmup = max(1, round(ONE_CYCLE_WARMUP * total_steps))
        return schedules.CosineDecay(learning_rate / ONE_CYCLE_START, decay_steps=max(1, total_steps - warmup),
                                     alpha=0.0, warmup_target=learning_rate, warmup_steps=warmup)
    raise ValueError(f"unknown learning-rate schedule {schedule!r}")


# RMSprop as the course's TensorFlow 2 computed it. TF 2's Keras divides by sqrt(v) + 1e-7;
# Keras 3 divides by sqrt(v + 1e-7), a floor of 3.2e-4 under which a weight's step shrinks in
# proportion to its gradient. A Transformer's attention query and key kernels start with gradients
# near 1e-6 (about 5e-8 in the translator), so under Keras 3's default they barely move: 0.0002 of
# their norm against 0.089 in TF 2's formula over the first 5 steps, 4-5 % after two IMDB epochs
# (bench/bench_imdb_mask.py). sqrt(v + 1e-14) is TF 2's denominator to within 1e-7.
TF2_RMSPROP_EPSILON = 1e-14


def make_optimizer(name: str, learning_rate: float | None = None, *, schedule: str = "constant",
                   total_steps: int = 0, momentum: float | None = None,
                   tf2_rmsprop: bool = False) -> keras.optimizers.Optimizer:
    """An optimizer by name with Keras' default learning rate unless one is given, following
    `schedule` over `total_steps` updates, with `momentum` where given (sgd, rmsprop).
    `tf2_rmsprop`: rmsprop computes as TensorFlow 2 did (TF2_RMSPROP_EPSILON); other names ignore it."""
    optimizer = keras.optimizers.get(name)
    tf2 = tf2_rmsprop and isinstance(optimizer, keras.optimizers.RMSprop)
    if learning_rate is None and schedule == "constant" and momentum is None and not tf2:
        return optimizer
    config = optimizer.get_config()
    rate = float(config["learning_rate"]) if learning_rate is None else learning_rate
    config["learning_rate"] = learning_rate_schedule(schedule, rate, total_steps)
    if momentum is not None:
        if "momentum" not in config:
            raise ValueError(f"the {name} optimizer takes no momentum")
        config["momentum"] = momentum
    if tf2:
        config["epsilon"] = TF2_RMSPROP_EPSILON
    return type(optimizer)(**{key: value for key, value in config.items() if key != "name"})


def compile_model(model: keras.Model, *, optimizer: str, learning_rate: float | None, loss: str,
                  metrics: Sequence[str], schedule: str = "constant", total_steps: int = 0,
                  momentum: float | None = None, tf2_rmsprop: bool = False) -> keras.Model:
    model.compile(optimizer=make_optimizer(optimizer, learning_rate, schedule=schedule, total_steps=total_steps,
                                           momentum=momentum, tf2_rmsprop=tf2_rmsprop), loss=loss, metrics=list(metrics))
    return model


class NanGuard(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose loss (or total_loss) is NaN or infinite."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        loss = logs.get("loss", logs.get("total_loss"))  # models with a custom train_step name it so
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_epoch = epoch + 1
            self.model.stop_training = True


def check_finite(history: dict[str, list[float]]) -> None:
    """Raise TrainingDiverged when a recorded epoch's loss (or total_loss) is NaN or infinite."""
    losses = history.get("loss", history.get("total_loss", []))
    bad = next((epoch for epoch, loss in enumerate(losses, 1) if not math.isfinite(float(loss))), None)
    if bad is not None:
        raise TrainingDiverged(f"training diverged: the loss became NaN at epoch {bad}; "
                               "lower --learning-rate or change the optimizer")


class StopBetweenBatches(keras.callbacks.Callback):
    """Raise a Ctrl-C or SIGTERM that arrived during training (see `interrupts`) between two batches."""

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        interrupts.check()

    on_test_batch_end = on_train_batch_end
    on_epoch_end = on_train_batch_end


def fit(model: keras.Model, x, y, *, epochs: int, batch_size: int, validation_data=None,
        callbacks: Sequence[keras.callbacks.Callback] = (), shuffle: bool = True,
        initial_epoch: int = 0, seed: int = 0) -> dict[str, list[float]]:
    """Train (under the current tf.distribute strategy); return the history of the epochs run as
    {metric: [value per epoch]}; raise TrainingDiverged on NaN. Batch normalisation layers train
    through TensorFlow's fused kernel (`fusedbn`: the same function, about 2x faster towers)."""
    fusedbn.fuse(model)
    guard = NanGuard()
    common = dict(epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                  callbacks=[guard, *callbacks, StopBetweenBatches()], shuffle=shuffle, initial_epoch=initial_epoch)
    with interrupts.held():
        if distribute.in_multiworker():
            history = distribute.fit_multiworker(model, x, y, seed=seed, **common)
        else:
            history = model.fit(x, y, verbose=0, **common)
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
    fusedbn.fuse(model)
    with interrupts.held():
        model.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0,
                  callbacks=[means, StopBetweenBatches()])
    bad = next((i + 1 for i, loss in enumerate(means.history.get("loss", [])) if not math.isfinite(loss)), None)
    if bad is not None:
        raise TrainingDiverged(f"training diverged: the loss became NaN at epoch {bad}; lower the learning rate")
    return means.history


class Checkpointer(keras.callbacks.Callback):
    """After every epoch, save what `--resume` needs: weights, optimizer state, epoch, history so far.

    Files: `<name>-<epoch>.weights.h5` and `<name>-<epoch>.optimizer.npz`, then `<name>.json`
    naming them (written last, atomically), so the JSON always points at a whole checkpoint.
    With `best` (a validation metric where lower is better, e.g. "val_loss"), it also keeps the
    weights of the epoch where that metric was lowest so far, `<name>-best-<epoch>.weights.h5`
    (the course's `ModelCheckpoint(save_best_only=True)`), named in the JSON's `best`; a resumed
    training carries it on. `restore_best` loads it.
    """

    def __init__(self, directory: Path, name: str, history: dict[str, list[float]] | None = None,
                 best: str | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.name = name
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.best = best

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"{self.name}-{epoch + 1}"
        with atomic_path(self.directory / f"{stem}.weights.h5") as temporary:
            self.model.save_weights(temporary)
        with atomic_path(self.directory / f"{stem}.optimizer.npz") as temporary:
            with open(temporary, "wb") as handle:  # the dropout layers' random states too: see `seed_states`
                np.savez(handle, *[np.asarray(v) for v in self.model.optimizer.variables],
                         **{f"seed_{i}": np.asarray(v) for i, v in enumerate(seed_states(self.model))})
        previous = read_checkpoint(self.directory, self.name)
        best = (previous or {}).get("best")
        value = (logs or {}).get(self.best) if self.best else None
        if value is not None and math.isfinite(float(value)) and (best is None or float(value) < best["value"]):
            best = {"epoch": epoch + 1, "stem": f"{self.name}-best-{epoch + 1}", "metric": self.best,
                    "value": float(value)}
            with atomic_path(self.directory / f"{best['stem']}.weights.h5") as temporary:
                self.model.save_weights(temporary)
        write_json(self.directory / f"{self.name}.json",
                   {"epoch": epoch + 1, "stem": stem, "history": self.history, **({"best": best} if best else {})})
        if previous and previous["stem"] != stem:
            for suffix in (".weights.h5", ".optimizer.npz"):
                (self.directory / f"{previous['stem']}{suffix}").unlink(missing_ok=True)
        replaced = (previous or {}).get("best")  # `best` is it, or a newer epoch's
        if replaced and replaced["stem"] != best["stem"]:
            (self.directory / f"{replaced['stem']}.weights.h5").unlink(missing_ok=True)


def restore_best(model: keras.Model, directory: Path, name: str) -> dict | None:
    """Load the best epoch's weights that `Checkpointer(best=...)` kept for `name` into `model`;
    return `{epoch, stem, metric, value}`, or None when none was kept."""
    best = (read_checkpoint(directory, name) or {}).get("best")
    if best is not None:
        model.load_weights(Path(directory) / f"{best['stem']}.weights.h5")
    return best


def seed_states(model: keras.Model) -> list:
    """The random-number states of the model's layers (dropout, noise): not among its weights, so
    saved beside them, for a resumed run to draw the masks an uninterrupted one would."""
    return [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]


def read_checkpoint(directory: Path, name: str) -> dict | None:
    """The checkpoint record `{epoch, stem, history}` of `name`, or None."""
    path = Path(directory) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def restore_checkpoint(model: keras.Model, directory: Path, name: str) -> dict | None:
    """Load the weights and optimizer state of checkpoint `name` into `model`; return its record."""
    record = read_checkpoint(directory, name)
    if record is None:
        return None
    stem = Path(directory) / record["stem"]
    model.optimizer.build(model.trainable_variables)  # built first, its saved variables load without Keras' warning
    try:
        model.load_weights(f"{stem}.weights.h5")
    except (ValueError, OSError, KeyError) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0][:200]
        raise DlcliError(f"the checkpoint {stem}.weights.h5 does not fit this model ({reason}); "
                         "resume with the options the run was started with") from None
    with np.load(f"{stem}.optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(sum(key.startswith("arr_") for key in saved.files))]
        seeds = [saved[f"seed_{i}"] for i in range(sum(key.startswith("seed_") for key in saved.files))]
    states = seed_states(model)
    if len(seeds) == len(states):
        for variable, value in zip(states, seeds):
            variable.assign(value)
    variables = model.optimizer.variables
    if len(values) != len(variables) or any(v.shape != tuple(value.shape) for v, value in zip(variables, values)):
        raise DlcliError(f"the checkpoint {stem}.optimizer.npz holds {len(values)} optimizer variables, this model's "
                         f"optimizer has {len(variables)} (or their shapes differ); resume with the options the run "
                         "was started with")
    for variable, value in zip(variables, values):
        variable.assign(value)
    return record


def evaluate(model: keras.Model, x, y, *, batch_size: int = 256, prefix: str = "test_") -> dict[str, float]:
    """Evaluate on held-out data; return {prefix + metric: value}."""
    if distribute.in_multiworker():
        results = distribute.evaluate_multiworker(model, x, y, batch_size=batch_size)
    else:
        results = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {f"{prefix}{name}": float(value) for name, value in results.items()}


def predict(model: keras.Model, x, *, batch_size: int = 256) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
