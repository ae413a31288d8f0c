"""`dl data` and `dl data verify` on tiny files in a data folder and in Keras' cache (no download)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dlcli.cli import app
from dlcli.data import catalog
from tests import datafiles
from tests.conftest import assert_one_line_error, dl


def invoke(*args, code=0):
    result = CliRunner().invoke(app, list(map(str, args)), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.stdout


def test_each_dataset_is_found_where_the_lookup_order_finds_it(tmp_path):
    data_dir = tmp_path / "data"
    mnist = datafiles.write_mnist(data_dir)
    datafiles.write_mnist(Path(os.environ["KERAS_HOME"]) / "datasets")  # shadowed by the data folder
    datafiles.write_boston(Path(os.environ["KERAS_HOME"]) / "datasets")
    (data_dir / "imdb.npz").write_bytes(b"half of imdb")  # its word index is missing
    listing = json.loads(invoke("data", "--data-dir", data_dir, "--json"))
    assert [s["from"] for s in listing["searched"]] == ["--data-dir", "Keras cache"]
    by_name = {entry["dataset"]: entry for entry in listing["datasets"]}
    assert set(by_name) == set(__import__("dlcli.data", fromlist=["names"]).names())
    found = by_name["mnist"]["files"][0]
    assert by_name["mnist"]["status"] == "found" and found["path"] == str(mnist) and found["found_in"] == "--data-dir"
    assert found["bytes"] == mnist.stat().st_size and found["sha256"] == hashlib.sha256(mnist.read_bytes()).hexdigest()
    assert by_name["boston"]["files"][0]["found_in"] == "Keras cache"
    assert by_name["digits"]["status"] == "embedded" and by_name["digits"]["fix"] is None
    imdb = by_name["imdb"]
    assert imdb["status"] == "missing" and imdb["files"][0]["found_in"] == "--data-dir"
    assert "imdb_word_index.json" in imdb["fix"] and "https://storage.googleapis.com" in imdb["fix"]
    assert "imdb.npz " not in imdb["fix"], "the fix names only the missing file"
    assert "no download origin" in by_name["sp500"]["fix"]


def test_table_shows_places_sizes_and_fixes(tmp_path):
    data_dir = tmp_path / "data"
    datafiles.write_mnist(data_dir)
    text = invoke("data", "--data-dir", data_dir)
    assert "1. " + str(data_dir) in text and "(Keras cache)" in text
    assert "mnist.npz (--data-dir)" in text and " KB" in text
    assert "curl -L --create-dirs -o" in text and "cifar-10-python.tar.gz" in text


def test_cifar_archive_is_found_under_any_accepted_name(tmp_path):
    datafiles.write_cifar10_archive(tmp_path, name="cifar-10-batches-py.tar.xz", mode="w:xz")
    entry = catalog.catalogue(tmp_path, only=["cifar10"])[0]
    assert entry.status == "found" and entry.files[0].path.name == "cifar-10-batches-py.tar.xz"


def test_verify_reads_files_and_fails_on_a_corrupt_one(tmp_path):
    datafiles.write_mnist(tmp_path)
    datafiles.write_boston(tmp_path)
    report = json.loads(invoke("data", "verify", "mnist", "boston", "digits", "--data-dir", tmp_path, "--json"))
    assert [(r["dataset"], r["ok"]) for r in report] == [("boston", True), ("digits", True), ("mnist", True)]
    assert "64 train, 16 test" in [r for r in report if r["dataset"] == "mnist"][0]["detail"]
    (tmp_path / "boston_housing.npz").write_bytes(b"not an npz")
    report = json.loads(invoke("data", "verify", "--data-dir", tmp_path, "--json", code=1))
    failed = {r["dataset"]: r["detail"] for r in report if not r["ok"]}
    assert list(failed) == ["boston"] and "corrupt" in failed["boston"]
    assert "mnist" in {r["dataset"] for r in report} and "imdb" not in {r["dataset"] for r in report}


def test_unknown_dataset_is_one_line(tmp_path):
    assert_one_line_error(dl("data", "verify", "cifar100"), "unknown dataset 'cifar100'")


def test_data_never_imports_tensorflow(tmp_path):
    datafiles.write_mnist(tmp_path)
    probe = ("import sys\nfrom dlcli.cli import app\ntry:\n    app(['data', 'verify', 'mnist', '--data-dir', %r])\n"
             "except SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))" % str(tmp_path))
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "ok  mnist" in completed.stdout and "LOADED []" in completed.stdout, completed.stdout + completed.stderr
