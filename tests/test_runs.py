"""`dl runs`, `dl runs show`, `dl runs compare`: read run folders written by hand, never train."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dlcli import runs as reading
from dlcli.cli import app
from tests.conftest import assert_one_line_error, dl


def make_run(root, name, command="classify", dataset="digits", status="complete", options=None, metrics=None,
             history=None):
    """A run folder as Session writes one: config.json, metrics.json, history.csv."""
    path = root / name
    path.mkdir(parents=True)
    config = {"command": command, "dataset": dataset, "options": options or {"units": 64, "epochs": 2},
              "seed": 0, "limit": None, "argv": [command, dataset], "versions": {"dlcli": "0"}, "data": []}
    (path / "config.json").write_text(json.dumps(config))
    (path / "metrics.json").write_text(json.dumps({"status": status, **(metrics or {})}))
    if history:
        lines = ["epoch," + ",".join(history)]
        lines += [f"{e + 1}," + ",".join(str(v[e]) for v in history.values()) for e in range(len(next(iter(history.values()))))]
        (path / "history.csv").write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def root(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "classify-digits-20261101-100000", metrics={"test_accuracy": 0.91, "test_loss": 0.3, "epochs": 2,
                                                              "wall_time_s": 12.5, "epoch_seconds": [6.0, 6.0]},
             history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.85]})
    make_run(runs, "classify-digits-20261102-100000", options={"units": 32, "epochs": 3},
             metrics={"test_accuracy": 0.88, "test_loss": 0.4, "epochs": 3, "wall_time_s": 75.0},
             history={"loss": [1.0, 0.7, 0.6], "val_loss": [1.2, 0.8, 0.7], "accuracy": [0.5, 0.7, 0.8],
                      "val_accuracy": [0.4, 0.7, 0.8]})
    make_run(runs, "regress-boston-20261103-100000", command="regress", dataset="boston", status="interrupted",
             metrics={"reason": "interrupted (Ctrl-C)"}, history={"loss": [30.0], "mae": [4.0]})
    (runs / "not-a-run").mkdir()
    (runs / "compare-20261101-000000.png").write_bytes(b"png")
    return runs


def invoke(*args):
    result = CliRunner().invoke(app, list(map(str, args)), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_list_is_newest_first_with_status_headline_epochs_and_wall_time(root):
    records = reading.list_runs(root)
    assert [r.name for r in records] == ["regress-boston-20261103-100000", "classify-digits-20261102-100000",
                                         "classify-digits-20261101-100000"]
    interrupted, second, first = records
    assert interrupted.status == "interrupted" and interrupted.headline is None and interrupted.epochs == 1
    assert first.headline == ("test_accuracy", 0.91) and first.epochs == 2 and first.wall_time_s == 12.5
    assert first.date == "2026-11-01 10:00"
    table = invoke("runs", "--runs-dir", root)
    for needle in ("classify-digits-20261102-100000", "test_accuracy 0.8800", "interrupted", "1m15s", "12.5s", "3 runs"):
        assert needle in table
    assert "not-a-run" not in table and "compare-" not in table


def test_a_running_run_is_running_only_while_a_process_holds_its_lock(root):
    import fcntl
    import os

    path = make_run(root, "cnn-mnist-20261104-100000", command="cnn", dataset="mnist", status="running")
    (path / "checkpoints").mkdir()
    (path / "checkpoints" / "train.json").write_text(json.dumps({"epoch": 3, "history": {}}))
    assert reading.read_run(path).status == "interrupted", "nobody writes it: it was killed"
    assert reading.read_run(path).epochs == 3
    descriptor = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as dlcli.run.lock does for a live run
        assert reading.read_run(path).status == "running"
    finally:
        os.close(descriptor)


def test_filters_and_json(root):
    rows = json.loads(invoke("runs", "--runs-dir", root, "--command", "classify", "--json"))
    assert [row["name"] for row in rows] == ["classify-digits-20261102-100000", "classify-digits-20261101-100000"]
    assert rows[0]["metric"] == "test_accuracy" and rows[0]["value"] == 0.88 and rows[0]["epochs"] == 3
    rows = json.loads(invoke("--runs-dir", root, "runs", "--status", "interrupted", "--json"))
    assert [row["command"] for row in rows] == ["regress"]
    assert "no failed runs under" in invoke("runs", "--runs-dir", root, "--status", "failed")


def test_show_prints_options_metrics_and_json(root):
    text = invoke("runs", "show", "classify-digits-20261101", "--runs-dir", root)
    assert "units" in text and "64" in text and "test_accuracy" in text and "0.9100" in text
    assert "epoch_seconds" not in text
    shown = json.loads(invoke("runs", "show", root / "classify-digits-20261101-100000", "--json"))
    assert shown["run"].endswith("classify-digits-20261101-100000") and shown["metrics"]["test_accuracy"] == 0.91
    assert shown["config"]["options"]["units"] == 64


def test_compare_marks_differences_and_overlays_the_curves(root, tmp_path):
    plot = tmp_path / "both.png"
    text = invoke("runs", "compare", "classify-digits-20261101-100000", "classify-digits-20261102-100000",
                  "--runs-dir", root, "--plot", plot)
    rows = {line.split("│")[2].strip(): line for line in text.splitlines() if line.count("│") >= 4}
    assert "*" in rows["units"].split("│")[1] and "*" in rows["test_accuracy"].split("│")[1]
    assert "*" not in rows["dataset"].split("│")[1]
    assert plot.stat().st_size > 5000
    result = json.loads(invoke("runs", "compare", "classify-digits-20261101-100000", "classify-digits-20261102-100000",
                               "--runs-dir", root, "--plot", plot, "--json"))
    assert {"units", "epochs", "test_accuracy", "test_loss", "wall_time_s"} == set(result["differ"])
    assert result["metrics"]["test_accuracy"] == [0.91, 0.88]
    histories, metrics = reading.shared_curves(reading.compare(
        [root / "classify-digits-20261101-100000", root / "classify-digits-20261102-100000"]).records)
    assert metrics == ["val_loss", "val_accuracy"]


def test_compare_plot_draws_one_line_per_run(root, tmp_path, monkeypatch):
    from dlcli import plots

    drawn = {}
    original = plots._save
    monkeypatch.setattr(plots, "_save", lambda figure, path: drawn.setdefault("figure", figure) and original(figure, path))
    invoke("runs", "compare", "classify-digits-20261101", "classify-digits-20261102", "--runs-dir", root,
           "--plot", tmp_path / "p.png")
    axes = drawn["figure"].axes
    assert [a.get_ylabel() for a in axes] == ["val_loss", "val_accuracy"]
    assert [len(line.get_xdata()) for line in axes[0].get_lines()] == [2, 3]


@pytest.mark.parametrize("args, needles", [
    (["runs", "show", "nope"], ["no run 'nope'", "dl runs"]),
    (["runs", "show", "classify"], ["matches 2 runs"]),
    (["runs", "compare", "classify-digits-20261101"], ["at least two runs"]),
    (["runs", "compare", "classify-digits-20261101", "classify-digits-20261101-100000"], ["same run"]),
    (["runs", "--status", "done"], ["unknown --status 'done'"]),
])
def test_mistakes_are_one_line(root, args, needles):
    assert_one_line_error(dl(*args, "--runs-dir", root), *needles)


def test_runs_never_imports_tensorflow(root):
    probe = ("import sys\nfrom dlcli.cli import app\ntry:\n    app(['runs', '--runs-dir', %r])\nexcept SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))" % str(root))
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "LOADED []" in completed.stdout, completed.stdout + completed.stderr
