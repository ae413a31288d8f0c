"""Every matplotlib figure the commands write (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from dlcli.atomic import atomic_path  # noqa: E402


def _save(figure, path: Path) -> Path:
    """Save atomically and close the figure."""
    figure.tight_layout()
    with atomic_path(Path(path)) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
    return Path(path)


FEW_EPOCHS = 15  # up to this many epochs, lines get markers: a line through one point is invisible
NO_VALIDATION = "no validation curve: this run held out no validation data"


def epoch_axis(axis, epochs: int) -> None:
    """Whole-number epoch ticks, and the label."""
    if 0 < epochs <= FEW_EPOCHS:
        axis.set_xticks(range(1, epochs + 1))
    else:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    if epochs == 1:
        axis.set_xlim(0.5, 1.5)
    axis.set_xlabel("Epochs")


def training_curves(history: dict[str, list[float]], path: Path, title: str = "") -> Path:
    """The course's two figures side by side: training vs validation loss, and the metric.

    With few epochs the validation line gets markers; a history without validation says so in the figure.
    """
    metrics = [k for k in history if not k.startswith("val_")]
    validated = any(key.startswith("val_") for key in history)
    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        epochs = range(1, len(history[metric]) + 1)
        axis.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
        if f"val_{metric}" in history:
            marker = "o" if len(epochs) <= FEW_EPOCHS else None
            axis.plot(epochs, history[f"val_{metric}"], "b", marker=marker, markerfacecolor="white", markersize=5,
                      label=f"Validation {metric}")
        axis.set_title(f"{title} {metric}".strip() + ("" if validated else f"\n{NO_VALIDATION}"),
                       fontsize=None if validated else 9)
        epoch_axis(axis, len(epochs))
        axis.set_ylabel(metric)
        axis.legend()
    return _save(figure, path)


def compare_curves(histories: dict[str, dict[str, list[float]]], metrics: Sequence[str], path: Path,
                   title: str = "") -> Path:
    """Overlay the same metric of several runs (the course's regularisation comparison)."""
    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for label, history in histories.items():
            if metric in history:
                axis.plot(range(1, len(history[metric]) + 1), history[metric], marker="o", markersize=3, label=label)
        axis.set_title(f"{title} {metric}".strip())
        epoch_axis(axis, max((len(h.get(metric, [])) for h in histories.values()), default=0))
        axis.set_ylabel(metric)
        axis.legend()
    return _save(figure, path)


def confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: Path, title: str = "Confusion matrix") -> Path:
    """Rows are true classes, columns predictions; counts written in the cells when they fit."""
    size = len(class_names)
    side = min(4 + 0.35 * size, 16)
    figure, axis = plt.subplots(figsize=(side, side))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_xticks(range(size), labels=class_names, rotation=90 if size > 10 else 45, fontsize=8 if size > 20 else 10)
    axis.set_yticks(range(size), labels=class_names, fontsize=8 if size > 20 else 10)
    axis.set_xlabel("Predicted")
    axis.set_ylabel("True")
    axis.set_title(title)
    if size <= 15:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            axis.text(column, row, str(count), ha="center", va="center",
                      color="white" if count > threshold else "black", fontsize=8)
    return _save(figure, path)


def predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str = "Test set") -> Path:
    """Scatter of predictions against targets with the identity line."""
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(y_true, y_pred, s=12, alpha=0.7)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    axis.plot([low, high], [low, high], "k--", linewidth=1, label="perfect")
    mae = float(np.mean(np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))))
    axis.set_xlabel("True")
    axis.set_ylabel("Predicted")
    axis.set_title(f"{title} (MAE {mae:.3g})".strip())
    axis.legend()
    return _save(figure, path)


def validation_curve(mean: Sequence[float], smoothed: Sequence[float] | None, best_epoch: int, metric: str,
                     path: Path, skip: int = 0, title: str = "", still_improving: bool = False) -> Path:
    """The course's k-fold plot: mean validation score per epoch, smoothed (None: too few epochs to
    smooth), with the best epoch, or a note that the curve was still improving at the last one."""
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    epochs = np.arange(1, len(mean) + 1)
    few = len(mean) <= FEW_EPOCHS
    axis.plot(epochs[skip:], np.asarray(mean)[skip:], color="0.55" if smoothed is not None else "b",
              marker="o" if few else None, markersize=4, label=f"mean validation {metric} over the folds")
    if smoothed is not None:
        axis.plot(epochs[skip:], np.asarray(smoothed)[skip:], "b", label="smoothed (moving average)")
    label = (f"still improving at the last epoch ({best_epoch}): train longer" if still_improving
             else f"best epoch {best_epoch}")
    axis.axvline(best_epoch, color="r", linestyle="--", label=label)
    epoch_axis(axis, len(mean))
    axis.set_ylabel(f"Validation {metric}")
    axis.set_title(title or f"K-fold validation {metric}")
    axis.legend(fontsize=9)
    return _save(figure, path)


