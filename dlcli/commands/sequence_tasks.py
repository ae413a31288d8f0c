"""The plumbing of `dl textgen` and `dl timeseries`, kept out of the command modules so that they
read like the course's exercises: comma-separated option values, --limit for data files read
before the run folder exists, textgen's window pipeline and its samples.md, timeseries' scores."""

from __future__ import annotations

from typing import Callable, Optional

from dlcli.checks import check_range
from dlcli.errors import DlcliError

SHOWN_CHARACTERS = 48  # of the one sample shown live after each epoch


def comma_separated(option: str, given: str, convert: Callable[[str], float], low: float, *, low_open: bool,
                    example: str) -> tuple:
    """'0.2,0.5' -> (0.2, 0.5) with `convert`; at least one value, each checked against `low`."""
    try:
        values = tuple(convert(part) for part in given.split(",") if part.strip())
    except ValueError:
        raise DlcliError(f"{option} takes {convert.__name__} values separated by commas, e.g. {example}; got '{given}'") from None
    if not values:
        raise DlcliError(f"{option} needs at least one value, e.g. {example}")
    for value in values:
        check_range(option, value, low, low_open=low_open)
    return values


def limited(dataset, limit: Optional[int]):
    """`dataset` cut to --limit, as `dlcli.data.load` cuts the datasets it loads by name."""
    return dataset.head(limit) if limit else dataset


def decode(ids, characters: str) -> str:
    return "".join(characters[int(i)] for i in ids)


def window_batches(codes, starts, window: int, batch_size: int, seed: int):
    """Shuffled batches of (window ids, next id), cut from `codes` on the fly: only the start
    offsets are shuffled, each batch is two gathers from the encoded text.

    Returns (dataset, callback): epoch e's order depends on (seed, e) alone, set by the callback
    as the epoch begins, so that a resumed run sees the batches an uninterrupted one would.
    """
    import keras
    import tensorflow as tf

    text = tf.constant(codes)
    offsets = tf.range(window, dtype=tf.int32)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    shuffled = tf.constant(starts)

    def cut(batch_starts):
        return tf.gather(text, batch_starts[:, None] + offsets), tf.gather(text, batch_starts + window)

    def order(_):
        return tf.random.experimental.stateless_shuffle(shuffled, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))

    class EpochOrder(keras.callbacks.Callback):
        def on_epoch_begin(self, index, logs=None):
            epoch.assign(index)

    dataset = (tf.data.Dataset.range(1).map(order).unbatch()
               .batch(batch_size)
               .map(cut, num_parallel_calls=tf.data.AUTOTUNE)
               .prefetch(tf.data.AUTOTUNE))
    return dataset, EpochOrder()


class SampleBook:
    """The samples of every epoch, as the markdown of samples.md."""

    def __init__(self, name: str, window: int, length: int):
        self.header = (f"# textgen {name}: samples\n\nAfter each epoch, a random {window}-character seed from the "
                       f"text is continued for {length} characters at each temperature (the course's reweighting).\n")
        self.epochs: list[tuple[int, float, str, dict[float, str]]] = []

    def add(self, epoch: int, loss: float, seed: str, samples: dict[float, str]) -> None:
        self.epochs.append((epoch, loss, seed, samples))

    def as_json(self) -> list:
        """The samples as JSON (a checkpoint keeps them, so a resumed run's samples.md keeps them too)."""
        return [[epoch, loss, seed, [[t, text] for t, text in samples.items()]] for epoch, loss, seed, samples in self.epochs]

    def extend(self, saved: list) -> None:
        """Take back the samples `as_json` gave."""
        self.epochs += [(epoch, loss, seed, {float(t): text for t, text in samples}) for epoch, loss, seed, samples in saved]

    def markdown(self) -> str:
        parts = [self.header]
        for epoch, loss, seed, samples in self.epochs:
            parts.append(f"\n## Epoch {epoch} (loss {loss:.4f})\n\nSeed:\n\n~~~~text\n{seed}\n~~~~\n")
            for temperature, sample in samples.items():
                parts.append(f"\nTemperature {temperature}:\n\n~~~~text\n{sample}\n~~~~\n")
        return "".join(parts)

    def line(self, temperature: float) -> str:
        """One short sample for the live display (the temperature closest to `temperature`)."""
        epoch, _, _, samples = self.epochs[-1]
        chosen = min(samples, key=lambda t: abs(t - temperature))
        short = " ".join(samples[chosen].split())[:SHOWN_CHARACTERS]
        return f"(t={chosen}) {short}"

    def last_samples(self) -> dict[str, str]:
        return {str(t): sample for t, sample in self.epochs[-1][3].items()} if self.epochs else {}


def errors(prefix: str, truth, predicted) -> dict[str, float]:
    """Mean squared and mean absolute error of `predicted` against `truth`, as `<prefix>_mse/_mae`."""
    import numpy as np

    difference = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {f"{prefix}_mse": float(np.mean(difference ** 2)), f"{prefix}_mae": float(np.mean(np.abs(difference)))}


def multistep_scores(predict, test_rows, horizon: int):
    """Forecast `horizon` steps on the model's own predictions from every `horizon`-th test window,
    and score them, and the flat forecast "every next value equals the last known one", against
    the true values. Returns (start rows, forecasts, {multistep_*, multistep_naive_*})."""
    import numpy as np

    from dlcli.models.timeseries import forecast

    starts = np.arange(0, len(test_rows), horizon)
    forecasts = forecast(predict, test_rows[starts, :-1], horizon)
    spans = [(start, min(horizon, len(test_rows) - start)) for start in starts]
    truth = np.concatenate([test_rows[start:start + n, -1] for start, n in spans])
    model = np.concatenate([values[:n] for values, (_, n) in zip(forecasts, spans)])
    flat = np.concatenate([np.full(n, test_rows[start, -2]) for start, n in spans])
    return starts, forecasts, {**errors("multistep", truth, model), **errors("multistep_naive", truth, flat)}
