"""`dl resnet`: the course's residual networks on CIFAR-10, and the residual-vs-plain exercise.

The course's functional tower (1x1 stem, blocks of two 3x3 convolutions with identity
shortcuts, 64 filters) or its subclassed `ResNet` model built from `ResNetBlock` layers;
`--depth 20` is the modern CIFAR ResNet (batch norm, strided stages, global pooling, augmented
data). `--compare` trains the same network without shortcuts beside it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Optional

import typer

from dlcli.checks import check_positive, check_range, choice
from dlcli.commands.families import images as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

STYLES = ("functional", "subclass")
# The course's ResNet exercise: Adam, 10 epochs, batch 256, validation_split 0.1; a tower of five
# blocks (functional) or two (the subclassed ResNet(10, 64)), 64 filters.
COURSE = tasks.Training(epochs=10, batch_size=256)
COURSE_BLOCKS = {"functional": 5, "subclass": 2}


def register(app: typer.Typer) -> None:
    app.command("resnet", help="Residual networks on CIFAR-10: the course's tower, its subclassed ResNet, ResNet-20.")(
        with_common(tasks.with_training_options(resnet)))


def resnet(
    dataset: tasks.DatasetArgument = "cifar10",
    style: Annotated[str, typer.Option(help="functional: the course's residual tower; subclass: its ResNet model of ResNetBlock layers.", rich_help_panel="Network")] = "functional",
    blocks: Annotated[Optional[int], typer.Option(help="Residual blocks (default: 5 functional, 2 subclass, as the course).", rich_help_panel="Network")] = None,
    filters: Annotated[int, typer.Option(help="Filters of every convolution of the course's networks.", rich_help_panel="Network")] = 64,
    depth: Annotated[Optional[int], typer.Option(help="Build the modern CIFAR ResNet of this depth instead (6n+2: 20, 32, 44...), with batch norm, strided stages, global pooling, augmentation.", rich_help_panel="Network")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Also train the same network without shortcuts (plain) and overlay both curves.", rich_help_panel="Network")] = False,
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Train a residual network; with --compare, the plain network of the same depth beside it."""
    name = choice("dataset", dataset, tasks.IMAGE_DATASETS)
    style = choice("style", style, STYLES)
    blocks = COURSE_BLOCKS[style] if blocks is None else blocks
    check_positive(blocks=blocks, filters=filters)
    if depth is not None:
        check_range("--depth", depth, 8)
        if (depth - 2) % 6:
            raise DlcliError(f"--depth must be 6n+2 (8, 14, 20, 32, 44, 56, 110), got {depth}")
        if style == "subclass":
            raise DlcliError("--depth builds the functional ResNet-20 family: drop --style subclass")
    if style == "subclass" and (compare or given.get("augment")):
        raise DlcliError("the subclassed ResNet is the course's as written: drop --compare and --augment, "
                         "or use --style functional")
    training = tasks.resolve(replace(COURSE, augment=depth is not None), given)
    options = {**training.as_dict(), "style": style, "blocks": blocks, "filters": filters, "depth": depth,
               "compare": compare}

    with Session("resnet", name, options, common) as session:
        data = tasks.prepare(session.load(name))
        network = {"style": style, "depth": depth, "blocks": blocks, "filters": filters,
                   **tasks.augmentation(name, training)}
        model = build(data, plain=False, **network)
        history, results = tasks.fit_and_evaluate(session, model, data, training, label="residual" if compare else "")
        if not compare:
            tasks.report(session, data, model, training, history, results, {})
            return
        plain = build(data, plain=True, **network)
        plain_history, plain_results = tasks.fit_and_evaluate(session, plain, data, training, label="plain")
        extra = compare_report(session, data, {"residual": (history, results), "plain": (plain_history, plain_results)},
                               {"residual": model, "plain": plain}, training)
        session.run.save_model(plain, name="model-plain")
        both = {f"{label}_{key}": values for label, h in (("residual", history), ("plain", plain_history))
                for key, values in h.items()}
        tasks.report(session, data, model, training, history, results, extra, saved_history=both)


def build(data, *, style: str, depth: Optional[int], blocks: int, filters: int, plain: bool, flip: bool, shift: float):
    """The residual network asked for, or with `plain` the same network without its shortcuts."""
    from dlcli.models import resnet as networks

    shape, classes = data.input_shape, data.classes
    if style == "subclass":
        return networks.build_resnet_subclass(shape, classes, filters=filters, blocks=blocks)
    if depth is not None:
        return networks.build_resnet_v1(shape, classes, depth=depth, plain=plain, flip=flip, shift=shift,
                                        name=f"{'plain' if plain else 'resnet'}{depth}")
    return networks.build_residual_tower(shape, classes, filters=filters, blocks=blocks, plain=plain, flip=flip,
                                         shift=shift, name="plain_tower" if plain else "residual_tower")


def compare_report(session, data, trained: dict, models: dict, training) -> dict:
    """Overlay the curves, show the side-by-side table; return the `compare` metrics."""
    from dlcli import plots

    validates = training.validation_samples if training.validation_samples is not None else training.validation
    curves = ["val_loss", "val_accuracy"] if validates else ["loss", "accuracy"]
    plots.compare_curves({label: history for label, (history, _) in trained.items()}, curves,
                         session.run.plots / "compare.png", title=f"{data.name}: residual vs plain")
    size = {label: tasks.model_size(model, data.input_shape) for label, model in models.items()}
    compared = {label: {**{k: results[k] for k in ("test_loss", "test_accuracy")}, **size[label],
                        "final_" + curves[1]: history[curves[1]][-1]}
                for label, (history, results) in trained.items()}
    session.display.table("Residual vs plain: test results",
                          ["network", "test_loss", "test_accuracy", f"final {curves[1]}", "parameters"],
                          [[label, c["test_loss"], c["test_accuracy"], c["final_" + curves[1]], c["parameters"]]
                           for label, c in compared.items()])
    return {"compare": compared}
