"""One sequence as a `Dataset`: the shape shared by character corpora and time series.

A sequence `s` (character ids of a text, or the values of a series) is stored as its next-step
pairs: `x_train = s[:-1]`, `y_train = s[1:]` (each element and the one that follows it), with
empty test arrays, because how a sequence is cut into windows and split depends on the window
the command uses. `Dataset.head(n)` therefore keeps the first n + 1 elements, and
`whole(dataset)` gives the sequence back.
"""

from __future__ import annotations

import numpy as np

from dlcli.data.dataset import Dataset


def next_step_dataset(name: str, sequence: np.ndarray, *, task: str, kind: str, source: str,
                      checksum: str | None, class_names: list[str] | None = None,
                      vocabulary: dict[str, int] | None = None) -> Dataset:
    """A `Dataset` holding `sequence` as next-step pairs (see the module docstring)."""
    sequence = np.asarray(sequence)
    return Dataset(
        name=name, task=task, x_train=sequence[:-1], y_train=sequence[1:],
        x_test=sequence[:0], y_test=sequence[:0], input_shape=(),
        num_classes=len(class_names) if class_names else None, class_names=class_names,
        vocabulary=vocabulary, source=source, checksum=checksum, kind=kind,
    )


def whole(dataset: Dataset) -> np.ndarray:
    """The sequence a `next_step_dataset` holds (after any `head`)."""
    return np.concatenate([dataset.x_train, dataset.y_train[-1:]])


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