def image_grid(images: np.ndarray, path: Path, *, columns: int = 10, row_labels: Sequence[str] = (),
               title: str = "") -> Path:
    """Greyscale images in rows of `columns`, each row optionally labelled (originals, reconstructions...)."""
    images = np.asarray(images).reshape(len(images), *np.asarray(images).shape[1:3])
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.2 * columns + (1.2 if row_labels else 0), 1.25 * rows + 0.4),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_frame_on(False)
        if index < len(images):
            axis.imshow(images[index], cmap="Greys", vmin=0.0, vmax=max(1.0, float(images.max())))
    for row, label in enumerate(row_labels):
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def latent_grid(figure_pixels: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray, digit_size: int, path: Path,
                title: str = "") -> Path:
    """The course's VAE figure: images decoded from a regular grid of the 2-D latent space, axes z[0], z[1]."""
    figure, axis = plt.subplots(figsize=(15, 15 * len(grid_y) / len(grid_x) + 1))
    start = digit_size // 2
    axis.set_xticks(np.arange(len(grid_x)) * digit_size + start, labels=np.round(grid_x, 2))
    axis.set_yticks(np.arange(len(grid_y)) * digit_size + start, labels=np.round(grid_y, 2))
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]")
    axis.imshow(figure_pixels, cmap="Greys_r")
    if title:
        axis.set_title(title)
    return _save(figure, path)


def latent_scatter(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], path: Path,
                   title: str = "") -> Path:
    """Latent means of a test set, the first two dimensions, coloured by class (one dimension: against the class)."""
    points = np.asarray(points)
    second = points[:, 1] if points.shape[1] > 1 else np.asarray(labels, dtype=float)
    figure, axis = plt.subplots(figsize=(8, 7))
    scatter = axis.scatter(points[:, 0], second, c=labels, cmap="tab10", s=4, alpha=0.7,
                           vmin=-0.5, vmax=len(class_names) - 0.5)
    colorbar = figure.colorbar(scatter, ax=axis, ticks=range(len(class_names)))
    colorbar.ax.set_yticklabels(class_names)
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]" if points.shape[1] > 1 else "class")
    if title:
        axis.set_title(title)
    return _save(figure, path)


def predicted_images(images: np.ndarray, true: Sequence[int], predicted: Sequence[int], class_names: Sequence[str],
                     path: Path, *, columns: int = 5, title: str = "") -> Path:
    """Test images captioned 'predicted (true)'; mistakes captioned in red with a red frame."""
    images = np.asarray(images)
    columns = max(1, min(columns, len(images)))
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 2.5 * rows + 0.5), squeeze=False)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_frame_on(False)
    for axis, image, truth, guess in zip(axes.flat, images, true, predicted):
        grey = image.shape[-1] == 1
        axis.imshow(image[..., 0] if grey else np.clip(image, 0, 1), cmap="Greys" if grey else None)
        wrong = int(truth) != int(guess)
        axis.set_title(f"{class_names[int(guess)]}\n({class_names[int(truth)]})", fontsize=8,
                       color="red" if wrong else "black")
        if wrong:
            axis.set_frame_on(True)
            for spine in axis.spines.values():
                spine.set_color("red")
                spine.set_linewidth(2)
    if title:
        figure.suptitle(f"{title}: predicted (true), mistakes in red")
    return _save(figure, path)


def _series_legend(axis, ylabel: str) -> None:
    """The y label, and the legend below the axes where it covers no curve."""
    axis.set_ylabel(ylabel)
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)


def series_predictions(truth: np.ndarray, predicted: np.ndarray, path: Path, *, naive: np.ndarray | None = None,
                       title: str = "", ylabel: str = "Value") -> Path:
    """The course's "true data versus the prediction": one-step-ahead forecasts along the test series."""
    figure, axis = plt.subplots(figsize=(10, 4.4))
    axis.plot(truth, color="0.3", linewidth=1.2, label="True data")
    axis.plot(predicted, color="tab:blue", linewidth=1, label="Prediction")
    if naive is not None:
        axis.plot(naive, color="tab:orange", linewidth=0.8, linestyle=":", label="Naive (next = last)")
    axis.set_xlabel("Test step")
    axis.set_title(title)
    _series_legend(axis, ylabel)
    return _save(figure, path)


def series_forecasts(truth: np.ndarray, starts: Sequence[int], forecasts: np.ndarray, path: Path, title: str = "",
                     ylabel: str = "Value") -> Path:
    """Multi-step forecasts: each row of `forecasts` drawn from its start step on top of the true series."""
    figure, axis = plt.subplots(figsize=(10, 4.4))
    axis.plot(truth, color="0.3", linewidth=1.2, label="True data")
    for number, (start, values) in enumerate(zip(starts, forecasts)):
        steps = np.arange(start, min(start + len(values), len(truth)))
        axis.plot(steps, values[:len(steps)], color="tab:blue", linewidth=1, label="Forecast" if number == 0 else None)
    axis.set_xlabel("Test step")
    axis.set_title(title)
    _series_legend(axis, ylabel)
    return _save(figure, path)


def elo_ranking(ranking: Sequence[dict], path: Path, title: str = "Elo ranking") -> Path:
    """Tournament ratings best at the top, each with its 95% interval (+-1.96 standard errors)."""
    rows = list(ranking)
    names = [row["name"] for row in rows][::-1]
    elo = np.array([row["elo"] for row in rows][::-1], dtype=float)
    error = 1.96 * np.array([row["error"] for row in rows][::-1], dtype=float)
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.45 * max(len(rows), 1)))
    axis.errorbar(elo, np.arange(len(rows)), xerr=error, fmt="o", color="tab:blue", ecolor="0.4", capsize=4)
    axis.set_yticks(np.arange(len(rows)), names)
    axis.axvline(0, color="0.8", linewidth=0.8, zorder=0)
    axis.set_xlabel("Elo (mean 0), bars: 95% interval")
    axis.set_title(title)
    axis.grid(axis="x", alpha=0.3)
    return _save(figure, path)
