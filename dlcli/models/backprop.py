"""Backpropagation by hand: the course's worked example and exercises, one explicit step at a time.

Plain Python floats (and NumPy for the softmax check), no Keras: every forward pass, loss,
chain-rule factor and weight update is written out the way the course computes it, so that each
printed number can be traced and checked against automatic differentiation.

The worked example is the 2-2-2 sigmoid network with inputs (0.05, 0.10) and targets (0.01, 0.99).
The course's step-by-step numbers (w1..w8 after one update) use the original weights throughout,
as its text says; its "error after one update" (0.291027924) and "after 10,000 updates"
(0.000035085, outputs 0.015912196 and 0.984065734) come from updating w5..w8 first and using the
new values when backpropagating into w1..w4. Both update orders are implemented and named:
`SIMULTANEOUS` (the text's rule: true gradient descent) and `OUTPUT_FIRST` (the course's numbers).
The course's dE_o2/dout_h1 = -0.019049119 comes from rounding dE_o2/dnet_o2 to nine decimals
(-0.038098237) before multiplying by w7; unrounded it is -0.019049118258 (`round_half_up` redoes it).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from dlcli.errors import TrainingDiverged

SIMULTANEOUS = "simultaneous"
OUTPUT_FIRST = "output_first"
UPDATE_ORDERS = (SIMULTANEOUS, OUTPUT_FIRST)
MAX_CURVE_POINTS = 1000


def round_half_up(value: float, decimals: int = 9) -> float:
    """Round as by hand (ties away from zero, on the decimal digits shown): how the course rounds."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def sigmoid(x: float) -> float:
    """The logistic function 1 / (1 + e^-x), written so that e^-x never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    exp_x = math.exp(x)
    return exp_x / (1.0 + exp_x)


def _diverged(what: str, number: int, eta: float) -> TrainingDiverged:
    return TrainingDiverged(f"{what} diverged at update {number} with learning rate {eta}: the loss is no longer "
                            "a finite number; use a smaller learning rate")


@dataclass(frozen=True)
class LossCurve:
    """A loss recorded after 0, s, 2s, ... updates (stride s keeps at most ~1000 points) and after the last."""

    steps: tuple[int, ...]
    losses: tuple[float, ...]


class _CurveRecorder:
    """Keeps every `stride`-th loss of an `updates`-long run, plus the last one."""

    def __init__(self, updates: int, max_points: int = MAX_CURVE_POINTS):
        self.updates = updates
        self.stride = max(1, math.ceil(updates / max_points))
        self.steps: list[int] = []
        self.losses: list[float] = []

    def record(self, step: int, loss: float) -> None:
        if step % self.stride == 0 or step == self.updates:
            self.steps.append(step)
            self.losses.append(loss)

    def curve(self) -> LossCurve:
        return LossCurve(tuple(self.steps), tuple(self.losses))


# --- The worked example: 2 inputs, 2 hidden sigmoid neurons, 2 sigmoid outputs -----------------


@dataclass(frozen=True)
class ExampleWeights:
    """w1..w4 lead into h1, h2; w5..w8 into o1, o2; b1, b2 are the layer biases (never updated)."""

    w1: float
    w2: float
    w3: float
    w4: float
    w5: float
    w6: float
    w7: float
    w8: float
    b1: float
    b2: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in WEIGHT_NAMES + ("b1", "b2")}


WEIGHT_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8")
COURSE_WEIGHTS = ExampleWeights(w1=0.15, w2=0.20, w3=0.25, w4=0.30, w5=0.40, w6=0.45, w7=0.50, w8=0.55,
                                b1=0.35, b2=0.60)
COURSE_INPUTS = (0.05, 0.10)
COURSE_TARGETS = (0.01, 0.99)
COURSE_ETA = 0.5
COURSE_ITERATIONS = 10_000


@dataclass(frozen=True)
class ForwardPass:
    """Net input and sigmoid output of every neuron."""

    net_h1: float
    out_h1: float
    net_h2: float
    out_h2: float
    net_o1: float
    out_o1: float
    net_o2: float
    out_o2: float


@dataclass(frozen=True)
class Errors:
    """Squared error per output, E = 1/2 (target - out)^2, and their sum."""

    e_o1: float
    e_o2: float
    total: float


@dataclass(frozen=True)
class OutputChain:
    """dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5."""

    d_total_d_out_o1: float
    d_out_o1_d_net_o1: float
    d_net_o1_d_w5: float
    d_total_d_w5: float


@dataclass(frozen=True)
class HiddenChain:
    """dE_total/dw1 = dE_total/dout_h1 * dout_h1/dnet_h1 * dnet_h1/dw1, with out_h1 feeding both outputs."""

    d_e_o1_d_net_o1: float
    d_net_o1_d_out_h1: float
    d_e_o1_d_out_h1: float
    d_e_o2_d_net_o2: float
    d_e_o2_d_out_h1: float
    d_total_d_out_h1: float
    d_out_h1_d_net_h1: float
    d_net_h1_d_w1: float
    d_total_d_w1: float


@dataclass(frozen=True)
class ExampleTraining:
    """Where `updates` steps of one update order lead: weights, outputs, error, and the error curve."""

    order: str
    updates: int
    weights: ExampleWeights
    forward: ForwardPass
    errors: Errors
    curve: LossCurve


@dataclass(frozen=True)
class WorkedExample:
    """Everything the course computes for its worked example, in the order it computes it."""

    inputs: tuple[float, float]
    targets: tuple[float, float]
    eta: float
    weights: ExampleWeights
    forward: ForwardPass
    errors: Errors
    output_chain: OutputChain
    hidden_chain: HiddenChain
    gradients: dict[str, float]
    updated: ExampleWeights
    after_one: dict[str, float]
    trained: dict[str, ExampleTraining]


def forward(weights: ExampleWeights, inputs: Sequence[float]) -> ForwardPass:
    """net = sum of weight * input + bias, out = sigmoid(net), hidden layer then output layer."""
    i1, i2 = inputs
    net_h1 = weights.w1 * i1 + weights.w2 * i2 + weights.b1 * 1
    net_h2 = weights.w3 * i1 + weights.w4 * i2 + weights.b1 * 1
    out_h1, out_h2 = sigmoid(net_h1), sigmoid(net_h2)
    net_o1 = weights.w5 * out_h1 + weights.w6 * out_h2 + weights.b2 * 1
    net_o2 = weights.w7 * out_h1 + weights.w8 * out_h2 + weights.b2 * 1
    return ForwardPass(net_h1, out_h1, net_h2, out_h2, net_o1, sigmoid(net_o1), net_o2, sigmoid(net_o2))


def errors(passed: ForwardPass, targets: Sequence[float]) -> Errors:
    """E_total = sum of 1/2 (target - out)^2 over the outputs."""
    e_o1 = 0.5 * (targets[0] - passed.out_o1) ** 2
    e_o2 = 0.5 * (targets[1] - passed.out_o2) ** 2
    return Errors(e_o1, e_o2, e_o1 + e_o2)


def output_chain(passed: ForwardPass, targets: Sequence[float]) -> OutputChain:
    """The three chain-rule factors of dE_total/dw5, as the course writes them."""
    d_total_d_out_o1 = -(targets[0] - passed.out_o1)
    d_out_o1_d_net_o1 = passed.out_o1 * (1 - passed.out_o1)
    d_net_o1_d_w5 = passed.out_h1
    return OutputChain(d_total_d_out_o1, d_out_o1_d_net_o1, d_net_o1_d_w5,
                       d_total_d_out_o1 * d_out_o1_d_net_o1 * d_net_o1_d_w5)


def _output_deltas(passed: ForwardPass, targets: Sequence[float]) -> tuple[float, float]:
    """dE/dnet_o for each output: -(target - out) * out (1 - out)."""
    delta_o1 = -(targets[0] - passed.out_o1) * passed.out_o1 * (1 - passed.out_o1)
    delta_o2 = -(targets[1] - passed.out_o2) * passed.out_o2 * (1 - passed.out_o2)
    return delta_o1, delta_o2


def hidden_chain(weights: ExampleWeights, passed: ForwardPass, targets: Sequence[float],
                 inputs: Sequence[float]) -> HiddenChain:
    """The pieces of dE_total/dw1: out_h1 reaches the error through both o1 (via w5) and o2 (via w7)."""
    delta_o1, delta_o2 = _output_deltas(passed, targets)
    d_e_o1_d_out_h1 = delta_o1 * weights.w5
    d_e_o2_d_out_h1 = delta_o2 * weights.w7
    d_total_d_out_h1 = d_e_o1_d_out_h1 + d_e_o2_d_out_h1
    d_out_h1_d_net_h1 = passed.out_h1 * (1 - passed.out_h1)
    d_net_h1_d_w1 = inputs[0]
    return HiddenChain(delta_o1, weights.w5, d_e_o1_d_out_h1, delta_o2, d_e_o2_d_out_h1, d_total_d_out_h1,
                       d_out_h1_d_net_h1, d_net_h1_d_w1, d_total_d_out_h1 * d_out_h1_d_net_h1 * d_net_h1_d_w1)


def _output_gradients(passed: ForwardPass, targets: Sequence[float]) -> dict[str, float]:
    delta_o1, delta_o2 = _output_deltas(passed, targets)
    return {"w5": delta_o1 * passed.out_h1, "w6": delta_o1 * passed.out_h2,
            "w7": delta_o2 * passed.out_h1, "w8": delta_o2 * passed.out_h2}


def _hidden_gradients(weights: ExampleWeights, passed: ForwardPass, targets: Sequence[float],
                      inputs: Sequence[float]) -> dict[str, float]:
    """dE/dw1..dw4, backpropagated through `weights`' w5..w8."""
    delta_o1, delta_o2 = _output_deltas(passed, targets)
    delta_h1 = (delta_o1 * weights.w5 + delta_o2 * weights.w7) * passed.out_h1 * (1 - passed.out_h1)
    delta_h2 = (delta_o1 * weights.w6 + delta_o2 * weights.w8) * passed.out_h2 * (1 - passed.out_h2)
    return {"w1": delta_h1 * inputs[0], "w2": delta_h1 * inputs[1],
            "w3": delta_h2 * inputs[0], "w4": delta_h2 * inputs[1]}


