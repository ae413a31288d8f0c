"""`dl runs`: the runs under the runs folder as a table; `show` one run; `compare` several.

It reads run folders only (dlcli.runs): no TensorFlow, no training. Tables go to stdout (they
are the result here); `--json` prints them as JSON instead. `compare` also writes one figure
overlaying the runs' curves.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlcli.commands.common import given_here
from dlcli.errors import DlcliError

RunsDir = Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]

runs_app = typer.Typer(help="List, show and compare the runs under the runs folder (never trains).",
                       invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")


def _console():
    """stdout: the terminal's width, or 200 columns in a pipe or file so that tables keep whole names."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _text(value: Any) -> str:
    from dlcli.formatting import format_value

    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return format_value(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


@runs_app.callback()
def runs(
    ctx: typer.Context,
    command: Annotated[Optional[str], typer.Option("--command", "-c", help="Only runs of this command (e.g. cnn, go-train).")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only runs with this status: complete, running, interrupted, failed.")] = None,
    runs_dir: RunsDir = None,
    json_output: Json = False,
) -> None:
    """List the runs, newest first: name, command, dataset, status, headline metric, epochs, wall time, date."""
    common = given_here(ctx, runs_dir=runs_dir, json=json_output)
    if ctx.invoked_subcommand is not None:
        return
    from dlcli import runs as reading

    records = reading.list_runs(common.runs_dir, command=command, status=status and status.lower())
    if common.json:
        print(json.dumps([record.summary() for record in records]))
        return
    root = reading.runs_root(common.runs_dir)
    if not records:
        what = " ".join(filter(None, [status, f"'{command}'" if command else None]))
        print(f"no {what + ' ' if what else ''}runs under {root}")
        return
    from rich.table import Table

    table = Table(title=f"{len(records)} run{'s' * (len(records) != 1)} under {root}", title_justify="left")
    for column in ("name", "command", "dataset", "status", "metric", "epochs", "wall time", "date"):
        table.add_column(column, justify="right" if column in ("epochs", "wall time") else "left")
    colours = {"complete": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}
    for record in records:
        metric = f"{record.headline[0]} {_text(record.headline[1])}" if record.headline else "-"
        table.add_row(record.name, record.command, record.dataset,
                      f"[{colours.get(record.status, 'magenta')}]{record.status}[/]", metric,
                      "-" if record.epochs is None else str(record.epochs), _duration(record.wall_time_s), record.date)
    _console().print(table)


@runs_app.command("show")
def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="A run folder, or its name (or the start of it) under the runs folder.")],
    runs_dir: RunsDir = None,
    json_output: Json = False,
) -> None:
    """Print one run's config (options, data, versions) and its metrics."""
    from dlcli import runs as reading

    common = given_here(ctx, runs_dir=runs_dir, json=json_output)
    record = reading.read_run(reading.find_run(run, common.runs_dir))
    if common.json:
        print(json.dumps({"run": str(record.path), "status": record.status, "config": record.config,
                          "metrics": record.metrics}))
        return
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{record.path}[/]  {record.command} {record.dataset}  {record.status}  started {record.date}")
    for title, values in (("Options", reading.options_of(record)), ("Metrics", reading.scalar_metrics(record))):
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column("name")
        table.add_column("value", justify="right")
        for key, value in values.items():
            table.add_row(key, _text(value))
        console.print(table)
    extra = {key: record.config.get(key) for key in ("argv", "strategy", "versions") if key in record.config}
    for source in record.config.get("data", []):
        console.print(f"data {source.get('name')}: {source.get('source')} sha256 {str(source.get('sha256'))[:12]} "
                      f"({source.get('train_samples')} train, {source.get('test_samples')} test)")
    if extra.get("versions"):
        console.print("versions: " + ", ".join(f"{k} {v}" for k, v in extra["versions"].items()))
    if extra.get("argv") is not None:
        console.print("command line: dl " + " ".join(extra["argv"]))


@runs_app.command("compare")
def compare(
    ctx: typer.Context,
    run_names: Annotated[list[str], typer.Argument(metavar="RUN...", help="Two or more runs (folders or names).")],
    plot: Annotated[Optional[Path], typer.Option(help="Where to write the overlay of their curves (.png; default <runs folder>/compare-<time>.png).")] = None,
    runs_dir: RunsDir = None,
    json_output: Json = False,
) -> None:
    """Options and metrics of several runs side by side (rows that differ marked *), and one plot of their curves."""
    from dlcli import runs as reading

    common = given_here(ctx, runs_dir=runs_dir, json=json_output)
    if len(run_names) < 2:
        raise DlcliError("compare needs at least two runs; list them with 'dl runs'")
    paths = [reading.find_run(name, common.runs_dir) for name in run_names]
    if len({path.resolve() for path in paths}) < len(paths):
        raise DlcliError("the same run is given twice; compare different runs")
    target = plot or reading.runs_root(common.runs_dir) / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.png"
    if target.suffix.lower() != ".png":
        raise DlcliError(f"--plot {target} must name a .png file")
    if not target.parent.is_dir():
        raise DlcliError(f"--plot {target}: the folder {target.parent} does not exist")
    comparison = reading.compare(paths)
    histories, metrics = reading.shared_curves(comparison.records)
    written = None
    if metrics:
        from dlcli import plots

        try:
            written = plots.compare_curves(histories, metrics, target, title="compared runs")
        except OSError as error:
            raise DlcliError(f"cannot write {target}: {error.strerror or error}") from None
    if common.json:
        print(json.dumps({**comparison.as_json(), "plot": None if written is None else str(written)}))
        return
    from rich.table import Table

    console = _console()
    names = [record.name for record in comparison.records]
    for title, rows in (("Options", comparison.options), ("Metrics", comparison.metrics)):
        table = Table(title=f"{title} (* differs)", title_justify="left")
        table.add_column("")
        table.add_column("name")
        for name in names:
            table.add_column(name, justify="right")
        for key, values, differs in rows:
            style = "bold yellow" if differs else None
            table.add_row("*" if differs else "", key, *(_text(v) for v in values), style=style)
        console.print(table)
    if written is None:
        console.print("no curves to overlay: none of these runs has a history.csv")
    else:
        console.print(f"plot: {written}")
