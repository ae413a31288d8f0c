"""The `Dataset` record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class Dataset:
    """Numpy arrays of one dataset plus what a command needs to know about them.

    Arrays are exactly what the matching `keras.datasets.*.load_data()` gives (same order,
    same dtypes), except that CIFAR-10 labels are flat `(N,)` like every other dataset and
    regression targets are float32.
    """

    name: str
    task: str  # "binary" | "multiclass" | "regression"
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    input_shape: tuple
    num_classes: int | None
    class_names: list[str] | None = field(repr=False)
    vocabulary: dict[str, int] | None = field(repr=False)
    source: str
    checksum: str | None
    kind: str  # "images" | "sequences" | "tabular"

    def head(self, limit: int) -> "Dataset":
        """The same dataset keeping only the first `limit` train and first `limit` test samples
        (copies, so that the full arrays can be freed)."""
        return replace(
            self,
            x_train=self.x_train[:limit].copy(),
            y_train=self.y_train[:limit].copy(),
            x_test=self.x_test[:limit].copy(),
            y_test=self.y_test[:limit].copy(),
        )
