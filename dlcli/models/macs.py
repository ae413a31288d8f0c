"""Multiply-accumulates per image, counted analytically layer by layer.

Counted: the weight products of Conv2D, DepthwiseConv2D, Dense and GroupConv (kernel size x
input channels per group x output positions x output channels). Not counted: biases, batch
and layer normalisation, activations, pooling, additions (each at most one operation per value).
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers

from dlcli.models.mobilenet import GroupConv


def layer_macs(layer, input_shape: Sequence[int | None], output_shape: Sequence[int | None]) -> int:
    """Multiply-accumulates of one call of `layer` on one image (shapes with the batch axis)."""
    positions = math.prod(output_shape[1:-1])
    if isinstance(layer, layers.DepthwiseConv2D):
        return positions * output_shape[-1] * math.prod(layer.kernel_size)
    if isinstance(layer, layers.Conv2D):
        return positions * output_shape[-1] * math.prod(layer.kernel_size) * input_shape[-1] // layer.groups
    if isinstance(layer, layers.Dense):
        return positions * output_shape[-1] * input_shape[-1]
    if isinstance(layer, GroupConv):
        return positions * layer.filters * input_shape[-1] // layer.groups
    inner = list(layer._flatten_layers(include_self=False, recursive=False))
    return chain_macs(inner, input_shape)[0] if inner else 0


def chain_macs(chain: Sequence, input_shape: Sequence[int | None]) -> tuple[int, tuple]:
    """Multiply-accumulates of layers applied one after the other; returns (total, output shape)."""
    total, shape = 0, tuple(input_shape)
    for layer in chain:
        output_shape = tuple(layer.compute_output_shape(shape))
        total += layer_macs(layer, shape, output_shape)
        shape = output_shape
    return total, shape


def count_macs(model: keras.Model, input_shape: Sequence[int] | None = None) -> int:
    """Multiply-accumulates per image of a built model.

    A functional model is walked node by node (nested models recursively); a subclassed model is
    read as the chain of its layers in order, from `input_shape` (without the batch axis), as
    the course's ResNet calls them.
    """
    if not getattr(model, "_is_graph_network", False) and not hasattr(model, "_operations"):
        if input_shape is None:
            raise ValueError("a subclassed model needs its input_shape to count multiply-accumulates")
        return chain_macs(model.layers, (None, *input_shape))[0]
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_macs(layer)
        elif not isinstance(layer, layers.InputLayer):
            total += layer_macs(layer, _first(layer.input).shape, layer.output.shape)
    return total


def _first(tensors):
    """The first input of a layer that takes several (Add), else the input itself."""
    return tensors[0] if isinstance(tensors, (list, tuple)) else tensors
