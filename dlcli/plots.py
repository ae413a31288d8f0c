"""Every matplotlib figure the commands write (Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dlcli.run import atomic_path  # noqa: E402


def _save(figure, path: Path) -> Path:
    """Save atomically and close the figure."""
    figure.tight_layout()
    with atomic_path(Path(path)) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
    return Path(path)


def training_curves(history: dict[str, list[float]], path: Path, title: str = "") -> Path:
    """The course's two figures side by side: training vs validation loss, and the metric."""
    metrics = [k for k in history if not k.startswith("val_") and k != "epoch_seconds"]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        epochs = range(1, len(history[metric]) + 1)
        axis.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
        axis.set_title(f"{title} {metric}".strip())
        axis.set_xlabel("Epochs")
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
        axis.set_xlabel("Epochs")
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
    axis.set_xlabel("True")
    axis.set_ylabel("Predicted")
    axis.set_title(title)
    axis.legend()
    return _save(figure, path)


def validation_curve(mean: Sequence[float], smoothed: Sequence[float], best_epoch: int, metric: str,
                     path: Path, skip: int = 0) -> Path:
    """The course's k-fold plot: mean validation score per epoch, smoothed, with the best epoch."""
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(mean) + 1)
    axis.plot(epochs[skip:], np.asarray(mean)[skip:], color="0.7", label=f"mean validation {metric}")
    axis.plot(epochs[skip:], np.asarray(smoothed)[skip:], "b", label="smoothed")
    axis.axvline(best_epoch, color="r", linestyle="--", label=f"best epoch {best_epoch}")
    axis.set_xlabel("Epochs")
    axis.set_ylabel(f"Validation {metric}")
    axis.legend()
    return _save(figure, path)