def gradients(weights: ExampleWeights, inputs: Sequence[float], targets: Sequence[float]) -> dict[str, float]:
    """dE_total/dw for w1..w8 by the chain rule, all from one forward pass with the current weights."""
    passed = forward(weights, inputs)
    found = {**_hidden_gradients(weights, passed, targets, inputs), **_output_gradients(passed, targets)}
    return {name: found[name] for name in WEIGHT_NAMES}


def update(weights: ExampleWeights, grads: dict[str, float], eta: float) -> ExampleWeights:
    """w = w - eta * dE/dw for every weight in `grads` (the biases stay)."""
    return replace(weights, **{name: getattr(weights, name) - eta * grad for name, grad in grads.items()})


def step(weights: ExampleWeights, inputs: Sequence[float], targets: Sequence[float], eta: float,
         order: str = SIMULTANEOUS) -> ExampleWeights:
    """One backpropagation update.

    SIMULTANEOUS uses the original w5..w8 to backpropagate into w1..w4 (the course's text);
    OUTPUT_FIRST updates w5..w8 first and backpropagates through the new values (the course's numbers).
    """
    if order == SIMULTANEOUS:
        return update(weights, gradients(weights, inputs, targets), eta)
    if order != OUTPUT_FIRST:
        raise ValueError(f"unknown update order {order!r}; choose one of {UPDATE_ORDERS}")
    passed = forward(weights, inputs)
    weights = update(weights, _output_gradients(passed, targets), eta)
    return update(weights, _hidden_gradients(weights, passed, targets, inputs), eta)


