"""Image datasets: MNIST (npz), Fashion-MNIST (gzip IDX files), CIFAR-10 (python pickles).

Each reader gives what the keras.datasets loader of the same name gives: uint8 images in
their raw shapes (CIFAR-10 channels last), uint8 labels in the original order.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from dlcli.data import files
from dlcli.data.common import LoadOptions, check_pairs
from dlcli.data.dataset import Dataset
from dlcli.data.formats import read_idx_gz, read_npz, restricted_loads

DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

MNIST = files.keras_spec("mnist.npz")
FASHION = {
    part: files.keras_spec(f"fashion-mnist/{part}-ubyte.gz")
    for part in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")
}
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR10 = files.FileSpec(
    name=f"{CIFAR_FOLDER}.tar.gz",
    origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    candidates=(
        CIFAR_FOLDER,
        f"{CIFAR_FOLDER}-target/{CIFAR_FOLDER}",  # where Keras 3 extracts it
        f"{CIFAR_FOLDER}.tar.gz", f"{CIFAR_FOLDER}.tgz", f"{CIFAR_FOLDER}.tar.xz",
        f"{CIFAR_FOLDER}.tar.bz2", f"{CIFAR_FOLDER}.tar",
        "cifar-10-python.tar.gz",  # the origin's own name
        f"{CIFAR_FOLDER}-target_archive",  # the tar.gz as Keras 3 caches it
    ),
)
CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _image_dataset(name, arrays, class_names, source, checksum) -> Dataset:
    """A classification `Dataset` of uint8 images from the four arrays."""
    x_train, y_train, x_test, y_test = arrays
    return Dataset(
        name=name, task="multiclass", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        input_shape=tuple(x_train.shape[1:]), num_classes=len(class_names), class_names=list(class_names),
        vocabulary=None, source=source, checksum=checksum, kind="images",
    )


def load_mnist(opts: LoadOptions) -> Dataset:
    """MNIST from `mnist.npz`, as `keras.datasets.mnist.load_data()`."""
    path = opts.locate(MNIST)
    with files.reading(path):
        a = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
        check_pairs(a["x_train"], a["y_train"], "train", (28, 28))
        check_pairs(a["x_test"], a["y_test"], "test", (28, 28))
    arrays = (a["x_train"], a["y_train"], a["x_test"], a["y_test"])
    return _image_dataset("mnist", arrays, DIGIT_NAMES, str(path), files.sha256(path))


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """One Fashion-MNIST IDX file, errors naming it."""
    with files.reading(path):
        return read_idx_gz(path, ndim)


def load_fashion_mnist(opts: LoadOptions) -> Dataset:
    """Fashion-MNIST from the four `fashion-mnist/*.gz` IDX files, as Keras reads them."""
    paths = {part: opts.locate(spec) for part, spec in FASHION.items()}
    arrays = []
    for split in ("train", "t10k"):
        images = _read_idx(paths[f"{split}-images-idx3"], 3)
        labels = _read_idx(paths[f"{split}-labels-idx1"], 1)
        with files.reading(paths[f"{split}-images-idx3"]):
            check_pairs(images, labels, f"{split} images vs labels", (28, 28))
        arrays += [images, labels]
    source = ", ".join(str(p) for p in paths.values())
    first = paths["train-images-idx3"]
    return _image_dataset("fashion-mnist", tuple(arrays), FASHION_NAMES, source, files.sha256(first))


def _cifar_members_from_tar(path: Path) -> dict[str, bytes]:
    """The batch pickles inside a CIFAR tar archive (any compression), read in one pass."""
    found: dict[str, bytes] = {}
    with tarfile.open(path, "r|*") as archive:
        for member in archive:
            base = member.name.rstrip("/").rsplit("/", 1)[-1]
            if member.isfile() and base in CIFAR_BATCHES and base not in found:
                found[base] = archive.extractfile(member).read()
    missing = [b for b in CIFAR_BATCHES if b not in found]
    if missing:
        raise ValueError(f"archive has no {', '.join(missing)}")
    return found


def _cifar_batch(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch pickle -> (images (N,32,32,3) uint8, labels (N,) uint8)."""
    batch = restricted_loads(data, encoding="bytes")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch["labels"], dtype=np.uint8)
    check_pairs(images, labels, "batch")
    return images.transpose(0, 2, 3, 1), labels


def _cifar_from_folder(folder: Path) -> tuple[list, Path]:
    """Decoded batches from an extracted `cifar-10-batches-py/` folder."""
    batches = []
    for name in CIFAR_BATCHES:
        path = folder / name
        with files.reading(path):
            batches.append(_cifar_batch(path.read_bytes()))
    return batches, folder / CIFAR_BATCHES[0]


def _cifar_from_tar(path: Path) -> tuple[list, Path]:
    """Decoded batches straight out of a tar archive, nothing extracted to disk."""
    with files.reading(path):
        members = _cifar_members_from_tar(path)
        return [_cifar_batch(members[name]) for name in CIFAR_BATCHES], path


def load_cifar10(opts: LoadOptions) -> Dataset:
    """CIFAR-10 from `cifar-10-batches-py/` or a tar archive of it, as `keras.datasets.cifar10`."""
    path = opts.locate(CIFAR10)
    batches, first = _cifar_from_folder(path) if path.is_dir() else _cifar_from_tar(path)
    x_train = np.ascontiguousarray(np.concatenate([b[0] for b in batches[:-1]]))
    y_train = np.concatenate([b[1] for b in batches[:-1]])
    x_test, y_test = np.ascontiguousarray(batches[-1][0]), batches[-1][1]
    arrays = (x_train, y_train, x_test, y_test)
    return _image_dataset("cifar10", arrays, CIFAR10_NAMES, str(path), files.sha256(first))
