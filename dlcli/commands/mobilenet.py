"""`dl mobilenet`: towers of the course's efficient blocks on CIFAR-10.

MobileNetV2's inverted residual block, ShuffleNet's block (group convolutions and a channel
shuffle) and ConvNeXt's block (7x7 depthwise, layer norm, GELU MLP), stacked on a 1x1 stem as
in the course. The summary reports parameters and multiply-accumulates per image;
`--max-params` refuses a model over budget before anything is trained.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dlcli.checks import check_positive, check_range, choice
from dlcli.choices import MOBILENET_BLOCKS, mobilenet_expand
from dlcli.commands.families import images as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session, import_tensorflow_quietly

# The course's tower: five blocks on a 16-channel trunk, expanded 6x inside (96); L2 1e-4. It
# gives no epochs for this exercise: those of its ResNet exercise (Adam, 10 epochs, batch 256).
COURSE = tasks.Training(epochs=10, batch_size=256)


def register(app: typer.Typer) -> None:
    app.command("mobilenet", help="Towers of MobileNetV2, ShuffleNet or ConvNeXt blocks; parameters and MACs per image.")(
        with_common(tasks.with_training_options(mobilenet)))


def mobilenet(
    dataset: tasks.DatasetArgument = "cifar10",
    block: Annotated[str, typer.Option(help="mobilenet: inverted residual; shufflenet: group conv + channel shuffle; convnext: 7x7 depthwise + GELU MLP.", rich_help_panel="Network")] = "mobilenet",
    blocks: Annotated[int, typer.Option(help="Blocks in the tower.", rich_help_panel="Network")] = 5,
    trunk: Annotated[int, typer.Option(help="Channels between blocks.", rich_help_panel="Network")] = 16,
    expand: Annotated[Optional[int], typer.Option(help="Channels inside a block (default 6 x trunk; convnext 4 x trunk).", rich_help_panel="Network")] = None,
    stages: Annotated[int, typer.Option(help="1: the course's tower at full resolution with a Flatten head. N > 1: the papers' CIFAR shape, a 3x3 stem, N stages of --blocks blocks, each stage halving the resolution and doubling the channels, global average pooling.", rich_help_panel="Network")] = 1,
    groups: Annotated[int, typer.Option(help="Groups of ShuffleNet's group convolutions.", rich_help_panel="Network")] = 4,
    l2: Annotated[float, typer.Option("--l2", help="L2 weight decay of the convolutions (mobilenet, shufflenet).", rich_help_panel="Network")] = 1e-4,
    max_params: Annotated[Optional[int], typer.Option(help="Refuse (exit 2) a model with more parameters than this.", rich_help_panel="Network")] = None,
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Train a tower of efficient blocks; report test accuracy, parameters and MACs per image."""
    name = choice("dataset", dataset, tasks.IMAGE_DATASETS)
    block = choice("block", block, MOBILENET_BLOCKS)
    check_positive(blocks=blocks, trunk=trunk, expand=expand, groups=groups, max_params=max_params, stages=stages)
    check_range("--l2", l2, 0)
    if tasks.INPUT_SHAPES[name][0] < 2 ** (stages - 1):
        raise DlcliError(f"--stages {stages} halves {name}'s {tasks.INPUT_SHAPES[name][0]}-pixel images "
                         f"{stages - 1} times, below one pixel; lower --stages")
    expand = expand or mobilenet_expand(block, trunk)
    if block == "shufflenet" and (trunk % groups or expand % groups):
        raise DlcliError(f"shufflenet splits channels into --groups {groups}: --trunk {trunk} and --expand {expand} "
                         "must both be multiples of it")
    training = tasks.resolve(COURSE, given)
    hyper = {"block": block, "blocks": blocks, "trunk": trunk, "expand": expand, "groups": groups, "l2": l2,
             "stages": stages}
    if max_params is not None:
        import_tensorflow_quietly()
        from dlcli.models.mobilenet import build_mobile_tower

        tasks.check_budget(build_mobile_tower(tasks.INPUT_SHAPES[name], 10, **hyper), max_params,
                           "--blocks, --trunk or --expand")

    with Session("mobilenet", name, {**training.as_dict(), **hyper, "max_params": max_params}, common) as session:
        from dlcli.models.mobilenet import build_mobile_tower

        data = tasks.prepare(session.load(name))
        model = build_mobile_tower(data.input_shape, data.classes, **hyper, **tasks.augmentation(name, training))
        history, results = tasks.fit_and_evaluate(session, model, data, training)
        tasks.report(session, data, model, training, history, results, {"block": block})
