"""Go networks with the course's two heads, for the 31 input planes of `dlcli.go.features`.

Every tower ends in the course's policy head (1x1 convolution, flatten, softmax named `policy`)
and value head (global average pooling, Dense 50 relu, Dense 1 sigmoid named `value`: the
probability that White wins), with the course's L2 of 0.0001. `value_head="relative"` keeps that
output but reads the trunk from the side to move's point of view, as the planes are written: the
last Dense gives the mover's advantage (a logit), and a fixed layer turns it round when Black is
to move (plane 0), so what the trunk learns for one colour serves the other. Only built-in layers are used,
so the models save to the course's .h5 exchange format and reload with `compile=False`.
"""

from __future__ import annotations

import keras
from keras import layers, regularizers

from dlcli.choices import GO_VALUE_HEADS as VALUE_HEADS

GO_INPUT = (19, 19, 31)
L2 = 0.0001
MAX_PARAMS = 100_000  # the course's limit: networks must have fewer parameters than this


def _l2():
    return regularizers.l2(L2)


def go_heads(x, board_input, points: int, name: str, value_head: str = "course") -> keras.Model:
    """The course's policy and value heads on top of the trunk `x` (see VALUE_HEADS)."""
    policy = layers.Conv2D(1, 1, activation="relu", padding="same", use_bias=False, kernel_regularizer=_l2())(x)
    policy = layers.Flatten()(policy)
    policy = layers.Activation("softmax", name="policy", dtype="float32")(policy)  # float32 under mixed precision
    value = layers.GlobalAveragePooling2D()(x)
    value = layers.Dense(50, activation="relu", kernel_regularizer=_l2())(value)
    if value_head == "course":
        value = layers.Dense(1, activation="sigmoid", name="value", kernel_regularizer=_l2(), dtype="float32")(value)
    elif value_head == "relative":
        value = _white_wins(layers.Dense(1, kernel_regularizer=_l2(), dtype="float32")(value), board_input)
    else:
        raise ValueError(f"unknown value head {value_head!r}; choose one of {', '.join(VALUE_HEADS)}")
    del points  # the policy size follows from the board: rows * cols of the trunk
    return keras.Model(inputs=board_input, outputs=[policy, value], name=name)


def _white_wins(mover_logit, board_input):
    """sigmoid(+logit) when White is to move, sigmoid(-logit) when Black is (plane 0 all ones):
    the sign 1 - 2 * mean(plane 0) comes from a fixed Dense layer, so only built-in layers are used."""
    import numpy as np

    colours = layers.GlobalAveragePooling2D(dtype="float32")(board_input)
    turn = layers.Dense(1, trainable=False, dtype="float32", name="value_turn")
    sign = turn(colours)
    kernel = np.zeros((board_input.shape[-1], 1), dtype="float32")
    kernel[0, 0] = -2.0
    turn.set_weights([kernel, np.ones(1, dtype="float32")])
    flipped = layers.Multiply(dtype="float32")([mover_logit, sign])
    return layers.Activation("sigmoid", name="value", dtype="float32")(flipped)


def _stem(input_shape, filters: int, *, batch_norm: bool):
    board = keras.Input(shape=input_shape, name="board")
    x = layers.Conv2D(filters, 1, padding="same", use_bias=not batch_norm, kernel_regularizer=_l2())(board)
    if batch_norm:
        x = layers.BatchNormalization()(x)
    return board, layers.ReLU()(x)


def build_go_baseline(input_shape=GO_INPUT, outputs: int = 361, *, filters: int = 32, blocks: int = 5,
                      value_head: str = "course") -> keras.Model:
    """golois.py's example: a 1x1 convolution then five 3x3 convolutions of 32 filters."""
    board, x = _stem(input_shape, filters, batch_norm=False)
    for _ in range(blocks):
        x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    return go_heads(x, board, outputs, "go_baseline", value_head)


def build_go_residual(input_shape=GO_INPUT, outputs: int = 361, *, filters: int = 32, blocks: int = 4,
                      value_head: str = "course") -> keras.Model:
    """A residual tower (He et al.): blocks of two 3x3 convolutions with batch norm and a skip."""
    board, x = _stem(input_shape, filters, batch_norm=True)
    for _ in range(blocks):
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=_l2())(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=_l2())(y)
        y = layers.BatchNormalization()(y)
        x = layers.ReLU()(layers.Add()([x, y]))
    return go_heads(x, board, outputs, "go_residual", value_head)


def inverted_residual(x, expand: int, trunk: int):
    """The course's MobileNet v2 block: 1x1 expand, 3x3 depthwise, 1x1 squeeze, add."""
    m = layers.Conv2D(expand, 1, use_bias=False, kernel_regularizer=_l2())(x)
    m = layers.ReLU()(layers.BatchNormalization()(m))
    m = layers.DepthwiseConv2D(3, padding="same", use_bias=False, depthwise_regularizer=_l2())(m)
    m = layers.ReLU()(layers.BatchNormalization()(m))
    m = layers.Conv2D(trunk, 1, use_bias=False, kernel_regularizer=_l2())(m)
    m = layers.BatchNormalization()(m)
    return layers.Add()([m, x])


def build_go_mobilenet(input_shape=GO_INPUT, outputs: int = 361, *, filters: int = 32, blocks: int = 5,
                       value_head: str = "course", expansion: int = 6) -> keras.Model:
    """A MobileNet v2 tower (the family that won the course's tournaments): a trunk of `filters`
    planes, inverted residual blocks expanding to `expansion * filters`."""
    board, x = _stem(input_shape, filters, batch_norm=True)
    for _ in range(blocks):
        x = inverted_residual(x, expansion * filters, filters)
    return go_heads(x, board, outputs, "go_mobilenet", value_head)


