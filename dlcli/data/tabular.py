"""Small tabular datasets: Boston housing (npz), and the embedded digits, diabetes and XOR.

digits and diabetes come with scikit-learn (no file, no download); their 80/20 splits use
`train_test_split(..., random_state=113)` (digits stratified by class) so they never change.
"""

from __future__ import annotations

import numpy as np

from dlcli.data import files
from dlcli.data.common import KERAS_SEED, TEST_SPLIT, LoadOptions, check_pairs, keras_shuffle, keras_split
from dlcli.data.dataset import Dataset
from dlcli.data.formats import read_npz

BOSTON = files.keras_spec("boston_housing.npz")
DIGITS_MAX = 16.0  # digits pixels are 0..16: scale with transforms.scale_images(x, max_value=16)


def _tabular(name, task, splits, *, source, checksum=None, class_names=None, kind="tabular") -> Dataset:
    """A `Dataset` from `(x_train, y_train, x_test, y_test)`; regression targets become float32."""
    x_train, y_train, x_test, y_test = splits
    if task == "regression":
        y_train, y_test = y_train.astype(np.float32), y_test.astype(np.float32)
    return Dataset(
        name=name, task=task, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        input_shape=tuple(x_train.shape[1:]), num_classes=len(class_names) if class_names else None,
        class_names=list(class_names) if class_names else None, vocabulary=None,
        source=source, checksum=checksum, kind=kind,
    )


def load_boston(opts: LoadOptions) -> Dataset:
    """Boston housing from `boston_housing.npz`, as `keras.datasets.boston_housing.load_data()`."""
    path = opts.locate(BOSTON)
    with files.reading(path):
        a = read_npz(path, ("x", "y"))
        check_pairs(a["x"], a["y"], "x/y", (13,))
    x, y = keras_shuffle(np.random.RandomState(KERAS_SEED), a["x"], a["y"])
    return _tabular("boston", "regression", keras_split(x, y), source=str(path), checksum=files.sha256(path))


def _sklearn_split(x, y, stratify: bool):
    """Deterministic 80/20 split with scikit-learn, random_state 113."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SPLIT, random_state=KERAS_SEED, stratify=y if stratify else None
    )
    return x_train, y_train, x_test, y_test


def load_digits(opts: LoadOptions) -> Dataset:
    """scikit-learn's 8x8 digits as float32 images in 0..16, (N, 8, 8), stratified 80/20."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    splits = _sklearn_split(bunch.images.astype(np.float32), bunch.target, stratify=True)
    names = [str(i) for i in range(10)]
    return _tabular("digits", "multiclass", splits, source="embedded:sklearn.load_digits", class_names=names, kind="images")


def load_diabetes(opts: LoadOptions) -> Dataset:
    """scikit-learn's diabetes regression (10 standardised features), 80/20."""
    from sklearn.datasets import load_diabetes as sk_diabetes

    bunch = sk_diabetes()
    splits = _sklearn_split(bunch.data, bunch.target, stratify=False)
    return _tabular("diabetes", "regression", splits, source="embedded:sklearn.load_diabetes")


def load_xor(opts: LoadOptions) -> Dataset:
    """The four XOR points, used as both the training and the test set."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return _tabular("xor", "binary", (x, y, x.copy(), y.copy()), source="embedded:xor", class_names=["0", "1"])
