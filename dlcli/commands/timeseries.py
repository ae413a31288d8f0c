"""`dl timeseries`: the course's stacked LSTM that predicts the next value of a series.

Windows of 50 values predict the 51st (the course's `load_data`); the first 90 % of the windows
train (the last 5 % of those validate, as Keras' `validation_split=0.05` does) and the last 10 %
test, in time order. S&P 500 windows are normalised as the course does, n_i = p_i / p_0 - 1,
and predictions turned back into prices with p_i = p_0 (n_i + 1). The test MSE and MAE, in
real units, are reported beside the naive forecast "the next value equals the last one" on the
same windows, and a multi-step forecast feeds the model its own predictions for `--horizon` steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli import legacy
from dlcli.checks import check_range, check_validation, choice
from dlcli.choices import OPTIMIZERS
from dlcli.commands.common import with_common
from dlcli.commands.families.sequences import comma_separated, limited
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

DATASETS = ("sinwave", "sp500")
NORMALISED = ("sp500",)  # the course normalises the S&P 500 windows, not the sine wave


def register(app: typer.Typer) -> None:
    app.command("timeseries", help="Stacked LSTM next-value prediction on the sine wave, the S&P 500 or a CSV column.")(
        with_common(timeseries))


def timeseries(
    dataset: Annotated[str, typer.Argument(help=f"One of {', '.join(DATASETS)} (ignored with --csv).")] = "sinwave",
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Read the series from this CSV file (.gz too).", rich_help_panel="Data")] = None,
    column: Annotated[Optional[str], typer.Option(help="With --csv: the column to read (by its header name).", rich_help_panel="Data")] = None,
    window: Annotated[int, typer.Option(help="Values in each input window (the course: 50).", rich_help_panel="Data")] = 50,
    normalise: Annotated[Optional[bool], typer.Option("--normalise/--no-normalise", help="Normalise each window by its first value (default: on for sp500 only).", rich_help_panel="Data")] = None,
    test_fraction: Annotated[float, typer.Option(help="Last fraction of the windows kept for testing.", rich_help_panel="Data")] = 0.1,
    layer_units: Annotated[str, typer.Option(help="Units of each stacked LSTM, comma-separated: one LSTM per number (the course: 50,100).", rich_help_panel="Network")] = "50,100",
    units: Annotated[Optional[str], typer.Option(hidden=True, help="Deprecated spelling of --layer-units.")] = None,
    dropout: Annotated[float, typer.Option(help="Dropout rate after each LSTM, 0 to 1.", rich_help_panel="Network")] = 0.2,
    epochs: Annotated[int, typer.Option(help="Training epochs (the course: 1).", rich_help_panel="Training")] = 1,
    batch_size: Annotated[int, typer.Option(help="Batch size.", rich_help_panel="Training")] = 512,
    optimizer: Annotated[str, typer.Option(help=f"One of {', '.join(OPTIMIZERS)}.", rich_help_panel="Training")] = "rmsprop",
    learning_rate: Annotated[Optional[float], typer.Option(help="Learning rate (default: the optimizer's).", rich_help_panel="Training")] = None,
    validation: Annotated[float, typer.Option(help="Fraction of the training windows held out for validation, 0 to 1, the last ones as Keras' validation_split (the course: 0.05).", rich_help_panel="Training")] = 0.05,
    horizon: Annotated[int, typer.Option(help="Steps the multi-step forecast runs on its own predictions.", rich_help_panel="Forecast")] = 50,
    common: GlobalOptions = None,
) -> None:
    """Train the course's LSTM on a series; report test MSE/MAE against the naive forecast, and plot."""
    for option, value in (("--window", window), ("--epochs", epochs), ("--batch-size", batch_size), ("--horizon", horizon)):
        check_range(option, value, 1)
    check_range("--dropout", dropout, 0, 1)
    check_range("--test-fraction", test_fraction, 0, 1, low_open=True)
    check_validation(validation, counted=None)
    check_range("--learning-rate", learning_rate, 0, low_open=True)
    optimizer = choice("optimizer", optimizer, OPTIMIZERS)
    if units is not None:
        layer_units = legacy.renamed("timeseries", "--units", "--layer-units", units)
    widths = comma_separated("--layer-units", layer_units, int, 1, low_open=False, example="50,100")
    if column is not None and csv is None:
        raise DlcliError("--column chooses a column of a --csv file; pass --csv FILE too")
    name = choice("dataset", dataset, DATASETS) if csv is None else csv.name.split(".")[0].lower()
    normalise = (name in NORMALISED and csv is None) if normalise is None else normalise
    from dlcli.data import series  # numpy only: a bad file fails before TensorFlow loads, with no run folder

    from_file = None if csv is None else limited(series.load_csv(csv, column), common.limit)
    options = dict(csv=csv, column=column, window=window, normalise=normalise, test_fraction=test_fraction,
                   layer_units=widths, dropout=dropout, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                   learning_rate=learning_rate, validation=validation, horizon=horizon)

    with Session("timeseries", name, options, common) as session:
        from dlcli import models, plots, training
        from dlcli.atomic import write_text
        from dlcli.data import sequences, transforms
        from dlcli.models import timeseries as lstm

        data = session.load(name) if from_file is None else session.record(from_file)
        values = sequences.whole(data)
        train_rows, test_rows = series.split(series.windows(values, window), test_fraction)
        if len(train_rows) < 1 or len(test_rows) < 1:
            raise DlcliError(f"the series has {len(values)} values: windows of {window} need more to leave a training "
                             f"and a test window; give a longer series or a smaller --window")
        scale = series.normalise if normalise else (lambda rows: rows)

        def predict(frames):
            """Next raw value after each raw window (scaled for the model and back)."""
            out = training.predict(model, scale(frames)[:, :, None].astype("float32"))[:, 0].astype("float64")
            return series.denormalise(out, frames[:, 0]) if normalise else out

        scaled = scale(train_rows).astype("float32")
        (x, y), held_out = transforms.hold_out(scaled[:, :-1, None], scaled[:, -1],
                                               transforms.validation_count(len(scaled), validation),
                                               option=f"--validation {validation:g}", unit="training windows")
        model = models.build("series_lstm", (window, 1), 1, units=widths, dropout=dropout, name=f"{name}_lstm")
        training.compile_model(model, optimizer=optimizer, learning_rate=learning_rate, loss="mse", metrics=("mae",))
        history = session.fit(model, x, y, epochs=epochs, batch_size=batch_size, validation_data=held_out)

        truth, naive = test_rows[:, -1], test_rows[:, -2]  # naive: the next value equals the last one
        predicted = predict(test_rows[:, :-1])
        scores = {**lstm.errors("test", truth, predicted), **lstm.errors("naive", truth, naive)}
        starts, forecasts, multistep = lstm.multistep_scores(predict, test_rows, horizon)
        scores.update(multistep)

        better = "model" if scores["test_mae"] < scores["naive_mae"] else "naive"
        session.display.table(f"{name}: test windows ({len(test_rows)}), real units",
                              ["forecast", "MSE", "MAE", f"MAE over {horizon} steps"],
                              [["LSTM", scores["test_mse"], scores["test_mae"], scores["multistep_mae"]],
                               ["naive (next = last)", scores["naive_mse"], scores["naive_mae"], scores["multistep_naive_mae"]]])
        session.display.message(f"one step ahead, the {'LSTM' if better == 'model' else 'naive forecast'} has the lower test MAE")
        write_text(session.run.path / "predictions.csv", "true,predicted,naive\n" + "".join(
            f"{t:.9g},{p:.9g},{n:.9g}\n" for t, p, n in zip(truth, predicted, naive)))
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        ylabel = column or {"sp500": "S&P 500 close (USD)", "sinwave": "sin value"}.get(name, "value")
        plots.series_predictions(truth, predicted, session.run.plots / "predictions.png", naive=naive,
                                 title=f"{name}: test set, one step ahead", ylabel=ylabel)
        plots.series_forecasts(truth, starts, forecasts, session.run.plots / "multistep.png",
                               title=f"{name}: forecasts over {horizon} steps on its own predictions", ylabel=ylabel)
        metrics = {**scores, "better_one_step": better, "normalised": normalise, "epochs": epochs,
                   "window": window, "train_windows": len(x), "validation_windows": len(scaled) - len(x),
                   "test_windows": len(test_rows)}
        session.finish(metrics, model=model, history=history)

