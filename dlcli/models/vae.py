"""The course's variational autoencoder: strided-conv encoder, `Sampler`, transposed-conv decoder.

The encoder turns an image into the mean and log-variance of a normal distribution in a small
latent space (course: 2 dimensions); `Sampler` draws a point from it
(`z = z_mean + exp(0.5 * z_log_var) * epsilon`); the decoder turns a point back into an image.
`VAE` trains the two with the course's loss, written as a Keras 3 custom `train_step`: the
reconstruction's binary cross-entropy summed over the pixels (mean over the batch) plus the
Kullback-Leibler divergence to the standard normal, averaged as the course does (over the batch
and the latent dimensions). Its history holds `total_loss`, `reconstruction_loss` and `kl_loss`.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from dlcli.errors import DlcliError

COURSE_IMAGE_SHAPE = (28, 28, 1)
COURSE_LATENT_DIM = 2


@keras.saving.register_keras_serializable(package="dlcli")
class Sampler(layers.Layer):
    """Draw `z = z_mean + exp(0.5 * z_log_var) * epsilon`, epsilon from a standard normal."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, z_mean, z_log_var):
        epsilon = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, z_mean_shape, z_log_var_shape):
        return z_mean_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def build_vae_encoder(input_shape: Sequence[int] = COURSE_IMAGE_SHAPE, latent_dim: int = COURSE_LATENT_DIM,
                      name: str = "encoder") -> keras.Model:
    """Image -> [z_mean, z_log_var]: Conv 32 and 64 (stride 2), Dense 16, two Dense(latent_dim) heads."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same", name="conv_1")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same", name="conv_2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", name="dense")(x)
    # the latent heads compute in float32 under mixed precision: the sampling and the KL term need it
    z_mean = layers.Dense(latent_dim, name="z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", dtype="float32")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def build_vae_decoder(output_shape: Sequence[int] = COURSE_IMAGE_SHAPE, latent_dim: int = COURSE_LATENT_DIM,
                      name: str = "decoder") -> keras.Model:
    """Latent point -> image: Dense 7*7*64, Conv2DTranspose 64 and 32 (stride 2), Conv2D sigmoid."""
    height, width, channels = tuple(output_shape)
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu", name="dense")(inputs)
    x = layers.Reshape((height // 4, width // 4, 64), name="grid")(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same", name="deconv_1")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same", name="deconv_2")(x)
    image = layers.Conv2D(channels, 3, activation="sigmoid", padding="same", name="image")(x)
    return keras.Model(inputs, image, name=name)


def vae_losses(images, z_mean, z_log_var, reconstruction):
    """The course's (total, reconstruction, KL) losses for one batch, each a scalar, in float32
    (under mixed precision the decoder's image may come in bfloat16)."""
    images, reconstruction = ops.cast(images, "float32"), ops.cast(reconstruction, "float32")
    z_mean, z_log_var = ops.cast(z_mean, "float32"), ops.cast(z_log_var, "float32")
    reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(images, reconstruction), axis=(1, 2)))
    kl_loss = ops.mean(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)))
    return reconstruction_loss + kl_loss, reconstruction_loss, kl_loss


@keras.saving.register_keras_serializable(package="dlcli")
class VAE(keras.Model):
    """Encoder, sampler and decoder trained with the course's custom `train_step`.

    Calling it encodes, samples and decodes. `fit(x)` needs no targets: the images are their own.
    """

    LOSS_NAMES = ("total_loss", "reconstruction_loss", "kl_loss")

    def __init__(self, encoder: keras.Model, decoder: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.seed = seed
        self.sampler = Sampler(seed=seed, name="sampler")
        self.trackers = [keras.metrics.Mean(name=name) for name in self.LOSS_NAMES]
        self.built = True  # its parts are built functional models: weights can be saved before any call

    @property
    def metrics(self):
        return self.trackers

    def call(self, inputs, training=False):
        z_mean, z_log_var = self.encoder(inputs, training=training)
        return self.decoder(self.sampler(z_mean, z_log_var), training=training)

    def _batch_losses(self, data, training: bool):
        images = keras.utils.unpack_x_y_sample_weight(data)[0]
        z_mean, z_log_var = self.encoder(images, training=training)
        reconstruction = self.decoder(self.sampler(z_mean, z_log_var), training=training)
        return vae_losses(images, z_mean, z_log_var, reconstruction)

    def _record(self, losses) -> dict:
        for tracker, value in zip(self.trackers, losses):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses = self._batch_losses(data, training=True)
        gradients = tape.gradient(losses[0], self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._record(losses)

    def test_step(self, data):
        return self._record(self._batch_losses(data, training=False))

    def get_config(self):
        return {"name": self.name, "seed": self.seed,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


def build_vae(input_shape: Sequence[int] = COURSE_IMAGE_SHAPE, outputs: int = COURSE_LATENT_DIM, *,
              seed: int | None = None, name: str = "vae") -> VAE:
    """The course's VAE for images of `input_shape`; `outputs` is the latent dimension (course: 2)."""
    height, width = tuple(input_shape)[:2]
    if height % 4 or width % 4:
        raise DlcliError(f"the VAE halves the image twice: its sides must be multiples of 4, got {tuple(input_shape)}")
    if outputs < 1:
        raise DlcliError(f"the latent dimension must be at least 1, got {outputs}")
    return VAE(build_vae_encoder(input_shape, outputs), build_vae_decoder(input_shape, outputs), seed=seed, name=name)


def latent_ranges(means, extent: float | None = None) -> list[tuple[float, float]]:
    """The spans of z[0] and z[1] the latent grid covers: [-extent, extent] when given (the course's 1),
    else the 1st to 99th percentile of the test images' latent means, so the grid shows where codes lie."""
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
    grid_x = np.linspace(*ranges[0], side)
    grid_y = np.linspace(*ranges[1], side)[::-1] if latent_dim > 1 else np.zeros(1)
    points = np.zeros((len(grid_y) * side, latent_dim), dtype="float32")
    points[:, 0] = np.tile(grid_x, len(grid_y))
    if latent_dim > 1:
        points[:, 1] = np.repeat(grid_y, side)
    images = np.asarray(decoder.predict(points, batch_size=256, verbose=0))[..., 0]
    height, width = images.shape[1:3]
    pixels = images.reshape(len(grid_y), side, height, width).transpose(0, 2, 1, 3).reshape(len(grid_y) * height, side * width)
    return pixels, grid_x, grid_y
