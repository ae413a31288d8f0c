"""Fully connected networks: the course's MNIST, IMDB, Reuters, Boston and XOR models."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers


def build_dense(input_shape: Sequence[int], outputs: int, *, units: Sequence[int] = (512,),
                activation: str = "relu", output_activation: str | None = "softmax",
                dropout: float = 0.0, l2: float = 0.0, name: str = "dense") -> keras.Model:
    """A stack of Dense layers, each optionally with L2 weight decay and followed by dropout.

    With the defaults this is the course's MNIST network (Dense 512 relu, Dense 10 softmax); the
    IMDB network is `units=(16, 16), output_activation="sigmoid"`, Reuters `units=(64, 64)`,
    Boston `units=(64, 64), output_activation=None`.
    """
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, width in enumerate(units, start=1):
        x = layers.Dense(width, activation=activation, kernel_regularizer=regularizer, name=f"hidden_{index}")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name=f"dropout_{index}")(x)
    outputs_tensor = layers.Dense(outputs, activation=output_activation, name="outputs")(x)
    return keras.Model(inputs, outputs_tensor, name=name)
