"""The figures, rendered: axes labelled, every series visible, notes where a curve is missing."""

from __future__ import annotations

import numpy as np
import pytest

from dlcli import plots


@pytest.fixture
def rendered(monkeypatch):
    """The figures plots.* draw, kept open for inspection (each is still saved to its file)."""
    figures = []
    original = plots._save

    def keep(figure, path):
        figures.append(figure)
        figure.canvas.draw()
        return original(figure, path)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def integer_ticks(axis) -> bool:
    low, high = axis.get_xlim()
    return all(float(t).is_integer() for t in axis.get_xticks() if low <= t <= high)


def test_one_epoch_curves_show_the_validation_point_and_whole_epoch_ticks(rendered, tmp_path):
    plots.training_curves({"loss": [0.5], "accuracy": [0.8], "val_loss": [0.6], "val_accuracy": [0.7]},
                          tmp_path / "curves.png", title="mnist")
    (figure,) = rendered
    for axis, metric in zip(figure.axes, ("loss", "accuracy")):
        training, validation = axis.get_lines()
        assert validation.get_label() == f"Validation {metric}" and validation.get_marker() == "o"
        assert axis.get_xlabel() == "Epochs" and axis.get_ylabel() == metric
        assert integer_ticks(axis) and axis.get_xlim()[0] < 1 < axis.get_xlim()[1]
    assert (tmp_path / "curves.png").stat().st_size > 5000


def test_many_epochs_draw_a_plain_validation_line(rendered, tmp_path):
    plots.training_curves({"loss": list(np.linspace(1, 0.1, 40)), "val_loss": list(np.linspace(1, 0.3, 40))},
                          tmp_path / "c.png")
    validation = rendered[0].axes[0].get_lines()[1]
    assert validation.get_marker() in ("None", None, "") and len(validation.get_xdata()) == 40


def test_curves_without_validation_say_so(rendered, tmp_path):
    plots.training_curves({"loss": [0.5, 0.3], "accuracy": [0.8, 0.9]}, tmp_path / "c.png", title="mnist")
    for axis in rendered[0].axes:
        assert "no validation curve" in axis.get_title() and len(axis.get_lines()) == 1


def test_kfold_figure_has_a_title_and_is_honest_about_too_few_epochs(rendered, tmp_path):
    mean = [9.0, 5.0, 4.0, 3.0]
    plots.validation_curve(mean, None, 4, "mae", tmp_path / "k.png", title="boston: 4-fold validation mae",
                           still_improving=True)
    axis = rendered[0].axes[0]
    assert axis.get_title() == "boston: 4-fold validation mae" and axis.get_ylabel() == "Validation mae"
    labels = [line.get_label() for line in axis.get_lines()]
    assert not any("smoothed" in label for label in labels)
    assert any("still improving" in label for label in labels) and not any(label.startswith("best") for label in labels)
    assert axis.get_lines()[0].get_marker() == "o" and integer_ticks(axis)


def test_kfold_smooths_only_with_enough_epochs():
    from dlcli.commands.kfold import epochs_to_smooth, smooth

    assert epochs_to_smooth(0.9) == 44 and epochs_to_smooth(0.0) == 1
    curve = [20.0] + [2.66] * 19  # the case: the average still remembers epoch 1 after 20 epochs
    assert smooth(curve, 0.9)[-1] > 4


def test_predicted_vs_true_shows_the_mae(rendered, tmp_path):
    plots.predicted_vs_true(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]), tmp_path / "p.png", title="boston")
    axis = rendered[0].axes[0]
    assert axis.get_title() == "boston (MAE 0.5)" and axis.get_xlabel() == "True" and axis.get_ylabel() == "Predicted"


def test_series_figures_have_a_y_label_and_a_legend_off_the_curves(rendered, tmp_path):
    truth = np.sin(np.arange(200) / 10)
    plots.series_predictions(truth, truth * 0.9, tmp_path / "s.png", naive=np.roll(truth, 1), title="sp500",
                             ylabel="S&P 500 close (USD)")
    plots.series_forecasts(truth, [0, 100], np.ones((2, 20)), tmp_path / "m.png", title="sp500")
    for figure, ylabel in zip(rendered, ("S&P 500 close (USD)", "Value")):
        axis = figure.axes[0]
        assert axis.get_ylabel() == ylabel and axis.get_xlabel() == "Test step"
        legend = axis.get_legend().get_window_extent()
        assert legend.y1 <= axis.get_window_extent().y0, "the legend sits below the axes"


def test_vae_grid_spans_where_the_latent_means_lie():
    from dlcli.models.vae import latent_ranges

    means = np.column_stack([np.linspace(-4.7, 1.0, 1001), np.linspace(-0.5, 3.0, 1001)])
    (x_low, x_high), (y_low, y_high) = latent_ranges(means)
    assert x_low == pytest.approx(-4.64, abs=0.02) and x_high == pytest.approx(0.94, abs=0.02)
    assert y_low == pytest.approx(-0.46, abs=0.02) and y_high == pytest.approx(2.97, abs=0.02)
    assert latent_ranges(means, 1.0) == [(-1.0, 1.0), (-1.0, 1.0)]


def test_compare_curves_use_whole_epoch_ticks(rendered, tmp_path):
    plots.compare_curves({"a": {"val_loss": [1.0, 0.5]}, "b": {"val_loss": [1.2, 0.6, 0.4]}}, ["val_loss"],
                         tmp_path / "c.png")
    axis = rendered[0].axes[0]
    assert integer_ticks(axis) and [line.get_label() for line in axis.get_lines()] == ["a", "b"]
