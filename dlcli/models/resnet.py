"""Residual networks: the course's residual tower (functional and subclassed) and ResNet-20.

The course's tower is a 1x1 stem then blocks of two 3x3 convolutions whose input is added back
(identity shortcuts, constant width). `plain=True` builds the same tower without the additions,
the convnet of the same depth the course's exercise compares it with.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from dlcli.models.convnets import augmentation


@keras.saving.register_keras_serializable(package="dlcli")
class ResNetBlock(layers.Layer):
    """Two 'same'-padded convolutions (relu) whose output is added to the block's input."""

    def __init__(self, filters: int = 64, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.conv_1 = layers.Conv2D(filters, kernel_size, activation="relu", padding="same", name="conv_1")
        self.conv_2 = layers.Conv2D(filters, kernel_size, activation="relu", padding="same", name="conv_2")

    def build(self, input_shape):
        self.conv_1.build(input_shape)
        self.conv_2.build(self.conv_1.compute_output_shape(input_shape))

    def call(self, inputs):
        return inputs + self.conv_2(self.conv_1(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="dlcli")
class ResNet(keras.Model):
    """The course's subclassed ResNet: a 3x3 convolution, `blocks` ResNetBlocks, Flatten, softmax."""

    def __init__(self, num_classes: int = 10, filters: int = 64, blocks: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.filters = filters
        self.blocks = blocks
        self.conv = layers.Conv2D(filters, 3, activation="relu", name="stem")
        self.residual_blocks = [ResNetBlock(filters, name=f"block_{i}") for i in range(1, blocks + 1)]
        self.flatten = layers.Flatten(name="flatten")
        self.classifier = layers.Dense(num_classes, activation="softmax", name="outputs")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = self.conv(inputs)
        for block in self.residual_blocks:
            x = block(x)
        return self.classifier(self.flatten(x))

    def get_config(self):
        return {"num_classes": self.num_classes, "filters": self.filters, "blocks": self.blocks, "name": self.name}


def build_resnet_subclass(input_shape: Sequence[int], outputs: int, *, filters: int = 64, blocks: int = 2,
                          name: str = "resnet") -> keras.Model:
    """A built `ResNet` (the course's `ResNet(10, 64)` with its two blocks by default)."""
    model = ResNet(outputs, filters, blocks, name=name)
    model.build((None, *input_shape))
    return model


def build_residual_tower(input_shape: Sequence[int], outputs: int, *, filters: int = 64, blocks: int = 5,
                         plain: bool = False, flip: bool = False, shift: float = 0.0,
                         name: str = "residual_tower") -> keras.Model:
    """The course's functional residual tower: 1x1 stem, `blocks` x (two 3x3 convs + identity), Flatten, softmax."""
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    x = layers.Conv2D(filters, 1, activation="relu", padding="same", name="stem")(x)
    for block in range(1, blocks + 1):
        shortcut = x
        x = layers.Conv2D(filters, 3, activation="relu", padding="same", name=f"block_{block}_conv_1")(x)
        x = layers.Conv2D(filters, 3, activation="relu", padding="same", name=f"block_{block}_conv_2")(x)
        if not plain:
            x = layers.add([shortcut, x], name=f"block_{block}_add")
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, layers.Dense(outputs, activation="softmax", name="outputs")(x), name=name)


def _conv_bn(x, filters: int, kernel_size: int, strides: int, name: str, l2: float, relu: bool = True):
    """Convolution (no bias), batch normalisation, optionally relu."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x


def build_resnet_v1(input_shape: Sequence[int], outputs: int, *, depth: int = 20, width: int = 16,
                    plain: bool = False, l2: float = 1e-4, flip: bool = True, shift: float = 0.125,
                    name: str = "resnet20") -> keras.Model:
    """He et al.'s CIFAR ResNet (depth 6n+2: 20, 32, 44, ...): three stages of n basic blocks.

    Stages have `width`, 2x and 4x filters; the first block of stages 2 and 3 downsamples with
    stride 2 and its shortcut is a strided 1x1 projection. Global average pooling, softmax.
    `plain=True` drops the shortcuts (the plain network of the same depth).
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n+2 (8, 14, 20, 32, ...), got {depth}")
    per_stage = (depth - 2) // 6
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    x = _conv_bn(x, width, 3, 1, "stem", l2)
    for stage in range(3):
        filters = width * 2 ** stage
        for block in range(per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            prefix = f"stage_{stage + 1}_block_{block + 1}"
            y = _conv_bn(x, filters, 3, strides, f"{prefix}_a", l2)
            y = _conv_bn(y, filters, 3, 1, f"{prefix}_b", l2, relu=False)
            if not plain:
                shortcut = x if strides == 1 and x.shape[-1] == filters else \
                    _conv_bn(x, filters, 1, strides, f"{prefix}_projection", l2, relu=False)
                y = layers.add([shortcut, y], name=f"{prefix}_add")
            x = layers.Activation("relu", name=f"{prefix}_out")(y)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(outputs, activation="softmax", name="outputs")(x), name=name)
