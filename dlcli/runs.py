"""Reading run folders back: summaries for `dl runs`, one run's record, several runs side by side.

Only the standard library: `dl runs` never imports TensorFlow or numpy. A folder counts as a run
when it holds a config.json; a missing or unreadable metrics.json reads as status 'unreadable'.
A run marked 'running' whose folder no process holds locked (dlcli.run.lock) was killed before it
could mark itself: it reads as 'interrupted', which --resume continues.
"""

from __future__ import annotations

import csv
import fcntl
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlcli.errors import DlcliError
from dlcli.run import runs_root

STATUSES = ("complete", "running", "interrupted", "failed", "unreadable")

# The one number that says how a run went, per command, best first; then any of these keys.
HEADLINES = {
    "classify": ("test_accuracy",), "cnn": ("test_accuracy",), "resnet": ("test_accuracy",),
    "mobilenet": ("test_accuracy",), "regress": ("test_mae",), "kfold": ("mean_val_mae", "mean_val_accuracy"),
    "autoencode": ("test_mse",), "vae": ("test_loss", "loss"), "textgen": ("final_loss",),
    "timeseries": ("test_mae",), "translate": ("test_bleu",), "backprop": ("xor_accuracy",),
    "go-train": ("val_policy_accuracy",), "go-data": ("positions",), "go-selfplay": ("games",),
}
FALLBACK_HEADLINES = ("test_accuracy", "test_mae", "test_bleu", "mean_val_mae", "test_mse", "test_loss",
                      "val_loss", "final_loss", "loss")
STAMP = re.compile(r"(\d{8}-\d{6})(?:-\d+)?$")


@dataclass
class RunRecord:
    """What one run folder says about itself."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    status: str
    started: float  # seconds since the epoch
    epochs: int | None
    headline: tuple[str, float] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def command(self) -> str:
        return str(self.config.get("command", "?"))

    @property
    def dataset(self) -> str:
        return str(self.config.get("dataset", "?"))

    @property
    def wall_time_s(self) -> float | None:
        value = self.metrics.get("wall_time_s")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))

    def summary(self) -> dict[str, Any]:
        """The list row as plain JSON-able values."""
        return {"run": str(self.path), "name": self.name, "command": self.command, "dataset": self.dataset,
                "status": self.status, "metric": self.headline[0] if self.headline else None,
                "value": self.headline[1] if self.headline else None, "epochs": self.epochs,
                "wall_time_s": self.wall_time_s, "date": self.date}


def headline(command: str, metrics: dict[str, Any]) -> tuple[str, float] | None:
    """The run's headline metric (name, value): the command's own, else the first known one present."""
    for key in (*HEADLINES.get(command, ()), *FALLBACK_HEADLINES):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return key, value  # counts stay integers
    return None


def read_history(path: str | Path) -> dict[str, list[float]]:
    """history.csv as {column: values per epoch}, without the epoch column; {} when absent."""
    try:
        with open(Path(path) / "history.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return {}
    columns = [c for c in (rows[0] if rows else {}) if c != "epoch"]
    return {c: [_number(row.get(c)) for row in rows] for c in columns}


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _epochs(path: Path, metrics: dict[str, Any]) -> int | None:
    """Epochs trained: history.csv's rows, else what metrics.json recorded, else (a run still
    training or interrupted) the epochs its checkpoints hold."""
    try:
        with open(path / "history.csv", encoding="utf-8") as handle:
            rows = sum(1 for line in handle if line.strip()) - 1
        if rows > 0:
            return rows
    except OSError:
        pass
    value = metrics.get("epochs")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    done = []
    for record in (path / "checkpoints").glob("*.json"):
        try:
            done.append(int(json.loads(record.read_text(encoding="utf-8"))["epoch"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return max(done) if done else None


def _started(path: Path) -> float:
    """When the run started: the stamp in its folder name, else config.json's time."""
    match = STAMP.search(path.name)
    if match:
        try:
            return time.mktime(time.strptime(match.group(1), "%Y%m%d-%H%M%S"))
        except ValueError:
            pass
    return (path / "config.json").stat().st_mtime


def writer_alive(path: Path) -> bool:
    """Whether a process holds the run folder's lock (a training command writing it). Taking a
    shared lock for an instant succeeds only when nobody holds it."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # cannot tell: believe metrics.json
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return False
    finally:
        os.close(descriptor)


def read_run(path: str | Path) -> RunRecord:
    """One run folder's record; DlcliError when it is not a run folder."""
    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError
    except (OSError, ValueError):
        raise DlcliError(f"{path} is not a dl run folder (no readable config.json)") from None
    try:
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        status = str(metrics.get("status", "unreadable"))
    except (OSError, ValueError, AttributeError):
        metrics, status = {}, "unreadable"
    if status == "running" and not writer_alive(path):
        status = "interrupted"
    record = RunRecord(path, config, metrics, status, _started(path), _epochs(path, metrics))
    record.headline = headline(record.command, metrics)
    return record


