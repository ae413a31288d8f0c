"""What every command shares: the global options, option checks, and the training session.

A command declares its own options; `with_common` adds the global ones (`--out`, `--runs-dir`,
`--data-dir`, `--seed`, `--quiet`, `--json`, `--limit`) so that they work after the command name
as well as before it. `Session` ties a run folder, the live display and the training helpers
together, and marks the run folder interrupted or failed when the command does not finish.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from dlcli.errors import DlcliError

DEFAULT_SEED = 0
EPOCH_SECONDS = "epoch_seconds"  # wall time of each epoch, recorded beside the metrics in history.csv


@dataclass(frozen=True)
class GlobalOptions:
    """The global options as given (None where not given)."""

    runs_dir: Optional[Path] = None
    data_dir: Optional[Path] = None
    seed: Optional[int] = None
    quiet: bool = False
    json: bool = False
    out: Optional[Path] = None
    limit: Optional[int] = None


COMMON_OPTIONS = [
    ("out", Annotated[Optional[Path], typer.Option(help="Write the run folder exactly here.", rich_help_panel="Run")], None),
    ("runs_dir", Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).", rich_help_panel="Run")], None),
    ("data_dir", Annotated[Optional[Path], typer.Option(help="Folder searched first for dataset files (env DLCLI_DATA_DIR).", rich_help_panel="Run")], None),
    ("seed", Annotated[Optional[int], typer.Option(help=f"Random seed (default {DEFAULT_SEED}).", rich_help_panel="Run")], None),
    ("limit", Annotated[Optional[int], typer.Option(min=1, help="Use only the first N training and N test samples.", rich_help_panel="Run")], None),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="No live display: plain lines on stderr.", rich_help_panel="Run")], False),
    ("json", Annotated[bool, typer.Option("--json", help="Print the final metrics as one JSON object on stdout.", rich_help_panel="Run")], False),
]


def add_options(function: Callable[..., Any], parameter: str, options: list[tuple[str, Any, Any]],
                make: Callable[[typer.Context, dict[str, Any]], Any]) -> Callable[..., Any]:
    """Give `function` the command-line `options`; it receives `make(ctx, values)` as `parameter`.

    This is how options shared by several commands are declared once: Typer reads the wrapper's
    signature, which is the function's own parameters plus the shared options.
    """
    signature = inspect.signature(function, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != parameter]
    keeps_context = any(p.name == "ctx" for p in own)
    context = [] if keeps_context else [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for name, annotation, default in options]

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> Any:
        ctx = kwargs["ctx"] if keeps_context else kwargs.pop("ctx")
        kwargs[parameter] = make(ctx, {name: kwargs.pop(name) for name, _, _ in options})
        return function(**kwargs)

    positional = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
    keyword = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
    parameters = [*context, *positional, *keyword, *shared]
    wrapper.__signature__ = signature.replace(parameters=parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper


def _merge_global(ctx: typer.Context, given: dict[str, Any]) -> GlobalOptions:
    """Options given after the command win over the same ones given before it."""
    root = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    return replace(root, **{k: v for k, v in given.items() if v is not None and v is not False})


def with_common(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the global options to a command that takes `common: GlobalOptions`."""
    return add_options(function, "common", COMMON_OPTIONS, _merge_global)


