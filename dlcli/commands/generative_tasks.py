"""What `dl autoencode` and `dl vae` share: the image datasets and the arrays saved beside the models.

Images are prepared as the course does (`astype('float32') / 255`, one channel axis added). Each
run keeps a few inputs and what the trained networks made of them in `samples.npz`, so that a
reloaded encoder or decoder can be checked against the networks that were saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlcli.errors import DlcliError

DATASETS = ("fashion-mnist", "mnist")
SAMPLES_FILE = "samples.npz"
SAMPLE_COUNT = 10  # images shown per row of a figure and kept in samples.npz


def load_images(session, name: str):
    """The dataset's images as float32 in [0, 1] with a channel axis, and its labels and class names."""
    import numpy as np

    from dlcli.data import transforms

    dataset = session.load(name)
    if len(dataset.x_train) == 0 or len(dataset.x_test) == 0:
        raise DlcliError(f"{name} has no training or no test images; use a larger --limit")
    x_train, x_test = (transforms.prepare_images(x, name) for x in (dataset.x_train, dataset.x_test))
    return x_train, x_test, np.asarray(dataset.y_test, dtype="int64"), dataset.class_names


def save_arrays(target: Path, arrays: dict[str, Any]) -> Path:
    """Write numpy arrays atomically as one .npz file."""
    import numpy as np

    from dlcli.atomic import atomic_path

    with atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    return target


def count_parameters(*models) -> int:
    return int(sum(model.count_params() for model in models))


def mse(a, b) -> float:
    """Mean squared difference over every pixel."""
    import numpy as np

    return float(np.mean(np.square(np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64"))))


def quiet_retracing_warnings() -> None:
    """Keep TensorFlow's "triggered tf.function retracing" warnings off the terminal: predicting on
    arrays of a few different lengths (10 samples, a 900-point grid, a test set) is meant here."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def add_noise(images, mean: float, std: float, rng):
    """The course's noisy images: Gaussian noise N(mean, std) added to every pixel, not clipped."""
    return (images + rng.normal(mean, std, images.shape)).astype("float32")


def latent_ranges(means, extent: float | None = None) -> list[tuple[float, float]]:
    """The spans of z[0] and z[1] the latent grid covers: [-extent, extent] when given (the course's 1),
    else the 1st to 99th percentile of the test images' latent means, so the grid shows where codes lie."""
    import numpy as np

    dimensions = min(2, means.shape[1])
    if extent is not None:
        return [(-float(extent), float(extent))] * dimensions
    low, high = np.percentile(means[:, :dimensions], [1, 99], axis=0)
    return [(round(float(a), 2), round(float(b), 2)) if b > a else (float(a) - 1, float(a) + 1) for a, b in zip(low, high)]


def latent_grid(decoder, latent_dim: int, side: int, ranges: list[tuple[float, float]]):
    """The course's grid: decode `side` x `side` evenly spaced points of z[0], z[1] within `ranges`.

    Other latent dimensions stay 0; a 1-D latent space gives one row. Returns the tiled pixels
    (rows * height, side * width) and the grid's x and y values (y from top to bottom).
    """
    import numpy as np

    from dlcli import training

    grid_x = np.linspace(*ranges[0], side)
    grid_y = np.linspace(*ranges[1], side)[::-1] if latent_dim > 1 else np.zeros(1)
    points = np.zeros((len(grid_y) * side, latent_dim), dtype="float32")
    points[:, 0] = np.tile(grid_x, len(grid_y))
    if latent_dim > 1:
        points[:, 1] = np.repeat(grid_y, side)
    images = training.predict(decoder, points)[..., 0]
    height, width = images.shape[1:3]
    pixels = images.reshape(len(grid_y), side, height, width).transpose(0, 2, 1, 3).reshape(len(grid_y) * height, side * width)
    return pixels, grid_x, grid_y
