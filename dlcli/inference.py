"""Using a saved classifier or regressor again: `dl eval` (score a test split) and `dl predict` (own inputs).

A run folder says how its model was trained (config.json: command, dataset, options, limit);
inputs are prepared here exactly as that command prepared them: images scaled to [0, 1] (a
channel axis for the convnets), word sequences multi-hot encoded (or padded for the
transformer), tabular features standardised with the training set's statistics.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlcli.errors import DlcliError

DENSE_COMMANDS = ("classify", "regress", "kfold")
IMAGE_COMMANDS = ("cnn", "resnet", "mobilenet")
SUPPORTED = DENSE_COMMANDS + IMAGE_COMMANDS
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
TRANSFORMER_LENGTH = 600  # commands.families.dense.TRANSFORMER_SEQUENCE_LENGTH, without importing the command layer
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # keras.preprocessing.text's default filters
START, OOV, INDEX_FROM = 1, 2, 3


@dataclass
class Trained:
    """A complete run's model and what its command did to the data before training."""

    path: Path
    command: str
    dataset: str
    options: dict[str, Any]
    limit: int | None
    model: Any

    @property
    def network(self) -> str:
        return str(self.options.get("network", self.options.get("model", "dense")))  # "model": recorded before issue 16

    @property
    def num_words(self) -> int:
        return int(self.options.get("num_words") or 10_000)

    @property
    def input_shape(self) -> tuple:
        return tuple(self.model.inputs[0].shape[1:])

    @property
    def outputs(self) -> int:
        return int(self.model.outputs[0].shape[-1])


def open_run(path: Path) -> Trained:
    """A complete run of a classifier or regressor command, with its model loaded."""
    from dlcli.run import load_model, read_run_config, require_complete

    config = read_run_config(path)
    command = config.get("command")
    if command not in SUPPORTED:
        raise DlcliError(f"{path} is a '{command}' run; eval and predict use the classifiers and regressors: "
                         f"{', '.join(SUPPORTED)}")
    require_complete(path)
    if not (path / "model.keras").is_file():
        raise DlcliError(f"{path} has no model.keras (a kfold run without --final saves none); train one with a model")
    return Trained(path, command, config.get("dataset"), config.get("options", {}), config.get("limit"),
                   load_model(path / "model.keras"))


# --- the training data's own preparation ------------------------------------------------------

def prepare(trained: Trained, dataset) -> np.ndarray:
    """The dataset's test inputs as the run's command prepared them (tabular: standardised with the
    training statistics of the samples it trained on)."""
    from dlcli.data import transforms

    if dataset.kind == "images":
        return transforms.prepare_images(dataset.x_test, dataset.name, channel_axis=trained.command in IMAGE_COMMANDS)
    if dataset.kind == "sequences":
        return _sequences(trained, dataset.x_test)
    if dataset.kind == "tabular":
        train = dataset.x_train if trained.limit is None else dataset.x_train[:trained.limit]
        return transforms.standardize(train, dataset.x_test)[1]
    raise DlcliError(f"{dataset.name} holds {dataset.kind}; eval takes image, word-sequence or tabular datasets")


def _sequences(trained: Trained, sequences) -> np.ndarray:
    from dlcli.data import transforms

    if trained.network == "transformer":
        out = np.zeros((len(sequences), TRANSFORMER_LENGTH), dtype="int64")
        for row, sequence in enumerate(sequences):
            kept = list(sequence)[:TRANSFORMER_LENGTH]
            out[row, :len(kept)] = kept
        return out
    return transforms.multi_hot(sequences, trained.num_words)


def check_fits(trained: Trained, x: np.ndarray, what: str) -> None:
    """One line when `x` does not have the shape the model takes."""
    expected = tuple(trained.input_shape)
    if tuple(x.shape[1:]) != expected:
        raise DlcliError(f"{what} gives inputs of shape {tuple(x.shape[1:])}, but the model of {trained.path.name} "
                         f"takes {expected}; use a dataset like {trained.dataset}")


def task_of(trained: Trained) -> str:
    if trained.command == "regress" or (trained.command == "kfold" and trained.outputs == 1
                                        and trained.dataset in ("boston", "diabetes")):
        return "regression"
    return "binary" if trained.outputs == 1 else "multiclass"


def scores(trained: Trained, x: np.ndarray) -> np.ndarray:
    from dlcli import training

    return np.asarray(training.predict(trained.model, x))


