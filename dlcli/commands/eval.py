"""`dl eval RUN [DATASET]`: score a run's saved model again, on its test split or another dataset of the same shape.

The inputs are prepared as the run's command prepared them (dlcli.inference); the result goes to
stdout: a table beside the metrics the run recorded, or one JSON object with --json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, import_tensorflow_quietly


def register(app: typer.Typer) -> None:
    app.command("eval", help="Score a run's saved model again on its test split or another dataset of the same shape.")(evaluate)


def evaluate(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="A run folder of classify, regress, kfold, cnn, resnet or mobilenet (or its name).")],
    dataset: Annotated[Optional[str], typer.Argument(help="Dataset to score on (default: the run's own).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N test samples (default: the run's own --limit on its own dataset, else all).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder searched first for dataset files (env DLCLI_DATA_DIR).")] = None,
    runs_dir: Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Score the model the run saved on a test split: accuracy and cross-entropy, or MSE and MAE."""
    from dlcli import data
    from dlcli.runs import find_run, read_run

    common = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    path = find_run(run, runs_dir or common.runs_dir)
    record = read_run(path)
    name = dataset or record.dataset
    data.describe(name)  # a one-line error for an unknown name, before TensorFlow loads
    import_tensorflow_quietly()
    from dlcli import inference

    trained = inference.open_run(path)
    num_words = trained.num_words if name in ("imdb", "reuters") else None
    loaded = data.load(name, data_dir=data_dir or common.data_dir, num_words=num_words)
    if loaded.kind == "sequences" and trained.dataset not in ("imdb", "reuters"):
        raise DlcliError(f"{name} holds word sequences; the model of {path.name} takes {trained.dataset} inputs")
    if limit is None and name == record.dataset:
        limit = record.config.get("limit")  # the test samples the run itself was scored on
    metrics = inference.evaluate(trained, loaded, limit)
    if json_output or common.json:
        print(json.dumps({"run": str(path), **metrics}))
        return
    from rich.console import Console
    from rich.table import Table

    from dlcli.formatting import format_value

    same = metrics["dataset"] == record.dataset and limit == record.config.get("limit")
    console = Console(highlight=False)
    console.print(f"{path.name} on {metrics['dataset']} ({metrics['test_samples']} test samples)")
    table = Table()
    table.add_column("metric")
    table.add_column("now", justify="right")
    table.add_column("recorded", justify="right")
    for key, value in metrics.items():
        if key in ("dataset", "test_samples"):
            continue
        recorded = record.metrics.get(key) if same else None
        table.add_row(key, format_value(value), "-" if recorded is None else format_value(float(recorded)))
    console.print(table)
