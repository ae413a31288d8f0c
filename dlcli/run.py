"""The run folder: config.json, metrics.json, history.csv, model files and plots, written atomically.

Every file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a truncated model or JSON. metrics.json carries a `status`:
'running' from the start, then 'complete', 'interrupted' or 'failed'.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from dlcli import legacy, modelfiles
from dlcli.atomic import atomic_path, write_arrays, write_json, write_text
from dlcli.errors import DlcliError

RUNS_ENV = "DLCLI_RUNS"


def runs_root(runs_dir: str | Path | None = None) -> Path:
    """The root of run folders: --runs-dir, else $DLCLI_RUNS, else ./runs."""
    return Path(runs_dir or os.environ.get(RUNS_ENV) or "runs")


def history_csv(history: dict[str, list[float]]) -> str:
    """One row per epoch: `epoch` then every metric in the order given."""
    columns = list(history)
    epochs = max((len(values) for values in history.values()), default=0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *columns])
    for epoch in range(epochs):
        row = [history[c][epoch] if epoch < len(history[c]) else "" for c in columns]
        writer.writerow([epoch + 1, *(f"{v:.6g}" if isinstance(v, float) else v for v in row)])
    return buffer.getvalue()


class RunFolder:
    """A folder holding everything one command run produced."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.finished = False
        self.skipped: dict[str, str] = {}  # model files not written, with the reason
        self._metrics: dict[str, Any] = {}
        self._started = False
        self.recorded: dict[str, Any] = {}  # a reopened run's config.json as it was recorded

    @classmethod
    def create(cls, command: str, dataset: str, *, runs_dir: str | Path | None = None,
               out: str | Path | None = None) -> "RunFolder":
        """Make a new run folder: `out` exactly, or `<root>/<command>-<dataset>-<timestamp>`."""
        if out is not None:
            path = Path(out)
            if (path / "metrics.json").exists():
                raise DlcliError(f"{path} already holds a run; choose another --out or remove it")
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = runs_root(runs_dir) / f"{command}-{dataset}-{stamp}"
            path, number = base, 1
            while _taken(path):  # claimed by creating it: two runs started in the same second get two folders
                number += 1
                path = base.with_name(f"{base.name}-{number}")
        try:
            (path / "plots").mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise DlcliError(f"cannot write the run folder {path}: {error.strerror or error}; "
                             "choose a writable place with --runs-dir or --out") from None
        lock(path)
        return cls(path)

    @classmethod
    def reopen(cls, path: str | Path, command: str, dataset: str | None = None,
               options: dict[str, Any] | None = None) -> "RunFolder":
        """An unfinished run of `command` (on `dataset`, with `options`, when given), locked, to
        continue it (`--resume`). Only the lengths in RESUMABLE may differ from the recorded
        options. Writes nothing: `start` marks it running again."""
        path = Path(path)
        config = read_run_config(path, command)
        if dataset is not None and config.get("dataset") != dataset:
            raise DlcliError(f"{path} is a run on '{config.get('dataset')}', not '{dataset}'; "
                             "leave the dataset out to continue it as recorded")
        recorded, _ = legacy.upgrade(command, json.loads(json.dumps(config.get("options", {}))))  # old option names too
        given = json.loads(json.dumps(options or {}, default=str))
        changed = [key for key in given if key in recorded and key not in RESUMABLE and given[key] != recorded[key]]
        if changed:
            detail = ", ".join(f"--{key.replace('_', '-')} {recorded[key]!r} -> {given[key]!r}" for key in changed)
            raise DlcliError(f"{path} continues only as it was recorded, but {detail}; leave those options out "
                             "(or start a new run)")
        try:
            status = load_metrics(path).get("status")
        except (OSError, ValueError):
            status = "unreadable"
        if status == "complete":
            raise DlcliError(f"{path} is already complete: nothing to resume")
        lock(path)
        run = cls(path)
        run.recorded = config
        run._metrics = {"status": "running", "resumed_from": status}
        return run

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def start(self, config: dict[str, Any]) -> None:
        """Record the configuration and, the first time, mark the run as running."""
        write_json(self.path / "config.json", config)
        if not self._started:
            self._metrics = self._metrics or {"status": "running"}
            write_json(self.path / "metrics.json", self._metrics)
            self._started = True

    def write_history(self, history: dict[str, list[float]]) -> None:
        write_text(self.path / "history.csv", history_csv(history))

    def save_arrays(self, name: str, arrays: dict[str, Any]) -> Path:
        """numpy arrays kept beside the models (`name`.npz: inputs and what the networks made of them)."""
        return write_arrays(self.path / name, arrays)

    def save_model(self, model, name: str = "model", formats: tuple[str, ...] = ("keras", "h5")) -> list[str]:
        """Save `model` as name.keras and, for a Functional or Sequential model that serialises to
        HDF5 (and "h5" in `formats`), name.h5; return the files written. Pass formats=("keras",)
        for a graph model whose HDF5 form would not work once reloaded (text vectorisers, say)."""
        written = []
        with atomic_path(self.path / f"{name}.keras") as temporary:
            model.save(temporary)
        written.append(f"{name}.keras")
        # Keras 3 writes an HDF5 file for a subclassed model that it cannot load back: graph models only
        if "h5" not in formats or type(model).__name__ not in ("Functional", "Sequential"):
            return written
        absl = logging.getLogger("absl")
        level = absl.level
        absl.setLevel(logging.ERROR)  # Keras warns that HDF5 is legacy: we write it on purpose
        try:
            with atomic_path(self.path / f"{name}.h5") as temporary:
                model.save(temporary)
            written.append(f"{name}.h5")
        except Exception as error:  # noqa: BLE001 - some custom models have no HDF5 form; .keras is the reference
            self.skipped[f"{name}.h5"] = (str(error).splitlines() or [type(error).__name__])[0][:300]
        finally:
            absl.setLevel(level)
        return written

    def finish(self, metrics: dict[str, Any]) -> None:
        """Write the final metrics and mark the run complete."""
        final = {"status": "complete", **metrics}
        write_json(self.path / "metrics.json", final)
        self._metrics, self.finished = final, True
        shutil.rmtree(self.checkpoints, ignore_errors=True)  # the saved model supersedes them

    def mark(self, status: str, **details: Any) -> None:
        """Mark an unfinished run 'interrupted' or 'failed', keeping what it had recorded."""
        marked = {**self._metrics, "status": status, **details}
        write_json(self.path / "metrics.json", marked)
        self._metrics = marked


