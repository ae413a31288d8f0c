"""The training session every run command opens: the global options, the run folder, the live
display, seeding, the distribution strategy and clean failure handling.

Middle layer, beside `run`, `training` and `progress`: the commands use it, and so can scripts
such as the benchmarks, without reaching into `dlcli.commands`. Imports no TensorFlow until a
session starts (`import_tensorflow_quietly`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import typer

from dlcli import interrupts
from dlcli.checks import choice
from dlcli.errors import DlcliError

DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
STRATEGIES = ("auto", "single", "mirrored", "multiworker")
COMMAND_LINE: list[str] = []  # the arguments `dl` was given (set by the CLI; sys.argv's when unset)


def command_line() -> list[str]:
    """The arguments of this `dl` call as the user gave them, for a run's config.json."""
    return list(COMMAND_LINE) or sys.argv[1:]
# Commands whose input the multi-worker loop (numpy arrays of one input and one target) cannot shard.
SINGLE_WORKER = {"textgen": "streams its windows from a tf.data pipeline", "go-train": "streams positions from tf.data",
                 "vae": "trains without labels", "translate": "has two inputs (source and target sentences)"}


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
    deterministic: bool = False
    tensorboard: bool = False
    config: Optional[Path] = None
    resume: Optional[Path] = None
    strategy: Optional[str] = None
    precision: Optional[str] = None
    arguments: dict[str, Any] = field(default_factory=dict)  # the command's own parameters as parsed

    @property
    def random_seed(self) -> int:
        """The seed a run uses: --seed, else the default (worked out here only)."""
        return DEFAULT_SEED if self.seed is None else self.seed