def train_example(weights: ExampleWeights, inputs: Sequence[float], targets: Sequence[float], eta: float,
                  updates: int, order: str = SIMULTANEOUS) -> ExampleTraining:
    """Repeat `step` `updates` times, recording the total error (thinned to ~1000 points)."""
    recorder = _CurveRecorder(updates)
    recorder.record(0, errors(forward(weights, inputs), targets).total)
    number = 0
    try:
        for number in range(1, updates + 1):
            weights = step(weights, inputs, targets, eta, order)
            error = errors(forward(weights, inputs), targets).total
            if not math.isfinite(error):
                raise OverflowError
            recorder.record(number, error)
    except (OverflowError, ZeroDivisionError, ValueError):
        raise _diverged("the worked example", number, eta) from None
    passed = forward(weights, inputs)
    return ExampleTraining(order, updates, weights, passed, errors(passed, targets), recorder.curve())


def worked_example(iterations: int = COURSE_ITERATIONS, eta: float = COURSE_ETA,
                   weights: ExampleWeights = COURSE_WEIGHTS, inputs: Sequence[float] = COURSE_INPUTS,
                   targets: Sequence[float] = COURSE_TARGETS) -> WorkedExample:
    """The course's worked example from forward pass to `iterations` updates, both update orders."""
    passed = forward(weights, inputs)
    grads = gradients(weights, inputs, targets)
    after_one = {order: errors(forward(step(weights, inputs, targets, eta, order), inputs), targets).total
                 for order in UPDATE_ORDERS}
    trained = {order: train_example(weights, inputs, targets, eta, iterations, order) for order in UPDATE_ORDERS}
    return WorkedExample(tuple(inputs), tuple(targets), eta, weights, passed, errors(passed, targets),
                         output_chain(passed, targets), hidden_chain(weights, passed, targets, inputs),
                         grads, update(weights, grads, eta), after_one, trained)


