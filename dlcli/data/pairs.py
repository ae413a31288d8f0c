"""Sentence pairs: the course's English-Spanish corpus (`spa-eng/spa.txt` or `spa-eng.zip`).

Read as the course reads it: one `english<TAB>spanish` pair per line, the Spanish wrapped in
`[start] ... [end]`, then shuffled and cut 70/15/15 into train, validation and test. The
course's `random.shuffle` is unseeded; here `random.Random(SPLIT_SEED)` makes the split the
same on every run. A `Dataset` has train and test only, so its train arrays hold the course's
train pairs followed by its validation pairs: `validation_count(len(x_train))` gives how many
of those (the last ones) are the validation pairs.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np

from dlcli.data import files
from dlcli.data.common import KERAS_SEED, LoadOptions
from dlcli.data.dataset import Dataset

SPA_ENG_FOLDER = "spa-eng"
SPA_ENG = files.FileSpec(
    name="spa-eng.zip",
    origin="http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
    candidates=(
        f"{SPA_ENG_FOLDER}/spa.txt",  # the course's `unzip -q spa-eng.zip`
        f"{SPA_ENG_FOLDER}_extracted/{SPA_ENG_FOLDER}/spa.txt",  # where Keras 3's get_file(extract=True) puts it
        "spa-eng.zip",
    ),
)
SPLIT_SEED = KERAS_SEED
VALIDATION_SHARE, TEST_SHARE = 15, 15  # percent


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(english, spanish) pairs from `spa.txt` or from the `spa.txt` inside `spa-eng.zip`.

    Extra tab-separated columns (newer Anki files add an attribution) are ignored."""
    with files.reading(path):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [name for name in archive.namelist() if name.endswith("spa.txt")]
                if not members:
                    raise ValueError("no spa.txt inside the archive")
                text = archive.read(members[0]).decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        pairs = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise ValueError(f"line {number} has no tab between the English and the Spanish")
            pairs.append((fields[0], fields[1]))
        if not pairs:
            raise ValueError("no sentence pairs")
    return pairs


def course_split(count: int) -> tuple[int, int]:
    """(train, validation) counts of the course's split of `count` pairs; the rest is test."""
    validation = int(VALIDATION_SHARE / 100 * count)
    return count - 2 * validation, validation


def validation_count(train_and_validation: int) -> int:
    """How many of the last train pairs are validation pairs: the course's 15% of the whole,
    recovered from the train-plus-validation count (exact for the full corpus, 15/85 of it under --limit)."""
    return train_and_validation * VALIDATION_SHARE // (100 - TEST_SHARE)


def load_spa_eng(opts: LoadOptions) -> Dataset:
    """The course's English-Spanish pairs, shuffled with a fixed seed and split 85 (train then
    validation) / 15 (test)."""
    path = opts.locate(SPA_ENG)
    text_pairs = [(english, f"[start] {spanish} [end]") for english, spanish in read_pairs(path)]
    random.Random(SPLIT_SEED).shuffle(text_pairs)
    train, validation = course_split(len(text_pairs))
    english = np.array([pair[0] for pair in text_pairs], dtype=object)
    spanish = np.array([pair[1] for pair in text_pairs], dtype=object)
    cut = train + validation
    return Dataset(
        name="spa-eng", task="translation", x_train=english[:cut], y_train=spanish[:cut],
        x_test=english[cut:], y_test=spanish[cut:], input_shape=(), num_classes=None, class_names=None,
        vocabulary=None, source=str(path), checksum=files.sha256(path), kind="pairs",
    )
