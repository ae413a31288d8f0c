"""`dl predict RUN INPUT...`: a run's saved model applied to the user's own inputs.

Image files (any size and mode, converted to what the model takes) for the image classifiers,
CSV rows for the regressors, texts (or .txt files) for the IMDB and Reuters classifiers. One
line per input on stdout: the class and its probability, or the value; --json for one object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.checks import choice
from dlcli.session import GlobalOptions, import_tensorflow_quietly


def register(app: typer.Typer) -> None:
    app.command("predict", help="Apply a run's saved model to your own images, CSV rows or texts.")(predict)


def predict(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="A run folder of classify, regress, kfold, cnn, resnet or mobilenet (or its name).")],
    inputs: Annotated[list[str], typer.Argument(metavar="INPUT...", help="Image files; CSV files or inline rows ('1.2,0,...'); texts or .txt files.")],
    invert: Annotated[str, typer.Option(help="Grey-image models: invert dark-on-light drawings to the light-on-dark MNIST look: auto (by the border), yes, no.")] = "auto",
    top: Annotated[int, typer.Option(min=1, help="Classes listed per input with --json.")] = 3,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder searched first for the word index or training data (env DLCLI_DATA_DIR).")] = None,
    runs_dir: Annotated[Optional[Path], typer.Option(help="Root of run folders (env DLCLI_RUNS, default ./runs).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Print each input's predicted class and probability (classifiers) or value (regressors)."""
    from dlcli.runs import find_run

    common = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    invert = choice("--invert", invert, ("auto", "yes", "no"))
    path = find_run(run, runs_dir or common.runs_dir)
    import_tensorflow_quietly()
    from dlcli import inference

    trained = inference.open_run(path)
    results = inference.predict(trained, inputs, data_dir=data_dir or common.data_dir, invert=invert, top=top)
    if json_output or common.json:
        print(json.dumps({"run": str(path), "predictions": results}))
        return
    width = max(len(result["input"]) for result in results)
    for result in results:
        if "value" in result:
            print(f"{result['input']:<{width}}  {result['value']:.4g}")
        else:
            note = "  (inverted)" if result.get("inverted") else ""
            print(f"{result['input']:<{width}}  {result['class']}  {result['probability']:.3f}{note}")