# --- The exercises: 2 inputs, 1 hidden sigmoid neuron, 1 or 2 outputs, no bias -----------------


@dataclass(frozen=True)
class TinyNetwork:
    """neth = w1 i1 + w2 i2, outh = sigmoid(neth), neto_k = output[k] * outh (w3, and w4 with two outputs)."""

    w1: float
    w2: float
    output: tuple[float, ...]


@dataclass(frozen=True)
class TinyForward:
    net_h: float
    out_h: float
    net_o: tuple[float, ...]
    out: tuple[float, ...]


@dataclass(frozen=True)
class TinyGradients:
    """dL/dw1, dL/dw2 and dL/d(each output weight), plus dL/dnet_o (zero means nothing moves that output)."""

    w1: float
    w2: float
    output: tuple[float, ...]
    d_net_o: tuple[float, ...]


def _squared(out: Sequence[float], target: Sequence[float]) -> float:
    return sum(0.5 * (t - o) ** 2 for o, t in zip(out, target))


def _squared_gradient(out: Sequence[float], target: Sequence[float]) -> tuple[float, ...]:
    return tuple(o - t for o, t in zip(out, target))


def _binary_crossentropy(out: Sequence[float], target: Sequence[float]) -> float:
    return sum(-(t * math.log(o) if t else 0.0) - ((1 - t) * math.log(1 - o) if t != 1 else 0.0)
               for o, t in zip(out, target))


def _binary_crossentropy_gradient(out: Sequence[float], target: Sequence[float]) -> tuple[float, ...]:
    return tuple((-t / o if t else 0.0) + ((1 - t) / (1 - o) if t != 1 else 0.0) for o, t in zip(out, target))


def _categorical_crossentropy(out: Sequence[float], target: Sequence[float]) -> float:
    return sum(-t * math.log(o) for o, t in zip(out, target) if t)


def _categorical_crossentropy_gradient(out: Sequence[float], target: Sequence[float]) -> tuple[float, ...]:
    """dC/do_i = -y_i / o_i: zero for every output whose target is 0."""
    return tuple(-t / o if t else 0.0 for o, t in zip(out, target))


LOSSES: dict[str, tuple[Callable[..., float], Callable[..., tuple[float, ...]]]] = {
    "squared": (_squared, _squared_gradient),
    "binary_crossentropy": (_binary_crossentropy, _binary_crossentropy_gradient),
    "categorical_crossentropy": (_categorical_crossentropy, _categorical_crossentropy_gradient),
}
ACTIVATIONS = ("sigmoid", "softmax")


