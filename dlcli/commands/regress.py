"""`dl regress`: the course's Boston housing regression (and scikit-learn's diabetes).

Features are standardised with training statistics only; the network is 64-64-1 with MSE loss
and MAE metric; the figure is predicted against true prices on the test set.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dlcli.checks import choice
from dlcli.commands.families import dense as tasks
from dlcli.commands.common import with_common
from dlcli.session import GlobalOptions, Session


def register(app: typer.Typer) -> None:
    app.command("regress", help="Dense regression on Boston housing or diabetes (MSE loss, MAE metric).")(
        with_common(tasks.with_dense_options("units", "layers", "dropout", "l2", "epochs", "batch_size", "optimizer", "learning_rate", "validation",
                                             "validation_samples")(regress)))


def regress(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(tasks.REGRESS_DATASETS)}.")] = "boston",
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Train the course's regression network; report test MSE and MAE and plot predicted vs true."""
    name = choice("dataset", dataset, tasks.REGRESS_DATASETS)
    settings = tasks.resolve(name, command="regress", **given)
    with Session("regress", name, settings.as_dict(), common) as session:
        from dlcli import plots, training

        data = tasks.prepare(session.load(name))
        (x, y), held_out = tasks.split_validation(data.x_train, data.y_train, settings)
        model = tasks.build_model(data, settings)
        history = session.fit(model, x, y, epochs=settings.epochs, batch_size=settings.batch_size,
                              validation_data=held_out)
        results = training.evaluate(model, data.x_test, data.y_test)
        predicted = training.predict(model, data.x_test)[:, 0]
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        plots.predicted_vs_true(data.y_test, predicted, session.run.plots / "predicted_vs_true.png", title=f"{name}: test set")
        metrics = {"test_mse": float(((predicted - data.y_test) ** 2).mean()), "test_mae": results["test_mae"], "epochs": settings.epochs,
                   "train_samples": len(x), "validation_samples": 0 if held_out is None else len(held_out[0]), "test_samples": len(data.y_test)}
        session.finish(metrics, model=model, history=history)
