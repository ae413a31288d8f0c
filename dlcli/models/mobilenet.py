"""Towers of the course's efficient blocks: MobileNetV2 inverted residual, ShuffleNet, ConvNeXt.

Each tower is the course's: a 1x1 stem to `trunk` channels, `blocks` blocks that keep the trunk's
shape (so each adds its input back), then Flatten and softmax. `expand` is the width inside a
block (course: 96 = 6 x 16 for MobileNet and ShuffleNet; ConvNeXt's MLP is 4 x trunk). With
`stages`, the papers' CIFAR shape instead: strided stages that double the channels, pooled.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from dlcli.choices import MOBILENET_BLOCKS as BLOCKS, mobilenet_expand
from dlcli.models.convnets import augmentation


@keras.saving.register_keras_serializable(package="dlcli")
class ChannelShuffle(layers.Layer):
    """ShuffleNet's channel shuffle: view channels as (groups, channels/groups), transpose, flatten back."""

    def __init__(self, groups: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def call(self, inputs):
        height, width, channels = inputs.shape[1:]
        x = keras.ops.reshape(inputs, (-1, height, width, self.groups, channels // self.groups))
        x = keras.ops.transpose(x, (0, 1, 2, 4, 3))
        return keras.ops.reshape(x, (-1, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@keras.saving.register_keras_serializable(package="dlcli")
class GroupConv(layers.Layer):
    """A 1x1 group convolution: channels split into `groups`, each mapped by its own 1x1 kernel.

    The same function as the course's slices, Conv2Ds and Concatenate, computed as one 1x1
    convolution by the block-diagonal kernel that the groups' kernels make (zeros between them):
    `groups` times the multiply-adds of the grouped convolution (MACs are counted as grouped),
    but one oneDNN convolution, faster to train here than the einsum over groups it replaces
    (docs/precision.md; and Conv2D(groups=...) has no CPU kernel in TensorFlow). The weights keep
    their grouped shape.
    """

    def __init__(self, filters: int, groups: int = 4, use_bias: bool = True, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.groups = groups
        self.use_bias = use_bias
        self.l2 = l2

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups or self.filters % self.groups:
            raise ValueError(f"GroupConv: {channels} input and {self.filters} output channels "
                             f"must both divide into {self.groups} groups")
        self.kernel = self.add_weight(
            name="kernel", shape=(self.groups, channels // self.groups, self.filters // self.groups),
            initializer="glorot_uniform", regularizer=keras.regularizers.L2(self.l2) if self.l2 else None)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None

    def call(self, inputs):
        groups, group_in, _ = self.kernel.shape
        eye = keras.ops.eye(groups, dtype=self.kernel.dtype)
        full = keras.ops.reshape(keras.ops.einsum("gio,gh->giho", self.kernel, eye), (1, 1, groups * group_in, self.filters))
        x = keras.ops.conv(inputs, keras.ops.cast(full, inputs.dtype))
        return x + keras.ops.cast(self.bias, x.dtype) if self.use_bias else x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "use_bias": self.use_bias, "l2": self.l2}


def _l2(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def inverted_residual_block(x, expand: int, name: str, l2: float = 1e-4, strides: int = 1, width: int | None = None, **_):
    """MobileNetV2: 1x1 expand, BN, relu, 3x3 depthwise, BN, relu, 1x1 squeeze back to the trunk, BN, add.
    With `strides` 2 (and a new `width`) it is the downsampling block: no add."""
    m = layers.Conv2D(expand, 1, use_bias=False, kernel_regularizer=_l2(l2), name=f"{name}_expand")(x)
    m = layers.BatchNormalization(name=f"{name}_expand_bn")(m)
    m = layers.Activation("relu", name=f"{name}_expand_relu")(m)
    m = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, depthwise_regularizer=_l2(l2),
                               name=f"{name}_depthwise")(m)
    m = layers.BatchNormalization(name=f"{name}_depthwise_bn")(m)
    m = layers.Activation("relu", name=f"{name}_depthwise_relu")(m)
    m = layers.Conv2D(width or x.shape[-1], 1, use_bias=False, kernel_regularizer=_l2(l2), name=f"{name}_squeeze")(m)
    m = layers.BatchNormalization(name=f"{name}_squeeze_bn")(m)
    return m if strides > 1 else layers.Add(name=f"{name}_add")([m, x])


def _shuffle_branch(x, expand: int, outputs: int, name: str, groups: int, l2: float, strides: int = 1):
    """ShuffleNet's branch: 1x1 group conv, BN, relu, channel shuffle, 3x3 depthwise, BN, 1x1 group conv, BN."""
    m = GroupConv(expand, groups, l2=l2, name=f"{name}_gconv_1")(x)
    m = layers.BatchNormalization(name=f"{name}_gconv_1_bn")(m)
    m = layers.ReLU(name=f"{name}_gconv_1_relu")(m)
    m = ChannelShuffle(groups, name=f"{name}_shuffle")(m)
    m = layers.DepthwiseConv2D(3, strides=strides, padding="same", name=f"{name}_depthwise")(m)
    m = layers.BatchNormalization(name=f"{name}_depthwise_bn")(m)
    m = GroupConv(outputs, groups, l2=l2, name=f"{name}_gconv_2")(m)
    return layers.BatchNormalization(name=f"{name}_gconv_2_bn")(m)


def shufflenet_block(x, expand: int, name: str, groups: int = 4, l2: float = 1e-4, **_):
    """ShuffleNet: its branch (group conv, shuffle, depthwise, group conv) added to the input, relu."""
    m = _shuffle_branch(x, expand, x.shape[-1], name, groups, l2)
    m = layers.Add(name=f"{name}_add")([x, m])
    return layers.ReLU(name=f"{name}_relu")(m)


def convnext_block(x, expand: int, name: str, **_):
    """ConvNeXt (v1, as the course writes it): 7x7 depthwise, layer norm, 1x1 to `expand` with GELU,
    1x1 back to the trunk, add, then the course's batch normalisation."""
    trunk = x.shape[-1]
    m = layers.DepthwiseConv2D(7, padding="same", use_bias=False, name=f"{name}_depthwise")(x)
    m = layers.LayerNormalization(name=f"{name}_norm")(m)
    m = layers.Conv2D(expand, 1, padding="same", activation="gelu", name=f"{name}_mlp_expand")(m)
    m = layers.Conv2D(trunk, 1, padding="same", name=f"{name}_mlp_squeeze")(m)
    m = layers.add([m, x], name=f"{name}_add")
    return layers.BatchNormalization(name=f"{name}_bn")(m)


BLOCK_FUNCTIONS = {"mobilenet": inverted_residual_block, "shufflenet": shufflenet_block, "convnext": convnext_block}


def downsample(x, block: str, width: int, expand: int, name: str, groups: int = 4, l2: float = 1e-4):
    """Each block family's own way to halve the resolution and widen the trunk to `width`.

    MobileNetV2: its inverted residual with a stride-2 depthwise and no shortcut. ShuffleNet: its
    stride-2 unit, a 3x3 average pooling of the input concatenated with a stride-2 branch that
    adds `width - channels` channels. ConvNeXt: layer norm, then a 2x2 convolution of stride 2.
    """
    if block == "convnext":
        x = layers.LayerNormalization(name=f"{name}_norm")(x)
        return layers.Conv2D(width, 2, strides=2, name=f"{name}_conv")(x)
    if block == "mobilenet":
        return inverted_residual_block(x, expand, name, l2=l2, strides=2, width=width)
    m = _shuffle_branch(x, expand, width - x.shape[-1], name, groups, l2, strides=2)
    shortcut = layers.AveragePooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.ReLU(name=f"{name}_relu")(layers.Concatenate(name=f"{name}_concat")([shortcut, m]))


def stage_widths(trunk: int, expand: int, stages: int) -> list[tuple[int, int]]:
    """(trunk, expand) of each stage: both double at every stage; ShuffleNet's expand stays a
    multiple of its groups because the first one is."""
    return [(trunk * 2 ** stage, expand * 2 ** stage) for stage in range(stages)]


def build_mobile_tower(input_shape: Sequence[int], outputs: int, *, block: str = "mobilenet", blocks: int = 5,
                       trunk: int = 16, expand: int | None = None, groups: int = 4, l2: float = 1e-4,
                       stages: int = 1, flip: bool = False, shift: float = 0.0, name: str | None = None) -> keras.Model:
    """A tower of `blocks` blocks of kind `block` on a `trunk`-channel stem, then softmax.

    `stages=1` is the course's tower: a 1x1 stem (Conv 1x1 relu; for ShuffleNet Conv 1x1, BN, relu
    with L2), the blocks at the input's resolution, Flatten. `stages > 1` is the CIFAR shape of
    the papers: a 3x3 stem, then `stages` stages of `blocks` blocks, each stage after the first
    opened by the family's downsampling (half the resolution, twice the channels), and global
    average pooling instead of Flatten.
    """
    expand = expand or mobilenet_expand(block, trunk)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = augmentation(inputs, flip=flip, shift=shift)
    stem = 1 if stages == 1 else 3
    if block == "shufflenet":
        x = layers.Conv2D(trunk, stem, padding="same", kernel_regularizer=_l2(l2), name="stem")(x)
        x = layers.BatchNormalization(name="stem_bn")(x)
        x = layers.ReLU(name="stem_relu")(x)
    else:
        x = layers.Conv2D(trunk, stem, activation="relu", padding="same", name="stem")(x)
    make_block = BLOCK_FUNCTIONS[block]
    for stage, (width, inside) in enumerate(stage_widths(trunk, expand, stages), 1):
        prefix = "block" if stages == 1 else f"stage_{stage}_block"
        if stage > 1:
            x = downsample(x, block, width, inside, name=f"stage_{stage}_down", groups=groups, l2=l2)
        for index in range(1, blocks + 1):
            x = make_block(x, inside, name=f"{prefix}_{index}", groups=groups, l2=l2)
    x = layers.Flatten(name="flatten")(x) if stages == 1 else layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(outputs, activation="softmax", name="outputs")(x),
                       name=name or f"{block}_tower")
