"""dl backprop: the course's printed numbers, hand gradients against tf.GradientTape, and the real CLI."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from dlcli.errors import TrainingDiverged
from dlcli.models import backprop as hand
from dlcli.runs import json_summary
from tests.conftest import assert_one_line_error, dl

REPOSITORY = Path(__file__).resolve().parents[1]


def assert_printed(value: float, printed: str) -> None:
    """`value` rounded to the decimals the course prints reads exactly as the course's number."""
    decimals = len(printed.split(".")[1])
    assert f"{value:.{decimals}f}" == printed, (value, printed)


@pytest.fixture(scope="module")
def example() -> hand.WorkedExample:
    return hand.worked_example()


# --- The worked example, number by number -----------------------------------------------------


def test_forward_pass_and_errors_match_the_course(example):
    f, e = example.forward, example.errors
    for value, printed in [(f.net_h1, "0.3775"), (f.out_h1, "0.593269992"), (f.out_h2, "0.596884378"),
                           (f.net_o1, "1.105905967"), (f.out_o1, "0.75136507"), (f.out_o2, "0.772928465"),
                           (e.e_o1, "0.274811083"), (e.e_o2, "0.023560026"), (e.total, "0.298371109")]:
        assert_printed(value, printed)


def test_chain_rule_for_w5_matches_the_course(example):
    c = example.output_chain
    assert_printed(c.d_total_d_out_o1, "0.74136507")
    assert_printed(c.d_out_o1_d_net_o1, "0.186815602")
    assert_printed(c.d_net_o1_d_w5, "0.593269992")
    assert_printed(c.d_total_d_w5, "0.082167041")
    assert c.d_total_d_w5 == pytest.approx(c.d_total_d_out_o1 * c.d_out_o1_d_net_o1 * c.d_net_o1_d_w5, abs=1e-15)
    assert example.gradients["w5"] == pytest.approx(c.d_total_d_w5, abs=1e-15)


def test_hidden_layer_pieces_match_the_course(example):
    h = example.hidden_chain
    assert_printed(h.d_e_o1_d_net_o1, "0.138498562")
    assert_printed(h.d_net_o1_d_out_h1, "0.40")
    assert_printed(h.d_e_o1_d_out_h1, "0.055399425")
    assert_printed(h.d_total_d_out_h1, "0.036350306")
    assert_printed(h.d_out_h1_d_net_h1, "0.241300709")
    assert_printed(h.d_net_h1_d_w1, "0.05")
    assert_printed(h.d_total_d_w1, "0.000438568")
    assert example.gradients["w1"] == pytest.approx(h.d_total_d_w1, abs=1e-15)


def test_course_rounds_de_o2_dout_h1_by_hand(example):
    """Unrounded dE_o2/dout_h1 is -0.019049118; the course's -0.019049119 rounds dE_o2/dnet_o2 first."""
    h = example.hidden_chain
    assert_printed(h.d_e_o2_d_out_h1, "-0.019049118")
    assert hand.round_half_up(h.d_e_o2_d_net_o2) == -0.038098237
    assert_printed(hand.round_half_up(hand.round_half_up(h.d_e_o2_d_net_o2) * example.weights.w7), "-0.019049119")


def test_updated_weights_match_the_course(example):
    printed = {"w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229",
               "w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121"}
    for name, number in printed.items():
        assert_printed(getattr(example.updated, name), number)
    assert (example.updated.b1, example.updated.b2) == (0.35, 0.60)  # the course does not update biases


def test_error_after_one_and_ten_thousand_updates_match_the_course(example):
    """The course's errors come from updating w5..w8 first; the text's rule gives slightly different ones."""
    assert_printed(example.after_one[hand.OUTPUT_FIRST], "0.291027924")
    trained = example.trained[hand.OUTPUT_FIRST]
    assert trained.updates == 10_000
    assert_printed(trained.errors.total, "0.000035085")
    assert_printed(trained.forward.out_o1, "0.015912196")
    assert_printed(trained.forward.out_o2, "0.984065734")
    text_rule = example.trained[hand.SIMULTANEOUS]
    assert_printed(example.after_one[hand.SIMULTANEOUS], "0.291027774")
    assert_printed(text_rule.errors.total, "0.000035102")
    assert_printed(text_rule.forward.out_o1, "0.015913620")


