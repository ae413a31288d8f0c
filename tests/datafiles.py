"""Tiny dataset files in the exact formats Keras uses, for tests (no network, no shared data).

Every `write_*` function takes a folder (the root of a Keras-style cache, like
`~/.keras/datasets`), writes its file(s) there and returns the main path. Contents are
deterministic for a given `seed`. `write_all(folder)` writes every file-based dataset.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _folder(folder) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_mnist(folder, n_train: int = 64, n_test: int = 16, seed: int = 0) -> Path:
    """`mnist.npz` with x_train/y_train/x_test/y_test (uint8, (N, 28, 28) and (N,))."""
    rng = np.random.RandomState(seed)
    path = _folder(folder) / "mnist.npz"
    np.savez_compressed(
        path,
        x_train=rng.randint(0, 256, (n_train, 28, 28)).astype(np.uint8),
        y_train=(np.arange(n_train) % 10).astype(np.uint8),
        x_test=rng.randint(0, 256, (n_test, 28, 28)).astype(np.uint8),
        y_test=((np.arange(n_test) + 3) % 10).astype(np.uint8),
    )
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    """An uint8 array in IDX format: magic 0x0000 08 <ndim>, big-endian dims, then data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_fashion_mnist(folder, n_train: int = 60, n_test: int = 20, seed: int = 1) -> Path:
    """`fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`; returns the folder."""
    rng = np.random.RandomState(seed)
    sub = _folder(Path(folder) / "fashion-mnist")
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.randint(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, n).astype(np.uint8)
        (sub / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (sub / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    return sub


def cifar_batches(n_per_batch: int = 6, n_test: int = 8, seed: int = 2) -> dict[str, bytes]:
    """CIFAR-10 batch pickles (protocol 3, bytes keys, data uint8 (N, 3072) CHW) by file name."""
    rng = np.random.RandomState(seed)
    out = {}
    for name in CIFAR_BATCHES:
        n = n_test if name == "test_batch" else n_per_batch
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.randint(0, 10, n)],
            b"data": rng.randint(0, 256, (n, 3072)).astype(np.uint8),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(n)],
        }
        out[name] = pickle.dumps(batch, protocol=3)
    meta = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"],
            b"num_cases_per_batch": n_per_batch, b"num_vis": 3072}
    out["batches.meta"] = pickle.dumps(meta, protocol=3)
    return out


def write_cifar10(folder, n_per_batch: int = 6, n_test: int = 8, seed: int = 2) -> Path:
    """The extracted folder `cifar-10-batches-py/`; returns it."""
    sub = _folder(Path(folder) / "cifar-10-batches-py")
    for name, data in cifar_batches(n_per_batch, n_test, seed).items():
        (sub / name).write_bytes(data)
    return sub


def write_cifar10_archive(folder, name: str = "cifar-10-batches-py.tar.gz", mode: str = "w:gz",
                          n_per_batch: int = 6, n_test: int = 8, seed: int = 2) -> Path:
    """A tar archive (`mode` picks the compression) holding `cifar-10-batches-py/...`."""
    path = _folder(folder) / name
    with tarfile.open(path, mode) as archive:
        for member, data in cifar_batches(n_per_batch, n_test, seed).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _sequences(rng, n: int, vocab_size: int) -> np.ndarray:
    """1-D object array of python int lists (raw indices 1..vocab_size, varied lengths)."""
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(v) for v in rng.randint(1, vocab_size + 1, rng.randint(1, 25))]
    return out


def word_index(vocab_size: int) -> dict[str, int]:
    """A Keras-style word index: word 'w<i>' has raw index i (1-based)."""
    return {f"w{i}": i for i in range(1, vocab_size + 1)}


def write_imdb(folder, n_train: int = 40, n_test: int = 30, vocab_size: int = 60, seed: int = 3) -> Path:
    """`imdb.npz` (x_train/x_test object arrays of raw index lists, int64 labels) + `imdb_word_index.json`."""
    rng = np.random.RandomState(seed)
    path = _folder(folder) / "imdb.npz"
    np.savez(
        path,
        x_train=_sequences(rng, n_train, vocab_size), y_train=rng.randint(0, 2, n_train).astype(np.int64),
        x_test=_sequences(rng, n_test, vocab_size), y_test=rng.randint(0, 2, n_test).astype(np.int64),
    )
    (Path(folder) / "imdb_word_index.json").write_text(json.dumps(word_index(vocab_size)))
    return path


def write_reuters(folder, n: int = 57, vocab_size: int = 80, seed: int = 4) -> Path:
    """`reuters.npz` (x object array of raw index lists, y int64 topic ids) + `reuters_word_index.json`."""
    rng = np.random.RandomState(seed)
    path = _folder(folder) / "reuters.npz"
    np.savez(path, x=_sequences(rng, n, vocab_size), y=rng.randint(0, 46, n).astype(np.int64))
    (Path(folder) / "reuters_word_index.json").write_text(json.dumps(word_index(vocab_size)))
    return path


def write_boston(folder, n: int = 506, seed: int = 5) -> Path:
    """`boston_housing.npz` with x (n, 13) float64 and y (n,) float64, in file order."""
    rng = np.random.RandomState(seed)
    path = _folder(folder) / "boston_housing.npz"
    np.savez(path, x=rng.rand(n, 13) * 100, y=np.round(rng.rand(n) * 45 + 5, 1))
    return path


def write_nietzsche(folder, text: str = "PREFACE\n\nSupposing that Truth is a woman--what then? " * 3) -> Path:
    """`nietzsche.txt`: plain UTF-8 text."""
    path = _folder(folder) / "nietzsche.txt"
    path.write_text(text, encoding="utf-8")
    return path


def write_sp500(folder, n: int = 80, seed: int = 6) -> Path:
    """`sp500.csv`: one closing price per line, as the course's file."""
    prices = 1000 + np.cumsum(np.random.RandomState(seed).normal(0, 5, n))
    path = _folder(folder) / "sp500.csv"
    path.write_text("".join(f"{p:.2f}\n" for p in prices))
    return path


def write_spa_eng(folder, pairs: int = 40) -> Path:
    """`spa-eng/spa.txt`: tab-separated English and Spanish sentences, one pair a line."""
    sub = _folder(Path(folder) / "spa-eng")
    path = sub / "spa.txt"
    path.write_text("".join(f"I see {i} cats.\tVeo {i} gatos.\n" for i in range(pairs)), encoding="utf-8")
    return path


def write_all(folder) -> dict[str, Path]:
    """Every file-based dataset (CIFAR-10 as the extracted folder); name -> main path."""
    return {
        "mnist": write_mnist(folder),
        "fashion-mnist": write_fashion_mnist(folder),
        "cifar10": write_cifar10(folder),
        "imdb": write_imdb(folder),
        "reuters": write_reuters(folder),
        "boston": write_boston(folder),
        "nietzsche": write_nietzsche(folder),
        "sp500": write_sp500(folder),
        "spa-eng": write_spa_eng(folder),
    }