def list_runs(runs_dir: str | Path | None = None, *, command: str | None = None,
              status: str | None = None) -> list[RunRecord]:
    """Every run folder directly under the runs root, newest first, optionally of one command / status."""
    root = runs_root(runs_dir)
    if status is not None and status not in STATUSES:
        raise DlcliError(f"unknown --status '{status}'; choose one of: {', '.join(STATUSES)}")
    if not root.is_dir():
        return []
    records = []
    for path in root.iterdir():
        if not (path / "config.json").is_file():
            continue
        try:
            record = read_run(path)
        except DlcliError:
            continue
        if command is not None and record.command != command:
            continue
        if status is not None and record.status != status:
            continue
        records.append(record)
    return sorted(records, key=lambda r: (r.started, r.name), reverse=True)


def find_run(name: str | Path, runs_dir: str | Path | None = None) -> Path:
    """A run given as a path, a folder name under the runs root, or the unique start of one."""
    given = Path(name)
    if (given / "config.json").is_file():
        return given
    root = runs_root(runs_dir)
    if (root / str(name) / "config.json").is_file():
        return root / str(name)
    matches = sorted(p for p in root.glob(f"{str(name)}*") if (p / "config.json").is_file()) if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DlcliError(f"'{name}' matches {len(matches)} runs under {root} ({', '.join(p.name for p in matches[:3])}, ...); "
                         "give more of the name")
    if given.is_dir():
        raise DlcliError(f"{given} is not a dl run folder (no config.json)")
    raise DlcliError(f"no run '{name}': neither a run folder nor a run under {root}; list them with 'dl runs'")


SHORT_LIST = 6  # lists up to this long are shown whole (fold scores); longer ones by their length


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; a short list of numbers kept, any other list shown as its length."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            short = len(value) <= SHORT_LIST and all(isinstance(v, (int, float, str)) for v in value)
            flat[name] = [round(v, 4) if isinstance(v, float) else v for v in value] if short else f"[{len(value)} values]"
        else:
            flat[name] = value
    return flat


def options_of(record: RunRecord) -> dict[str, Any]:
    """The settings that decide a run: dataset, every option, seed, limit."""
    return {"dataset": record.dataset, **record.config.get("options", {}), "seed": record.config.get("seed"),
            "limit": record.config.get("limit")}


SKIPPED_METRICS = ("status", "model_files", "part_files", "epoch_seconds")


def scalar_metrics(record: RunRecord) -> dict[str, Any]:
    """metrics.json flattened for a table: nested values dotted, the status, per-epoch times and file lists left out."""
    return flatten({k: v for k, v in record.metrics.items() if k not in SKIPPED_METRICS})


@dataclass
class Comparison:
    """Several runs side by side: one row per option or metric, one value per run."""

    records: list[RunRecord]
    options: list[tuple[str, list[Any], bool]]  # (name, values, differs)
    metrics: list[tuple[str, list[Any], bool]]

    def as_json(self) -> dict[str, Any]:
        return {"runs": [str(r.path) for r in self.records],
                "options": {name: values for name, values, _ in self.options},
                "metrics": {name: values for name, values, _ in self.metrics},
                "differ": [name for name, _, differs in self.options + self.metrics if differs]}


def _rows(tables: list[dict[str, Any]]) -> list[tuple[str, list[Any], bool]]:
    keys: list[str] = []
    for table in tables:
        keys += [key for key in table if key not in keys]
    rows = []
    for key in keys:
        values = [table.get(key) for table in tables]
        rows.append((key, values, len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1))
    return rows


def compare(paths: list[Path]) -> Comparison:
    """Options and metrics of `paths` side by side, marking the rows whose values differ."""
    records = [read_run(path) for path in paths]
    return Comparison(records, _rows([options_of(r) for r in records]), _rows([scalar_metrics(r) for r in records]))


def shared_curves(records: list[RunRecord], limit: int = 2) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """Each run's history (labelled by its name) and the metrics to overlay: the validation ones
    (else the training ones) that most runs have, at most `limit`."""
    histories = {r.name: read_history(r.path) for r in records}
    counts: dict[str, int] = {}
    for history in histories.values():
        for key in history:
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda k: (-counts[k], not k.startswith("val_"), "loss" not in k, k))
    chosen = [k for k in ordered if k.startswith("val_")][:limit] or ordered[:limit]
    return histories, chosen


BOOKKEEPING = ("status", "epoch_seconds", "model_files", "part_files")  # per-epoch times and file lists


def json_summary(metrics: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """What a training command prints with --json: `run` first, then its metrics without the status,
    the per-epoch times and file lists, or arrays (lists of lists or dicts); metrics.json keeps them all."""
    def array(value: Any) -> bool:
        return isinstance(value, list) and any(isinstance(item, (list, dict)) for item in value)

    kept = {key: value for key, value in metrics.items() if key not in BOOKKEEPING and not array(value)}
    return {"run": str(path), **kept}
