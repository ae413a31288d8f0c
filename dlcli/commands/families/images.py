"""What the image classifiers (`dl cnn`, `dl resnet`, `dl mobilenet`) share.

The training options and their checks, preparing the images (scaled to [0, 1], a channel axis
added to grey images), holding out the validation split the way Keras' `validation_split`
does (the last fraction), training and evaluating, the figures, and the summary's model size
(parameters and multiply-accumulates per image).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any, Callable, Optional

import typer

from dlcli.checks import check_range, check_validation, choice
from dlcli.choices import MOMENTUM_OPTIMIZERS, OPTIMIZERS, SCHEDULES
from dlcli.commands.common import add_options
from dlcli.errors import DlcliError

IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10", "digits")
DatasetArgument = Annotated[str, typer.Argument(help=f"One of {', '.join(IMAGE_DATASETS)}.")]
INPUT_SHAPES = {"mnist": (28, 28, 1), "fashion-mnist": (28, 28, 1), "cifar10": (32, 32, 3), "digits": (8, 8, 1)}
SHIFT = 0.1  # --augment: random shifts of up to 10 % of the side
FLIPPED = ("cifar10", "fashion-mnist")  # datasets whose images may be mirrored (digits may not)
GRID_IMAGES = 20  # test images shown with their predicted and true labels


@dataclass(frozen=True)
class Training:
    """How one image classifier trains."""

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    learning_rate: Optional[float] = None
    validation: float = 0.1  # the last fraction of the training samples validate, as Keras' validation_split
    augment: bool = False
    validation_samples: Optional[int] = None  # or the last N samples
    schedule: str = "constant"  # the learning rate over the run (the course's: constant)
    momentum: Optional[float] = None  # sgd and rmsprop: Keras' default (0) unless given

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = "(default: the course's)"
TRAINING_OPTIONS = [
    ("epochs", Annotated[Optional[int], typer.Option(help=f"Training epochs {DEFAULT}.", rich_help_panel="Training")], None),
    ("batch_size", Annotated[Optional[int], typer.Option(help=f"Batch size {DEFAULT}.", rich_help_panel="Training")], None),
    ("optimizer", Annotated[Optional[str], typer.Option(help=f"One of {', '.join(OPTIMIZERS)} (default adam).", rich_help_panel="Training")], None),
    ("learning_rate", Annotated[Optional[float], typer.Option(help="Learning rate (default: the optimizer's).", rich_help_panel="Training")], None),
    ("validation", Annotated[Optional[float], typer.Option(help="Fraction of the training samples held out for validation, 0 to 1, the last ones as Keras' validation_split (default 0.1; 0: none).", rich_help_panel="Training")], None),
    ("validation_samples", Annotated[Optional[int], typer.Option(help="Hold out the last N training samples for validation (instead of --validation).", rich_help_panel="Training")], None),
    ("augment", Annotated[Optional[bool], typer.Option("--augment/--no-augment", help="Random shifts (and horizontal flips for cifar10, fashion-mnist) as preprocessing layers.", rich_help_panel="Training")], None),
    ("schedule", Annotated[Optional[str], typer.Option(help=f"Learning rate over the run: {', '.join(SCHEDULES)} (cosine: down to 0; one-cycle: up from 1/25 over the first 30 % of the steps, then a cosine down; default constant, the course's).", rich_help_panel="Training")], None),
    ("momentum", Annotated[Optional[float], typer.Option(help="Momentum of sgd or rmsprop, 0 to 1 (default: Keras', 0).", rich_help_panel="Training")], None),
]


def with_training_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the training options; it receives them as `given: dict`."""
    return add_options(function, "given", TRAINING_OPTIONS, lambda ctx, values: values)


def resolve(defaults: Training, given: dict[str, Any]) -> Training:
    """The command's defaults with every option that was given; each value checked."""
    if given.get("validation") is not None and given.get("validation_samples") is not None:
        raise DlcliError("--validation (a fraction) and --validation-samples (a count) say the same thing; give one")
    check_validation(given.get("validation"))
    training = replace(defaults, **{key: value for key, value in given.items() if value is not None})
    check_range("--epochs", training.epochs, 1)
    check_range("--batch-size", training.batch_size, 1)
    check_range("--learning-rate", training.learning_rate, 0, low_open=True)
    check_range("--validation-samples", training.validation_samples, 0)
    check_range("--momentum", training.momentum, 0, 1, high_open=True)
    training = replace(training, optimizer=choice("optimizer", training.optimizer, OPTIMIZERS),
                       schedule=choice("schedule", training.schedule, SCHEDULES))
    if training.momentum is not None and training.optimizer not in MOMENTUM_OPTIMIZERS:
        raise DlcliError(f"--momentum applies to {' and '.join(MOMENTUM_OPTIMIZERS)}, not {training.optimizer}: "
                         "add --optimizer sgd or drop --momentum")
    return training


