"""End-to-end: `dl cnn`, `dl resnet` and `dl mobilenet` through the real CLI on tiny image files.

Every trained run is reloaded in this process from model.keras (and model.h5 where written): it
must reproduce the test loss and accuracy the command recorded in metrics.json.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import dlcli.models  # noqa: F401 - registers the custom layers for reloading
from dlcli import data
from dlcli.commands.families import images as image_tasks
from tests import datafiles
from tests.conftest import assert_one_line_error, dl

FAST = ["--epochs", "1", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Tiny MNIST (64 train, 16 test) and CIFAR-10 (30 train, 8 test) files."""
    path = tmp_path_factory.mktemp("images")
    datafiles.write_mnist(path)
    datafiles.write_cifar10(path)
    return path


def train(tmp_path, folder, *args):
    result = dl(*args, *FAST, "--data-dir", folder, "--runs-dir", tmp_path / "runs")
    assert result.code == 0, result.stderr
    metrics = json.loads((result.run / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert {"curves.png", "confusion.png", "predictions.png"} <= {p.name for p in (result.run / "plots").iterdir()}
    return result.run, metrics


def assert_reloads(run, metrics, name, folder, limit=None, model_name="model"):
    """model.keras (and .h5) reload in this process and score the test set exactly as recorded."""
    images = image_tasks.prepare(data.load(name, data_dir=folder, limit=limit))
    model = keras.saving.load_model(run / f"{model_name}.keras")
    scores = model.predict(images.x_test, verbose=0)
    assert np.mean(scores.argmax(axis=1) == images.y_test) == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert model.evaluate(images.x_test, images.y_test, verbose=0, return_dict=True)["loss"] == pytest.approx(
        metrics["test_loss"], rel=1e-4)
    if f"{model_name}.h5" in metrics["model_files"]:
        legacy = keras.saving.load_model(run / f"{model_name}.h5", compile=False)
        np.testing.assert_allclose(legacy.predict(images.x_test, verbose=0), scores, rtol=1e-4, atol=1e-6)
    return model


@pytest.mark.parametrize("name, args, parameters, macs", [
    # the course's MNIST convnet with pooling and dropout: 24x24x64 pooled to 12x12x64, then Dense 128
    ("mnist", ["--pool", "--dropout", "0.5", "--augment"], 320 + 18_496 + 9216 * 128 + 128 + 1290,
     26 * 26 * 32 * 9 + 24 * 24 * 64 * 288 + 9216 * 128 + 1280),
    ("cifar10", ["--dropout", "0.5", "--augment"], 122_570, None),
    ("cifar10", ["--net", "padded"], 4_237_898, None),
])
def test_cnn_trains_saves_and_reloads(tmp_path, folder, name, args, parameters, macs):
    run, metrics = train(tmp_path, folder, "cnn", name, *args)
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["net"] == ("padded" if "padded" in args else "three-conv" if name == "cifar10" else "small")
    assert config["options"]["dropout"] == (0.5 if "--dropout" in args else 0.0)
    assert metrics["model_files"] == ["model.keras", "model.h5"] and metrics["macs_per_image"] > 0
    if parameters:
        assert metrics["parameters"] == parameters
    if macs:
        assert metrics["macs_per_image"] == macs
    model = assert_reloads(run, metrics, name, folder)
    layer_names = {layer.name for layer in model.layers}
    assert ("pool" in layer_names) == ("--pool" in args)
    assert ("random_shift" in layer_names) == ("--augment" in args)
    assert ("random_flip" in layer_names) == ("--augment" in args and name == "cifar10")


def test_vgg16_offline_without_weights_is_one_clear_line(tmp_path, folder):
    result = dl("cnn", "cifar10", "--backbone", "vgg16", "--data-dir", folder, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "VGG16", "DLCLI_OFFLINE", "--weights PATH")
    assert not (tmp_path / "runs").exists()


def test_vgg16_with_a_bad_weights_file_is_refused(tmp_path, folder):
    bad = tmp_path / "vgg16.weights.h5"
    bad.write_text("not weights")
    result = dl("cnn", "cifar10", "--backbone", "vgg16", "--weights", bad, "--data-dir", folder,
                "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, f"--weights {bad}", "HDF5", "VGG16")
    assert bad.read_text() == "not weights"  # the user's file is left alone
    assert not (tmp_path / "runs").exists()


def test_vgg16_transfer_uses_the_local_weights_frozen(tmp_path, folder):
    keras.utils.set_random_seed(7)
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    weights = tmp_path / "vgg16_notop.weights.h5"
    base.save_weights(weights)
    run, metrics = train(tmp_path, folder, "cnn", "cifar10", "--backbone", "vgg16", "--weights", weights)
    assert metrics["weights"] == str(weights)
    assert metrics["parameters"] == base.count_params() + 512 * 256 + 256 + 2570  # frozen base + Dense 256 + softmax
    model = assert_reloads(run, metrics, "cifar10", folder)
    reloaded = model.get_layer("vgg16")
    assert not reloaded.trainable
    for before, after in zip(base.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(before, after)  # loaded from the file, and not trained


def test_resnet_tower_against_plain(tmp_path, folder):
    run, metrics = train(tmp_path, folder, "resnet", "cifar10", "--compare", "--blocks", "2", "--filters", "8")
    compare = metrics["compare"]
    assert set(compare) == {"residual", "plain"}
    # same layers, same parameters: the shortcuts are additions
    assert compare["residual"]["parameters"] == compare["plain"]["parameters"] == metrics["parameters"]
    assert compare["residual"]["test_accuracy"] == metrics["test_accuracy"]
    assert (run / "plots" / "compare.png").exists()
    header = (run / "history.csv").read_text().splitlines()[0]
    assert "residual_val_loss" in header and "plain_val_loss" in header
    residual = assert_reloads(run, metrics, "cifar10", folder)
    assert sum(isinstance(layer, keras.layers.Add) for layer in residual.layers) == 2
    plain_metrics = {**compare["plain"], "model_files": ["model-plain.keras"]}
    plain = assert_reloads(run, plain_metrics, "cifar10", folder, model_name="model-plain")
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)


def test_resnet_subclass_reloads_as_the_resnet_class(tmp_path, folder):
    run, metrics = train(tmp_path, folder, "resnet", "cifar10", "--style", "subclass", "--filters", "8")
    assert metrics["model_files"] == ["model.keras"]  # a subclassed model has no reloadable HDF5 form
    model = assert_reloads(run, metrics, "cifar10", folder)
    assert type(model).__name__ == "ResNet" and model.blocks == 2
    assert [type(layer).__name__ for layer in model.layers].count("ResNetBlock") == 2


def test_resnet20_has_the_modern_shape(tmp_path, folder):
    run, metrics = train(tmp_path, folder, "resnet", "cifar10", "--depth", "20")
    model = assert_reloads(run, metrics, "cifar10", folder)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 19 + 2  # 19 in the path to the pooling, 2 strided 1x1 projections
    assert any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in model.layers)
    assert json.loads((run / "config.json").read_text())["options"]["augment"] is True


def test_resnet20_with_sgd_momentum_and_one_cycle_saves_its_schedule(tmp_path, folder):
    """The named options for a fast CIFAR schedule reach the optimizer, config.json and the saved model."""
    run, metrics = train(tmp_path, folder, "resnet", "cifar10", "--depth", "8", "--optimizer", "sgd",
                         "--momentum", "0.8", "--learning-rate", "0.05", "--schedule", "one-cycle")
    options = json.loads((run / "config.json").read_text())["options"]
    assert (options["optimizer"], options["momentum"], options["schedule"]) == ("sgd", 0.8, "one-cycle")
    model = assert_reloads(run, metrics, "cifar10", folder)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "SGD" and float(optimizer.momentum) == pytest.approx(0.8)
    steps = -(-metrics["train_samples"] // 16)  # one epoch of batch 16
    assert int(optimizer.iterations) == steps
    schedule = optimizer._learning_rate  # Keras keeps the schedule object here; .learning_rate is its value now
    assert float(schedule(0)) == pytest.approx(0.05 / 25) and float(schedule(steps)) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("name, block, custom", [("cifar10", "mobilenet", None), ("cifar10", "shufflenet", "GroupConv"),
                                                 ("digits", "convnext", None)])  # digits: embedded, 8x8 grey
def test_mobilenet_blocks(tmp_path, folder, name, block, custom):
    limit = ["--limit", "100"] if name == "digits" else []
    run, metrics = train(tmp_path, folder, "mobilenet", name, "--block", block, "--blocks", "2", "--trunk", "8", *limit)
    assert metrics["block"] == block and metrics["macs_per_image"] > 0
    model = assert_reloads(run, metrics, name, folder, limit=100 if limit else None)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert "DepthwiseConv2D" in kinds
    if custom:
        assert {custom, "ChannelShuffle"} <= kinds


@pytest.mark.parametrize("block", ["mobilenet", "shufflenet", "convnext"])
def test_mobilenet_stages_halve_the_resolution_and_double_the_channels(tmp_path, folder, block):
    run, metrics = train(tmp_path, folder, "mobilenet", "cifar10", "--block", block, "--stages", "3", "--blocks", "1",
                         "--trunk", "8", "--expand", "16")
    model = assert_reloads(run, metrics, "cifar10", folder)
    stem = model.get_layer("stem")
    assert stem.kernel_size == (3, 3)
    shapes = [tuple(model.get_layer(f"stage_{stage}_block_1_add").output.shape[1:]) for stage in (1, 2, 3)]
    assert shapes == [(32, 32, 8), (16, 16, 16), (8, 8, 32)]
    assert any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in model.layers)
    assert json.loads((run / "config.json").read_text())["options"]["stages"] == 3


def test_max_params_refuses_an_oversized_model_before_training(tmp_path):
    result = dl("mobilenet", "cifar10", "--max-params", "100000", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, "187,754 parameters", "--max-params 100,000", "--trunk")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, needles", [
    (["cnn", "mnist", "--backbone", "vgg16"], ["cifar10"]),
    (["cnn", "cifar10", "--pool"], ["--pool"]),
    (["cnn", "cifar10", "--net", "wide"], ["unknown net 'wide'"]),
    (["cnn", "cifar10", "--weights", "nofile.h5"], ["--backbone vgg16"]),
    (["resnet", "cifar10", "--depth", "21"], ["--depth", "6n+2"]),
    (["resnet", "cifar10", "--compare", "deeper"], ["deeper"]),
    (["resnet", "cifar10", "--style", "subclass", "--compare"], ["--style functional"]),
    (["mobilenet", "cifar10", "--block", "inception"], ["unknown block 'inception'"]),
    (["mobilenet", "cifar10", "--block", "shufflenet", "--trunk", "10"], ["--groups 4", "--trunk 10"]),
    (["mobilenet", "cifar10", "--validation", "1.5"], ["--validation"]),
    (["mobilenet", "digits", "--stages", "5"], ["--stages 5", "8-pixel"]),
    (["resnet", "cifar10", "--momentum", "0.9"], ["--momentum", "sgd", "adam"]),
    (["cnn", "cifar10", "--optimizer", "sgd", "--momentum", "1"], ["--momentum", "below 1"]),
    (["cnn", "mnist", "--schedule", "step"], ["unknown schedule 'step'", "one-cycle"]),
])
def test_bad_options_are_one_line(tmp_path, args, needles):
    result = dl(*args, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_group_conv_is_the_courses_slices_and_convolutions(policy):
    """GroupConv (one convolution by a block-diagonal kernel) computes the course's grouped 1x1
    convolution: each group of input channels through its own 1x1 kernel, concatenated."""
    from dlcli.models.mobilenet import GroupConv

    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = GroupConv(12, groups=4)
        layer.build((None, 5, 5, 8))
        layer.bias.assign(np.arange(12, dtype="float32"))
        x = np.random.default_rng(0).normal(size=(2, 5, 5, 8)).astype("float32")
        y = np.asarray(keras.ops.cast(layer(x), "float32"))
        kernel, bias = np.asarray(layer.kernel), np.asarray(layer.bias)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    slices = [x[..., 2 * g:2 * g + 2] @ kernel[g] for g in range(4)]  # 8 inputs -> 4 groups of 2, each to 3 outputs
    expected = np.concatenate(slices, axis=-1) + bias
    tolerance = 2e-2 if policy == "mixed_bfloat16" else 1e-5
    np.testing.assert_allclose(y, expected, atol=tolerance, rtol=tolerance)
    assert kernel.shape == (4, 2, 3) and y.shape == (2, 5, 5, 12)
