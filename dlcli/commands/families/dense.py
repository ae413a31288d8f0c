"""The course's dense-network exercises, shared by classify, regress and kfold.

Each dataset has the course's network and hyper-parameters as a preset; options given on the
command line override them. Inputs are prepared as the course does: images scaled to [0, 1],
word-index sequences multi-hot encoded, tabular features standardised with training statistics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any, Callable, Optional

import typer

from dlcli.checks import check_positive, check_range, choice
from dlcli.choices import OPTIMIZERS
from dlcli.commands.common import add_options
from dlcli.errors import DlcliError

CLASSIFY_DATASETS = ("mnist", "fashion-mnist", "imdb", "reuters", "digits")
REGRESS_DATASETS = ("boston", "diabetes")
NETWORKS = ("dense", "transformer")


@dataclass(frozen=True)
class Settings:
    """Everything that decides one dense network's training."""

    units: int
    layers: int
    epochs: int
    batch_size: int
    validation_samples: int  # the first N training samples validate (the course's x_train[:N])
    optimizer: str = "rmsprop"
    learning_rate: Optional[float] = None
    dropout: float = 0.0
    l2: float = 0.0
    num_words: int = 10_000
    validation: Optional[float] = None  # or this fraction of them (--validation), instead of the count

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The course's choices: MNIST "Dense 512 relu + softmax, rmsprop, 5 epochs, batch 128"; IMDB
# "16-16-1, 10,000 validation samples, batch 512", 4 epochs where its validation curve turns;
# Reuters "64-64-46, 1,000 validation samples", 9 epochs; Boston "64-64-1", 80 epochs, batch 16.
PRESETS: dict[str, Settings] = {
    "mnist": Settings(units=512, layers=1, epochs=5, batch_size=128, validation_samples=0),
    "fashion-mnist": Settings(units=512, layers=1, epochs=5, batch_size=128, validation_samples=0),
    "imdb": Settings(units=16, layers=2, epochs=4, batch_size=512, validation_samples=10_000),
    "reuters": Settings(units=64, layers=2, epochs=9, batch_size=512, validation_samples=1_000),
    "digits": Settings(units=64, layers=1, epochs=30, batch_size=32, validation_samples=300),
    "boston": Settings(units=64, layers=2, epochs=80, batch_size=16, validation_samples=0),
    "diabetes": Settings(units=64, layers=2, epochs=150, batch_size=16, validation_samples=0),
}

# `--network transformer`: the course's Transformer classifier on IMDB word sequences cut or padded
# to 600 words, 20,000-word vocabulary, embedding 256, 2 heads, feed-forward 32 (`--units`), one
# encoder block (`--layers`), dropout 0.5, batch 32, 20% of the training reviews held out. The
# course trains 20 epochs and keeps the best validation checkpoint; 3 epochs is where our
# validation loss turns.
TRANSFORMER_SEQUENCE_LENGTH = 600
TRANSFORMER_EMBED_DIM, TRANSFORMER_HEADS = 256, 2
TRANSFORMER_PRESETS: dict[str, Settings] = {
    "imdb": Settings(units=32, layers=1, epochs=3, batch_size=32, validation_samples=5_000, dropout=0.5, num_words=20_000),
}

# Options shared by the dense commands (None: the dataset's preset).
PRESET = "(default: the dataset's course preset)"
DENSE_OPTIONS = [
    ("units", Annotated[Optional[int], typer.Option(help=f"Units per hidden layer {PRESET}.", rich_help_panel="Network")], None),
    ("layers", Annotated[Optional[int], typer.Option(help=f"Number of hidden layers {PRESET}.", rich_help_panel="Network")], None),
    ("dropout", Annotated[Optional[float], typer.Option(help="Dropout rate after each hidden layer, 0 to 1 (course: 0.5; default 0).", rich_help_panel="Network")], None),
    ("l2", Annotated[float, typer.Option("--l2", help="L2 weight decay on each hidden layer (course: 0.001).", rich_help_panel="Network")], 0.0),
    ("epochs", Annotated[Optional[int], typer.Option(help=f"Training epochs {PRESET}.", rich_help_panel="Training")], None),
    ("batch_size", Annotated[Optional[int], typer.Option(help=f"Batch size {PRESET}.", rich_help_panel="Training")], None),
    ("optimizer", Annotated[Optional[str], typer.Option(help=f"One of {', '.join(OPTIMIZERS)} (default rmsprop).", rich_help_panel="Training")], None),
    ("learning_rate", Annotated[Optional[float], typer.Option(help="Learning rate (default: the optimizer's).", rich_help_panel="Training")], None),
    ("validation", Annotated[Optional[float], typer.Option(help="Fraction of the training samples held out for validation, 0 to 1, the first ones as the course's (instead of --validation-samples).", rich_help_panel="Training")], None),
    ("validation_samples", Annotated[Optional[int], typer.Option(help=f"Hold out the first N training samples for validation {PRESET}.", rich_help_panel="Training")], None),
    ("num_words", Annotated[Optional[int], typer.Option(help="Vocabulary size for imdb and reuters (default 10000).", rich_help_panel="Data")], None),
]