def test_output_first_update_equals_the_text_rule_on_w5_to_w8(example):
    inputs, targets = hand.COURSE_INPUTS, hand.COURSE_TARGETS
    text = hand.step(hand.COURSE_WEIGHTS, inputs, targets, 0.5, hand.SIMULTANEOUS)
    first = hand.step(hand.COURSE_WEIGHTS, inputs, targets, 0.5, hand.OUTPUT_FIRST)
    for name in ("w5", "w6", "w7", "w8"):
        assert getattr(first, name) == getattr(text, name)
    assert first.w1 != text.w1
    with pytest.raises(ValueError):
        hand.step(hand.COURSE_WEIGHTS, inputs, targets, 0.5, "sideways")


def test_error_curve_is_thinned_and_ends_at_the_last_update(example):
    curve = example.trained[hand.SIMULTANEOUS].curve
    assert curve.steps[:3] == (0, 10, 20) and curve.steps[-1] == 10_000 and len(curve.steps) == 1001
    assert curve.losses[0] == example.errors.total
    assert curve.losses[-1] == example.trained[hand.SIMULTANEOUS].errors.total
    assert all(a > b for a, b in zip(curve.losses, curve.losses[1:]))  # gradient descent on one sample
    short = hand.train_example(hand.COURSE_WEIGHTS, hand.COURSE_INPUTS, hand.COURSE_TARGETS, 0.5, 2500)
    assert short.curve.steps[-2:] == (2499, 2500) and short.curve.steps[1] == 3


# --- Hand gradients against tf.GradientTape (float64) -------------------------------------------


def tape_gradients_example(weights: hand.ExampleWeights, inputs, targets) -> dict[str, float]:
    """The worked example written in TensorFlow; dE_total/dw1..dw8 by automatic differentiation."""
    variables = {name: tf.Variable(getattr(weights, name), dtype=tf.float64) for name in hand.WEIGHT_NAMES}
    w = variables
    i1, i2 = (tf.constant(v, tf.float64) for v in inputs)
    with tf.GradientTape() as tape:
        h1 = tf.sigmoid(w["w1"] * i1 + w["w2"] * i2 + weights.b1)
        h2 = tf.sigmoid(w["w3"] * i1 + w["w4"] * i2 + weights.b1)
        o1 = tf.sigmoid(w["w5"] * h1 + w["w6"] * h2 + weights.b2)
        o2 = tf.sigmoid(w["w7"] * h1 + w["w8"] * h2 + weights.b2)
        error = 0.5 * (targets[0] - o1) ** 2 + 0.5 * (targets[1] - o2) ** 2
    found = tape.gradient(error, variables)
    return {name: float(found[name]) for name in hand.WEIGHT_NAMES}


def random_example_weights(seed: int) -> hand.ExampleWeights:
    values = np.random.default_rng(seed).normal(scale=1.0, size=10)
    return hand.ExampleWeights(*map(float, values))


@pytest.mark.parametrize("weights", [hand.COURSE_WEIGHTS, random_example_weights(1), random_example_weights(2)],
                         ids=["course", "random-1", "random-2"])
def test_worked_example_gradients_match_gradient_tape(weights):
    inputs, targets = hand.COURSE_INPUTS, hand.COURSE_TARGETS
    ours = hand.gradients(weights, inputs, targets)
    theirs = tape_gradients_example(weights, inputs, targets)
    np.testing.assert_allclose([ours[n] for n in hand.WEIGHT_NAMES], [theirs[n] for n in hand.WEIGHT_NAMES],
                               rtol=0, atol=1e-9)
    passed = hand.forward(weights, inputs)
    assert hand.output_chain(passed, targets).d_total_d_w5 == pytest.approx(theirs["w5"], abs=1e-9)
    assert hand.hidden_chain(weights, passed, targets, inputs).d_total_d_w1 == pytest.approx(theirs["w1"], abs=1e-9)


