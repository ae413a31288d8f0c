"""The model zoo: pure builders `build_<name>(input_shape, outputs, **hyper) -> keras.Model`.

No I/O here. `build(name, ...)` looks a builder up by name; `names()` lists them.
"""

from __future__ import annotations

from typing import Any, Callable

from dlcli.errors import DlcliError
from dlcli.models.autoencoders import build_autoencoder
from dlcli.models.charlstm import build_char_lstm
from dlcli.models.convnets import build_cifar_cnn, build_cifar_padded, build_mnist_cnn, build_vgg16_transfer
from dlcli.models.dense import build_dense
from dlcli.models.gonets import build_go_baseline, build_go_convnext, build_go_mobilenet, build_go_residual
from dlcli.models.mobilenet import build_mobile_tower
from dlcli.models.resnet import build_residual_tower, build_resnet_subclass, build_resnet_v1
from dlcli.models.seq2seq import build_subword_translator
from dlcli.models.timeseries import build_series_lstm
from dlcli.models.transformer import build_transformer_classifier, build_translator
from dlcli.models.vae import build_vae

BUILDERS: dict[str, Callable[..., Any]] = {
    "dense": build_dense,
    "go_baseline": build_go_baseline,
    "go_residual": build_go_residual,
    "go_mobilenet": build_go_mobilenet,
    "go_convnext": build_go_convnext,
    "mnist_cnn": build_mnist_cnn,
    "cifar_cnn": build_cifar_cnn,
    "cifar_padded": build_cifar_padded,
    "vgg16_transfer": build_vgg16_transfer,
    "residual_tower": build_residual_tower,
    "resnet_subclass": build_resnet_subclass,
    "resnet_v1": build_resnet_v1,
    "mobile_tower": build_mobile_tower,
    "char_lstm": build_char_lstm,
    "series_lstm": build_series_lstm,
    "autoencoder": build_autoencoder,
    "vae": build_vae,
    "transformer_classifier": build_transformer_classifier,
    "translator": build_translator,
    "subword_translator": build_subword_translator,
}


def names() -> list[str]:
    return sorted(BUILDERS)


def build(kind: str, input_shape, outputs: int, /, **hyper: Any):
    """Build the model registered as `kind`."""
    try:
        builder = BUILDERS[kind]
    except KeyError:
        raise DlcliError(f"unknown model '{kind}'; choose one of: {', '.join(names())}") from None
    return builder(input_shape, outputs, **hyper)