def evaluate(trained: Trained, dataset, limit: int | None = None) -> dict[str, Any]:
    """Score the model on `dataset`'s test split (the first `limit` samples): accuracy and cross-entropy,
    or MSE and MAE."""
    x = prepare(trained, dataset)
    y = np.asarray(dataset.y_test)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    check_fits(trained, x, dataset.name)
    task = task_of(trained)
    if task != "regression" and y.size and int(y.max()) >= max(trained.outputs, 2):
        raise DlcliError(f"{dataset.name} has classes up to {int(y.max())}, but the model of {trained.path.name} "
                         f"has {trained.outputs} outputs; use a dataset with the same classes")
    predicted = scores(trained, x)
    metrics: dict[str, Any] = {"dataset": dataset.name, "test_samples": int(len(y))}
    if task == "regression":
        error = predicted[:, 0] - y.astype("float64")
        metrics.update(test_mse=float(np.mean(error ** 2)), test_mae=float(np.mean(np.abs(error))))
    elif task == "binary":
        p = np.clip(predicted[:, 0].astype("float64"), 1e-7, 1 - 1e-7)
        metrics.update(test_loss=float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
                       test_accuracy=float(np.mean((p > 0.5) == (y == 1))))
    else:
        p = np.clip(predicted.astype("float64"), 1e-7, 1.0)
        metrics.update(test_loss=float(-np.mean(np.log(p[np.arange(len(y)), y.astype("int64")]))),
                       test_accuracy=float(np.mean(predicted.argmax(axis=1) == y)))
    return metrics


# --- a user's own inputs ------------------------------------------------------------------------

def read_image(path: Path, shape: tuple, invert: str = "auto", digit_box: bool = False) -> tuple[np.ndarray, bool]:
    """An image file of any size and mode as the model's (H, W[, C]) float32 in [0, 1]; grey models get
    a light-on-dark image (a dark-on-light drawing is inverted with invert='auto'). `digit_box` frames it as
    MNIST was made: the ink's bounding box scaled into 20x20, centred by its centre of mass in 28x28.
    Returns (array, inverted)."""
    from PIL import Image, UnidentifiedImageError

    height, width = int(shape[0]), int(shape[1])
    channels = int(shape[2]) if len(shape) == 3 else 1
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P", "PA"):
                image = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image.convert("RGBA"))
            image = image.convert("L" if channels == 1 else "RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DlcliError(f"cannot read the image {path}: {str(error).splitlines()[0] or type(error).__name__}") from None
    if channels == 3:
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(resized, dtype="float32") / 255.0, False
    pixels = np.asarray(image, dtype="float32") / 255.0
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    inverted = invert == "yes" or (invert == "auto" and float(border.mean()) > 0.5)
    if inverted:
        pixels = 1.0 - pixels
    if digit_box and (pixels > 0.2).any():
        pixels = _mnist_frame(pixels, height, width)
    else:
        pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS), dtype="float32")
    pixels = np.clip(pixels, 0.0, 1.0)
    return (pixels.reshape(height, width, 1) if len(shape) == 3 else pixels), inverted