def with_dense_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the named dense-network options; it receives them as `given: dict`."""
    chosen = [option for option in DENSE_OPTIONS if option[0] in names]
    return lambda function: add_options(function, "given", chosen, lambda ctx, values: values)


def resolve(dataset: str, kind: str = "dense", command: str = "classify", **given: Any) -> Settings:
    """The dataset's preset for the `kind` of network with every option that was given; each value checked."""
    if kind == "transformer" and dataset not in TRANSFORMER_PRESETS:
        raise DlcliError(f"--network transformer is the course's IMDB classifier; use it with: {', '.join(TRANSFORMER_PRESETS)}")
    if kind == "transformer" and given.get("l2"):
        raise DlcliError("--l2 applies to the dense network only; drop it or use --network dense")
    given = _validation(command, given)
    preset = TRANSFORMER_PRESETS[dataset] if kind == "transformer" else PRESETS[dataset]
    settings = replace(preset, **{k: v for k, v in given.items() if v is not None})
    check_positive(**{option: getattr(settings, option) for option in ("units", "layers", "epochs", "batch_size", "num_words")})
    check_range("--validation-samples", settings.validation_samples, 0)
    check_range("--validation", settings.validation, 0, 1)
    check_range("--dropout", settings.dropout, 0, 1)
    check_range("--l2", settings.l2, 0)
    check_range("--learning-rate", settings.learning_rate, 0, low_open=True)
    return replace(settings, optimizer=choice("optimizer", settings.optimizer, OPTIMIZERS))


def _validation(command: str, given: dict[str, Any]) -> dict[str, Any]:
    """--validation (a fraction) or --validation-samples (a count), not both; the old `--validation N`
    count still works for a release (see `legacy`)."""
    from dlcli import legacy

    count = legacy.validation_count(command, given.get("validation"))
    if count is not None:
        given = {**given, "validation": None, "validation_samples": count}
    if given.get("validation") is not None and given.get("validation_samples") is not None:
        raise DlcliError("--validation (a fraction) and --validation-samples (a count) say the same thing; give one")
    if given.get("validation") is not None:
        given = {**given, "validation_samples": 0}
    return given


@dataclass
class Prepared:
    """Arrays ready for a dense network, and how to train on them."""

    name: str
    task: str
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    outputs: int
    output_activation: Optional[str]
    loss: str
    metrics: tuple[str, ...]
    class_names: Optional[list[str]]


def prepare(dataset, num_words: int = 10_000, kind: str = "dense") -> Prepared:
    """Turn a loaded Dataset into network inputs, as the course prepares each one (word sequences:
    multi-hot for the dense model, the first 600 words padded with 0 after them for the transformer)."""
    import numpy as np

    from dlcli.data import transforms

    x_train, x_test = dataset.x_train, dataset.x_test
    if dataset.kind == "sequences" and kind == "transformer":
        import keras

        x_train, x_test = (keras.utils.pad_sequences(x, maxlen=TRANSFORMER_SEQUENCE_LENGTH, dtype="int64", padding="post",
                                                     truncating="post") for x in (x_train, x_test))
    elif dataset.kind == "sequences":
        x_train, x_test = transforms.multi_hot(x_train, num_words), transforms.multi_hot(x_test, num_words)
    elif dataset.kind == "images":
        x_train, x_test = (transforms.prepare_images(x, dataset.name, channel_axis=False) for x in (x_train, x_test))
    else:
        x_train, x_test, _, _ = transforms.standardize(x_train, x_test)
    if dataset.task == "regression":
        head = dict(outputs=1, output_activation=None, loss="mse", metrics=("mae",))
        y_train, y_test = dataset.y_train.astype("float32"), dataset.y_test.astype("float32")
    elif dataset.task == "binary":
        head = dict(outputs=1, output_activation="sigmoid", loss="binary_crossentropy", metrics=("accuracy",))
        y_train, y_test = dataset.y_train.astype("float32"), dataset.y_test.astype("float32")
    else:
        head = dict(outputs=dataset.num_classes, output_activation="softmax",
                    loss="sparse_categorical_crossentropy", metrics=("accuracy",))
        y_train, y_test = dataset.y_train.astype("int64"), dataset.y_test.astype("int64")
    return Prepared(dataset.name, dataset.task, np.asarray(x_train), y_train, np.asarray(x_test), y_test,
                    class_names=dataset.class_names, **head)


def split_validation(x, y, settings: Settings):
    """The course's hold-out: the first --validation-samples (or --validation fraction) validate, the rest train."""
    from dlcli.data import transforms

    if settings.validation is not None:
        count, option = transforms.validation_count(len(x), settings.validation), f"--validation {settings.validation:g}"
    else:
        count, option = settings.validation_samples, f"--validation-samples {settings.validation_samples}"
    return transforms.hold_out(x, y, count, first=True, option=option)


def build_model(data: Prepared, settings: Settings, input_shape=None, kind: str = "dense"):
    """The dense (or transformer) network for `data`, compiled with the settings' optimizer, loss and metrics."""
    from dlcli import models, training

    if kind == "transformer":
        return training.compile_model(models.build(
            "transformer_classifier", input_shape or data.x_train.shape[1:], data.outputs, vocab_size=settings.num_words,
            embed_dim=TRANSFORMER_EMBED_DIM, dense_dim=settings.units, num_heads=TRANSFORMER_HEADS, blocks=settings.layers,
            dropout=settings.dropout, output_activation=data.output_activation, name=f"{data.name}_transformer"),
            optimizer=settings.optimizer, learning_rate=settings.learning_rate, loss=data.loss, metrics=data.metrics,
            tf2_rmsprop=True)  # Keras 3's RMSprop would leave the attention's query and key kernels where they start
    model = models.build("dense", input_shape or data.x_train.shape[1:], data.outputs,
                         units=(settings.units,) * settings.layers, output_activation=data.output_activation,
                         dropout=settings.dropout, l2=settings.l2, name=f"{data.name}_dense")
    return training.compile_model(model, optimizer=settings.optimizer, learning_rate=settings.learning_rate,
                                  loss=data.loss, metrics=data.metrics)


def predicted_classes(model, x, task: str):
    """Class ids predicted for `x` (threshold 0.5 for a single sigmoid output)."""
    from dlcli import training

    scores = training.predict(model, x)
    return (scores[:, 0] > 0.5).astype("int64") if task == "binary" else scores.argmax(axis=1)
