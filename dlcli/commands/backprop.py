"""`dl backprop`: the course's hand-computed backpropagation, step by step, then Keras' XOR.

`example` walks the worked 2-2-2 sigmoid network: forward pass, squared errors, the chain rule
for w5 and for w1, the updated weights, and the error after one and after N updates, each next
to the number the course prints. `exercises` trains the course's tiny 2-1-1 and 2-1-2 networks
with squared error, binary and categorical cross-entropy, and shows why categorical
cross-entropy on sigmoid outputs fails and how the two suggested fixes behave. `softmax` checks
dL/dz = s - y numerically. `xor` trains the course's Keras XOR network (Dense 8 tanh, Dense 1
sigmoid, SGD 0.1, MSE, batch 1, 1000 epochs) and reports its predictions.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dlcli.checks import check_range, choice
from dlcli.commands.common import with_common
from dlcli.session import GlobalOptions, Session

PARTS = ("all", "example", "exercises", "softmax", "xor")
COURSE_ITERATIONS = 10_000
COURSE_ETA = 0.5
COURSE_XOR = {"units": 8, "epochs": 1000, "batch_size": 1, "learning_rate": 0.1}

# The numbers the course prints for the worked example, as printed (their decimals set the check).
COURSE_FORWARD = {"net_h1": "0.3775", "out_h1": "0.593269992", "out_h2": "0.596884378",
                  "net_o1": "1.105905967", "out_o1": "0.75136507", "out_o2": "0.772928465"}
COURSE_ERRORS = {"e_o1": "0.274811083", "e_o2": "0.023560026", "total": "0.298371109"}
COURSE_OUTPUT_CHAIN = {"d_total_d_out_o1": "0.74136507", "d_out_o1_d_net_o1": "0.186815602",
                       "d_net_o1_d_w5": "0.593269992", "d_total_d_w5": "0.082167041"}
COURSE_HIDDEN_CHAIN = {"d_e_o1_d_net_o1": "0.138498562", "d_net_o1_d_out_h1": "0.40",
                       "d_e_o1_d_out_h1": "0.055399425", "d_e_o2_d_out_h1": "-0.019049119",
                       "d_total_d_out_h1": "0.036350306", "d_out_h1_d_net_h1": "0.241300709",
                       "d_net_h1_d_w1": "0.05", "d_total_d_w1": "0.000438568"}
COURSE_UPDATED = {"w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229",
                  "w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121"}
COURSE_AFTER_ONE = "0.291027924"
COURSE_AFTER_N = {"error": "0.000035085", "out_o1": "0.015912196", "out_o2": "0.984065734"}


def register(app: typer.Typer) -> None:
    app.command("backprop", help="The course's hand-computed backpropagation example, step by step.")(
        with_common(backprop))


def backprop(
    part: Annotated[str, typer.Argument(
        help="all, example (the worked 2-2-2 network), exercises (tiny networks and losses), "
             "softmax (dL/dz = s - y check) or xor (the Keras XOR network).")] = "all",
    iterations: Annotated[int, typer.Option(
        help="Updates of the worked example (course: 10000).", rich_help_panel="Backprop")] = COURSE_ITERATIONS,
    eta: Annotated[float, typer.Option(
        help="Learning rate of the hand-written networks (course: 0.5).", rich_help_panel="Backprop")] = COURSE_ETA,
    xor_epochs: Annotated[int, typer.Option(
        help="Epochs of the Keras XOR network (course: 1000).", rich_help_panel="Backprop")] = COURSE_XOR["epochs"],
    common: GlobalOptions = None,
) -> None:
    """Backpropagation by hand, checked against the course's numbers; then the XOR network in Keras."""
    name = choice("part", part, PARTS)
    check_range("--iterations", iterations, 1)
    check_range("--eta", eta, 0, low_open=True)
    check_range("--xor-epochs", xor_epochs, 1)
    wanted = PARTS[1:] if name == "all" else (name,)
    options = {"part": name, "iterations": iterations, "eta": eta, "xor_epochs": xor_epochs}

    with Session("backprop", name, options, common) as session:
        from dlcli.models import backprop as hand

        console = session.display.console
        metrics: dict[str, Any] = {}
        curves: dict[str, tuple[list[int], list[float]]] = {}
        history, model = None, None

        if "example" in wanted:
            example = hand.worked_example(iterations, eta)
            show_example(console, example)
            metrics.update(example_metrics(example))
            history = example_history(example)
            curves.update({f"example_{order}": (list(t.curve.steps), list(t.curve.losses))
                           for order, t in example.trained.items()})

        if "exercises" in wanted:
            results = [hand.run_exercise(exercise, eta) for exercise in hand.COURSE_EXERCISES]
            show_exercises(console, results)
            metrics["exercises"] = {r.exercise.name: exercise_metrics(r) for r in results}
            curves.update({r.exercise.name: (list(r.curve.steps), list(r.curve.losses)) for r in results})

        if "softmax" in wanted:
            check = hand.check_softmax_gradient(*hand.random_softmax_problem(session.seed))
            show_softmax(console, check)
            metrics["softmax_max_abs_difference"] = check.max_abs_difference
            metrics["softmax"] = {"z": check.z.tolist(), "y": check.y.tolist(), "s": check.s.tolist(),
                                  "s_minus_y": check.analytic.tolist(), "numeric": check.numeric.tolist(),
                                  "max_abs_difference": check.max_abs_difference,
                                  "max_abs_jacobian_difference": check.max_abs_jacobian_difference}

        if "xor" in wanted:
            model, xor_history, xor = train_xor(session, xor_epochs)
            show_xor(console, xor)
            metrics.update({"xor_loss": xor["loss"], "xor_accuracy": xor["accuracy"], "xor": xor})
            curves["xor"] = (list(range(1, len(xor_history["loss"]) + 1)), xor_history["loss"])
            if history is None:
                history = xor_history

        write_curves(session, curves)
        session.finish(metrics, model=model, history=history)


