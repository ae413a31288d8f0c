"""The CLI shell: help, version, no TensorFlow for cheap paths, one-line errors with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlcli import __version__
from tests.conftest import assert_one_line_error, dl

COMMANDS = ["backprop", "classify", "regress", "kfold", "cnn", "resnet", "mobilenet", "autoencode", "vae", "textgen",
            "timeseries", "translate", "go"]
ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_command_with_a_summary():
    result = dl("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    result = dl(command, "--help")
    assert result.code == 0 and "Usage" in result.stdout
    assert "--seed" in result.stdout or command == "go"  # a group: its subcommands take --seed


def test_version():
    result = dl("--version")
    assert result.code == 0 and result.stdout.strip() == f"dl {__version__}"


TOOLS = ["runs", "eval", "predict", "data"]  # around the exercises: they read runs and data, never train


@pytest.mark.parametrize("command", TOOLS)
def test_each_tool_is_listed_and_has_help(command):
    assert command in dl("--help").stdout
    result = dl(command, "--help")
    assert result.code == 0 and "Usage" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["classify", "--help"], ["classify", "nope"],
                                  ["regress", "boston", "--epochs", "0"], *([tool, "--help"] for tool in TOOLS),
                                  ["eval", "nowhere"], ["predict", "nowhere", "x.png"]])
def test_cheap_paths_never_import_tensorflow(args):
    probe = ("import sys\nfrom dlcli.cli import app\ntry:\n    app(%r)\nexcept SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))" % args)
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "LOADED []" in completed.stdout, completed.stdout + completed.stderr


def test_tensorflow_chatter_is_filtered_and_real_errors_pass():
    probe = ("import os, sys\nfrom dlcli.session import filter_tensorflow_chatter\nfilter_tensorflow_chatter()\n"
             "os.write(2, b'I0000 00:00:1796029304.883726   24826 generator_dataset_op.cc:213] Memory patch applied\\n')\n"
             "os.write(2, b'E0000 00:00:1796029042.480036   22400 util.cc:131] oneDNN supports DT_INT32 only on "
             "platforms with AVX-512. Falling back\\nE0000 00:00:1796029042.5   22400 bfc.cc:1] out of memory\\n')\n"
             "print('from Python', file=sys.stderr)\nos.write(2, b'a child process, no newline')\n")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    assert sorted(completed.stderr.splitlines()) == ["E0000 00:00:1796029042.5   22400 bfc.cc:1] out of memory",
                                                     "a child process, no newline", "from Python"]


def test_completion_is_offered():
    assert "--show-completion" in dl("--help").stdout


@pytest.mark.parametrize("args, needles", [
    (["classify", "cifar100"], ["unknown dataset 'cifar100'", "mnist"]),
    (["regress", "mnist"], ["unknown dataset 'mnist'", "boston"]),
    (["classify", "digits", "--epochs", "-1"], ["--epochs", "at least 1"]),
    (["classify", "digits", "--batch-size", "0"], ["--batch-size", "at least 1"]),
    (["classify", "digits", "--dropout", "1.5"], ["--dropout"]),
    (["classify", "digits", "--optimizer", "adamax2"], ["unknown optimizer 'adamax2'"]),
    (["classify", "digits", "--learning-rate", "0"], ["--learning-rate"]),
    (["classify", "digits", "--limit", "0"], ["--limit"]),
    (["kfold", "boston", "--folds", "1"], ["--folds", "at least 2"]),
    (["kfold", "boston", "-k", "0"], ["--folds"]),
    (["classify", "digits", "--epochs", "many"], ["--epochs", "integer"]),
    (["classify", "digits", "--no-such-option"], ["--no-such-option"]),
    (["nosuchcommand"], ["nosuchcommand"]),
])
def test_bad_input_is_one_line_and_exit_2(args, needles, tmp_path):
    result = dl(*args, "--runs-dir", tmp_path)
    assert_one_line_error(result, *needles)
    assert not any(tmp_path.iterdir()), "no run folder for a rejected command"
