"""Shared fixtures: every test runs offline, with its own Keras cache and runs root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# pytest-xdist (--dist loadscope) hands whole modules to the workers in collection order, each
# taking the next as it runs dry. Starting with the longest modules keeps one worker from being
# handed a long module last while the other idles (longest first, as measured one after the other
# with --durations); the other modules follow in their usual order.
LONGEST_MODULES_FIRST = ("test_recovery", "test_vision_classifiers", "test_go_cli", "test_resume", "test_translate",
                         "test_go_play", "test_commands", "test_generative", "test_sequences", "test_options",
                         "test_precision", "test_inference", "test_go_pretrained")


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONGEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))  # stable


@pytest.fixture(autouse=True)
def offline(tmp_path_factory, monkeypatch):
    """No network, an empty Keras cache and no user data folder for every test."""
    home = tmp_path_factory.mktemp("keras_home")
    monkeypatch.setenv("DLCLI_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("DLCLI_DATA_DIR", raising=False)
    monkeypatch.delenv("DLCLI_RUNS", raising=False)


class Result:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.code = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def run(self) -> Path:
        return Path(self.last_line)

    def json(self) -> dict:
        return json.loads(self.last_line)


def dl(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600) -> Result:
    """Run the real `dl` CLI in a fresh process, as a user would (a variable given as None is unset)."""
    environment = {key: value for key, value in {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}.items()
                   if value is not None}
    completed = subprocess.run([sys.executable, "-m", "dlcli", *map(str, args)], capture_output=True, text=True,
                               env=environment, cwd=cwd, timeout=timeout)
    return Result(completed)


def assert_one_line_error(result: Result, *needles: str) -> None:
    """Exit code 2, exactly one line on stderr naming the problem, no traceback."""
    assert result.code == 2, (result.code, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