def _softmax(values: Sequence[float]) -> tuple[float, ...]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return tuple(e / total for e in exps)


def tiny_forward(network: TinyNetwork, inputs: Sequence[float], activation: str = "sigmoid") -> TinyForward:
    """Hidden sigmoid neuron, then sigmoid outputs (each on its own) or a softmax over them."""
    net_h = network.w1 * inputs[0] + network.w2 * inputs[1]
    out_h = sigmoid(net_h)
    net_o = tuple(w * out_h for w in network.output)
    out = tuple(sigmoid(n) for n in net_o) if activation == "sigmoid" else _softmax(net_o)
    return TinyForward(net_h, out_h, net_o, out)


def tiny_loss(network: TinyNetwork, inputs: Sequence[float], targets: Sequence[float], loss: str,
              activation: str = "sigmoid") -> float:
    return LOSSES[loss][0](tiny_forward(network, inputs, activation).out, targets)


def tiny_gradients(network: TinyNetwork, inputs: Sequence[float], targets: Sequence[float], loss: str,
                   activation: str = "sigmoid") -> TinyGradients:
    """The chain rule through the loss, the output activation, the output weights and the hidden neuron."""
    passed = tiny_forward(network, inputs, activation)
    d_out = LOSSES[loss][1](passed.out, targets)
    if activation == "sigmoid":
        d_net_o = tuple(g * o * (1 - o) for g, o in zip(d_out, passed.out))
    else:  # softmax Jacobian: ds_i/dz_j = s_i (1{i=j} - s_j)
        s = passed.out
        d_net_o = tuple(sum(d_out[i] * s[i] * ((i == j) - s[j]) for i in range(len(s))) for j in range(len(s)))
    d_out_h = sum(d * w for d, w in zip(d_net_o, network.output))
    d_net_h = d_out_h * passed.out_h * (1 - passed.out_h)
    return TinyGradients(d_net_h * inputs[0], d_net_h * inputs[1],
                         tuple(d * passed.out_h for d in d_net_o), d_net_o)


def tiny_step(network: TinyNetwork, grads: TinyGradients, eta: float) -> TinyNetwork:
    return TinyNetwork(network.w1 - eta * grads.w1, network.w2 - eta * grads.w2,
                       tuple(w - eta * g for w, g in zip(network.output, grads.output)))


@dataclass(frozen=True)
class Exercise:
    """One of the course's exercises: a tiny network, its targets, loss, output activation and steps."""

    name: str
    title: str
    network: TinyNetwork
    targets: tuple[float, ...]
    loss: str
    activation: str
    steps: int


@dataclass(frozen=True)
class ExerciseResult:
    exercise: Exercise
    start: TinyForward
    start_loss: float
    network: TinyNetwork
    end: TinyForward
    end_loss: float
    max_abs_d_net_o: tuple[float, ...]
    curve: LossCurve


COURSE_EXERCISE_INPUTS = (0.1, 0.5)
ONE_OUTPUT = TinyNetwork(w1=0.4, w2=0.6, output=(0.1,))
TWO_OUTPUTS = TinyNetwork(w1=0.4, w2=0.6, output=(0.1, 0.5))
COURSE_EXERCISES = (
    Exercise("squared", "squared error, 1 output -> 0.2", ONE_OUTPUT, (0.2,), "squared", "sigmoid", 1000),
    Exercise("bce", "binary cross-entropy, 1 output -> 1.0", ONE_OUTPUT, (1.0,),
             "binary_crossentropy", "sigmoid", 1000),
    Exercise("cce_sigmoid", "categorical cross-entropy, 2 sigmoid outputs -> (1, 0)", TWO_OUTPUTS, (1.0, 0.0),
             "categorical_crossentropy", "sigmoid", 1000),
    Exercise("bce_two", "fix 1: binary cross-entropy, 2 sigmoid outputs -> (1, 0)", TWO_OUTPUTS, (1.0, 0.0),
             "binary_crossentropy", "sigmoid", 100_000),
    Exercise("cce_softmax", "fix 2: categorical cross-entropy, softmax outputs -> (1, 0)", TWO_OUTPUTS, (1.0, 0.0),
             "categorical_crossentropy", "softmax", 1000),
)


