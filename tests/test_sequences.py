"""textgen and timeseries: their data loaders, end to end through the real CLI on tiny texts and
series, saved models reloaded in a fresh process, and the one-line errors."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dlcli import data
from dlcli.data import corpora, sequences, series
from tests.conftest import assert_one_line_error, dl

TINY_TEXT = "The cat sat on the mat. The dog sat on the log.\n" * 12  # 576 characters, 18 distinct once lowercased
TEXTGEN_TINY = ["--window", "12", "--step", "2", "--units", "16", "--epochs", "2", "--batch-size", "32",
                "--sample-length", "24"]
SERIES_TINY = ["--window", "12", "--layer-units", "8,8", "--epochs", "2", "--batch-size", "32", "--horizon", "8"]


def read_metrics(run):
    return json.loads((run / "metrics.json").read_text())


def random_walk(n: int, seed: int = 7) -> np.ndarray:
    """A positive price-like series."""
    return np.round(100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n))), 4)


def reload_and_predict(run, rows: np.ndarray, normalised: bool) -> np.ndarray:
    """model.keras and model.h5 reloaded here (not the training process): their one-step predictions."""
    import keras

    import dlcli.models  # noqa: F401

    inputs = rows[:, :-1] / rows[:, :1] - 1 if normalised else rows[:, :-1]
    outputs = []
    for name, options in (("model.keras", {}), ("model.h5", {"compile": False})):
        model = keras.saving.load_model(run / name, **options)
        out = model.predict(inputs[:, :, None].astype("float32"), verbose=0)[:, 0].astype("float64")
        outputs.append(rows[:, 0] * (out + 1) if normalised else out)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6, atol=1e-6)
    return outputs[0]


# Data layer


def test_sinwave_is_the_courses_file():
    values = sequences.whole(data.load("sinwave"))
    assert len(values) == 5001
    assert values[:3].tolist() == [0.841470985, 0.873736397, 0.90255357]  # sinwave.csv's first lines
    assert values[-1] == 0.841470985 and values[50] == -0.841470985  # period 100


def test_windows_split_and_normalisation_follow_the_course():
    values = np.arange(1.0, 12.0)  # 11 values
    rows = series.windows(values, 4)
    assert rows.shape == (7, 5) and rows[0].tolist() == [1, 2, 3, 4, 5] and rows[-1].tolist() == [7, 8, 9, 10, 11]
    train, test = series.split(rows, 0.3)
    assert len(train) == 5 and test[0].tolist() == rows[5].tolist()  # time order: test windows come last
    normalised = series.normalise(rows)
    assert normalised[:, 0].tolist() == [0] * 7 and normalised[1, 4] == pytest.approx(6 / 2 - 1)
    np.testing.assert_allclose(series.denormalise(normalised, rows[:, :1]), rows)
    assert series.windows(values, 11).shape == (0, 12)  # too short for one window: no rows, no crash


def test_csv_columns_headers_and_gzip(tmp_path):
    (tmp_path / "one.csv").write_text("1.5\n2.5\n\n3.5\n")
    assert series.read_column(tmp_path / "one.csv", None).tolist() == [1.5, 2.5, 3.5]
    (tmp_path / "prices.csv").write_text("Date,Close\n2020-01-01,10\n2020-01-02,11\n2020-01-03,12.5\n")
    assert sequences.whole(series.load_csv(tmp_path / "prices.csv", "close")).tolist() == [10, 11, 12.5]
    (tmp_path / "prices.csv.gz").write_bytes(gzip.compress((tmp_path / "prices.csv").read_bytes()))
    loaded = series.load_csv(tmp_path / "prices.csv.gz", "Close")
    assert loaded.name == "prices" and sequences.whole(loaded).tolist() == [10, 11, 12.5]
    with pytest.raises(Exception, match="choose one of: Date, Close"):
        series.read_column(tmp_path / "prices.csv", "open")
    with pytest.raises(Exception, match="several columns"):
        series.read_column(tmp_path / "prices.csv", None)
    (tmp_path / "bad.csv").write_text("1\n2\nthree\n")
    with pytest.raises(Exception, match="line 3: 'three' is not a number"):
        series.read_column(tmp_path / "bad.csv", None)


def test_corpus_encoding_and_limit(tmp_path):
    (tmp_path / "nietzsche.txt").write_text("PREFACE\n\nSupposing that Truth is a woman", encoding="utf-8")
    corpus = data.load("nietzsche", data_dir=tmp_path, limit=10)
    assert corpus.class_names == sorted(set("preface\n\nsupposing that truth is a woman"))
    assert "".join(corpus.class_names[i] for i in sequences.whole(corpus)) == "preface\n\nsu"
    assert corpus.vocabulary["a"] == corpus.class_names.index("a")
    kept = corpora.load_text(tmp_path / "nietzsche.txt", lower=False)
    assert "P" in kept.class_names


# textgen


def test_textgen_trains_samples_and_generates_the_same_text_for_the_same_seed(tmp_path):
    corpus = tmp_path / "cats.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    runs = tmp_path / "runs"
    result = dl("textgen", "--text", corpus, *TEXTGEN_TINY, "--runs-dir", runs)
    assert result.code == 0, result.stderr
    run = result.run
    assert run.name.startswith("textgen-cats-")
    assert {"config.json", "metrics.json", "history.csv", "model.keras", "model.h5", "samples.md"} <= {p.name for p in run.iterdir()}
    metrics = read_metrics(run)
    assert metrics["status"] == "complete" and math.isfinite(metrics["final_loss"])
    assert metrics["vocabulary_size"] == len(set(TINY_TEXT.lower())) and metrics["windows"] == len(range(0, 576 - 12, 2))
    assert set(metrics["samples"]) == {"0.2", "0.5", "1.0", "1.2"}
    assert all(len(text) == 24 and set(text) <= set(TINY_TEXT.lower()) for text in metrics["samples"].values())
    samples = (run / "samples.md").read_text()
    assert samples.count("## Epoch") == 2 and samples.count("Temperature 1.2:") == 2
    assert "epoch 2/2" in result.stderr and "sample (t=0.5) " in result.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["data"][0]["source"] == str(corpus) and config["options"]["temperatures"] == [0.2, 0.5, 1.0, 1.2]

    first = dl("textgen", "--model", run, "--prompt", "The cat", "--length", "40", "--seed", "1")
    again = dl("textgen", "--prompt", "The cat", "--length", "40", "--seed", "1", "--runs-dir", runs, "--json")  # newest run
    assert first.code == 0 and again.code == 0, first.stderr + again.stderr
    assert f"using the newest complete 'textgen' run: {run}" in again.stderr
    assert list(again.json())[0] == "run" and again.json()["run"] == str(run)
    text = first.stdout.rstrip("\n")
    assert again.json()["prompt"] + again.json()["text"] == text
    assert text.startswith("the cat") and len(text) == len("the cat") + 40  # lowercased like its training text


def test_textgen_text_shorter_than_a_window_is_refused(tmp_path):
    (tmp_path / "nietzsche.txt").write_text("SUPPOSING that Truth is a woman--what then?\n" * 4, encoding="utf-8")
    result = dl("textgen", "nietzsche", "--data-dir", tmp_path, "--window", "40", "--limit", "30",
                "--runs-dir", tmp_path / "runs", "--quiet")
    assert_one_line_error(result, "31 characters", "windows of 40")
    assert read_metrics(next((tmp_path / "runs").iterdir()))["status"] == "failed"


@pytest.mark.parametrize("args, needles", [
    (["--temperatures", "0.2,hot"], ["--temperatures", "0.2,hot"]),
    (["--temperature", "0", "--prompt", "a"], ["--temperature"]),
    (["--keep-case"], ["--keep-case", "--text"]),
    (["--prompt", "the"], ["no complete 'textgen' run"]),
    (["--model", "nowhere", "--prompt", "the"], ["--model nowhere: no such run folder"]),
])
def test_textgen_option_errors(args, needles, tmp_path):
    assert_one_line_error(dl("textgen", *args, "--runs-dir", tmp_path), *needles)
    assert not any(tmp_path.iterdir())


def test_textgen_empty_text_and_model_of_another_command(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert_one_line_error(dl("textgen", "--text", tmp_path / "empty.txt", "--runs-dir", tmp_path / "runs"), "empty")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    assert_one_line_error(dl("textgen", "--text", tmp_path / "latin1.txt", "--runs-dir", tmp_path / "runs"), "not UTF-8")
    assert not (tmp_path / "runs").exists()  # a bad text file fails before any run folder
    other = tmp_path / "classify-digits-1"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"command": "classify"}))
    (other / "metrics.json").write_text(json.dumps({"status": "complete"}))
    assert_one_line_error(dl("textgen", "--model", other, "--prompt", "a"), "a 'classify' run, not a 'textgen' run")
    running = tmp_path / "textgen-x-1"
    running.mkdir()
    (running / "config.json").write_text(json.dumps({"command": "textgen"}))
    (running / "metrics.json").write_text(json.dumps({"status": "running"}))
    assert_one_line_error(dl("textgen", "--model", running, "--prompt", "a"), "marked 'running', not complete")


# timeseries


def test_timeseries_sinwave_reports_model_and_naive_and_reloads(tmp_path):
    result = dl("timeseries", "sinwave", "--limit", "300", *SERIES_TINY, "--runs-dir", tmp_path, "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    run = Path(summary["run"])
    metrics = read_metrics(run)
    assert metrics["status"] == "complete" and metrics["normalised"] is False
    assert summary["test_mae"] == metrics["test_mae"]
    assert metrics["better_one_step"] == ("model" if metrics["test_mae"] < metrics["naive_mae"] else "naive")
    rows = series.windows(sequences.whole(data.load("sinwave", limit=300)), 12)
    _, test = series.split(rows)
    assert metrics["test_windows"] == len(test) == 29 and metrics["train_windows"] + metrics["validation_windows"] == 260
    with open(run / "predictions.csv") as handle:
        saved = np.array([[float(v) for v in row.values()] for row in csv.DictReader(handle)])
    np.testing.assert_allclose(saved[:, 0], test[:, -1], atol=1e-8)
    np.testing.assert_allclose(saved[:, 2], test[:, -2], atol=1e-8)
    assert metrics["naive_mae"] == pytest.approx(np.mean(np.abs(test[:, -1] - test[:, -2])))
    reloaded = reload_and_predict(run, test, normalised=False)
    np.testing.assert_allclose(reloaded, saved[:, 1], rtol=1e-5, atol=1e-6)
    assert metrics["test_mae"] == pytest.approx(np.mean(np.abs(reloaded - test[:, -1])), rel=1e-5)
    for plot in ("curves.png", "predictions.png", "multistep.png"):
        assert (run / "plots" / plot).stat().st_size > 1000
    assert "naive (next = last)" in result.stderr


def test_sp500_file_is_one_close_per_line(tmp_path):
    prices = random_walk(30)
    (tmp_path / "sp500.csv").write_text("".join(f"{p}\n" for p in prices))
    loaded = data.load("sp500", data_dir=tmp_path)
    assert sequences.whole(loaded).tolist() == prices.tolist() and loaded.kind == "series"


def test_timeseries_csv_column_normalised_windows_report_prices(tmp_path):
    prices = random_walk(200)
    (tmp_path / "prices.csv").write_text("Date,Close\n" + "".join(f"day{i},{p}\n" for i, p in enumerate(prices)))
    result = dl("timeseries", "--csv", tmp_path / "prices.csv", "--column", "close", "--normalise", *SERIES_TINY,
                "--runs-dir", tmp_path / "runs")
    assert result.code == 0, result.stderr
    assert result.run.name.startswith("timeseries-prices-")
    metrics = read_metrics(result.run)
    assert metrics["normalised"] is True and metrics["test_windows"] == 19
    _, test = series.split(series.windows(prices, 12))
    assert metrics["naive_mae"] == pytest.approx(np.mean(np.abs(np.diff(prices)[-19:])))  # real units: prices
    reloaded = reload_and_predict(result.run, test, normalised=True)
    assert metrics["test_mae"] == pytest.approx(np.mean(np.abs(reloaded - test[:, -1])), rel=1e-5)
    assert metrics["test_mae"] > 0.01  # prices, not normalised changes


@pytest.mark.parametrize("args, needles, failed_runs", [
    (["sp500"], ["sp500.csv", "no official download origin"], 1),
    (["--csv", "short.csv"], ["20 values", "windows of 50"], 1),
    (["--csv", "prices.csv", "--column", "open"], ["no column 'open'", "Date, Close"], 0),  # before any run folder
    (["--csv", "missing.csv"], ["missing.csv", "does not exist"], 0),
])
def test_timeseries_data_errors(args, needles, failed_runs, tmp_path):
    (tmp_path / "short.csv").write_text("".join(f"{i}\n" for i in range(1, 21)))
    (tmp_path / "prices.csv").write_text("Date,Close\n2020-01-01,10\n")
    result = dl("timeseries", *args, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert_one_line_error(result, *needles)
    runs = list((tmp_path / "runs").glob("*"))
    assert len(runs) == failed_runs and all(read_metrics(run)["status"] == "failed" for run in runs)


@pytest.mark.parametrize("args, needles", [
    (["--layer-units", "50,x"], ["--layer-units"]),
    (["--column", "close"], ["--csv"]),
    (["nasdaq"], ["unknown dataset 'nasdaq'"]),
    (["--test-fraction", "1"], ["--test-fraction"]),
])
def test_timeseries_option_errors(args, needles, tmp_path):
    assert_one_line_error(dl("timeseries", *args, "--runs-dir", tmp_path), *needles)
    assert not any(tmp_path.iterdir())
