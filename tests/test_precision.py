"""`--precision auto|float32|bfloat16`: the choice, its record in config.json, float32 outputs,
and networks saved to compute in float32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlcli import precision
from tests.conftest import assert_one_line_error, dl


@pytest.mark.parametrize("hardware, family, expected", [(True, "go_baseline", "bfloat16"), (False, "go_baseline", "float32"),
                                                         (True, "classify", "bfloat16"), (False, "classify", "float32"),
                                                         (True, "classify_transformer", "float32"),
                                                         (True, "cnn", "bfloat16"), (True, "resnet", "float32"),
                                                         (True, "go_mobilenet", "float32")])
def test_auto_picks_bfloat16_only_for_measured_families_on_hardware_that_has_it(monkeypatch, hardware, family, expected):
    monkeypatch.setattr(precision, "hardware_has_bfloat16", lambda: hardware)
    assert precision.choose("auto", family) == expected
    assert precision.choose("float32", family) == "float32" and precision.choose("bfloat16", family) == "bfloat16"


def test_bfloat16_is_recorded_and_outputs_stay_float32(tmp_path):
    result = dl("classify", "digits", "--limit", "128", "--validation-samples", "32", "--epochs", "1", "--units", "16", "--precision", "bfloat16",
                "--runs-dir", tmp_path, "--json", "--quiet")
    assert result.code == 0, result.stderr
    run = Path(result.json()["run"])
    config = json.loads((run / "config.json").read_text())
    assert (config["precision"], config["precision_used"]) == ("bfloat16", "bfloat16")
    assert 0 <= result.json()["test_accuracy"] <= 1

    import keras

    model = keras.saving.load_model(run / "model.keras")
    assert model.layers[-1].compute_dtype == "float32" and model.layers[1].compute_dtype == "bfloat16"
    probabilities = model.predict(np.random.default_rng(0).random((4, 8, 8)).astype("float32"), verbose=0)
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)

    auto = dl("classify", "digits", "--limit", "64", "--validation-samples", "16", "--epochs", "1", "--units", "8", "--runs-dir", tmp_path, "--json", "--quiet")
    config = json.loads((Path(auto.json()["run"]) / "config.json").read_text())
    dense = "bfloat16" if precision.hardware_has_bfloat16() else "float32"  # the dense net gains where the hardware has it
    assert (config["precision"], config["precision_used"]) == ("auto", dense)


def test_a_bad_precision_is_one_line_before_any_run_folder(tmp_path):
    assert_one_line_error(dl("classify", "digits", "--precision", "fp16", "--runs-dir", tmp_path), "--precision", "bfloat16")
    assert not list(tmp_path.iterdir())


def test_go_train_in_bfloat16_saves_a_float32_network(tmp_path):
    from dlcli.go import dataset
    from tests.test_go_cli import random_game

    dataset.build_shards([random_game(seed, moves=20) for seed in range(3)], tmp_path / "shards", validation=0.34)
    result = dl("go", "train", "--data", tmp_path / "shards", "--network", "baseline", "--filters", "4", "--blocks", "1",
                "--epochs", "1", "--batch-size", "8", "--precision", "bfloat16", "--runs-dir", tmp_path, "--json", "--quiet")
    assert result.code == 0, result.stderr
    assert result.json()["precision"] == "bfloat16"

    import keras

    model = keras.saving.load_model(Path(result.json()["run"]) / "model.h5", compile=False)
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}


def test_a_bfloat16_twin_computes_in_bfloat16_with_float32_outputs_and_the_same_moves():
    from dlcli import lowprecision
    from dlcli.go import mcts
    from dlcli.models.gonets import build_go_baseline

    network = build_go_baseline(filters=16, blocks=2, value_head="relative")
    twin = lowprecision.bfloat16_twin(network)
    computing = {layer.name: layer.compute_dtype for layer in twin.layers}
    assert computing["policy"] == computing["value"] == "float32"
    assert "bfloat16" in [layer.compute_dtype for layer in twin.layers if "conv2d" in layer.name]
    assert all(layer.compute_dtype == "float32" for layer in network.layers)  # the original is untouched
    planes = (np.random.default_rng(1).random((16, 19, 19, 31)) < 0.3).astype(np.float32)
    planes[:8, :, :, 0] = 1  # Black to move in half of them
    exact, fast = mcts.NetworkEvaluator(network), mcts.NetworkEvaluator(network, precision="bfloat16")
    assert (exact.precision, fast.precision) == ("float32", "bfloat16")
    (policy, value), (policy16, value16) = exact.predict(planes), fast.predict(planes)
    assert policy16.dtype == np.float32 and np.allclose(policy16.sum(axis=1), 1, atol=1e-4)
    assert np.abs(policy16 - policy).max() < 0.02 and np.abs(value16 - value).max() < 0.02
    assert np.mean(policy16.argmax(axis=1) == policy.argmax(axis=1)) >= 0.75


def test_engines_search_in_int8_where_onnx_runtime_is_else_in_bfloat16_where_the_hardware_has_it(monkeypatch):
    from dlcli import lowprecision, onnxnet
    from dlcli.go import mcts

    for runtime, hardware, setting, expected in ((True, True, None, "int8"), (False, True, None, "bfloat16"),
                                                 (False, False, None, "float32"), (True, True, "float32", "float32"),
                                                 (True, False, " BFloat16 ", "bfloat16"), (True, True, "auto", "int8"),
                                                 (True, True, "int8", "int8")):
        monkeypatch.setattr(lowprecision, "hardware_has_bfloat16", lambda hardware=hardware: hardware)
        monkeypatch.setattr(onnxnet, "available", lambda runtime=runtime: runtime)
        if setting is None:
            monkeypatch.delenv("DLCLI_GO_PRECISION", raising=False)
        else:
            monkeypatch.setenv("DLCLI_GO_PRECISION", setting)
        assert mcts.search_precision() == expected


def test_a_precision_that_is_not_one_is_one_clear_line(monkeypatch, tmp_path):
    result = dl("go", "selfplay", "--model", "default", "--games", "1", "--runs-dir", tmp_path,
                env={"DLCLI_GO_PRECISION": "int4"})
    assert_one_line_error(result, "DLCLI_GO_PRECISION='int4'", "int8, bfloat16, float32")


def test_a_network_that_cannot_be_cloned_is_called_as_it_is():
    import keras

    from dlcli import lowprecision

    class Opaque(keras.Model):  # subclassed: no config to rebuild its layers from
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Opaque()
    model(np.zeros((1, 3), np.float32))
    assert lowprecision.bfloat16_twin(model) is None


def test_the_cpu_description_names_the_model_and_the_instructions_our_precisions_use(monkeypatch, tmp_path):
    from dlcli import lowprecision

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 "
                       "avx512_vnni amx_tile\n\nprocessor\t: 1\nmodel name\t: Example CPU 9000\n")
    monkeypatch.setattr(lowprecision, "Path", lambda name: cpuinfo if name == "/proc/cpuinfo" else Path(name))
    described = lowprecision.cpu_description()
    assert described["cpu"] == "Example CPU 9000" and described["cores"] >= 1
    assert described["instructions"] == ["avx2", "avx512_bf16", "avx512_vnni", "avx512f"]
    assert lowprecision.hardware_has_bfloat16()
