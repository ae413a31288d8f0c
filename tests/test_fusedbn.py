"""`dlcli.fusedbn`: batch normalisation through TensorFlow's fused kernel computes what Keras'
BatchNormalization computes (outputs, gradients, moving statistics, in float32 and mixed
bfloat16), leaves the layer's class and saved form alone, and leaves what it cannot compute
to Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dlcli import fusedbn, training


def small_network(**batch_norm) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 5, 4))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.9, name="bn", **batch_norm)(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.BatchNormalization(name="bn_2d")(x)  # 2-D: Keras' own computation
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", dtype="float32", name="out")(x))


def data():
    rng = np.random.default_rng(0)
    return rng.normal(2.0, 3.0, size=(32, 6, 5, 4)).astype("float32"), rng.integers(0, 3, 32)


def trained(fused: bool, **batch_norm) -> keras.Model:
    model = small_network(**batch_norm)
    if fused:
        assert fusedbn.fuse(model) == 2  # the 2-D one is routed too, and falls back to Keras at call time
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_training_matches_keras(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras_bn, fused = trained(False), trained(True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for ours, theirs in zip(fused.weights, keras_bn.weights):
        assert ours.path == theirs.path
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-5, err_msg=ours.path)
    moving = [w for w in fused.weights if "moving_variance" in w.path][0]
    assert not np.allclose(np.asarray(moving), 1.0)  # the moving statistics did move
    x, _ = data()
    np.testing.assert_allclose(fused.predict(x, verbose=0), keras_bn.predict(x, verbose=0), atol=1e-5)


def test_fused_layers_keep_their_class_and_save_as_keras_layers(tmp_path):
    model = trained(True)
    path = tmp_path / "model.keras"
    model.save(path)
    assert [type(layer).__name__ for layer in model.layers].count("BatchNormalization") == 2
    loaded = keras.models.load_model(path)  # a plain Keras load: nothing of dlcli needed
    assert "call" not in vars(loaded.layers[2])
    x, _ = data()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_what_the_fused_kernel_cannot_compute_stays_with_keras():
    for unfit in (dict(axis=1), dict(synchronized=True), dict(epsilon=1e-6)):
        model = small_network(**unfit)
        assert fusedbn.fuse(model) == 1 and "call" not in vars(model.layers[2])  # only the 2-D layer
    model = small_network()
    assert fusedbn.fuse(model) == 2 and fusedbn.fuse(model) == 0  # once


def test_training_fit_routes_batch_norm_through_the_fused_kernel():
    model = small_network()
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = data()
    history = training.fit(model, x, y, epochs=1, batch_size=8)
    assert np.isfinite(history["loss"][0])
    assert "call" in vars(model.layers[2])
