"""`dl classify`: the course's dense classifiers on MNIST, IMDB and Reuters (and digits).

Load, prepare (scale or multi-hot), hold out the course's validation samples, train the dense
network, evaluate on the test set, then plot the curves and the confusion matrix. `--compare`
is the course's regularisation exercise: baseline, L2 (0.001) and dropout (0.5) side by side.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Optional

import typer

from dlcli import legacy
from dlcli.checks import choice
from dlcli.commands.families import dense as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

COURSE_L2 = 0.001
COURSE_DROPOUT = 0.5


def register(app: typer.Typer) -> None:
    app.command("classify", help="Dense classifiers on MNIST, Fashion-MNIST, IMDB, Reuters or digits (the course's first networks).")(
        with_common(tasks.with_dense_options("units", "layers", "dropout", "l2", "epochs", "batch_size", "optimizer", "learning_rate",
                                             "validation", "validation_samples", "num_words")(classify)))


def classify(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(tasks.CLASSIFY_DATASETS)}.")] = "mnist",
    compare: Annotated[bool, typer.Option("--compare", help="Train baseline, L2 and dropout variants and overlay their validation curves.")] = False,
    network: Annotated[Optional[str], typer.Option(help="dense (the course's multi-hot network; default) or transformer (imdb: the course's Transformer encoder on 600-word sequences, dropout 0.5 before its output).", rich_help_panel="Network")] = None,
    keep_best: Annotated[bool, typer.Option("--keep-best", help="Test and save the weights of the epoch with the lowest validation loss, not the last epoch's (the course's ModelCheckpoint(save_best_only=True) for the Transformer).", rich_help_panel="Training")] = False,
    model: Annotated[Optional[str], typer.Option(hidden=True, help="Deprecated spelling of --network.")] = None,
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Train the course's dense classifier; report test accuracy, curves and a confusion matrix."""
    name = choice("dataset", dataset, tasks.CLASSIFY_DATASETS)
    if model is not None:
        network = legacy.renamed("classify", "--model", "--network", model)
    kind = choice("--network", network or "dense", tasks.NETWORKS)
    settings = tasks.resolve(name, kind, **given)
    if compare and kind != "dense":
        raise DlcliError("--compare is the dense network's regularisation exercise; drop it or use --network dense")
    holds_out = bool(settings.validation or settings.validation_samples)
    if compare and not holds_out:
        raise DlcliError("--compare overlays validation curves: pass --validation-samples N (for example 10000)")
    if keep_best and not holds_out:
        raise DlcliError("--keep-best picks the epoch by validation loss: pass --validation-samples N or --validation F")
    variants = {"baseline": settings}
    if compare:
        variants = {"baseline": replace(settings, l2=0.0, dropout=0.0),
                    "l2": replace(settings, l2=COURSE_L2, dropout=0.0),
                    "dropout": replace(settings, l2=0.0, dropout=COURSE_DROPOUT)}

    # `--precision auto` decides per network: the Transformer classifier is its own family
    family = "classify_transformer" if kind == "transformer" else "classify"
    with Session("classify", name, {**settings.as_dict(), "compare": compare, "network": kind, "keep_best": keep_best}, common,
                 family=family) as session:
        from sklearn.metrics import confusion_matrix

        from dlcli import plots, training

        data = tasks.prepare(session.load(name, num_words=settings.num_words), settings.num_words, kind)
        (x, y), held_out = tasks.split_validation(data.x_train, data.y_train, settings)

        histories, results, models = {}, {}, {}
        for label, variant in variants.items():
            model = tasks.build_model(data, variant, kind=kind)
            histories[label] = session.fit(model, x, y, epochs=variant.epochs, batch_size=variant.batch_size,
                                           validation_data=held_out, label=label if compare else "", keep_best=keep_best)
            results[label] = training.evaluate(model, data.x_test, data.y_test)
            models[label] = model

        model, history = models["baseline"], histories["baseline"]
        predicted = tasks.predicted_classes(model, data.x_test, data.task)
        labels = data.class_names or [str(i) for i in range(data.outputs if data.outputs > 1 else 2)]
        matrix = confusion_matrix(data.y_test.astype("int64"), predicted, labels=range(len(labels)))
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        plots.confusion_matrix(matrix, labels, session.run.plots / "confusion.png", title=f"{name}: test set")

        metrics = {**results["baseline"], "epochs": settings.epochs, "train_samples": len(x),
                   "validation_samples": 0 if held_out is None else len(held_out[0]), "test_samples": len(data.y_test)}
        if compare:
            plots.compare_curves(histories, ["val_loss", "val_accuracy"], session.run.plots / "compare.png", title=name)
            best = {label: min(h["val_loss"]) for label, h in histories.items()}
            metrics["compare"] = {label: {**results[label], "best_val_loss": best[label],
                                          "best_epoch": 1 + histories[label]["val_loss"].index(best[label])}
                                  for label in variants}
            session.display.table("Regularisation: test results",
                                  ["variant", "test_loss", "test_accuracy", "best val_loss", "at epoch"],
                                  [[label, r["test_loss"], r["test_accuracy"], r["best_val_loss"], r["best_epoch"]]
                                   for label, r in metrics["compare"].items()])
            for label in ("l2", "dropout"):
                session.run.save_model(models[label], name=f"model-{label}")
            history = {f"{label}_{key}": values for label, h in histories.items() for key, values in h.items()}
        session.finish(metrics, model=model, history=history)
