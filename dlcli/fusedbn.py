"""Batch normalisation through TensorFlow's fused kernel, for the layers Keras computes op by op.

Keras 3 computes `BatchNormalization` as separate ops (the moments, then the normalisation, with
casts to float32 around a bfloat16 input). TensorFlow's `FusedBatchNormV3` does the same work in
one kernel and its gradient in another, which matters for the towers where batch normalisation
is a large part of the work (MobileNet, ShuffleNet, ResNet; `bench/bench_fused_bn.py` measures it
on whole models, docs/precision.md).

`fuse(model)` points each eligible `BatchNormalization` layer of a model (nested ones too) at the
fused kernel. The layer keeps its class, weights and config: a model file saved afterwards is
the same as without it and loads anywhere. The function is Keras': in training, the batch's
biased mean and variance normalise, and the moving statistics move toward them by the layer's
`momentum`; in inference, the moving statistics normalise. What the fused kernel cannot do
(a mask, inputs that are not 4-D, an axis other than the last, synchronised or renormalising
layers, an epsilon below the kernel's minimum) goes through Keras' own computation.
"""

from __future__ import annotations

import types

import keras

MIN_EPSILON = 1.001e-5  # the fused kernel's floor (TensorFlow raises epsilon below it)


def eligible(layer) -> bool:
    """Whether `layer` is a plain BatchNormalization the fused kernel computes exactly."""
    return (type(layer) is keras.layers.BatchNormalization and layer.axis in (-1, 3)
            and not layer.synchronized and not getattr(layer, "renorm", False) and layer.epsilon >= MIN_EPSILON)


def fuse(model) -> int:
    """Route the model's eligible BatchNormalization layers through the fused kernel (TensorFlow
    backend only; a no-op elsewhere and for layers already routed). Returns how many were."""
    if keras.backend.backend() != "tensorflow":
        return 0
    routed = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if eligible(layer) and "call" not in vars(layer):
            layer.call = types.MethodType(_fused_call, layer)
            routed += 1
    return routed


def _fused_call(self, inputs, training=None, mask=None):
    import tensorflow as tf

    if mask is not None or len(inputs.shape) != 4:
        return type(self).call(self, inputs, training=training, mask=mask)
    x = inputs if inputs.dtype in (tf.float32, tf.bfloat16, tf.float16) else tf.cast(inputs, "float32")
    channels = x.shape[-1]
    scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones((channels,), "float32")
    offset = tf.cast(self.beta, "float32") if self.center else tf.zeros((channels,), "float32")
    moving_mean, moving_variance = (tf.cast(v, "float32") for v in (self.moving_mean, self.moving_variance))
    if training and self.trainable:
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, scale, offset, epsilon=self.epsilon,
                                                            is_training=True)
        # the kernel returns the batch's variance with Bessel's correction; Keras keeps the biased one
        count = tf.cast(tf.size(x) // channels, "float32")
        variance = variance * tf.maximum(count - 1.0, 1.0) / count
        self.moving_mean.assign(tf.cast(moving_mean * self.momentum + mean * (1.0 - self.momentum),
                                        self.moving_mean.dtype))
        self.moving_variance.assign(tf.cast(moving_variance * self.momentum + variance * (1.0 - self.momentum),
                                            self.moving_variance.dtype))
    else:
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, scale, offset, mean=moving_mean, variance=moving_variance,
                                                  epsilon=self.epsilon, is_training=False)
    return tf.cast(y, self.compute_dtype)
