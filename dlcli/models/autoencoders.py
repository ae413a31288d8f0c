"""The course's convolutional autoencoder: an encoder and a decoder model chained into one.

The encoder (Conv 16, Conv 32, MaxPool 3, Conv 32, Conv 16, global max pooling) turns a 28x28x1
image into a 16-number code; the decoder mirrors it (Reshape 4x4x1, Conv2DTranspose 16 and 32,
UpSampling 3, Conv2DTranspose 16 and 1) back to 28x28x1. As in the course, both are functional
models of their own, called one after the other inside the autoencoder, so that each can be used
(and saved) alone: `autoencoder.get_layer("encoder")`, `autoencoder.get_layer("decoder")`.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from dlcli.errors import DlcliError

COURSE_IMAGE_SHAPE = (28, 28, 1)
COURSE_CODE_SIZE = 16
CODE_SIDE = 4  # the decoder starts from a 4x4 grid: 4 -> 6 -> 8 -> 24 -> 26 -> 28


def build_conv_encoder(input_shape: Sequence[int] = COURSE_IMAGE_SHAPE, code_size: int = COURSE_CODE_SIZE,
                       name: str = "encoder") -> keras.Model:
    """The course's encoder: image -> `code_size` numbers (the last convolution's filters, max-pooled)."""
    inputs = keras.Input(shape=tuple(input_shape), name="original_img")
    x = layers.Conv2D(16, 3, activation="relu", name="conv_1")(inputs)
    x = layers.Conv2D(32, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(3, name="pool")(x)
    x = layers.Conv2D(32, 3, activation="relu", name="conv_3")(x)
    x = layers.Conv2D(code_size, 3, activation="relu", name="conv_4")(x)
    code = layers.GlobalMaxPooling2D(name="code")(x)
    return keras.Model(inputs, code, name=name)


def build_conv_decoder(code_size: int = COURSE_CODE_SIZE, channels: int = 1, output_activation: str = "relu",
                       name: str = "decoder") -> keras.Model:
    """The course's decoder, strictly symmetrical to the encoder: `code_size` numbers -> 28x28 image.

    The code is reshaped to a 4x4 grid of `code_size / 16` channels (the course's 4x4x1), so the
    code size must be a multiple of 16. The course's last layer is ReLU; 'sigmoid' is an option.
    """
    if code_size % (CODE_SIDE * CODE_SIDE):
        raise DlcliError(f"the code size must be a multiple of {CODE_SIDE * CODE_SIDE} (the decoder starts "
                         f"from a {CODE_SIDE}x{CODE_SIDE} grid), got {code_size}")
    inputs = keras.Input(shape=(code_size,), name="encoded_img")
    x = layers.Reshape((CODE_SIDE, CODE_SIDE, code_size // (CODE_SIDE * CODE_SIDE)), name="grid")(inputs)
    x = layers.Conv2DTranspose(16, 3, activation="relu", name="deconv_1")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", name="deconv_2")(x)
    x = layers.UpSampling2D(3, name="upsample")(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu", name="deconv_3")(x)
    image = layers.Conv2DTranspose(channels, 3, activation=output_activation, name="decoded_img")(x)
    return keras.Model(inputs, image, name=name)


def build_autoencoder(input_shape: Sequence[int] = COURSE_IMAGE_SHAPE, outputs: int = COURSE_CODE_SIZE, *,
                      output_activation: str = "relu", name: str = "autoencoder") -> keras.Model:
    """The course's autoencoder: `decoder(encoder(image))`; `outputs` is the code size (course: 16)."""
    if tuple(input_shape)[:2] != COURSE_IMAGE_SHAPE[:2]:
        raise DlcliError(f"the course's autoencoder takes 28x28 images, got {tuple(input_shape)}")
    encoder = build_conv_encoder(input_shape, outputs)
    decoder = build_conv_decoder(outputs, channels=tuple(input_shape)[-1], output_activation=output_activation)
    inputs = keras.Input(shape=tuple(input_shape), name="img")
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)
