"""The generative family (`dl autoencode`, `dl vae`): their image datasets, noise and checks.

Images are prepared as the course does (`data.transforms.prepare_images`: `x / 255`, one channel
axis). Each run keeps a few inputs and what the trained networks made of them in `samples.npz`
(`RunFolder.save_arrays`), so that a reloaded encoder or decoder can be checked against the
networks that were saved. The VAE's latent grid is `dlcli.models.vae.latent_grid`.
"""

from __future__ import annotations

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