def tape_gradients_tiny(network: hand.TinyNetwork, inputs, targets, loss: str, activation: str):
    """The exercise networks and losses written in TensorFlow; gradients by automatic differentiation."""
    w1 = tf.Variable(network.w1, dtype=tf.float64)
    w2 = tf.Variable(network.w2, dtype=tf.float64)
    output = tf.Variable(network.output, dtype=tf.float64)
    y = tf.constant(targets, tf.float64)
    with tf.GradientTape() as tape:
        out_h = tf.sigmoid(w1 * inputs[0] + w2 * inputs[1])
        net_o = output * out_h
        o = tf.sigmoid(net_o) if activation == "sigmoid" else tf.nn.softmax(net_o)
        if loss == "squared":
            value = tf.reduce_sum(0.5 * (y - o) ** 2)
        elif loss == "binary_crossentropy":
            value = -tf.reduce_sum(y * tf.math.log(o) + (1 - y) * tf.math.log(1 - o))
        else:
            value = -tf.reduce_sum(y * tf.math.log(o))
    d_w1, d_w2, d_output = tape.gradient(value, [w1, w2, output])
    return float(d_w1), float(d_w2), d_output.numpy()


@pytest.mark.parametrize("exercise", hand.COURSE_EXERCISES, ids=[e.name for e in hand.COURSE_EXERCISES])
def test_exercise_gradients_match_gradient_tape(exercise):
    rng = np.random.default_rng(3)
    networks = [exercise.network] + [
        hand.TinyNetwork(*map(float, rng.normal(size=2)), tuple(map(float, rng.normal(size=len(exercise.targets)))))
        for _ in range(3)]
    for network in networks:
        ours = hand.tiny_gradients(network, hand.COURSE_EXERCISE_INPUTS, exercise.targets, exercise.loss,
                                   exercise.activation)
        d_w1, d_w2, d_output = tape_gradients_tiny(network, hand.COURSE_EXERCISE_INPUTS, exercise.targets,
                                                   exercise.loss, exercise.activation)
        np.testing.assert_allclose([ours.w1, ours.w2, *ours.output], [d_w1, d_w2, *d_output], rtol=0, atol=1e-9)


# --- The exercises: the course's own loops, and what goes wrong ---------------------------------


def course_loop(loss: str, steps: int):
    """The course's exercise code, transcribed (w4 only with two outputs); returns the final weights."""
    w1, w2, w3, w4, i1, i2, eta = 0.4, 0.6, 0.1, 0.5, 0.1, 0.5, 0.5
    for _ in range(steps):
        outh = hand.sigmoid(w1 * i1 + w2 * i2)
        o1, o2 = hand.sigmoid(w3 * outh), hand.sigmoid(w4 * outh)
        if loss == "squared":
            do1, do2 = (o1 - 0.2) * o1 * (1.0 - o1), 0.0
        elif loss == "bce":
            do1, do2 = (-1.0 / o1) * o1 * (1.0 - o1), 0.0
        elif loss == "cce_sigmoid":
            do1, do2 = (-1.0 / o1) * o1 * (1.0 - o1), (-0.0 / o2) * o2 * (1.0 - o2)
        else:  # bce_two
            do1, do2 = (-1.0 / o1) * o1 * (1.0 - o1), (1 - 0.0) / (1.0 - o2) * o2 * (1.0 - o2)
        dw4, dw3 = do2 * outh, do1 * outh
        dw2 = (do1 * w3 + do2 * w4) * outh * (1.0 - outh) * i2
        dw1 = (do1 * w3 + do2 * w4) * outh * (1.0 - outh) * i1
        w4, w3, w2, w1 = w4 - eta * dw4, w3 - eta * dw3, w2 - eta * dw2, w1 - eta * dw1
    return w1, w2, w3, w4


