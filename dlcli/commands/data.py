"""`dl data`: every dataset, where its files were found (or how to get them); `dl data verify` reads them.

The look-up order is the one every command uses: --data-dir / DLCLI_DATA_DIR, then Keras' cache.
Nothing is downloaded and TensorFlow is never imported. The table goes to stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.commands.common import given_here

DataDir = Annotated[Optional[Path], typer.Option(help="Folder searched first (env DLCLI_DATA_DIR).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]

data_app = typer.Typer(help="Where each dataset is (look-up order, size, checksum) or how to get it; 'verify' reads them.",
                       invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _console():
    """stdout: the terminal's width, or 200 columns in a pipe or file so that paths stay whole."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


@data_app.callback()
def data(
    ctx: typer.Context,
    checksums: Annotated[bool, typer.Option("--checksums/--no-checksums", help="Compute each file's sha256 (reads every file).")] = True,
    data_dir: DataDir = None,
    json_output: Json = False,
) -> None:
    """List every dataset: where each file was found, its size and sha256, or for a missing one the exact fix."""
    common = given_here(ctx, data_dir=data_dir, json=json_output)
    if ctx.invoked_subcommand is not None:
        return
    from dlcli.data import catalog

    searched = catalog.places(common.data_dir)
    entries = catalog.catalogue(common.data_dir, checksum=checksums)
    if common.json:
        print(json.dumps({"searched": [{"folder": str(f), "from": label} for f, label in searched],
                          "datasets": [entry.as_json() for entry in entries]}))
        return
    from rich.table import Table

    console = _console()
    console.print("searched, in order: " + "; ".join(f"{i}. {folder} ({label})" for i, (folder, label)
                                                     in enumerate(searched, start=1))
                  + f"; {len(searched) + 1}. download (when online)")
    table = Table(title_justify="left")
    for column in ("dataset", "status", "where", "size", "sha256"):
        table.add_column(column, justify="right" if column == "size" else "left", overflow="fold")
    for entry in entries:
        if entry.embedded:
            table.add_row(entry.name, "[green]embedded[/]", entry.embedded, "-", "-")
            continue
        for number, found in enumerate(entry.files):
            status = "[green]found[/]" if found.path else "[red]missing[/]"
            where = f"{found.path} ({found.place})" if found.path else f"{found.name}: not in any folder"
            table.add_row(entry.name if number == 0 else "", status, where,
                          _bytes(found.size) if found.size is not None else "-", (found.sha256 or "-")[:16])
    console.print(table)
    for entry in entries:
        if entry.fix:
            console.print(f"[red]{entry.name}[/]: {entry.fix}")


@data_app.command("verify")
def verify(
    ctx: typer.Context,
    datasets: Annotated[Optional[list[str]], typer.Argument(metavar="[DATASET]...", help="Datasets to check (default: every one found).")] = None,
    data_dir: DataDir = None,
    json_output: Json = False,
) -> None:
    """Read every found dataset through its loader (shapes, labels, archives); exit 1 when one fails."""
    from dlcli.data import catalog

    common = given_here(ctx, data_dir=data_dir, json=json_output)
    entries = catalog.catalogue(common.data_dir, checksum=False, only=datasets)
    if not datasets:
        entries = [entry for entry in entries if entry.status != "missing"]
    results = [(entry, *catalog.verify(entry, common.data_dir)) for entry in entries]
    if common.json:
        print(json.dumps([{"dataset": e.name, "ok": ok, "detail": detail} for e, ok, detail in results]))
    else:
        console = _console()
        for entry, ok, detail in results:
            console.print(f"{'[green]ok[/]' if ok else '[red]FAILED[/]'}  {entry.name}: {detail}", soft_wrap=True)
    if not all(ok for _, ok, _ in results):
        raise typer.Exit(1)
