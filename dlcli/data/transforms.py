"""Pure numpy preprocessing shared by the commands."""

from __future__ import annotations

import itertools
import math

import numpy as np

from dlcli.errors import DlcliError


def multi_hot(sequences, dimension: int) -> np.ndarray:
    """float32 (N, dimension) with a 1 at every word index each sequence contains (the course's
    `vectorize_sequences`), built with one fancy-index assignment instead of a loop per word."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    cols = np.fromiter(itertools.chain.from_iterable(sequences), dtype=np.int64, count=int(lengths.sum()))
    if cols.size and (cols.min() < 0 or cols.max() >= dimension):
        bad = int(cols.max() if cols.max() >= dimension else cols.min())
        raise DlcliError(f"word index {bad} does not fit a multi-hot vector of {dimension}; use the same --num-words as the vector size")
    rows = np.repeat(np.arange(len(sequences)), lengths)
    out = np.zeros((len(sequences), dimension), dtype=np.float32)
    out[rows, cols] = 1.0
    return out


def scale_images(x, max_value: float = 255.0) -> np.ndarray:
    """Pixels to float32 in 0..1: `x / max_value` (255 for 8-bit images, 16 for digits)."""
    return np.asarray(x, dtype=np.float32) / np.float32(max_value)


GREY_LEVELS = {"digits": 16.0}  # scikit-learn's digits count 0..16; every other image set is 8-bit


def prepare_images(x, dataset: str, *, channel_axis: bool = True) -> np.ndarray:
    """A dataset's images as the course prepares them: float32 in 0..1 (`x / 255`, digits `/ 16`),
    and, for a convnet (`channel_axis`), grey images given their channel axis (N, H, W, 1)."""
    x = scale_images(x, GREY_LEVELS.get(dataset, 255.0))
    return x[..., None] if channel_axis and x.ndim == 3 else x


def validation_count(samples: int, fraction: float) -> int:
    """How many of `samples` a validation `fraction` holds out, rounded as Keras' `validation_split`
    rounds (the training part is floor(samples * (1 - fraction))): 10 samples at 0.15 hold out 2."""
    return samples - math.floor(samples * (1.0 - fraction)) if fraction > 0 else 0


def hold_out(x, y, count: int, *, first: bool = False, option: str, unit: str = "training samples"):
    """Split off `count` samples for validation: ((x, y) to train on, (x, y) held out, or None for 0).

    `first`: the first samples validate (the course's `x_train[:10000]`); else the last ones, as
    Keras' `validation_split`. `option` names what the user gave, for the one-line error when the
    split leaves nothing to train on or to validate with.
    """
    if count == 0:
        return (x, y), None
    if count < 0 or count >= len(x):
        raise DlcliError(f"{option} leaves no training data out of {len(x)} {unit}; lower it or raise --limit")
    if first:
        return (x[count:], y[count:]), (x[:count], y[:count])
    return (x[:-count], y[:-count]), (x[-count:], y[-count:])


def standardize(train, *others):
    """Feature-wise `(x - mean) / std` with the training set's mean and std only.

    Returns `(train_std, *others_std, mean, std)`, all float32; a constant feature
    (std 0) is divided by 1 instead.
    """
    train = np.asarray(train, dtype=np.float64)
    if len(train) == 0:
        raise DlcliError("cannot standardize an empty training set; use a larger --limit")
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    scaled = [((np.asarray(a, dtype=np.float64) - mean) / std).astype(np.float32) for a in (train, *others)]
    return (*scaled, mean.astype(np.float32), std.astype(np.float32))


def decode_review(sequence, vocabulary: dict[str, int], *, index_from: int = 0) -> str:
    """Words of an index sequence, '?' for padding, start, OOV and unknown indices.

    With `Dataset.vocabulary` (indices already shifted by 3) this gives the course's
    `' '.join(reverse_word_index.get(i - 3, '?') for i in seq)`; for a raw Keras
    word_index pass `index_from=3`.
    """
    words = {i: w for w, i in vocabulary.items()}
    return " ".join(words.get(int(i) - index_from, "?") for i in sequence)
