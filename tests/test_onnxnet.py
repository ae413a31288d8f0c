"""The ONNX export and its int8 twin (`dlcli.onnxnet`): every tower of the Go zoo and the layer
settings the export translates give Keras' outputs; what it cannot translate falls back; the int8
twin stays close to float32 and the engines' evaluator calls it."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from dlcli import onnxnet  # noqa: E402
from dlcli.models import gonets  # noqa: E402


def planes(count: int, seed: int = 0) -> np.ndarray:
    x = (np.random.default_rng(seed).random((count, 19, 19, 31)) < 0.3).astype(np.float32)
    x[: count // 2, :, :, 0] = 1  # Black to move in half of them (the relative value head reads plane 0)
    return x


def with_running_statistics(model, seed: int = 0):
    """Batch norms whose moving mean and variance are not the initial 0 and 1, so that the export's
    use of them shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.3, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype("float32"))
    return model


def keras_outputs(model, x):
    return [np.asarray(output) for output in model(x, training=False)]


@pytest.mark.parametrize("tower", sorted(gonets.GO_BUILDERS))
@pytest.mark.parametrize("value_head", ["course", "relative"])
def test_every_go_tower_exports_to_the_same_outputs(tower, value_head):
    model = with_running_statistics(gonets.GO_BUILDERS[tower](filters=8, blocks=1, value_head=value_head))
    x = planes(6)
    exported = onnxnet.network(model)
    assert exported is not None and exported.precision == "float32"
    for ours, theirs in zip(exported(x), keras_outputs(model, x)):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=2e-5, rtol=1e-4)


def test_strides_dilations_groups_multipliers_and_the_other_layers_export_exactly():
    inputs = keras.Input((9, 9, 4))
    a = keras.layers.Conv2D(6, 4, strides=2, padding="same", activation="swish")(inputs)    # even kernel, stride 2
    b = keras.layers.Conv2D(6, 3, dilation_rate=2, padding="same", activation="tanh")(inputs)
    b = keras.layers.Conv2D(6, 3, strides=2, padding="same", groups=2, activation="gelu")(b)
    c = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=True)(inputs)
    c = keras.layers.Conv2D(6, 2, strides=2, padding="same")(keras.layers.ReLU(max_value=0.5)(c))
    x = keras.layers.Concatenate()([a, keras.layers.Multiply()([b, c])])
    x = keras.layers.LayerNormalization()(keras.layers.Dropout(0.5)(x))
    x = keras.layers.BatchNormalization(center=False)(x)
    grid = keras.layers.Conv2D(3, 1, padding="valid")(x)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    flat = keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(keras.layers.Add()([x, pooled])))
    model = with_running_statistics(keras.Model(inputs, [flat, grid]), seed=3)
    x = np.random.default_rng(2).normal(size=(3, 9, 9, 4)).astype(np.float32)
    ours, theirs = onnxnet.network(model)(x), keras_outputs(model, x)
    assert [o.shape for o in ours] == [(3, 5), (3, 5, 5, 3)]
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, atol=2e-5, rtol=1e-4)


def test_a_layer_the_export_does_not_translate_leaves_the_network_to_tensorflow():
    inputs = keras.Input((8, 8, 2))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.MaxPooling2D()(inputs)))
    model = keras.Model(inputs, outputs)
    with pytest.raises(onnxnet.Unsupported, match="MaxPooling2D"):
        onnxnet.export(model)
    assert onnxnet.network(model) is None


def test_the_int8_twin_quantises_the_convolutions_and_stays_close_to_float32():
    model = with_running_statistics(gonets.build_go_residual(filters=16, blocks=2, value_head="relative"))
    x = planes(32, seed=4)
    twin = onnxnet.network(model, calibration=planes(64, seed=5))
    assert twin.precision == "int8"
    quantised = [node.op_type for node in twin.proto.graph.node]
    assert "QuantizeLinear" in quantised and "DequantizeLinear" in quantised
    (policy, value), (policy8, value8) = keras_outputs(model, x), twin(x)
    assert np.allclose(policy8.sum(axis=1), 1, atol=1e-4)
    assert np.abs(policy8 - policy).max() < 0.02 and np.abs(value8 - value).max() < 0.02
    assert not np.array_equal(policy8, policy)  # int8 arithmetic, not a float32 session


def test_the_engines_evaluator_calls_the_int8_twin_with_the_same_moves():
    from tests.test_go_search import stone_seeking_network

    from dlcli.go import mcts
    from dlcli.go.board import BLACK, WHITE, Board

    evaluator = mcts.NetworkEvaluator(stone_seeking_network(), symmetries=True, seed=0, precision="int8")
    assert evaluator.precision == "int8" and isinstance(evaluator._forward, onnxnet.OnnxNetwork)
    board = Board(19)
    board.play(board.point(2, 5), BLACK)
    board.play(board.point(15, 3), WHITE)
    policy, white = evaluator([board] * 8)
    assert set(np.argmax(policy, axis=1)) == {board.point(2, 5)}


def test_the_int8_twin_is_checked_against_float32_on_positions_it_was_not_calibrated_on(monkeypatch):
    from tests.test_go_search import stone_seeking_network

    from dlcli.go import mcts

    network = stone_seeking_network()
    seen = []
    real = onnxnet.OnnxNetwork.quantised
    monkeypatch.setattr(onnxnet.OnnxNetwork, "quantised", lambda self, planes: seen.append(len(planes)) or real(self, planes))
    evaluator = mcts.NetworkEvaluator(network, precision="int8")
    positions = 8 * 180 // 3  # the engines' calibration: 8 games of 180 moves, every third position kept
    check = evaluator.int8_check
    assert seen == [positions // 2] and check["positions"] == positions // 2
    assert 0 < check["same_top_move"] <= 1 and 0 <= check["mean_value_difference"] < 0.05
    assert mcts.NetworkEvaluator(network, precision="bfloat16").int8_check is None
    # an unfaithful twin shows: a check that compares the network with a network that answers otherwise
    def outputs(policy, value):
        ordered = [None, None]
        ordered[evaluator.policy_output], ordered[evaluator.value_output] = policy, value
        return ordered

    wrong = evaluator._compare(outputs(np.eye(361)[:4], np.zeros((4, 1))), outputs(np.eye(361)[[1, 1, 2, 3]], np.ones((4, 1))))
    assert wrong == {"positions": 4, "same_top_move": 0.75, "mean_value_difference": 1.0}


def test_self_play_calibration_positions_are_the_positions_of_games_that_fill_up():
    from dlcli.go import calibration

    def policy(x):
        return np.random.default_rng(int(x.sum())).random((len(x), 361))

    x = calibration.self_play_planes(policy, games=2, moves=30, every=3)
    assert x.shape == (20, 19, 19, 31) and x.dtype == np.float32
    stones = x[:, :, :, 11:13].sum(axis=(1, 2, 3))  # the current position: side to move's and opponent's
    assert list(stones[::2]) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]  # game 1, every third move, nothing captured yet
    assert set(np.unique(x[:, :, :, 0])) == {0.0, 1.0}  # both sides to move
    assert np.array_equal(x, calibration.self_play_planes(policy, games=2, moves=30, every=3))  # the same games again