def augmentation(name: str, training: Training) -> dict[str, Any]:
    """The builders' augmentation arguments for `--augment` on dataset `name`."""
    return {"flip": name in FLIPPED, "shift": SHIFT} if training.augment else {"flip": False, "shift": 0.0}


@dataclass
class Images:
    """A dataset's images ready for a convnet (float32 in [0, 1], channels last) and int64 labels."""

    name: str
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    class_names: list[str]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def classes(self) -> int:
        return len(self.class_names)


def prepare(dataset) -> Images:
    """Scale pixels to [0, 1] (digits: 0..16) and give grey images their channel axis."""
    from dlcli.data import transforms

    return Images(dataset.name, transforms.prepare_images(dataset.x_train, dataset.name), dataset.y_train.astype("int64"),
                  transforms.prepare_images(dataset.x_test, dataset.name), dataset.y_test.astype("int64"),
                  list(dataset.class_names))


def split_validation(x, y, training: Training):
    """Keras' `validation_split`: the last --validation fraction (or --validation-samples) validate, the rest train."""
    from dlcli.data import transforms

    if training.validation_samples is not None:
        return transforms.hold_out(x, y, training.validation_samples, option=f"--validation-samples {training.validation_samples}")
    return transforms.hold_out(x, y, transforms.validation_count(len(x), training.validation),
                               option=f"--validation {training.validation:g}")


def model_size(model, input_shape) -> dict[str, int]:
    """Parameters and multiply-accumulates per image, for the summary and metrics.json."""
    from dlcli.models.macs import count_macs

    return {"parameters": int(model.count_params()), "macs_per_image": int(count_macs(model, input_shape))}


def compile_classifier(model, training: Training, steps_per_epoch: int):
    """Sparse categorical cross-entropy and accuracy, with the chosen optimizer and its schedule
    over `training.epochs` epochs of `steps_per_epoch` updates."""
    from dlcli import training as fitting

    return fitting.compile_model(model, optimizer=training.optimizer, learning_rate=training.learning_rate,
                                 loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                                 schedule=training.schedule, total_steps=steps_per_epoch * training.epochs,
                                 momentum=training.momentum)


def fit_and_evaluate(session, model, data: Images, training: Training, label: str = ""):
    """Compile, train with the held-out validation split, evaluate on the test set.

    Returns (history, results): test_loss, test_accuracy and the sample counts.
    """
    from dlcli import training as fitting

    (x, y), held_out = split_validation(data.x_train, data.y_train, training)
    global_batch = training.batch_size * session.strategy.num_replicas_in_sync
    compile_classifier(model, training, steps_per_epoch=math.ceil(len(x) / global_batch))
    history = session.fit(model, x, y, epochs=training.epochs, batch_size=training.batch_size,
                          validation_data=held_out, label=label)
    counts = {"train_samples": len(x), "validation_samples": 0 if held_out is None else len(held_out[0]),
              "test_samples": len(data.y_test)}
    return history, {**fitting.evaluate(model, data.x_test, data.y_test), **counts}


def report(session, data: Images, model, training: Training, history, results, extra: dict[str, Any],
           *, saved_history=None) -> None:
    """The curves, the confusion matrix and the labelled test images, then finish the run.

    `saved_history` goes to history.csv instead of `history` (several trainings' columns).
    """
    from sklearn.metrics import confusion_matrix

    from dlcli import plots
    from dlcli import training as fitting

    predicted = fitting.predict(model, data.x_test).argmax(axis=1)
    matrix = confusion_matrix(data.y_test, predicted, labels=range(data.classes))
    plots.training_curves(history, session.run.plots / "curves.png", title=data.name)
    plots.confusion_matrix(matrix, data.class_names, session.run.plots / "confusion.png", title=f"{data.name}: test set")
    shown = slice(0, GRID_IMAGES)
    plots.predicted_images(data.x_test[shown], data.y_test[shown], predicted[shown], data.class_names,
                           session.run.plots / "predictions.png", title=f"{data.name}: test images")
    metrics = {**results, **model_size(model, data.input_shape), "epochs": training.epochs, **extra}
    saved_history = history if saved_history is None else saved_history
    session.finish(metrics, model=model, history=saved_history)


def check_budget(model, max_params: Optional[int], smaller: str) -> None:
    """`--max-params N`: refuse a model with more than N parameters, naming its count and `smaller`
    (the options that shrink it)."""
    if max_params is None:
        return
    count = int(model.count_params())
    if count > max_params:
        raise DlcliError(f"the model has {count:,} parameters, over --max-params {max_params:,}; lower {smaller}")