def build_go_convnext(input_shape=GO_INPUT, outputs: int = 361, *, filters: int = 32, blocks: int = 7,
                      value_head: str = "course", expansion: int = 4) -> keras.Model:
    """The course's ConvNeXt v1 block: 7x7 depthwise, layer norm, 1x1 expand with GELU, 1x1 back, add."""
    board, x = _stem(input_shape, filters, batch_norm=True)
    for _ in range(blocks):
        y = layers.DepthwiseConv2D(7, padding="same", use_bias=False)(x)
        y = layers.LayerNormalization()(y)
        y = layers.Conv2D(expansion * filters, 1, padding="same", activation="gelu")(y)
        y = layers.Conv2D(filters, 1, padding="same")(y)
        x = layers.BatchNormalization()(layers.Add()([y, x]))
    return go_heads(x, board, outputs, "go_convnext", value_head)


def policy_head_dead(history: dict[str, list[float]], points: int, tolerance: float = 1e-3) -> bool:
    """Whether the policy learnt nothing in any epoch: its training loss stayed at ln(points), the
    loss of a flat softmax. The course's head has a ReLU before the softmax; once the 1x1 convolution
    is negative everywhere every logit is 0 and no gradient reaches it again (docs/go.md)."""
    import math

    losses = history.get("policy_loss") or []
    return bool(losses) and all(abs(loss - math.log(points)) < tolerance for loss in losses)


GO_BUILDERS = {"baseline": build_go_baseline, "residual": build_go_residual,
               "mobilenet": build_go_mobilenet, "convnext": build_go_convnext}


def compile_go(model: keras.Model, *, optimizer: str = "adam", learning_rate=0.001, policy_weight: float = 1.0,
               value_weight: float = 1.0) -> keras.Model:
    """The course's losses (categorical cross-entropy for the policy, binary cross-entropy for
    the value) and metrics (policy accuracy, value MSE); `learning_rate` may be a schedule."""
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}}),
                  loss={"policy": "categorical_crossentropy", "value": "binary_crossentropy"},
                  loss_weights={"policy": policy_weight, "value": value_weight},
                  metrics={"policy": [keras.metrics.CategoricalAccuracy(name="accuracy")],
                           "value": [keras.metrics.MeanSquaredError(name="mse")]})
    return model


def value_head_layers(model: keras.Model) -> list:
    """The layers with weights between the trunk and the `value` output (the course's Dense 50
    and Dense 1; with the relative head also its fixed turn layer), found by walking back from the
    output through layers with weights and the relative head's Multiply, to the pooling layers."""
    found, todo = [], [model.get_layer("value")]
    while todo:
        layer = todo.pop()
        if layer.weights:
            found.append(layer)
        elif layer.name != "value" and not isinstance(layer, layers.Multiply):
            continue  # the pooling: the trunk (or the board) starts here
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        todo += [tensor._keras_history.operation for tensor in inputs]
    return found


def copy_weights(model: keras.Model, source: keras.Model, *, fresh_value_head: bool = False) -> None:
    """Copy `source`'s weights into `model` (the same architecture); with `fresh_value_head`, all
    but the value head's, which keeps `model`'s own (so the two value heads may differ in kind: a
    course head's trunk can start a relative head). ValueError when the layers do not match."""
    if not fresh_value_head:
        if [tuple(w.shape) for w in source.get_weights()] != [tuple(w.shape) for w in model.get_weights()]:
            raise ValueError("the networks' weights differ in shape")
        model.set_weights(source.get_weights())
        return

    def body(net):
        head = {id(layer) for layer in value_head_layers(net)}
        return [layer for layer in net.layers if layer.weights and id(layer) not in head]

    mine, theirs = body(model), body(source)
    if len(mine) != len(theirs) or any([w.shape for w in new.weights] != [w.shape for w in old.weights]
                                       for new, old in zip(mine, theirs)):
        raise ValueError("the networks' trunks differ")
    for new, old in zip(mine, theirs):
        new.set_weights(old.get_weights())


def head_names(model: keras.Model) -> list[str]:
    """The names of a model's outputs (the layers producing them: robust to .h5 reloading)."""
    return [output._keras_history.operation.name for output in model.outputs]


def describe(model: keras.Model, max_params: int = MAX_PARAMS) -> dict:
    """What the course's rules look at in a network: parameters, input, heads; and what breaks them."""
    names = head_names(model)
    shapes = [list(output.shape[1:]) for output in model.outputs]
    inputs = [list(tensor.shape[1:]) for tensor in model.inputs]
    problems = []
    if model.count_params() >= max_params:
        problems.append(f"{model.count_params():,} parameters, the limit is under {max_params:,}")
    if inputs != [list(GO_INPUT)]:
        problems.append(f"input {inputs} instead of {list(GO_INPUT)}")
    heads = dict(zip(names, shapes))
    if heads.get("policy") != [361]:
        problems.append("no 'policy' output of 361 moves")
    if heads.get("value") != [1]:
        problems.append("no 'value' output of 1")
    return {"name": model.name, "parameters": int(model.count_params()),
            "trainable_parameters": int(sum(keras.ops.size(w) for w in model.trainable_weights)),
            "input_shape": inputs[0] if len(inputs) == 1 else inputs, "heads": names, "output_shapes": shapes,
            "layers": len(model.layers), "fits_course_rules": not problems, "problems": problems}