def _taken(path: Path) -> bool:
    """Create the folder `path`; False when this call made it (or cannot: the caller's write check says why)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a file where the runs root should be, say
        return False
    try:
        path.mkdir()
    except FileExistsError:
        return True
    except OSError:
        return False
    return False


RESUMABLE = frozenset({"epochs", "games"})  # options a resumed run may change: how long it goes on
_locks: dict[Path, int] = {}  # run folder -> open descriptor holding its lock, for the life of the process


def lock(path: Path) -> None:
    """Take an exclusive lock on the run folder `path`, held until the process ends (the OS
    releases it then, however the process dies); a one-line error when another process holds it."""
    key = Path(path).resolve()
    if key in _locks:
        return
    descriptor = os.open(key, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise DlcliError(f"{path} is in use by another dl process; wait for it to finish (or stop it), then retry") from None
    _locks[key] = descriptor


def read_run_config(path: str | Path, command: str | None = None) -> dict[str, Any]:
    """A run folder's config.json; a one-line error when `path` is no run folder, or (with
    `command`) a run folder of another command."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DlcliError(f"{path} is not a dl run folder (no readable config.json)") from None
    if command is not None and config.get("command") != command:
        raise DlcliError(f"{path} is a '{config.get('command')}' run, not a '{command}' run; "
                         f"pass a run folder of 'dl {command.replace('-', ' ')}'")
    return config


