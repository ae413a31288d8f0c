"""`dl cnn`: the course's convolutional networks on MNIST, Fashion-MNIST, CIFAR-10 and digits.

The MNIST convnet (Conv 32 and 64, Dense 128) with the exercise's max pooling and dropout, the
two CIFAR-10 convnets (three convolutions with pooling; two padded Conv 64), optional data
augmentation, and the transfer exercise: VGG16's frozen ImageNet base with a new head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli import legacy
from dlcli.checks import check_range, choice
from dlcli.commands.families import images as tasks
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session

NETS = ("small", "three-conv", "padded")
BACKBONES = ("none", "vgg16")
# The course: batch 512, 10 epochs, Adam for the convnets; the VGG16 exercise fits 5 epochs at
# Keras' default batch of 32 with validation_split=0.1.
CONVNET = tasks.Training(epochs=10, batch_size=512)
TRANSFER = tasks.Training(epochs=5, batch_size=32)
VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/vgg16/{VGG16_FILE}"


def register(app: typer.Typer) -> None:
    app.command("cnn", help="Convnets on MNIST, Fashion-MNIST, CIFAR-10 or digits; VGG16 transfer learning.")(
        with_common(tasks.with_training_options(cnn)))


def cnn(
    dataset: tasks.DatasetArgument = "mnist",
    net: Annotated[Optional[str], typer.Option(help="small: the MNIST convnet (Conv 32, Conv 64, Dense 128); three-conv: CIFAR's Conv 32/64/64 with pooling; padded: CIFAR's two padded Conv 64. Default: small, three-conv for cifar10.", rich_help_panel="Network")] = None,
    pool: Annotated[bool, typer.Option("--pool", help="Max pooling 2x2 after the small net's convolutions.", rich_help_panel="Network")] = False,
    dropout: Annotated[Optional[float], typer.Option(help="Dropout rate after the dense layers (and pooling layers of three-conv), 0 to 1 (course: 0.5; default 0).", rich_help_panel="Network")] = None,
    dropout_flag: Annotated[bool, typer.Option("--dropout-flag", hidden=True, help="The old bare --dropout (see legacy).")] = False,
    dropout_rate: Annotated[Optional[float], typer.Option(hidden=True, help="Deprecated: --dropout RATE.")] = None,
    backbone: Annotated[str, typer.Option(help="vgg16: VGG16's frozen convolutional base with a new Dense 256 head (cifar10).", rich_help_panel="Network")] = "none",
    weights: Annotated[Optional[Path], typer.Option(help="VGG16 base weights file (default: Keras' ImageNet 'notop' file, from the cache or downloaded).", rich_help_panel="Network")] = None,
    given: dict = None,
    common: GlobalOptions = None,
) -> None:
    """Train a course convnet; report test accuracy, curves, confusion matrix, labelled test images."""
    name = choice("dataset", dataset, tasks.IMAGE_DATASETS)
    backbone = choice("backbone", backbone, BACKBONES)
    net = choice("net", net or ("three-conv" if name == "cifar10" else "small"), NETS)
    check_range("--dropout-rate", dropout_rate, 0, 1)
    rate = legacy.cnn_dropout(dropout, dropout_flag, dropout_rate)
    check_range("--dropout", rate, 0, 1)
    if pool and (net != "small" or backbone != "none"):
        raise DlcliError("--pool applies to --net small (three-conv pools already; padded and vgg16 keep their own)")
    if backbone == "vgg16" and name != "cifar10":
        raise DlcliError(f"--backbone vgg16 needs colour images of at least 32x32: use cifar10, not {name}")
    if weights is not None and backbone != "vgg16":
        raise DlcliError("--weights is the VGG16 base's weights file: add --backbone vgg16")
    if backbone == "vgg16":
        weights = find_vgg16_weights(weights, common.data_dir)
    training = tasks.resolve(TRANSFER if backbone == "vgg16" else CONVNET, given)
    options = {**training.as_dict(), "net": "vgg16" if backbone == "vgg16" else net, "pool": pool, "dropout": rate,
               "backbone": backbone, "weights": weights}

    with Session("cnn", name, options, common) as session:
        from dlcli.models import convnets

        data = tasks.prepare(session.load(name))
        hyper = {"dropout": rate, **tasks.augmentation(name, training)}
        if backbone == "vgg16":
            base, source = vgg16_base(session, data.input_shape, weights)
            model = convnets.build_vgg16_transfer(data.input_shape, data.classes, backbone=base, **hyper)
            extra = {"weights": source}
        elif net == "small":
            model = convnets.build_mnist_cnn(data.input_shape, data.classes, pool=pool, **hyper)
            extra = {}
        else:
            builder = convnets.build_cifar_cnn if net == "three-conv" else convnets.build_cifar_padded
            model, extra = builder(data.input_shape, data.classes, **hyper), {}
        history, results = tasks.fit_and_evaluate(session, model, data, training)
        tasks.report(session, data, model, training, history, results, extra)


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def find_vgg16_weights(weights: Optional[Path], data_dir: Optional[Path]) -> Optional[Path]:
    """The VGG16 base weights file: `--weights` (which must be an HDF5 file), else Keras' ImageNet
    'notop' file in $KERAS_HOME/models, --data-dir or $KERAS_HOME/datasets; None: download it.

    Keras' own VGG16(weights="imagenet") is not used: offline it fails with a long traceback, and
    its get_file deletes a cached file whose hash it does not expect. Runs before TensorFlow loads.
    """
    from dlcli.data import files

    if weights is not None:
        if not weights.is_file():
            raise DlcliError(f"--weights {weights}: no such file; pass VGG16's 'notop' weights file ({VGG16_FILE})")
        with open(weights, "rb") as handle:
            if handle.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                raise DlcliError(f"--weights {weights}: not an HDF5 weights file; pass VGG16's 'notop' weights "
                                 f"({VGG16_FILE}) or a .weights.h5 file saved from keras.applications.VGG16(include_top=False)")
        return weights
    folders = [files.keras_cache_dir().parent / "models", *files.search_dirs(data_dir)]
    found = next((folder / VGG16_FILE for folder in folders if (folder / VGG16_FILE).is_file()), None)
    if found is None and files.offline():
        raise DlcliError(f"VGG16's ImageNet weights ({VGG16_FILE}) are not in {', '.join(map(str, folders))} and "
                         f"downloads are off (DLCLI_OFFLINE is set); download {VGG16_URL} by hand and pass --weights PATH")
    return found


def vgg16_base(session, input_shape, weights: Optional[Path]):
    """VGG16's convolutional base loaded from `weights`, downloaded first when None. Returns (base, source)."""
    from dlcli.data import files
    from dlcli.models import convnets

    if weights is None:
        try:
            with session.display.download_bar("VGG16 weights") as bar:
                weights = files.fetch(files.FileSpec(VGG16_FILE, VGG16_URL), progress=bar)
        except files.DownloadFailed as error:
            raise DlcliError(f"cannot download VGG16's ImageNet weights ({error}); download {VGG16_URL} "
                             "by hand and pass --weights PATH") from None
    try:
        return convnets.vgg16_backbone(input_shape, str(weights)), str(weights)
    except (ValueError, OSError, KeyError) as error:
        detail = " ".join(str(error).split())[:200]
        raise DlcliError(f"--weights {weights}: not VGG16 'notop' weights ({detail}); pass {VGG16_FILE} "
                         "or a .weights.h5 file saved from keras.applications.VGG16(include_top=False)") from None