# --- The worked example ---------------------------------------------------------------------------


def _number(value: float, printed: str | None = None) -> str:
    """Our value with at least 9 decimals (more where the course prints more)."""
    decimals = max(9, len(printed.split(".")[1]) if printed else 0)
    return f"{value:.{decimals}f}"


def _matches(value: float, printed: str) -> bool:
    """Does `value`, rounded to the decimals the course prints, read as the course's number?"""
    decimals = len(printed.split(".")[1])
    return f"{value:.{decimals}f}" == printed


def _mark(value: float, printed: str | None, by_hand: float | None = None) -> str:
    """'yes' when our value reads as the course's; 'by hand' when only the course's own rounding does."""
    if printed is None:
        return ""
    if _matches(value, printed):
        return "[green]yes[/]"
    return "[yellow]by hand[/]" if by_hand is not None and _matches(by_hand, printed) else "[red]no[/]"


def _table(title: str, columns: list[str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        text = index == 0 or column == "formula"
        table.add_column(column, justify="left" if text else "right", no_wrap=not text)
    return table


def _course_rows(table, rows: list[tuple]) -> None:
    """Rows of (name, formula, value, course's printed value[, the value rounded as the course does])."""
    for label, formula, value, printed, *by_hand in rows:
        table.add_row(label, formula, _number(value, printed), printed or "", _mark(value, printed, *by_hand))


def d_e_o2_d_out_h1_by_hand(example) -> float:
    """dE_o2/dout_h1 computed as the course does: dE_o2/dnet_o2 rounded to 9 decimals, times w7, rounded."""
    from dlcli.models.backprop import round_half_up

    return round_half_up(round_half_up(example.hidden_chain.d_e_o2_d_net_o2) * example.weights.w7)


def show_example(console, example) -> None:
    """The course's worked example, table by table, each number beside the course's."""
    from dlcli.models.backprop import round_half_up

    columns = ["quantity", "formula", "computed", "course", "match"]
    w, f, e = example.weights, example.forward, example.errors
    console.print(f"[bold]Worked example[/]: inputs {example.inputs}, targets {example.targets}, "
                  f"w1..w8 = {w.w1}, {w.w2}, {w.w3}, {w.w4}, {w.w5}, {w.w6}, {w.w7}, {w.w8}, "
                  f"b1 = {w.b1}, b2 = {w.b2}, sigmoid, eta = {example.eta}")

    table = _table("1. Forward pass", columns)
    _course_rows(table, [
        ("net_h1", "w1*i1 + w2*i2 + b1*1", f.net_h1, COURSE_FORWARD["net_h1"]),
        ("out_h1", "1/(1+e^-net_h1)", f.out_h1, COURSE_FORWARD["out_h1"]),
        ("net_h2", "w3*i1 + w4*i2 + b1*1", f.net_h2, None),
        ("out_h2", "1/(1+e^-net_h2)", f.out_h2, COURSE_FORWARD["out_h2"]),
        ("net_o1", "w5*out_h1 + w6*out_h2 + b2*1", f.net_o1, COURSE_FORWARD["net_o1"]),
        ("out_o1", "1/(1+e^-net_o1)", f.out_o1, COURSE_FORWARD["out_o1"]),
        ("net_o2", "w7*out_h1 + w8*out_h2 + b2*1", f.net_o2, None),
        ("out_o2", "1/(1+e^-net_o2)", f.out_o2, COURSE_FORWARD["out_o2"]),
    ])
    console.print(table)

    table = _table("2. Error", columns)
    _course_rows(table, [
        ("E_o1", "1/2 (target_o1 - out_o1)^2", e.e_o1, COURSE_ERRORS["e_o1"]),
        ("E_o2", "1/2 (target_o2 - out_o2)^2", e.e_o2, COURSE_ERRORS["e_o2"]),
        ("E_total", "E_o1 + E_o2", e.total, COURSE_ERRORS["total"]),
    ])
    console.print(table)

    c = example.output_chain
    table = _table("3. Backward pass, output layer: dE_total/dw5 = dE_total/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5",
                   columns)
    _course_rows(table, [
        ("dE_total/dout_o1", "-(target_o1 - out_o1)", c.d_total_d_out_o1, COURSE_OUTPUT_CHAIN["d_total_d_out_o1"]),
        ("dout_o1/dnet_o1", "out_o1 (1 - out_o1)", c.d_out_o1_d_net_o1, COURSE_OUTPUT_CHAIN["d_out_o1_d_net_o1"]),
        ("dnet_o1/dw5", "out_h1", c.d_net_o1_d_w5, COURSE_OUTPUT_CHAIN["d_net_o1_d_w5"]),
        ("dE_total/dw5", "product of the three", c.d_total_d_w5, COURSE_OUTPUT_CHAIN["d_total_d_w5"]),
    ])
    console.print(table)

    h = example.hidden_chain
    table = _table("4. Backward pass, hidden layer: dE_total/dw1 = dE_total/dout_h1 * dout_h1/dnet_h1 * dnet_h1/dw1",
                   columns)
    _course_rows(table, [
        ("dE_o1/dnet_o1", "dE_o1/dout_o1 * dout_o1/dnet_o1", h.d_e_o1_d_net_o1, COURSE_HIDDEN_CHAIN["d_e_o1_d_net_o1"]),
        ("dnet_o1/dout_h1", "w5", h.d_net_o1_d_out_h1, COURSE_HIDDEN_CHAIN["d_net_o1_d_out_h1"]),
        ("dE_o1/dout_h1", "dE_o1/dnet_o1 * w5", h.d_e_o1_d_out_h1, COURSE_HIDDEN_CHAIN["d_e_o1_d_out_h1"]),
        ("dE_o2/dnet_o2", "-(target_o2 - out_o2) * out_o2 (1 - out_o2)", h.d_e_o2_d_net_o2, None),
        ("dE_o2/dout_h1", "dE_o2/dnet_o2 * w7", h.d_e_o2_d_out_h1, COURSE_HIDDEN_CHAIN["d_e_o2_d_out_h1"],
         d_e_o2_d_out_h1_by_hand(example)),
        ("dE_total/dout_h1", "dE_o1/dout_h1 + dE_o2/dout_h1", h.d_total_d_out_h1,
         COURSE_HIDDEN_CHAIN["d_total_d_out_h1"]),
        ("dout_h1/dnet_h1", "out_h1 (1 - out_h1)", h.d_out_h1_d_net_h1, COURSE_HIDDEN_CHAIN["d_out_h1_d_net_h1"]),
        ("dnet_h1/dw1", "i1", h.d_net_h1_d_w1, COURSE_HIDDEN_CHAIN["d_net_h1_d_w1"]),
        ("dE_total/dw1", "product of the three", h.d_total_d_w1, COURSE_HIDDEN_CHAIN["d_total_d_w1"]),
    ])
    console.print(table)
    console.print(f"'by hand': the course rounds dE_o2/dnet_o2 to {round_half_up(h.d_e_o2_d_net_o2):.9f} before "
                  f"multiplying by w7, giving {round_half_up(h.d_e_o2_d_net_o2) * example.weights.w7:.10f} -> "
                  f"{COURSE_HIDDEN_CHAIN['d_e_o2_d_out_h1']}; unrounded the product is {h.d_e_o2_d_out_h1:.12f}.")

    course_eta = example.eta == COURSE_ETA
    table = _table(f"5. Updated weights: w = w - eta * dE_total/dw (eta {example.eta}; from the original weights)",
                   ["weight", "before", "dE_total/dw", "after", "course", "match"])
    for name, gradient in example.gradients.items():
        printed = COURSE_UPDATED[name] if course_eta else None
        after = getattr(example.updated, name)
        table.add_row(name, f"{getattr(example.weights, name)}", _number(gradient), _number(after, printed),
                      printed or "", _mark(after, printed))
    console.print(table)
    show_training(console, example)


def show_training(console, example) -> None:
    """Error after 0, 1 and N updates with both update orders, beside the course's numbers."""
    from dlcli.models.backprop import OUTPUT_FIRST, SIMULTANEOUS

    simultaneous, output_first = example.trained[SIMULTANEOUS], example.trained[OUTPUT_FIRST]
    updates = simultaneous.updates
    course_one = COURSE_AFTER_ONE if example.eta == COURSE_ETA else None
    course_n = COURSE_AFTER_N if example.eta == COURSE_ETA and updates == COURSE_ITERATIONS else {}
    table = _table("6. Training: the same forward pass and update, repeated",
                   ["quantity", "updates", "text's rule", "w5..w8 first", "course", "match"])
    table.add_row("E_total", "0", _number(example.errors.total), _number(example.errors.total),
                  COURSE_ERRORS["total"], _mark(example.errors.total, COURSE_ERRORS["total"]))
    table.add_row("E_total", "1", _number(example.after_one[SIMULTANEOUS]), _number(example.after_one[OUTPUT_FIRST]),
                  course_one or "", _mark(example.after_one[OUTPUT_FIRST], course_one))
    for label, key, simultaneous_value, output_first_value in (
            ("E_total", "error", simultaneous.errors.total, output_first.errors.total),
            ("out_o1", "out_o1", simultaneous.forward.out_o1, output_first.forward.out_o1),
            ("out_o2", "out_o2", simultaneous.forward.out_o2, output_first.forward.out_o2)):
        printed = course_n.get(key)
        table.add_row(label, str(updates), _number(simultaneous_value), _number(output_first_value),
                      printed or "", _mark(output_first_value, printed))
    console.print(table)
    console.print("The text's rule backpropagates into w1..w4 through the original w5..w8 (table 5 matches the "
                  "course); the course's errors after 1 and 10,000 updates come from updating w5..w8 first and "
                  "backpropagating through the new values. 'match' compares the course with that column.")


def example_metrics(example) -> dict[str, Any]:
    """The worked example's numbers for metrics.json (headline scalars plus the full record)."""
    from dlcli.models.backprop import OUTPUT_FIRST, SIMULTANEOUS

    trained = {order: {"updates": t.updates, "error": t.errors.total, "out_o1": t.forward.out_o1,
                       "out_o2": t.forward.out_o2, "weights": t.weights.as_dict()}
               for order, t in example.trained.items()}
    return {
        "error_initial": example.errors.total,
        "error_after_1": example.after_one[SIMULTANEOUS],
        "error_after_1_output_first": example.after_one[OUTPUT_FIRST],
        "error_after_n": example.trained[SIMULTANEOUS].errors.total,
        "error_after_n_output_first": example.trained[OUTPUT_FIRST].errors.total,
        "example": {
            "inputs": list(example.inputs), "targets": list(example.targets), "eta": example.eta,
            "forward": vars(example.forward), "errors": vars(example.errors),
            "output_chain": vars(example.output_chain), "hidden_chain": vars(example.hidden_chain),
            "gradients": example.gradients,
            "updated_weights": {name: getattr(example.updated, name) for name in example.gradients},
            "error_after_1": example.after_one, "trained": trained,
        },
    }


def example_history(example) -> dict[str, list[float]]:
    """history.csv: E_total after each recorded update, both update orders (same thinned steps)."""
    from dlcli.models.backprop import OUTPUT_FIRST, SIMULTANEOUS

    simultaneous, output_first = example.trained[SIMULTANEOUS].curve, example.trained[OUTPUT_FIRST].curve
    return {"update": list(simultaneous.steps), "error": list(simultaneous.losses),
            "error_output_first": list(output_first.losses)}


# --- The exercises --------------------------------------------------------------------------------


def _outputs(values) -> str:
    return " ".join(f"{v:.4f}" for v in values)


def show_exercises(console, results) -> None:
    """The tiny networks' start and end, then what goes wrong with CCE on sigmoid outputs and the fixes."""
    table = _table("Exercises: inputs 0.1, 0.5; w1 0.4, w2 0.6, w3 0.1, w4 0.5; no bias",
                   ["exercise", "steps", "outputs before", "outputs after", "loss after"])
    for r in results:
        table.add_row(r.exercise.title, str(r.exercise.steps), _outputs(r.start.out), _outputs(r.end.out),
                      f"{r.end_loss:.3g}")
    console.print(table)
    by_name = {r.exercise.name: r for r in results}
    for line in exercise_explanation(by_name):
        console.print(line)


def exercise_explanation(by_name: dict[str, Any]) -> list[str]:
    """One line on what goes wrong with categorical cross-entropy on sigmoid outputs, one per fix."""
    lines = []
    if "cce_sigmoid" in by_name:
        r = by_name["cce_sigmoid"]
        lines.append(
            f"[bold]What goes wrong[/] with categorical cross-entropy on sigmoid outputs: o2's target is 0, so "
            f"-0*log(o2) adds nothing and dL/do2 = 0 (largest |dL/dnet_o2| seen: {r.max_abs_d_net_o[1]:g}); "
            f"w4 never moves ({r.network.output[1]}), nothing pushes o2 toward 0 and it drifts "
            f"{r.start.out[1]:.4f} -> {r.end.out[1]:.4f} as the shared hidden neuron grows, "
            f"while o1 just saturates ({r.end.out[0]:.4f}).")
    if "bce_two" in by_name:
        r = by_name["bce_two"]
        lines.append(f"[bold]Fix 1[/], binary cross-entropy on both outputs: -(1-y)log(1-o2) pushes o2 down; "
                     f"after {r.exercise.steps} steps o1 {r.end.out[0]:.6f}, o2 {r.end.out[1]:.6f}.")
    if "cce_softmax" in by_name:
        r = by_name["cce_softmax"]
        lines.append(f"[bold]Fix 2[/], softmax outputs: o1 + o2 = 1 and dL/dz = s - y moves both logits; "
                     f"after {r.exercise.steps} steps o1 {r.end.out[0]:.6f}, o2 {r.end.out[1]:.6f}.")
    return lines


def exercise_metrics(result) -> dict[str, Any]:
    return {"title": result.exercise.title, "loss_function": result.exercise.loss,
            "activation": result.exercise.activation, "steps": result.exercise.steps,
            "targets": list(result.exercise.targets), "outputs_before": list(result.start.out),
            "outputs_after": list(result.end.out), "loss_before": result.start_loss, "loss_after": result.end_loss,
            "weights_after": [result.network.w1, result.network.w2, *result.network.output],
            "max_abs_d_net_o": list(result.max_abs_d_net_o)}


# --- Softmax + cross-entropy ----------------------------------------------------------------------


def show_softmax(console, check) -> None:
    table = _table("Softmax + cross-entropy: dL/dz = s - y, checked by central differences (h = 1e-6)",
                   ["i", "z", "y", "s", "s - y", "J^T(-y/s)", "numeric"])
    for i in range(check.z.size):
        table.add_row(str(i), f"{check.z[i]:.6f}", f"{check.y[i]:g}", f"{check.s[i]:.6f}",
                      f"{check.analytic[i]:.9f}", f"{check.through_jacobian[i]:.9f}", f"{check.numeric[i]:.9f}")
    console.print(table)
    console.print(f"max |(s - y) - numeric| = {check.max_abs_difference:.3g}; "
                  f"max |(s - y) - J^T(-y/s)| = {check.max_abs_jacobian_difference:.3g}")


# --- XOR in Keras ---------------------------------------------------------------------------------


def train_xor(session: Session, epochs: int):
    """The course's XOR network: Dense 8 tanh, Dense 1 sigmoid, SGD lr 0.1, MSE, batch 1."""
    import numpy as np

    from dlcli import plots, training
    from dlcli.models.dense import build_dense

    data = session.load("xor")
    x = data.x_train.astype("float32")
    y = data.y_train.astype("float32").reshape(-1, 1)
    model = build_dense((2,), 1, units=(COURSE_XOR["units"],), activation="tanh", output_activation="sigmoid",
                        name="xor")
    training.compile_model(model, optimizer="sgd", learning_rate=COURSE_XOR["learning_rate"], loss="mse",
                           metrics=["accuracy"])
    message = f"training the XOR network: {epochs} epochs, batch size {COURSE_XOR['batch_size']}"
    if session.display.live:
        with session.display.console.status(message):
            history = training.fit_passes(model, x, y, epochs=epochs, batch_size=COURSE_XOR["batch_size"], seed=session.seed)
    else:
        session.display.console.print(message)
        history = training.fit_passes(model, x, y, epochs=epochs, batch_size=COURSE_XOR["batch_size"], seed=session.seed)
    plots.training_curves(history, session.run.plots / "xor.png", title="XOR")
    predictions = training.predict(model, x).reshape(-1)
    correct = (predictions > 0.5).astype("float32") == y.reshape(-1)
    xor = {"epochs": epochs, "inputs": x.tolist(), "targets": y.reshape(-1).tolist(),
           "predictions": [float(p) for p in predictions], "loss": history["loss"][-1],
           "accuracy": float(np.mean(correct))}
    return model, history, xor


def show_xor(console, xor: dict[str, Any]) -> None:
    table = _table(f"XOR in Keras: Dense 8 tanh, Dense 1 sigmoid, SGD 0.1, MSE, batch 1, {xor['epochs']} epochs",
                   ["x1", "x2", "target", "prediction", "class"])
    for (x1, x2), target, prediction in zip(xor["inputs"], xor["targets"], xor["predictions"]):
        table.add_row(f"{x1:g}", f"{x2:g}", f"{target:g}", f"{prediction:.6f}", str(int(prediction > 0.5)))
    console.print(table)
    console.print(f"final training loss {xor['loss']:.6f}, accuracy {xor['accuracy']:.2f}")


def write_curves(session: Session, curves: dict[str, tuple[list[int], list[float]]]) -> None:
    """curves.csv: every recorded loss curve, one row per (curve, step, loss)."""
    from dlcli.atomic import write_text

    if not curves:
        return
    lines = ["curve,step,loss"]
    for name, (steps, losses) in curves.items():
        lines += [f"{name},{step},{loss!r}" for step, loss in zip(steps, losses)]
    write_text(session.run.path / "curves.csv", "\n".join(lines) + "\n")

