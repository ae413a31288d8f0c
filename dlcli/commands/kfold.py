"""`dl kfold`: the course's K-fold validation on Boston housing (or any dense dataset).

Each fold trains a fresh network on the other folds and validates on its own; the mean of the
folds' validation curves, smoothed as the course does, points to the best epoch. `--final`
retrains on all training data for that many epochs and reports the test score.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from dlcli.checks import check_range, choice
from dlcli.commands.families import dense as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

DATASETS = tasks.REGRESS_DATASETS + tasks.CLASSIFY_DATASETS
# The course's K-fold loop uses batch size 1 and 100 epochs (303 updates per epoch and fold). Batch 16
# (the course's final-model batch) for 200 epochs shows the whole curve and its turn at a fraction of
# the cost; `--batch-size 1 --epochs 100` runs the course's loop as written. See docs/kfold.md.
COURSE_KFOLD = {"boston": {"epochs": 200, "batch_size": 16}}


def register(app: typer.Typer) -> None:
    app.command("kfold", help="K-fold cross-validation (default: Boston housing, k=4), best epoch, optional final model.")(
        with_common(tasks.with_dense_options("units", "layers", "dropout", "l2", "epochs", "batch_size", "optimizer", "learning_rate", "num_words")(kfold)))


def kfold(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(DATASETS)}.")] = "boston",
    folds: Annotated[int, typer.Option("--folds", "-k", help="Number of folds (at least 2).", rich_help_panel="K-fold")] = 4,
    final: Annotated[bool, typer.Option("--final", help="Retrain on all training data for the best epoch count; report the test score.", rich_help_panel="K-fold")] = False,
    smoothing: Annotated[float, typer.Option(help="Exponential smoothing factor of the mean validation curve (course: 0.9).", rich_help_panel="K-fold")] = 0.9,
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Cross-validate the course's dense network; table of fold scores, smoothed curve, best epoch."""
    name = choice("dataset", dataset, DATASETS)
    check_range("--folds", folds, 2)
    check_range("--smoothing", smoothing, 0, 1)
    settings = tasks.resolve(name, **{**COURSE_KFOLD.get(name, {}), **{k: v for k, v in given.items() if v is not None},
                                      "validation_samples": 0}, command="kfold")

    with Session("kfold", name, {**settings.as_dict(), "folds": folds, "final": final, "smoothing": smoothing},
                 common) as session:
        import numpy as np
        from sklearn.model_selection import KFold

        from dlcli import plots, training

        data = tasks.prepare(session.load(name, num_words=settings.num_words), settings.num_words)
        if folds > len(data.x_train):
            raise DlcliError(f"--folds {folds} is more than the {len(data.x_train)} training samples")
        metric = "mae" if data.task == "regression" else "accuracy"
        lower_is_better = metric == "mae"

        curves, rows = [], []
        for index, (train, held) in enumerate(KFold(n_splits=folds).split(data.x_train), start=1):
            model = tasks.build_model(data, settings)
            history = session.fit(model, data.x_train[train], data.y_train[train], epochs=settings.epochs,
                                  batch_size=settings.batch_size, validation_data=(data.x_train[held], data.y_train[held]),
                                  label=f"fold {index}/{folds}")
            curves.append(history[f"val_{metric}"])
            rows.append([index, len(train), len(held), history[f"val_{metric}"][-1], history["val_loss"][-1]])

        mean_curve = np.mean(curves, axis=0)
        smoothed = smooth(mean_curve, smoothing)
        smoothes = len(mean_curve) >= epochs_to_smooth(smoothing)
        chosen = smoothed if smoothes else mean_curve  # too few epochs: the average still remembers epoch 1
        best_epoch = 1 + int(np.argmin(chosen) if lower_is_better else np.argmax(chosen))
        still_improving = best_epoch == len(mean_curve) and len(mean_curve) > 1
        scores = np.array([row[3] for row in rows])
        session.display.table(f"{folds}-fold validation {metric} (last epoch)",
                              ["fold", "train", "validation", f"val_{metric}", "val_loss"], rows)
        which = "smoothed mean curve" if smoothes else f"mean curve (too few epochs to smooth: {epochs_to_smooth(smoothing)} needed)"
        session.display.message(f"mean val_{metric} {scores.mean():.4f} ± {scores.std():.4f}; "
                                f"best epoch of the {which}: {best_epoch}"
                                + ("; still improving at the last epoch: train longer" if still_improving else ""))
        plots.validation_curve(mean_curve, smoothed if smoothes else None, best_epoch, metric,
                               session.run.plots / "kfold.png", skip=min(10, len(mean_curve) // 10),
                               title=f"{name}: {folds}-fold validation {metric}", still_improving=still_improving)

        metrics = {f"mean_val_{metric}": float(scores.mean()), f"std_val_{metric}": float(scores.std()),
                   f"fold_val_{metric}": scores.tolist(), "best_epoch": best_epoch,
                   f"best_val_{metric}": float(mean_curve[best_epoch - 1]), "smoothed": bool(smoothes),
                   "still_improving": bool(still_improving), "folds": folds, "epochs": settings.epochs}
        if smoothes:
            metrics[f"best_smoothed_val_{metric}"] = float(smoothed[best_epoch - 1])
        history = {f"mean_val_{metric}": mean_curve.tolist(), f"smoothed_val_{metric}": smoothed.tolist(),
                   **{f"fold{i}_val_{metric}": list(curve) for i, curve in enumerate(curves, start=1)}}
        model = None
        if final:
            final_settings = replace(settings, epochs=best_epoch)
            model = tasks.build_model(data, final_settings)
            session.fit(model, data.x_train, data.y_train, epochs=best_epoch, batch_size=settings.batch_size,
                        label="final")
            results = training.evaluate(model, data.x_test, data.y_test)
            metrics.update({f"test_{metric}": results[f"test_{metric}"], "final_epochs": best_epoch})
        session.finish(metrics, model=model, history=history)


def epochs_to_smooth(factor: float) -> int:
    """Epochs after which the moving average has forgotten the first one (its weight below 1 %)."""
    import math

    return 1 if factor <= 0 else math.ceil(math.log(0.01) / math.log(factor))


def smooth(points, factor: float):
    """The course's exponential moving average: each point is factor * previous + (1 - factor) * point."""
    import numpy as np

    smoothed, previous = [], None
    for point in points:
        previous = point if previous is None else previous * factor + point * (1 - factor)
        smoothed.append(previous)
    return np.asarray(smoothed)
