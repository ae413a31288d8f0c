"""What the user sees while a command runs: a live epoch table, download bars, a summary.

Everything goes to stderr, so stdout carries only the run folder (or the --json object). The
live display is used when both stdout and stderr are terminals and --quiet is off; otherwise
each epoch is one plain line. With --quiet nothing of this is printed: errors and warnings leave
through plain prints to stderr, the final line through stdout.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import keras
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dlcli.formatting import format_value  # noqa: F401 - shown in every table

MAX_LIVE_ROWS = 15


def metric_columns(logs: dict[str, Any]) -> list[str]:
    """Loss first, then the other training metrics, then their validation counterparts."""
    train = sorted((k for k in logs if not k.startswith("val_")), key=lambda k: (k != "loss", k))
    return train + [f"val_{k}" for k in train if f"val_{k}" in logs]


class Display:
    """The console of one command run: live or plain, always on stderr."""

    def __init__(self, quiet: bool = False):
        self.console = Console(stderr=True, highlight=False, quiet=quiet)  # quiet: errors and warnings only
        self.live = not quiet and sys.stdout.isatty() and sys.stderr.isatty()

    def epoch_table(self, samples: int, label: str = "",
                    annotate: Callable[[int, dict], dict[str, str]] | None = None) -> keras.callbacks.Callback:
        """A Keras callback that shows one row per epoch (live table, or plain lines).

        `annotate(epoch, logs)` may add text columns to each row (textgen's short sample); it runs
        after the epoch's time is taken.
        """
        kind = EpochTable if self.live else EpochLines
        return kind(self.console, samples=samples, label=label, annotate=annotate)

    @contextmanager
    def download_bar(self, name: str) -> Iterator[Callable[[int, int | None], None]]:
        """Yield a `progress(done, total)` callback that shows a download bar once bytes arrive."""
        state: dict[str, Any] = {}

        def update(done: int, total: int | None) -> None:
            if "bar" not in state:
                if not self.live:
                    self.console.print(f"downloading {name} ...")
                state["bar"] = Progress(TextColumn(f"downloading {name}"), BarColumn(), DownloadColumn(),
                                        TimeRemainingColumn(), console=self.console, disable=not self.live)
                state["bar"].start()
                state["task"] = state["bar"].add_task(name, total=total)
            state["bar"].update(state["task"], completed=done, total=total)

        try:
            yield update
        finally:
            if "bar" in state:
                state["bar"].stop()

    def message(self, text: str) -> None:
        self.console.print(text)

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """Print a static table (k-fold scores, comparisons)."""
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, justify="right" if column != columns[0] else "left")
        for row in rows:
            table.add_row(*(format_value(v) for v in row))
        self.console.print(table)

    @contextmanager
    def live_table(self, title: str, columns: list[str]) -> Iterator[Callable[[list[list[Any]], str], None]]:
        """Yield `show(rows, line)` for loops that are not Keras epochs (games of a match, say): live,
        the table of `rows` is redrawn (the last MAX_LIVE_ROWS); plain, `line` is printed."""
        def render(rows: list[list[Any]]) -> Table:
            table = Table(title=title, title_justify="left")
            for column in columns:
                table.add_column(column, justify="left" if column == columns[0] else "right")
            for row in rows[-MAX_LIVE_ROWS:]:
                table.add_row(*(format_value(v) for v in row))
            return table

        if not self.live:
            yield lambda rows, line: self.console.print(line)
            return
        with Live(render([]), console=self.console, refresh_per_second=4) as live:
            yield lambda rows, line: live.update(render(rows))

    def summary(self, metrics: dict[str, Any], run_path: Path) -> None:
        """The closing table: test metrics, parameters, wall time, run folder."""
        table = Table(title="Result", title_justify="left", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        for key, value in metrics.items():
            if isinstance(value, (int, float, str)) and key != "status":
                table.add_row(key, format_value(value))
        table.add_row("run folder", str(run_path))
        self.console.print(table)


class EpochLines(keras.callbacks.Callback):
    """One plain line per epoch: loss and metrics, validation, seconds, samples/s."""

    def __init__(self, console: Console, samples: int, label: str = "",
                 annotate: Callable[[int, dict], dict[str, str]] | None = None):
        super().__init__()
        self.console = console
        self.samples = samples
        self.label = label
        self.annotate = annotate
        self.rows: list[dict[str, Any]] = []
        self._epoch_started = 0.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        seconds = time.perf_counter() - self._epoch_started
        row = {"epoch": f"{epoch + 1}/{self.params.get('epochs', '?')}"}
        row.update({k: float(logs[k]) for k in metric_columns(logs or {})})
        row["s"] = seconds
        row["samples/s"] = self.samples / seconds if seconds > 0 else float("nan")
        if self.annotate is not None:
            row.update(self.annotate(epoch, logs or {}))
        self.rows.append(row)
        self.show(row)

    def show(self, row: dict[str, Any]) -> None:
        prefix = f"{self.label} " if self.label else ""
        numbers = {k: v for k, v in row.items() if isinstance(v, float) and k not in ("s", "samples/s")}
        parts = [f"epoch {row['epoch']}", *(f"{k} {format_value(v)}" for k, v in numbers.items()),
                 f"{row['s']:.1f}s", f"{row['samples/s']:.0f} samples/s"]
        parts += [f"{k} {v}" for k, v in row.items() if isinstance(v, str) and k != "epoch"]
        self.console.print(prefix + "  ".join(parts), highlight=False, soft_wrap=True)


class EpochTable(EpochLines):
    """A live Rich table, one row per epoch, with a progress bar inside the current epoch.

    The bar follows `on_train_batch_begin`, which Keras calls without waiting for the device;
    overriding a batch-*end* hook would make Keras fetch the logs after every step.
    """

    def on_train_begin(self, logs=None) -> None:
        self.done = 0
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=self.console)
        self.task = self.bar.add_task("starting", total=self.params.get("steps") or None)
        self.view = Live(console=self.console, refresh_per_second=4, get_renderable=self.render)
        self.view.start()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        super().on_epoch_begin(epoch, logs)
        self.done = 0
        name = f"{self.label} " if self.label else ""
        self.bar.reset(self.task, total=self.params.get("steps") or None,
                       description=f"{name}epoch {epoch + 1}/{self.params.get('epochs', '?')}")

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        self.done = batch

    def show(self, row: dict[str, Any]) -> None:
        self.done = self.params.get("steps") or self.done
        self.view.refresh()

    def on_train_end(self, logs=None) -> None:
        self.final = True
        self.view.refresh()
        self.view.stop()

    def render(self):
        """The table of finished epochs (the last few), and the bar of the current one."""
        table = Table(title=self.label or None, title_justify="left")
        columns = list(self.rows[-1]) if self.rows else ["epoch"]
        for column in columns:
            text = isinstance(self.rows[-1].get(column), str) and column != "epoch" if self.rows else False
            table.add_column(column, justify="left" if text else "right", overflow="fold" if text else "ellipsis")
        for row in self.rows[-MAX_LIVE_ROWS:]:
            table.add_row(*(format_value(row.get(c, "")) if c != "samples/s" else f"{row[c]:.0f}" for c in columns))
        if getattr(self, "final", False):
            return table
        self.bar.update(self.task, completed=self.done)
        return Group(table, self.bar)
