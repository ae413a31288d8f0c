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