def _mnist_frame(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The ink's bounding box scaled to fit 20x20 (of 28), pasted so that its centre of mass is centred."""
    from PIL import Image

    rows, columns = np.nonzero(pixels > 0.2)
    ink = pixels[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    box = max(1, round(min(height, width) * 20 / 28))
    scale = box / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    ink = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS), dtype="float32").clip(0, 1)
    out = np.zeros((height, width), dtype="float32")
    total = float(ink.sum()) or 1.0
    centre_y = float((ink.sum(axis=1) * np.arange(ink.shape[0])).sum()) / total
    centre_x = float((ink.sum(axis=0) * np.arange(ink.shape[1])).sum()) / total
    top = int(np.clip(round(height / 2 - centre_y), 0, height - ink.shape[0]))
    left = int(np.clip(round(width / 2 - centre_x), 0, width - ink.shape[1]))
    out[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    return out


def words(text: str) -> list[str]:
    """Keras' text_to_word_sequence: lower-case, punctuation as spaces, split on whitespace."""
    return text.lower().translate({ord(c): " " for c in KERAS_FILTERS}).split()


def word_index(trained: Trained, data_dir=None) -> dict[str, int]:
    """The dataset's word index as the model sees it (Keras' index + 3), from the look-up folders."""
    from dlcli.data import files, text

    spec = {"imdb": text.IMDB_INDEX, "reuters": text.REUTERS_INDEX}[trained.dataset]
    return text.read_vocabulary(files.locate(spec, data_dir=data_dir))


def encode(text_value: str, index: dict[str, int], num_words: int) -> list[int]:
    """A text as the dataset's index sequence: start mark, then each word (out of vocabulary: 2)."""
    codes = [index.get(word, OOV) for word in words(text_value)]
    return [START] + [code if code < num_words else OOV for code in codes]


def read_rows(argument: str, features: int) -> list[tuple[str, list[float]]]:
    """CSV rows of `features` numbers: a .csv file (a header row is skipped) or one row given inline."""
    path = Path(argument)
    if path.suffix.lower() in (".csv", ".txt") or path.is_file():
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                lines = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
        except OSError as error:
            raise DlcliError(f"cannot read {argument}: {error.strerror or error}") from None
        labelled = [(f"{argument}:{number}", row) for number, row in enumerate(lines, start=1)]
        if labelled and not _numeric(labelled[0][1]):
            labelled = labelled[1:]  # a header
    else:
        labelled = [(argument, argument.replace(";", ",").split(","))]
    rows = []
    for label, cells in labelled:
        if not _numeric(cells):
            raise DlcliError(f"{label}: '{','.join(cells)[:60]}' is not a row of numbers")
        if len(cells) != features:
            raise DlcliError(f"{label} has {len(cells)} values; the model takes {features} features per row")
        rows.append((label, [float(cell) for cell in cells]))
    if not rows:
        raise DlcliError(f"{argument} holds no row of numbers")
    return rows


def _numeric(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
        return True
    except ValueError:
        return False


def _text_of(argument: str) -> str:
    path = Path(argument)
    if path.suffix.lower() == ".txt" or (len(argument) < 255 and path.is_file()):
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise DlcliError(f"cannot read {argument}: {error.strerror or error}") from None
    return argument


def training_statistics(trained: Trained, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """The mean and std the run standardised its features with (its training split, its --limit)."""
    from dlcli.data import load, transforms

    dataset = load(trained.dataset, data_dir=data_dir)
    train = dataset.x_train if trained.limit is None else dataset.x_train[:trained.limit]
    _, mean, std = transforms.standardize(train)
    return mean, std


def class_names(trained: Trained) -> list[str]:
    """The dataset's class names, without reading its files."""
    from dlcli.data import text
    from dlcli.data.images import CIFAR10_NAMES, FASHION_NAMES

    named = {"cifar10": CIFAR10_NAMES, "fashion-mnist": FASHION_NAMES, "imdb": text.IMDB_LABELS,
             "reuters": text.REUTERS_LABELS}
    return [str(name) for name in named.get(trained.dataset, range(max(trained.outputs, 2)))]


def predict(trained: Trained, inputs: list[str], data_dir=None, invert: str = "auto", top: int = 3) -> list[dict[str, Any]]:
    """Each input's class and probability (classifiers) or value (regressors)."""
    kind = {"mnist": "images", "fashion-mnist": "images", "cifar10": "images", "digits": "images",
            "imdb": "text", "reuters": "text"}.get(trained.dataset, "rows")
    labels: list[str] = []
    notes: list[dict[str, Any]] = []
    if kind == "images":
        arrays = []
        for argument in inputs:
            path = Path(argument)
            if not path.is_file():
                raise DlcliError(f"{argument}: no such image file; give PNG or JPEG files")
            array, inverted = read_image(path, trained.input_shape, invert, digit_box=trained.dataset == "mnist")
            arrays.append(array)
            labels.append(argument)
            notes.append({"inverted": inverted})
        x = np.stack(arrays)
    elif kind == "text":
        index = word_index(trained, data_dir)
        texts = [_text_of(argument) for argument in inputs]
        sequences = [encode(t, index, trained.num_words) for t in texts]
        x = _sequences(trained, sequences)
        labels = [argument if len(argument) <= 40 else argument[:37] + "..." for argument in inputs]
        notes = [{"words": len(s) - 1, "unknown_words": sum(1 for c in s[1:] if c == OOV)} for s in sequences]
    else:
        features = int(trained.input_shape[0])
        rows = [row for argument in inputs for row in read_rows(argument, features)]
        mean, std = training_statistics(trained, data_dir)
        x = ((np.asarray([values for _, values in rows], dtype="float64") - mean) / std).astype("float32")
        labels = [label for label, _ in rows]
        notes = [{} for _ in rows]
    predicted = scores(trained, x)
    task = task_of(trained)
    names = class_names(trained)
    results = []
    for label, note, row in zip(labels, notes, predicted):
        if task == "regression":
            results.append({"input": label, "value": float(row[0]), **note})
            continue
        probabilities = np.array([1 - row[0], row[0]]) if task == "binary" else row
        order = np.argsort(probabilities)[::-1][:top]
        results.append({"input": label, "class": names[int(order[0])], "probability": float(probabilities[order[0]]),
                        "top": [{"class": names[int(i)], "probability": float(probabilities[i])} for i in order], **note})
    return results
