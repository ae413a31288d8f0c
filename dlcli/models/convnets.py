"""The course's convolutional networks: the MNIST convnet, the two CIFAR-10 convnets, VGG16 transfer.

Every builder takes images scaled to [0, 1], channels last. Optional augmentation (random flips
and shifts) is part of the model as Keras preprocessing layers, active in training only.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

VGG16_MEAN_BGR = (103.939, 116.779, 123.68)  # what keras.applications.vgg16.preprocess_input subtracts


def augmentation(inputs, *, flip: bool = False, shift: float = 0.0):
    """Random horizontal flips and shifts (a fraction of the side), as preprocessing layers."""
    x = inputs
    if flip:
        x = layers.RandomFlip("horizontal", name="random_flip")(x)
    if shift > 0:
        x = layers.RandomTranslation(shift, shift, fill_mode="constant", name="random_shift")(x)
    return x


def _classifier_head(x, outputs: int, units: Sequence[int], dropout: float):
    """Flatten, the hidden Dense layers (each followed by dropout where asked), then softmax."""
    x = layers.Flatten(name="flatten")(x)
    for index, width in enumerate(units, start=1):
        x = layers.Dense(width, activation="relu", name=f"hidden_{index}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout_{index}")(x)
    return layers.Dense(outputs, activation="softmax", name="outputs")(x)


def build_mnist_cnn(input_shape: Sequence[int], outputs: int, *, pool: bool = False, dropout: float = 0.0,
                    flip: bool = False, shift: float = 0.0, name: str = "mnist_cnn") -> keras.Model:
    """The course's MNIST convnet: Conv 32 and Conv 64 (3x3, relu), Dense 128, softmax.

    `pool` adds the 2x2 max pooling after the second convolution and `dropout` the dropout after
    Dense 128: the course's "Add Dropout and MaxPooling" exercise (rate 0.5).
    """
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    if pool:
        x = layers.MaxPooling2D(2, name="pool")(x)
    return keras.Model(inputs, _classifier_head(x, outputs, (128,), dropout), name=name)


def build_cifar_cnn(input_shape: Sequence[int], outputs: int, *, dropout: float = 0.0, flip: bool = False,
                    shift: float = 0.0, name: str = "cifar_cnn") -> keras.Model:
    """The course's first CIFAR-10 convnet: Conv 32, pool, Conv 64, pool, Conv 64, Dense 64, softmax.

    `dropout` ("Add Dropout to the CIFAR10 network") follows each pooling layer and Dense 64.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    for index, filters in enumerate((32, 64, 64), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv_{index}")(x)
        if index < 3:
            x = layers.MaxPooling2D(2, name=f"pool_{index}")(x)
            if dropout > 0:
                x = layers.Dropout(dropout, name=f"conv_dropout_{index}")(x)
    return keras.Model(inputs, _classifier_head(x, outputs, (64,), dropout), name=name)


def build_cifar_padded(input_shape: Sequence[int], outputs: int, *, dropout: float = 0.0, flip: bool = False,
                       shift: float = 0.0, name: str = "cifar_padded") -> keras.Model:
    """The course's second CIFAR-10 convnet: two 'same'-padded Conv 64, Dense 64, Dense 64, softmax.

    (The course's listing flattens twice; once is the same network.) `dropout` follows each Dense 64.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    x = layers.Conv2D(64, 3, activation="relu", padding="same", name="conv_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same", name="conv_2")(x)
    return keras.Model(inputs, _classifier_head(x, outputs, (64, 64), dropout), name=name)


@keras.saving.register_keras_serializable(package="dlcli")
class VGG16Preprocess(layers.Layer):
    """Images in [0, 1] to what VGG16 expects: 0..255, RGB to BGR, ImageNet channel means removed.

    The same arithmetic as `keras.applications.vgg16.preprocess_input`, inside the model, so the
    saved model takes the same inputs as every other model of `dl cnn`.
    """

    def call(self, inputs):
        bgr = keras.ops.flip(inputs * 255.0, axis=-1)
        return bgr - keras.ops.convert_to_tensor(VGG16_MEAN_BGR, dtype=inputs.dtype)


def vgg16_backbone(input_shape: Sequence[int], weights_path: str | None = None) -> keras.Model:
    """VGG16's convolutional base (no top), with the weights in `weights_path` when given."""
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=tuple(input_shape))
    if weights_path is not None:
        base.load_weights(weights_path)
    return base


def build_vgg16_transfer(input_shape: Sequence[int], outputs: int, *, backbone: keras.Model | None = None,
                         units: int = 256, dropout: float = 0.0, flip: bool = False, shift: float = 0.0,
                         name: str = "vgg16_transfer") -> keras.Model:
    """The course's transfer exercise: VGG16's frozen base, then Flatten, Dense 256, softmax.

    `backbone` is the base to reuse (see `vgg16_backbone`); without one it starts untrained.
    """
    base = backbone if backbone is not None else vgg16_backbone(input_shape)
    base.trainable = False
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    x = VGG16Preprocess(name="vgg16_preprocess")(x)
    x = base(x, training=False)
    return keras.Model(inputs, _classifier_head(x, outputs, (units,), dropout), name=name)
