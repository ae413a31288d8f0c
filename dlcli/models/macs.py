"""Multiply-accumulates per sample, counted analytically layer by layer.

Counted: the weight products of Conv2D, Conv2DTranspose, DepthwiseConv2D, Dense and GroupConv (kernel size x
input channels per group x output positions x output channels); an LSTM's four gates at every
time step; a MultiHeadAttention's projections and its two products over (query, key) pairs, the
keys as long as the queries (self-attention; the course's translator has 20 positions on both
sides). Not counted: biases, batch and layer normalisation, activations, pooling, additions, the
softmax and the LSTM's element-wise gate arithmetic (each a few operations per value), and
embedding look-ups. A training step costs about 3x the forward pass (the backward pass computes
two products per forward one).
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers

from dlcli.models.mobilenet import GroupConv


def layer_macs(layer, input_shape: Sequence[int | None], output_shape: Sequence[int | None]) -> int:
    """Multiply-accumulates of one call of `layer` on one sample (shapes with the batch axis)."""
    positions = math.prod(output_shape[1:-1])
    if hasattr(layer, "macs"):  # a layer that knows its own (the translator's shared embedding)
        return layer.macs(input_shape, output_shape)
    if isinstance(layer, layers.Conv2DTranspose):  # every input position spreads its kernel
        return math.prod(input_shape[1:-1]) * math.prod(layer.kernel_size) * input_shape[-1] * output_shape[-1]
    if isinstance(layer, layers.DepthwiseConv2D):
        return positions * output_shape[-1] * math.prod(layer.kernel_size)
    if isinstance(layer, layers.Conv2D):
        return positions * output_shape[-1] * math.prod(layer.kernel_size) * input_shape[-1] // layer.groups
    if isinstance(layer, layers.Dense):
        return positions * output_shape[-1] * input_shape[-1]
    if isinstance(layer, GroupConv):
        return positions * layer.filters * input_shape[-1] // layer.groups
    if isinstance(layer, layers.LSTM):
        return input_shape[-2] * 4 * layer.units * (input_shape[-1] + layer.units)
    if isinstance(layer, layers.MultiHeadAttention):
        return attention_macs(layer, input_shape)
    if not layer.weights:  # no products with weights (pooling, embeddings' positions, text vectorisation)
        return 0
    inner = list(layer._flatten_layers(include_self=False, recursive=False))
    return chain_macs(inner, input_shape)[0] if inner else 0


def attention_macs(layer: layers.MultiHeadAttention, query_shape: Sequence[int | None]) -> int:
    """Self-attention over `query_shape` (batch, positions, features): the query, key and value
    projections, the scores and the weighted sum over every (query, key) pair, the output projection."""
    positions, features = math.prod(query_shape[1:-1]), query_shape[-1]
    heads, key_dim = layer.num_heads, layer.key_dim
    value_dim = layer.value_dim or key_dim
    projections = positions * features * heads * (2 * key_dim + value_dim)
    pairs = positions * positions * heads * (key_dim + value_dim)
    return projections + pairs + positions * heads * value_dim * features


def chain_macs(chain: Sequence, input_shape: Sequence[int | None]) -> tuple[int, tuple]:
    """Multiply-accumulates of layers applied one after the other; returns (total, output shape)."""
    total, shape = 0, tuple(input_shape)
    for layer in chain:
        if isinstance(layer, layers.InputLayer):  # a Sequential's own input
            continue
        attention = isinstance(layer, layers.MultiHeadAttention)  # self-attention: values are the queries
        output_shape = tuple(layer.compute_output_shape(shape, shape) if attention else layer.compute_output_shape(shape))
        total += layer_macs(layer, shape, output_shape)
        shape = output_shape
    return total, shape


def count_macs(model: keras.Model, input_shape: Sequence[int] | None = None) -> int:
    """Multiply-accumulates per sample (image, sequence, sentence) of a built model.

    A functional model is walked node by node (nested models recursively); where its input has
    a free length (the Transformer classifier's word sequences), `input_shape` (without the batch
    axis) fixes it on a clone. A subclassed model is read as the chain of its layers in order,
    from `input_shape`, as the course's ResNet calls them.
    """
    if not getattr(model, "_is_graph_network", False) and not hasattr(model, "_operations"):
        if input_shape is None:
            raise ValueError("a subclassed model needs its input_shape to count multiply-accumulates")
        return chain_macs(model.layers, (None, *input_shape))[0]
    if any(d is None for t in model.inputs for d in t.shape[1:]):
        if input_shape is None:
            raise ValueError(f"{model.name} takes inputs of any length: give input_shape to count multiply-accumulates")
        fixed = keras.tree.map_structure(lambda t: keras.Input(shape=tuple(input_shape), dtype=t.dtype), model.input)
        model = keras.models.clone_model(model, input_tensors=fixed)
    total = 0
    for nodes in model._nodes_by_depth.values():  # every call, so a layer used twice counts twice
        for node in nodes:
            operation = node.operation
            if isinstance(operation, keras.Model):
                total += count_macs(operation, tuple(_first(node.input_tensors).shape[1:]))
            elif isinstance(operation, layers.Layer) and not isinstance(operation, layers.InputLayer):
                total += layer_macs(operation, _first(node.input_tensors).shape, _first(node.output_tensors).shape)
    return total


def _first(tensors):
    """The first input of a layer that takes several (Add), else the input itself."""
    return tensors[0] if isinstance(tensors, (list, tuple)) else tensors