def load_metrics(path: str | Path) -> dict[str, Any]:
    """Read a run folder's metrics.json."""
    return json.loads((Path(path) / "metrics.json").read_text(encoding="utf-8"))


def require_complete(run: Path) -> None:
    """Refuse, with one line, a run folder whose metrics.json does not say 'complete'."""
    try:
        status = load_metrics(run).get("status")
    except (OSError, ValueError):
        status = "unreadable"
    if status != "complete":
        raise DlcliError(f"{run} is a run marked '{status}', not complete; finish it with --resume or train again")


def trained_run(command: str, model: str | Path | None = None, runs_dir: str | Path | None = None,
                needs: tuple[str, ...] = ("model.keras",), *, quiet: bool = False) -> Path:
    """The complete run folder of `command` that inference should use: `model` (a run folder, or a
    file inside one), else the newest complete run under the runs root. One-line errors for a
    missing path, a folder of another command, an unfinished run, or one without the files `needs`.
    The newest run is named on stderr unless `quiet`.
    """
    if model is None:
        run = newest_run(command, runs_dir, quiet=quiet)
    else:
        run = Path(model)
        if run.is_file():
            run = run.parent
        if not run.is_dir():
            raise DlcliError(f"--model {model}: no such run folder or file; pass a 'dl {command.replace('-', ' ')}' "
                             "run folder (or leave --model out for the newest)")
    read_run_config(run, command)
    require_complete(run)
    missing = [name for name in needs if not (run / name).is_file()]
    if missing:
        raise DlcliError(f"{run} has no {', '.join(missing)}; train again with 'dl {command.replace('-', ' ')}'")
    return run


def model_file(command: str, model: str | Path | None = None, runs_dir: str | Path | None = None,
               name: str = "model.keras", *, quiet: bool = False) -> Path:
    """The model file inference on `command` uses: `model` itself when it is a file outside any run
    folder, else `name` in the complete run folder `trained_run` picks (`model`, or the newest)."""
    path = None if model is None else Path(model)
    if loose_file(path):
        return modelfiles.find(path)
    return trained_run(command, path, runs_dir, (name,), quiet=quiet) / name


def loose_file(path: Path | None) -> bool:
    """Whether `path` is a file outside any run folder (a model file given by its own path)."""
    return path is not None and path.is_file() and not (path.parent / "config.json").is_file()


def run_of(model_file: str | Path) -> Path:
    """The run folder a model file was saved in, or the file itself when it lies outside any run:
    what an inference command's --json names as its `run`."""
    model_file = Path(model_file)
    return model_file.parent if (model_file.parent / "config.json").is_file() else model_file


def load_model(path: str | Path, *, fix: str = ""):
    """A saved model (.keras or .h5) with our custom layers registered; one line if it won't load."""
    import dlcli.models  # noqa: F401 - registers the custom layers

    return modelfiles.load(path, fix=fix)


def newest_run(command: str, runs_dir: str | Path | None = None, *, complete: bool = True,
               quiet: bool = False) -> Path:
    """The newest run folder of `command` under the runs root (complete runs only by default), named on
    stderr (unless `quiet`: --quiet keeps stderr to errors and warnings) so that a user knows which
    run an inference or a default input came from."""
    root = runs_root(runs_dir)
    candidates = sorted(root.glob(f"{command}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:
            status = load_metrics(path).get("status")
        except (OSError, ValueError):
            continue
        if not complete or status == "complete":
            if not quiet:
                print(f"dl: using the newest {'complete ' if complete else ''}'{command}' run: {path}",
                      file=sys.stderr)
            return path
    raise DlcliError(f"no {'complete ' if complete else ''}'{command}' run under {root}; "
                     f"train one first or pass --model PATH")