def choice(option: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Check that `value` is one of `allowed` (case-insensitive); raise a one-line error if not."""
    lowered = value.lower()
    if lowered not in allowed:
        raise DlcliError(f"unknown {option} '{value}'; choose one of: {', '.join(allowed)}")
    return lowered


def check_range(option: str, value: float | None, low: float, high: float | None = None,
                *, low_open: bool = False, high_open: bool = True) -> None:
    """Check `low <= value < high` (bounds as given); raise a one-line error naming the option."""
    if value is None:
        return
    below = value <= low if low_open else value < low
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        upper = "" if high is None else (f" and below {high}" if high_open else f" and at most {high}")
        lower = f"above {low}" if low_open else f"at least {low}"
        raise DlcliError(f"{option} must be {lower}{upper}, got {value}")


class Session:
    """One training command's run: folder, display, seeding, and clean failure handling.

    Use as a context manager. On a user error or a crash the run folder is marked 'failed'; on
    Ctrl-C it is marked 'interrupted' and the command exits 130. Only `finish` marks it complete.
    """

    def __init__(self, command: str, dataset: str, options: dict[str, Any], common: GlobalOptions):
        self.command = command
        self.dataset = dataset
        self.options = options
        self.common = common
        self.seed = DEFAULT_SEED if common.seed is None else common.seed
        self.started = time.perf_counter()
        self.run = None
        self.display = None
        self.data_sources: list[dict[str, Any]] = []
        self.trained_samples = 0
        self.training_seconds = 0.0

    def __enter__(self) -> "Session":
        import_tensorflow_quietly()
        from dlcli import progress, training
        from dlcli.run import RunFolder

        self.display = progress.Display(quiet=self.common.quiet)
        self.run = RunFolder.create(self.command, self.dataset, runs_dir=self.common.runs_dir, out=self.common.out)
        training.seed_everything(self.seed)
        self.run.start(self._config())
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if error is None or self.run is None or self.run.finished:
            return False
        if isinstance(error, KeyboardInterrupt):
            self.run.mark("interrupted", reason="interrupted by the user")
            print(f"dl: interrupted; partial run left in {self.run.path} (marked interrupted)", file=sys.stderr)
            raise typer.Exit(130)
        self.run.mark("failed", reason=str(error) or type(error).__name__)
        return False

    def _config(self) -> dict[str, Any]:
        from dlcli import training

        return {
            "command": self.command,
            "dataset": self.dataset,
            "options": {key: _jsonable(value) for key, value in self.options.items()},
            "seed": self.seed,
            "limit": self.common.limit,
            "argv": sys.argv[1:],
            "versions": training.library_versions(),
            "data": self.data_sources,
        }

    def load(self, name: str, **options: Any):
        """Load a dataset through the data layer, with a download bar, and record its source."""
        from dlcli import data

        with self.display.download_bar(name) as bar:
            dataset = data.load(name, data_dir=self.common.data_dir, limit=self.common.limit, progress=bar, **options)
        self.data_sources.append({"name": dataset.name, "source": dataset.source, "sha256": dataset.checksum,
                                  "train_samples": len(dataset.y_train), "test_samples": len(dataset.y_test)})
        self.run.start(self._config())
        return dataset

    def fit(self, model, x, y, *, epochs: int, batch_size: int, validation_data=None, label: str = "") -> dict[str, list[float]]:
        """Train with the live epoch table; return the history as {metric: [per-epoch values]}."""
        from dlcli import training

        callback = self.display.epoch_table(samples=len(x), label=label)
        history = training.fit(model, x, y, epochs=epochs, batch_size=batch_size,
                               validation_data=validation_data, callbacks=[callback])
        seconds = [row["s"] for row in callback.rows]
        self.trained_samples += len(x) * len(seconds)
        self.training_seconds += sum(seconds)
        return {**history, EPOCH_SECONDS: [round(s, 4) for s in seconds]}

    def finish(self, metrics: dict[str, Any], *, model=None, history: dict[str, list[float]] | None = None) -> None:
        """Save the model and history, write metrics.json as complete, show the summary, print the run folder.

        `samples_per_s` is training throughput: samples trained over the seconds spent in epochs.
        """
        wall = time.perf_counter() - self.started
        if history is not None:
            self.run.write_history(history)
        if model is not None:
            metrics = {**metrics, "parameters": int(model.count_params()), "model_files": self.run.save_model(model)}
        metrics = {**metrics, "wall_time_s": round(wall, 3)}
        if self.training_seconds > 0:
            metrics["samples_per_s"] = round(self.trained_samples / self.training_seconds, 1)
        self.run.finish(metrics)
        self.display.summary(metrics, self.run.path)
        if self.common.json:
            print(json.dumps({**metrics, "run": str(self.run.path)}))
        else:
            print(self.run.path)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter (CPU flags, missing CUDA) kept off the terminal.

    TensorFlow writes those lines to file descriptor 2 before Python's logging exists, and ignores
    TF_CPP_MIN_LOG_LEVEL set from inside the process, so the descriptor is parked while it loads;
    what it wrote is shown again if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as parked:
        os.dup2(parked.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            parked.seek(0)
            sys.stderr.write(parked.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