@pytest.mark.parametrize("name", ["squared", "bce", "cce_sigmoid", "bce_two"])
def test_exercises_follow_the_course_code(name):
    exercise = next(e for e in hand.COURSE_EXERCISES if e.name == name)
    result = hand.run_exercise(replace(exercise, steps=300))
    expected = course_loop(name, 300)
    found = (result.network.w1, result.network.w2, *result.network.output)
    np.testing.assert_allclose(found, expected[:len(found)], rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def exercises() -> dict[str, hand.ExerciseResult]:
    return {e.name: hand.run_exercise(e) for e in hand.COURSE_EXERCISES}


def test_exercise_steps_are_the_courses(exercises):
    assert {name: r.exercise.steps for name, r in exercises.items()} == {
        "squared": 1000, "bce": 1000, "cce_sigmoid": 1000, "bce_two": 100_000, "cce_softmax": 1000}


def test_squared_error_and_binary_cross_entropy_reach_their_targets(exercises):
    assert abs(exercises["squared"].end.out[0] - 0.2) < 1e-3
    assert exercises["squared"].start.out[0] == pytest.approx(0.514600611, abs=1e-9)
    assert exercises["bce"].end.out[0] > 0.99
    assert exercises["squared"].end_loss < exercises["squared"].start_loss


def test_categorical_cross_entropy_on_sigmoid_outputs_never_pushes_o2_down(exercises):
    result = exercises["cce_sigmoid"]
    assert result.max_abs_d_net_o[1] == 0.0  # target 0: no gradient ever reaches o2
    assert result.network.output[1] == 0.5  # w4 never moves
    assert result.end.out[1] > result.start.out[1] > 0.5  # o2 rises with the hidden neuron instead of falling
    assert result.end.out[0] > 0.99  # o1 saturates toward 1
    # o1's path is that of the one-output binary cross-entropy network: o2 plays no part in training
    assert result.end.out[0] == pytest.approx(exercises["bce"].end.out[0], abs=1e-15)


def test_the_courses_fixes_push_o2_to_zero(exercises):
    bce_two, softmax = exercises["bce_two"], exercises["cce_softmax"]
    assert bce_two.end.out[0] > 0.9999 and bce_two.end.out[1] < 1e-4
    assert softmax.end.out[0] > 0.99 and softmax.end.out[1] < 0.01
    assert sum(softmax.end.out) == pytest.approx(1.0, abs=1e-12)
    assert bce_two.curve.steps[-1] == 100_000 and len(bce_two.curve.steps) <= 1001


def test_a_saturated_output_stops_with_a_one_line_error():
    hopeless = hand.Exercise("hopeless", "target 1, output 0", hand.TinyNetwork(0.4, 0.6, (-3000.0,)), (1.0,),
                             "binary_crossentropy", "sigmoid", 10)
    with pytest.raises(TrainingDiverged, match="'hopeless' diverged at update 0 .*smaller learning rate"):
        hand.run_exercise(hopeless)


# --- Softmax + cross-entropy --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_cross_entropy_gradient_is_s_minus_y(seed):
    z, y = hand.random_softmax_problem(seed, classes=5)
    check = hand.check_softmax_gradient(z, y)
    assert y.sum() == 1.0 and set(np.unique(y)) == {0.0, 1.0}
    assert check.max_abs_difference < 1e-8
    assert check.max_abs_jacobian_difference < 1e-12
    variable = tf.Variable(z, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(y * tf.math.log(tf.nn.softmax(variable)))
    np.testing.assert_allclose(check.analytic, tape.gradient(loss, variable).numpy(), rtol=0, atol=1e-12)


def test_numerical_check_catches_a_wrong_gradient():
    z, y = hand.random_softmax_problem(0)
    numeric = hand.central_differences(lambda v: hand.softmax_cross_entropy(v, y), z)
    assert np.max(np.abs(numeric - (hand.softmax(z) + y))) > 0.5  # s + y would be caught


# --- The real CLI --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One `dl backprop` (all parts) through the Typer app, fast settings, --json."""
    from dlcli.cli import app

    runs = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, ["backprop", "--runs-dir", str(runs), "--json",
                                      "--iterations", "100", "--xor-epochs", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout.strip().splitlines()[-1])
    return document, Path(document["run"]), result


def test_cli_writes_a_complete_run_with_the_course_numbers(cli_run):
    document, run, result = cli_run
    assert run.name.startswith("backprop-all-")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert list(document)[0] == "run" and document == json_summary(metrics, run)
    assert document["xor_accuracy"] == metrics["xor_accuracy"] and "status" not in document
    assert_printed(metrics["error_initial"], "0.298371109")
    assert_printed(metrics["error_after_1_output_first"], "0.291027924")
    example = metrics["example"]
    assert_printed(example["output_chain"]["d_total_d_w5"], "0.082167041")
    assert_printed(example["hidden_chain"]["d_total_d_w1"], "0.000438568")
    assert_printed(example["updated_weights"]["w8"], "0.561370121")
    assert example["trained"]["output_first"]["updates"] == 100
    assert set(metrics["exercises"]) == {e.name for e in hand.COURSE_EXERCISES}
    assert metrics["exercises"]["cce_sigmoid"]["max_abs_d_net_o"][1] == 0.0
    assert metrics["softmax_max_abs_difference"] < 1e-8
    assert len(metrics["xor"]["predictions"]) == 4 and metrics["xor"]["epochs"] == 5
    config = json.loads((run / "config.json").read_text())
    assert config["options"] == {"part": "all", "iterations": 100, "eta": 0.5, "xor_epochs": 5}
    assert "Forward pass" in result.stderr and "What goes wrong" in result.stderr


def test_cli_history_and_curves_hold_the_loss_per_update(cli_run):
    _, run, _ = cli_run
    with open(run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 101 and rows[0]["update"] == "0" and rows[-1]["update"] == "100"
    assert float(rows[0]["error"]) == pytest.approx(0.298371109, abs=1e-6)
    assert float(rows[-1]["error"]) < float(rows[0]["error"])
    with open(run / "curves.csv") as handle:
        curves = {row["curve"] for row in csv.DictReader(handle)}
    assert curves == {"example_simultaneous", "example_output_first", "xor", *(e.name for e in hand.COURSE_EXERCISES)}


def test_cli_xor_model_reloads_and_predicts_the_same(cli_run):
    document, run, _ = cli_run
    model = keras.saving.load_model(run / "model.keras")
    x = np.array(document["xor"]["inputs"], dtype="float32")
    np.testing.assert_allclose(model.predict(x, verbose=0).reshape(-1), document["xor"]["predictions"],
                               rtol=1e-6, atol=1e-6)
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [8, 1]
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert math.isfinite(document["xor_loss"]) and 0.0 <= document["xor_accuracy"] <= 1.0


@pytest.mark.parametrize("args, needle", [
    (["backprop", "nope"], "unknown part 'nope'"),
    (["backprop", "--iterations", "0"], "--iterations must be at least 1"),
    (["backprop", "--eta", "0"], "--eta must be above 0"),
    (["backprop", "--xor-epochs", "0"], "--xor-epochs must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    result = dl(*args, "--runs-dir", tmp_path, cwd=REPOSITORY)
    assert_one_line_error(result, needle)
    assert not any(tmp_path.iterdir())  # rejected before a run folder is made


def test_command_module_imports_no_numpy_or_tensorflow():
    code = ("import sys; import dlcli.commands.backprop; "
            "print(sorted(m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPOSITORY)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
