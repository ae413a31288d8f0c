"""Every dataset `dl` knows, by name: `names()`, `describe(name)`, `load(name, ...)`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dlcli.data import corpora, images, pairs, series, tabular, text
from dlcli.data.common import LoadOptions
from dlcli.data.dataset import Dataset
from dlcli.errors import DlcliError

__all__ = ["Dataset", "load", "names", "describe"]


@dataclass(frozen=True)
class _Entry:
    reader: Callable[[LoadOptions], Dataset]
    description: str


_REGISTRY: dict[str, _Entry] = {
    "mnist": _Entry(images.load_mnist, "MNIST handwritten digits, 28x28 grey, 10 classes, 60000/10000 (mnist.npz)"),
    "fashion-mnist": _Entry(images.load_fashion_mnist, "Fashion-MNIST clothing, 28x28 grey, 10 classes, 60000/10000 (fashion-mnist/*.gz)"),
    "cifar10": _Entry(images.load_cifar10, "CIFAR-10 colour images, 32x32x3, 10 classes, 50000/10000 (cifar-10-batches-py)"),
    "imdb": _Entry(text.load_imdb, "IMDB movie reviews as word indices, positive/negative, 25000/25000 (imdb.npz)"),
    "reuters": _Entry(text.load_reuters, "Reuters newswires as word indices, 46 topics, 8982/2246 (reuters.npz)"),
    "boston": _Entry(tabular.load_boston, "Boston housing prices, 13 features, regression, 404/102 (boston_housing.npz)"),
    "digits": _Entry(tabular.load_digits, "scikit-learn 8x8 digits, pixels 0..16, 10 classes, 1437/360 (embedded)"),
    "diabetes": _Entry(tabular.load_diabetes, "scikit-learn diabetes progression, 10 features, regression, 353/89 (embedded)"),
    "xor": _Entry(tabular.load_xor, "the four XOR points, binary, same 4 for train and test (embedded)"),
    "nietzsche": _Entry(corpora.load_nietzsche, "Nietzsche's Beyond Good and Evil, 600893 characters, lowercased (nietzsche.txt)"),
    "sinwave": _Entry(series.load_sinwave, "the course's sine wave, 5001 values, period 100 (embedded)"),
    "sp500": _Entry(series.load_sp500, "S&P 500 daily closes 2000-2016, 4171 values (sp500.csv, no download origin)"),
    "spa-eng": _Entry(pairs.load_spa_eng, "English-Spanish sentence pairs (Tatoeba), 118964, split 70/15/15 with a fixed seed (spa-eng.zip)"),
}


def names() -> list[str]:
    """Every registered dataset name, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    """The registry entry for `name` (case and '_' vs '-' do not matter), else DlcliError."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise DlcliError(f"unknown dataset '{name}'; choose one of: {', '.join(names())}")
    return _REGISTRY[key]


def describe(name: str) -> str:
    """One line describing the dataset (for --help texts)."""
    return _entry(name).description


def _check_positive(value, option: str) -> None:
    """DlcliError unless `value` is None or an int >= 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DlcliError(f"{option} must be a whole number of at least 1, got {value!r}; pass e.g. {option} 1000")


def load(name: str, *, data_dir: str | Path | None = None, limit: int | None = None,
         num_words: int | None = None, download: bool = True,
         progress: Callable[[int, int | None], None] | None = None) -> Dataset:
    """Load dataset `name` as keras.datasets would, from local files or a download.

    `limit` keeps the first `limit` train and first `limit` test samples (after Keras'
    shuffles); `num_words` (imdb, reuters; default 10000) keeps the most frequent words;
    `progress(bytes_done, total_or_None)` is called while a file downloads.
    """
    entry = _entry(name)
    _check_positive(limit, "--limit")
    _check_positive(num_words, "--num-words")
    dataset = entry.reader(LoadOptions(data_dir=data_dir, download=download, progress=progress, num_words=num_words, limit=limit))
    return dataset.head(limit) if limit is not None else dataset