def run_exercise(exercise: Exercise, eta: float = COURSE_ETA,
                 inputs: Sequence[float] = COURSE_EXERCISE_INPUTS) -> ExerciseResult:
    """Train the exercise's network for its steps; record the loss and how hard each output is pushed."""
    network = exercise.network
    loss_of = LOSSES[exercise.loss][0]
    recorder = _CurveRecorder(exercise.steps)
    pushed = [0.0] * len(network.output)
    number = 0
    try:
        start = tiny_forward(network, inputs, exercise.activation)
        start_loss = loss = loss_of(start.out, exercise.targets)
        recorder.record(0, loss)
        for number in range(1, exercise.steps + 1):
            grads = tiny_gradients(network, inputs, exercise.targets, exercise.loss, exercise.activation)
            pushed = [max(p, abs(d)) for p, d in zip(pushed, grads.d_net_o)]
            network = tiny_step(network, grads, eta)
            loss = loss_of(tiny_forward(network, inputs, exercise.activation).out, exercise.targets)
            if not math.isfinite(loss):
                raise OverflowError
            recorder.record(number, loss)
    except (OverflowError, ZeroDivisionError, ValueError):  # log(0), 1/(1 - 1): a saturated output
        raise _diverged(f"the exercise '{exercise.name}'", number, eta) from None
    return ExerciseResult(exercise, start, start_loss, network, tiny_forward(network, inputs, exercise.activation),
                          loss, tuple(pushed), recorder.curve())


# --- Softmax + cross-entropy: dL/dz = s - y ------------------------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    exps = np.exp(z - np.max(z))
    return exps / exps.sum()


def softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    """L(y, s) = -sum y_i log s_i with s = softmax(z)."""
    return float(-np.sum(y * np.log(softmax(z))))


def softmax_jacobian(s: np.ndarray) -> np.ndarray:
    """J[i, j] = ds_i/dz_j = s_i (1{i=j} - s_j)."""
    return np.diag(s) - np.outer(s, s)


def central_differences(function: Callable[[np.ndarray], float], z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """dF/dz_j ~ (F(z + h e_j) - F(z - h e_j)) / 2h for every j."""
    gradient = np.zeros_like(z, dtype=np.float64)
    for j in range(z.size):
        shift = np.zeros_like(z, dtype=np.float64)
        shift[j] = h
        gradient[j] = (function(z + shift) - function(z - shift)) / (2 * h)
    return gradient


@dataclass(frozen=True)
class SoftmaxCheck:
    z: np.ndarray
    y: np.ndarray
    s: np.ndarray
    analytic: np.ndarray  # s - y
    through_jacobian: np.ndarray  # J^T dL/ds with dL/ds = -y / s
    numeric: np.ndarray
    max_abs_difference: float  # |analytic - numeric|
    max_abs_jacobian_difference: float  # |analytic - through_jacobian|


def check_softmax_gradient(z: np.ndarray, y: np.ndarray, h: float = 1e-6) -> SoftmaxCheck:
    """Compare the course's dL/dz = s - y with the Jacobian chain rule and with central differences."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = softmax(z)
    analytic = s - y
    through_jacobian = softmax_jacobian(s).T @ (-y / s)
    numeric = central_differences(lambda v: softmax_cross_entropy(v, y), z, h)
    return SoftmaxCheck(z, y, s, analytic, through_jacobian, numeric,
                        float(np.max(np.abs(analytic - numeric))),
                        float(np.max(np.abs(analytic - through_jacobian))))


def random_softmax_problem(seed: int, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A random logit vector z ~ N(0, 1) and a random one-hot label y."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=classes)
    y = np.zeros(classes)
    y[rng.integers(classes)] = 1.0
    return z, y