class Session:
    """One training command's run: folder, display, seeding, and clean failure handling.

    Use as a context manager. On a user error or a crash the run folder is marked 'failed'; on
    Ctrl-C it is marked 'interrupted' and the command exits 130. Only `finish` marks it complete.
    """

    def __init__(self, command: str, dataset: str, options: dict[str, Any], common: GlobalOptions,
                 family: str | None = None):
        self.command = command
        self.family = family or command  # the model family `--precision auto` decides for
        self.precision = "float32"  # what --precision chose, once the session has started
        self.dataset = dataset
        self.options = options
        self.common = common
        self.seed = common.random_seed
        self.started = time.perf_counter()
        self.run = None
        self.command_lines: dict[str, Any] = {}  # set when resuming: the first argv and the resumes'
        self.display = None
        self.data_sources: list[dict[str, Any]] = []
        self.trained_samples = 0
        self.epoch_seconds: list[float] = []
        self.best_epochs: dict[str, int] = {}  # `fit(keep_best=True)`: label -> the epoch kept

    def __enter__(self) -> "Session":
        strategy = self.common.strategy or "auto"
        if strategy.lower() == "default":
            from dlcli import legacy

            legacy.warn(self.command.replace("-", " ", 1), "--strategy default", "--strategy single")
            strategy = "single"
        strategy = choice("strategy", strategy, STRATEGIES)
        from dlcli import precision

        requested = choice("--precision", self.common.precision or "auto", precision.PRECISIONS)
        if strategy == "multiworker" and self.command in SINGLE_WORKER:
            raise DlcliError(f"--strategy multiworker: 'dl {self.command.replace('-', ' ')}' {SINGLE_WORKER[self.command]}, "
                             "which the multi-worker loop cannot shard yet; use --strategy mirrored or single")
        from dlcli.run import RunFolder

        if self.common.resume is not None:  # checked and locked before TensorFlow loads or anything is written
            if self.common.out is not None:
                raise DlcliError("--out and --resume together: a resumed run continues in its own folder; drop --out")
            options = {key: jsonable(value) for key, value in self.options.items()}
            self.run = RunFolder.reopen(self.common.resume, self.command, self.dataset, options)
            earlier = self.run.recorded  # the command line that started the run stays its argv
            self.command_lines = {"argv": earlier.get("argv", command_line()),
                                  "resumed_argv": [*earlier.get("resumed_argv", []), command_line()]}
        import_tensorflow_quietly()
        from dlcli import distribute, progress, training

        self.strategy_name, self.strategy = distribute.make_strategy(strategy)
        self.display = progress.Display(quiet=self.common.quiet)
        if self.run is None and distribute.is_chief():
            self.run = RunFolder.create(self.command, self.dataset, runs_dir=self.common.runs_dir, out=self.common.out)
        elif self.run is None:  # a worker's copy of the run: kept apart from the chief's, in a temporary folder
            self.run = RunFolder.create(self.command, self.dataset, runs_dir=tempfile.mkdtemp(prefix="dl-worker-"))
        training.seed_everything(self.seed, deterministic=self.common.deterministic)
        self.precision = precision.choose(requested, self.family)
        precision.apply(self.precision)
        self._scope = self.strategy.scope()
        self._scope.__enter__()
        self.run.start(self._config())
        self._signals = interrupts.installed()
        self._signals.__enter__()
        return self

    def __exit__(self, kind, error, trace) -> bool:
        try:
            with interrupts.held():  # a second signal must not cut the run's last words short
                return self._close(error, trace)
        finally:
            self._signals.__exit__(None, None, None)

    def _close(self, error, trace) -> bool:
        self._scope.__exit__(type(error) if error else None, error, trace)
        from dlcli import precision

        precision.apply("float32")  # the next models of this process (tests, benchmarks) start in float32
        if error is None or self.run is None or self.run.finished:
            return False
        if isinstance(error, KeyboardInterrupt):
            terminated = isinstance(error, interrupts.Terminated)
            self.run.mark("interrupted", reason="terminated (SIGTERM)" if terminated else "interrupted (Ctrl-C)")
            print(f"dl: interrupted; the run keeps what it finished (epochs, games); continue it with: "
                  f"dl {self.command.replace('-', ' ', 1) if self.command.startswith('go-') else self.command} "
                  f"--resume {self.run.path}", file=sys.stderr)
            raise typer.Exit(143 if terminated else 130)
        self.run.mark("failed", reason=str(error) or type(error).__name__)
        return False

    def _config(self) -> dict[str, Any]:
        from dlcli import distribute, lowprecision, training

        return {
            "command": self.command,
            "dataset": self.dataset,
            "options": {key: jsonable(value) for key, value in self.options.items()},
            "arguments": self.common.arguments,
            "seed": self.seed,
            "deterministic": self.common.deterministic,
            "limit": self.common.limit,
            "config_file": None if self.common.config is None else str(self.common.config),
            "strategy": self.strategy_name,
            "precision": self.common.precision or "auto",
            "precision_used": self.precision,
            "replicas": self.strategy.num_replicas_in_sync,
            "task": distribute.task_name(),
            "argv": command_line(),
            **self.command_lines,  # a resumed run: the first command line, and each resume's
            "versions": training.library_versions(),
            "machine": lowprecision.cpu_description(),
            "data": self.data_sources,
        }

    def load(self, name: str, **options: Any):
        """Load a dataset through the data layer, with a download bar, and record its source."""
        from dlcli import data

        with self.display.download_bar(name) as bar:
            dataset = data.load(name, data_dir=self.common.data_dir, limit=self.common.limit, progress=bar, **options)
        return self.record(dataset)

    def record(self, dataset):
        """Record a dataset's source in config.json (`load` does it; also for data read from a path)."""
        self.data_sources.append({"name": dataset.name, "source": dataset.source, "sha256": dataset.checksum,
                                  "train_samples": len(dataset.y_train), "test_samples": len(dataset.y_test)})
        self.run.start(self._config())
        return dataset

    def fit(self, model, x, y, *, epochs: int, batch_size: int | None, validation_data=None, label: str = "",
            callbacks=(), samples: int | None = None, annotate=None, keep_best: bool = False) -> dict[str, list[float]]:
        """Train with the live epoch table and a checkpoint after every epoch; return the history
        as {metric: [per-epoch values]}. When resuming, continue from this training's checkpoint
        (weights, optimizer state, history), or skip it when it had already finished.

        `batch_size` is per replica: the global batch is that times the replicas in sync, as Keras
        advises. `x` may be a shuffled tf.data.Dataset of (inputs, targets) batches: pass y=None,
        batch_size=None and `samples`, the samples in one epoch. `callbacks` run after the table;
        `annotate(epoch, logs) -> {column: text}` adds text columns to the table's rows.
        `keep_best` ends with the weights of the epoch of lowest validation loss (the course's
        `ModelCheckpoint(save_best_only=True)` then `load_model`), recorded in `self.best_epochs`;
        the command refuses it beforehand when nothing is held out.
        """
        from dlcli import precision, training

        if self.precision != "float32":
            precision.outputs_in_float32(model)
        name = label.replace(" ", "-").replace("/", "-of-") or "train"
        record = training.restore_checkpoint(model, self.run.checkpoints, name) if self.common.resume else None
        done, earlier = (record["epoch"], record["history"]) if record else (0, {})
        training.check_finite(earlier)  # a run that diverged stays failed
        if done >= epochs:
            if keep_best:
                self._keep_best(model, name, label)
            return earlier
        samples = len(x) if samples is None else samples
        table = self.display.epoch_table(samples=samples, label=label, annotate=annotate)
        # the checkpoint first, so that an epoch's row (and its seconds) appear once it is saved
        hooks = [training.Checkpointer(self.run.checkpoints, name, earlier, best="val_loss" if keep_best else None),
                 table, *callbacks]
        if self.common.tensorboard:
            import keras

            hooks.append(keras.callbacks.TensorBoard(log_dir=str(self.run.path / "tensorboard" / name)))
        global_batch = None if batch_size is None else batch_size * self.strategy.num_replicas_in_sync
        history = training.fit(model, x, y, epochs=epochs, batch_size=global_batch, initial_epoch=done,
                               validation_data=validation_data, callbacks=hooks, shuffle=y is not None, seed=self.seed)
        seconds = [row["s"] for row in table.rows]
        self.trained_samples += samples * len(seconds)
        self.epoch_seconds += seconds
        if keep_best:
            self._keep_best(model, name, label)
        return {key: earlier.get(key, []) + history.get(key, []) for key in {**earlier, **history}}

    def _keep_best(self, model, name: str, label: str) -> None:
        """Load the kept best epoch's weights into `model` and record that epoch."""
        from dlcli import training

        best = training.restore_best(model, self.run.checkpoints, name)
        if best is not None:
            self.best_epochs[label or "train"] = best["epoch"]

    def finish(self, metrics: dict[str, Any], *, model=None, history: dict[str, list[float]] | None = None,
               model_formats: tuple[str, ...] = ("keras", "h5")) -> None:
        """Save the model and history, write metrics.json as complete, show the summary, print the run folder.

        `samples_per_s` is training throughput: samples trained over the seconds spent in epochs;
        `epoch_seconds` the wall time of every epoch trained, in order (kept out of history.csv so
        that a deterministic run's history is byte-identical).
        """
        wall = time.perf_counter() - self.started
        if history is not None:
            self.run.write_history(history)
        if model is not None:
            metrics = {**metrics, "parameters": int(model.count_params()),
                       "model_files": self.run.save_model(model, formats=model_formats)}
        if self.run.skipped:
            metrics["model_files_skipped"] = dict(self.run.skipped)
            for name, reason in self.run.skipped.items():
                print(f"dl: warning: {name} not written ({reason}); the run keeps its .keras model", file=sys.stderr)
        metrics = {**metrics, "wall_time_s": round(wall, 3)}
        if self.best_epochs:  # --keep-best: the epoch whose weights were tested and saved
            metrics["best_epoch"] = (self.best_epochs["train"] if list(self.best_epochs) == ["train"]
                                     else dict(self.best_epochs))
        if self.epoch_seconds:
            metrics["samples_per_s"] = round(self.trained_samples / sum(self.epoch_seconds), 1)
            metrics["epoch_seconds"] = [round(seconds, 4) for seconds in self.epoch_seconds]
        self.run.finish(metrics)
        self.display.summary(metrics, self.run.path)
        if self.common.json:
            from dlcli.runs import json_summary

            print(json.dumps(json_summary(metrics, self.run.path)))
        else:
            print(self.run.path)


