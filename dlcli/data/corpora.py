"""Character corpora for the course's text generation: `nietzsche.txt`, or any UTF-8 text file.

The text is read as the course reads it (`open(path).read().lower()`, universal newlines) and
encoded as character ids: ids are positions in the sorted character set
(`chars = sorted(set(text))`), so `class_names` is that list and `vocabulary` maps each character
to its id. The ids are held as next-step pairs (see `dlcli.data.sequences`): `whole(dataset)`
is the encoded text, `--limit N` keeps its first N + 1 characters. There is no test split: the
course trains its language model on the whole text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcli.data import files
from dlcli.data.common import LoadOptions
from dlcli.data.dataset import Dataset
from dlcli.data.sequences import next_step_dataset
from dlcli.errors import DlcliError

NIETZSCHE = files.FileSpec("nietzsche.txt", "https://s3.amazonaws.com/text-datasets/nietzsche.txt")


def load_nietzsche(opts: LoadOptions) -> Dataset:
    """Nietzsche's "Beyond Good and Evil" (600,893 characters), lowercased as in the course."""
    path = opts.locate(NIETZSCHE)
    with files.reading(path):
        text = path.read_text(encoding="utf-8")
    return encode_text("nietzsche", text, lower=True, source=str(path), checksum=files.sha256(path))


def load_text(path: str | Path, *, lower: bool = True, name: str | None = None) -> Dataset:
    """Any UTF-8 text file as a character corpus; one-line DlcliError when it cannot be one."""
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise DlcliError(f"text file '{path}' does not exist; pass an existing UTF-8 text file to --text")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DlcliError(f"text file '{path}' is not UTF-8 (byte {error.object[error.start]:#04x} at offset "
                         f"{error.start}); convert it, e.g. iconv -t UTF-8") from None
    except OSError as error:
        raise DlcliError(f"cannot read text file '{path}': {error.strerror or error}") from None
    return encode_text(name or path.stem, text, lower=lower, source=str(path), checksum=files.sha256(path))


def encode_text(name: str, text: str, *, lower: bool, source: str, checksum: str | None) -> Dataset:
    """Encode `text` by its sorted character set, as the course's `char_indices` does."""
    if lower:
        text = text.lower()
    if len(text) < 2:
        raise DlcliError(f"the text in '{source}' is empty (it has {len(text)} characters); give a text to learn from")
    characters = sorted(set(text))
    vocabulary = {character: index for index, character in enumerate(characters)}
    codes = np.fromiter((vocabulary[c] for c in text), dtype=np.int32, count=len(text))
    return next_step_dataset(name, codes, task="multiclass", kind="text", source=source, checksum=checksum,
                             class_names=characters, vocabulary=vocabulary)
