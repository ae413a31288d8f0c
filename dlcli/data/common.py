"""Helpers the per-dataset readers share: options, Keras' seed-113 shuffle, splits, checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dlcli.data import files

KERAS_SEED = 113
TEST_SPLIT = 0.2


@dataclass(frozen=True)
class LoadOptions:
    """What `load()` was asked for, passed to every reader."""

    data_dir: str | Path | None = None
    download: bool = True
    progress: Callable[[int, int | None], None] | None = None
    num_words: int | None = None
    limit: int | None = None  # readers may cut early to save work; load() cuts again anyway

    def locate(self, spec: files.FileSpec) -> Path:
        """Path of a dataset file (see `files.locate`)."""
        return files.locate(spec, data_dir=self.data_dir, download=self.download, progress=self.progress)


def keras_shuffle(rng: np.random.RandomState, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shuffle equal-length arrays together exactly as keras.datasets does (`rng.shuffle(arange)`)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return tuple(a[indices] for a in arrays)


def keras_split(x: np.ndarray, y: np.ndarray, test_split: float = TEST_SPLIT):
    """`(x_train, y_train, x_test, y_test)` cut where Keras cuts: at `int(len(x) * (1 - test_split))`."""
    cut = int(len(x) * (1 - test_split))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def check_pairs(x: np.ndarray, y: np.ndarray, what: str, sample_shape: tuple | None = None) -> None:
    """ValueError unless `x` and `y` have the same length, `y` is 1-D and samples have `sample_shape`."""
    if len(x) != len(y) or y.ndim != 1:
        raise ValueError(f"{what}: {len(x)} samples but labels of shape {y.shape}")
    if sample_shape is not None and tuple(x.shape[1:]) != tuple(sample_shape):
        raise ValueError(f"{what}: samples of shape {tuple(x.shape[1:])}, expected {tuple(sample_shape)}")
