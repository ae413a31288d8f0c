"""`dlcli.training`'s optimizers: learning-rate schedules and momentum."""

from __future__ import annotations

import pytest

from dlcli import training


def rates(optimizer, steps):
    return [float(optimizer._learning_rate(step)) for step in steps]


def test_constant_keeps_keras_defaults_unless_given():
    assert float(training.make_optimizer("rmsprop").learning_rate) == pytest.approx(1e-3)
    optimizer = training.make_optimizer("sgd", 0.2, momentum=0.9)
    assert float(optimizer.learning_rate) == pytest.approx(0.2) and float(optimizer.momentum) == pytest.approx(0.9)


def test_cosine_falls_from_the_rate_to_zero():
    optimizer = training.make_optimizer("adam", 0.01, schedule="cosine", total_steps=100)
    assert rates(optimizer, [0, 50, 100]) == pytest.approx([0.01, 0.005, 0.0], abs=1e-7)


def test_one_cycle_climbs_for_30_percent_then_falls_to_zero():
    optimizer = training.make_optimizer("sgd", 0.1, schedule="one-cycle", total_steps=200, momentum=0.9)
    start, middle_climb, peak, middle_fall, end = rates(optimizer, [0, 30, 60, 130, 200])
    assert start == pytest.approx(0.1 / 25) and peak == pytest.approx(0.1)
    assert middle_climb == pytest.approx((0.1 / 25 + 0.1) / 2, rel=1e-4)  # linear warm-up
    assert middle_fall == pytest.approx(0.05, rel=1e-4) and end == pytest.approx(0.0, abs=1e-7)


def test_the_default_rate_follows_a_schedule_too():
    optimizer = training.make_optimizer("adam", schedule="cosine", total_steps=10)
    assert rates(optimizer, [0]) == pytest.approx([1e-3])


def test_momentum_is_refused_by_an_optimizer_without_one():
    with pytest.raises(ValueError, match="adam optimizer takes no momentum"):
        training.make_optimizer("adam", momentum=0.9)


def test_tf2_rmsprop_changes_only_rmsprop_s_epsilon():
    assert training.make_optimizer("rmsprop", tf2_rmsprop=True).epsilon == training.TF2_RMSPROP_EPSILON
    assert training.make_optimizer("rmsprop", 0.01, momentum=0.5, tf2_rmsprop=True).momentum == 0.5
    assert training.make_optimizer("adam", tf2_rmsprop=True).epsilon == training.make_optimizer("adam").epsilon
    assert training.make_optimizer("rmsprop").epsilon == pytest.approx(1e-7)  # Keras 3's, elsewhere


def test_tf2_rmsprop_trains_the_attention_that_keras3_rmsprop_leaves_in_place():
    """The course's Transformer classifier, tiny, 5 steps on random reviews: TF 2's RMSprop moves
    the attention's query kernel; Keras 3's floor (sqrt(v + 1e-7)) holds it near its start."""
    import keras
    import numpy as np

    from dlcli.models.transformer import build_transformer_classifier

    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, size=(80, 30)).astype("int64")
    x[:, 20:] = 0  # padding
    y = rng.integers(0, 2, size=(80, 1)).astype("float32")
    change = {}
    for tf2 in (False, True):
        keras.utils.set_random_seed(0)
        model = build_transformer_classifier((30,), vocab_size=50, embed_dim=32, dense_dim=8)
        training.compile_model(model, optimizer="rmsprop", learning_rate=None, loss="binary_crossentropy",
                               metrics=("accuracy",), tf2_rmsprop=tf2)
        kernel = model.get_layer("encoder_1").attention.query_dense.kernel
        start = keras.ops.convert_to_numpy(kernel).copy()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        change[tf2] = np.linalg.norm(keras.ops.convert_to_numpy(kernel) - start) / np.linalg.norm(start)
    assert change[True] > 0.01 and change[True] > 10 * change[False], change
