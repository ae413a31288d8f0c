"""Word-index sequence datasets: IMDB reviews and Reuters newswires.

Both reproduce keras.datasets: the seed-113 `RandomState` shuffle (IMDB: one generator
shuffles train, then test), `start_char=1`, `oov_char=2`, `index_from=3`, `num_words`
(words with an index at or past `num_words` become 2), no `maxlen`, and for Reuters the
80/20 split after the shuffle. `x` arrays are 1-D object arrays of python int lists.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from dlcli.data import files
from dlcli.data.common import KERAS_SEED, LoadOptions, check_pairs, keras_shuffle, keras_split
from dlcli.data.dataset import Dataset
from dlcli.data.formats import read_npz

DEFAULT_NUM_WORDS = 10000
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3

IMDB = files.keras_spec("imdb.npz")
IMDB_INDEX = files.keras_spec("imdb_word_index.json")
REUTERS = files.keras_spec("reuters.npz")
REUTERS_INDEX = files.keras_spec("reuters_word_index.json")

IMDB_LABELS = ["negative", "positive"]
REUTERS_LABELS = (
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade reserves ship "
    "cotton carcass crude nat-gas cpi money-fx interest gnp meal-feed alum oilseed gold tin "
    "strategic-metal livestock retail ipi iron-steel rubber heat jobs lei bop zinc orange pet-chem "
    "dlr gas silver wpi hog lead"
).split()


def encode(sequences, num_words: int, *, skip_top: int = 0, start_char: int = START_CHAR,
           oov_char: int = OOV_CHAR, index_from: int = INDEX_FROM) -> np.ndarray:
    """Keras' sequence encoding, vectorised: prepend `start_char`, add `index_from`, and
    replace every index outside `[skip_top, num_words)` (the start mark included) by `oov_char`.
    Returns a 1-D object array of python int lists."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    words = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64, count=int(lengths.sum()))
    ends = np.cumsum(lengths + 1)
    starts = ends - lengths - 1
    flat = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    is_word = np.ones(flat.shape, dtype=bool)
    is_word[starts] = False
    flat[starts] = start_char
    flat[is_word] = words + index_from
    flat[(flat < skip_top) | (flat >= num_words)] = oov_char
    values = flat.tolist()
    out = np.empty(len(sequences), dtype=object)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
        out[i] = values[a:b]
    return out


def read_vocabulary(path: Path, index_from: int = INDEX_FROM) -> dict[str, int]:
    """A Keras `*_word_index.json`, indices shifted by `index_from` as the model sees them."""
    with files.reading(path):
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
            raise ValueError("not a JSON object of word: integer index")
    return {word: i + index_from for word, i in index.items()}


def _read_pairs(path: Path, pairs: tuple[tuple[str, str], ...]) -> list[np.ndarray]:
    """Arrays (x, y, x, y, ...) from an npz, checking each x/y pair."""
    with files.reading(path):
        arrays = read_npz(path, tuple(k for pair in pairs for k in pair))
        for xk, yk in pairs:
            check_pairs(arrays[xk], arrays[yk], f"{xk}/{yk}")
    return [arrays[k] for pair in pairs for k in pair]


def _sequence_dataset(name, task, splits, class_names, vocabulary, paths) -> Dataset:
    """A `Dataset` of word-index sequences."""
    x_train, y_train, x_test, y_test = splits
    return Dataset(
        name=name, task=task, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        input_shape=(), num_classes=len(class_names), class_names=list(class_names), vocabulary=vocabulary,
        source=", ".join(str(p) for p in paths), checksum=files.sha256(paths[0]), kind="sequences",
    )


def load_imdb(opts: LoadOptions) -> Dataset:
    """IMDB sentiment (`imdb.npz` + `imdb_word_index.json`), as `keras.datasets.imdb.load_data()`."""
    path, index_path = opts.locate(IMDB), opts.locate(IMDB_INDEX)
    x_train, y_train, x_test, y_test = _read_pairs(path, (("x_train", "y_train"), ("x_test", "y_test")))
    rng = np.random.RandomState(KERAS_SEED)
    x_train, y_train = keras_shuffle(rng, x_train, y_train)
    x_test, y_test = keras_shuffle(rng, x_test, y_test)
    x_train, y_train, x_test, y_test = (a[: opts.limit] for a in (x_train, y_train, x_test, y_test))
    with files.reading(path):
        xs = encode(list(x_train) + list(x_test), opts.num_words or DEFAULT_NUM_WORDS)
    splits = (xs[: len(x_train)], y_train, xs[len(x_train):], y_test)
    return _sequence_dataset("imdb", "binary", splits, IMDB_LABELS, read_vocabulary(index_path), [path, index_path])


def load_reuters(opts: LoadOptions) -> Dataset:
    """Reuters topics (`reuters.npz` + `reuters_word_index.json`), as `keras.datasets.reuters.load_data()`."""
    path, index_path = opts.locate(REUTERS), opts.locate(REUTERS_INDEX)
    x, y = _read_pairs(path, (("x", "y"),))
    x, y = keras_shuffle(np.random.RandomState(KERAS_SEED), x, y)
    with files.reading(path):
        xs = encode(x, opts.num_words or DEFAULT_NUM_WORDS)
    splits = keras_split(xs, y)
    return _sequence_dataset("reuters", "multiclass", splits, REUTERS_LABELS, read_vocabulary(index_path), [path, index_path])