# TensorFlow's C++ log lines ("E0000 00:00:1796029042.480036   22400 util.cc:131] ..."): the info and
# warning ones, and the error ones that report no error: oneDNN's fallback to Eigen for an int32 op
# (logged even on a CPU that has AVX-512) and CUDA's absence on a machine without a GPU.
TENSORFLOW_CHATTER = (rb"^[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
                      rb"|^E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] (oneDNN supports \w+ only on platforms with AVX-512"
                      rb"|failed call to cuInit|Unable to register cu\w+ factory)"
                      rb"|^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$")
# The filter's own program: every line from descriptor 0 to 1, except TENSORFLOW_CHATTER's.
_FILTER = """
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is dl's; this ends when dl's descriptor 2 closes
chatter, pending, out = re.compile(%r), b"", sys.stdout.buffer
while chunk := sys.stdin.buffer.read1(65536):
    *lines, pending = (pending + chunk).split(b"\\n")
    out.write(b"".join(line + b"\\n" for line in lines if not chatter.match(line)))
    out.flush()
out.write(b"" if chatter.match(pending) else pending)
"""


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ chatter (CPU flags, missing CUDA, oneDNN fallbacks) kept off the terminal.

    TensorFlow writes those lines to file descriptor 2 before Python's logging exists, and ignores
    TF_CPP_MIN_LOG_LEVEL set from inside the process, so the descriptor is parked while it loads;
    what it wrote is shown again if the import fails. Its runtime logs more once it runs (oneDNN's
    "E0000 ... util.cc] oneDNN supports DT_INT32 only ..." when a graph is first optimised), so
    afterwards descriptor 2 goes through `filter_tensorflow_chatter`.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as parked:
        os.dup2(parked.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except KeyboardInterrupt:
            raise  # Ctrl-C during start-up: `dl`'s one line, not TensorFlow's start-up chatter
        except BaseException:
            os.dup2(saved, 2)
            parked.seek(0)
            sys.stderr.write(parked.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    filter_tensorflow_chatter()


def filter_tensorflow_chatter() -> None:
    """From now on, send what is written to descriptor 2 (TensorFlow's C++ runtime, child processes)
    through a small process that drops TENSORFLOW_CHATTER's lines and passes every other line,
    real errors included; Python's own sys.stderr keeps writing straight to the terminal.

    Only for a real process's stderr: under a test runner that replaced sys.stderr, nothing changes.
    """
    if sys.stderr is not sys.__stderr__ or sys.stderr is None:
        return
    import atexit
    import subprocess

    try:
        sys.stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):
        return
    try:
        chatter_filter = subprocess.Popen([sys.executable, "-I", "-S", "-c", _FILTER % TENSORFLOW_CHATTER],
                                          stdin=subprocess.PIPE, stdout=terminal, stderr=terminal)
    except OSError:  # no interpreter to run it: the chatter shows, nothing else changes
        os.close(terminal)
        return
    os.dup2(chatter_filter.stdin.fileno(), 2)
    chatter_filter.stdin.close()
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.__stderr__.encoding, errors="backslashreplace")

    def drain() -> None:
        """Close the pipe and let the filter write its last lines before the shell's prompt comes back."""
        sys.stderr.flush()
        os.dup2(terminal, 2)
        try:
            chatter_filter.wait(timeout=2)
        except subprocess.TimeoutExpired:  # a child process still holds the pipe: it ends with it
            pass

    atexit.register(drain)


def jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [jsonable(item) for item in value]
    return value
