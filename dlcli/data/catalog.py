"""Where each dataset's files are (`dl data`) and whether they read back (`dl data verify`).

Looks in the same folders, in the same order, as `load()` does, and never downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlcli.data import corpora, files, images, pairs, series, tabular, text

EMBEDDED = {
    "digits": "embedded (scikit-learn's load_digits)",
    "diabetes": "embedded (scikit-learn's load_diabetes)",
    "xor": "embedded (the four XOR points)",
    "sinwave": "generated (the course's sine wave)",
}
FILES: dict[str, tuple[files.FileSpec, ...]] = {
    "mnist": (images.MNIST,),
    "fashion-mnist": tuple(images.FASHION.values()),
    "cifar10": (images.CIFAR10,),
    "imdb": (text.IMDB, text.IMDB_INDEX),
    "reuters": (text.REUTERS, text.REUTERS_INDEX),
    "boston": (tabular.BOSTON,),
    "nietzsche": (corpora.NIETZSCHE,),
    "sp500": (series.SP500,),
    "spa-eng": (pairs.SPA_ENG,),
}
NO_DOWNLOAD = {"sp500"}  # looked for, never downloaded


@dataclass
class Found:
    """One file of a dataset: where it is (None: missing), from which look-up place, size, sha256."""

    name: str
    path: Path | None
    place: str | None
    size: int | None
    sha256: str | None
    origin: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.name, "path": None if self.path is None else str(self.path), "found_in": self.place,
                "bytes": self.size, "sha256": self.sha256, "origin": self.origin}


@dataclass
class Entry:
    """One dataset: its files (none when embedded) and, when some are missing, how to get them."""

    name: str
    description: str
    files: list[Found] = field(default_factory=list)
    embedded: str | None = None
    fix: str | None = None

    @property
    def status(self) -> str:
        if self.embedded:
            return "embedded"
        return "found" if all(f.path is not None for f in self.files) else "missing"

    @property
    def size(self) -> int:
        return sum(f.size or 0 for f in self.files)

    def as_json(self) -> dict[str, Any]:
        return {"dataset": self.name, "status": self.status, "description": self.description,
                "embedded": self.embedded, "bytes": self.size, "files": [f.as_json() for f in self.files],
                "fix": self.fix}


def places(data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """The folders searched, in order, each with what put it there."""
    dirs = files.search_dirs(data_dir)
    labels = []
    for folder in dirs:
        if folder == files.keras_cache_dir():
            labels.append("Keras cache")
        else:
            labels.append("--data-dir" if data_dir is not None else "DLCLI_DATA_DIR")
    return list(zip(dirs, labels))


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _checksum(path: Path) -> str:
    """sha256 of the file; of a folder, of its first data file (as Dataset.checksum: CIFAR's data_batch_1)."""
    if path.is_dir():
        first = path / "data_batch_1"
        path = first if first.is_file() else min(p for p in path.rglob("*") if p.is_file())
    return files.sha256(path)


def find(spec: files.FileSpec, searched: list[tuple[Path, str]], checksum: bool = True) -> Found:
    """The first place holding one of `spec`'s accepted names, as `files.locate` looks."""
    for folder, place in searched:
        for relative in spec.search_names():
            path = folder / relative
            if path.exists():
                return Found(spec.name, path, place, _size(path), _checksum(path) if checksum else None, spec.origin)
    return Found(spec.name, None, None, None, None, spec.origin)


def _fix(name: str, missing: list[Found], searched: list[tuple[Path, str]]) -> str:
    """The exact way to get the missing files: the download that happens online, the commands offline."""
    cache = files.keras_cache_dir()
    first = searched[0][0]
    if name in NO_DOWNLOAD:
        return (f"no download origin: put '{missing[0].name}' (one daily close a line; the course's copy was "
                f"{missing[0].origin}) into {first}, or pass --data-dir DIR")
    fetch = "; ".join(f"curl -L --create-dirs -o {first / f.name} {f.origin}" for f in missing)
    return (f"online: the first command that uses {name} downloads it into {cache}; "
            f"offline: on a machine that is online run {fetch} (or put the files in a folder passed as --data-dir)")


def catalogue(data_dir: str | os.PathLike | None = None, *, checksum: bool = True,
              only: list[str] | None = None) -> list[Entry]:
    """Every dataset (or those in `only`), where its files are, and the fix for the missing ones."""
    from dlcli.data.registry import _entry, describe, names

    searched = places(data_dir)
    wanted = names() if not only else [n for n in names() if n in {_canonical(o, _entry) for o in only}]
    entries = []
    for name in wanted:
        entry = Entry(name, describe(name), embedded=EMBEDDED.get(name))
        if not entry.embedded:
            entry.files = [find(spec, searched, checksum) for spec in FILES[name]]
            missing = [f for f in entry.files if f.path is None]
            entry.fix = _fix(name, missing, searched) if missing else None
        entries.append(entry)
    return entries


def _canonical(name: str, entry) -> str:
    entry(name)  # a one-line error for an unknown name
    return str(name).strip().lower().replace("_", "-")


def verify(entry: Entry, data_dir: str | os.PathLike | None = None) -> tuple[bool, str]:
    """Read a found dataset through its real loader (no download): (ok, what was read or what is wrong)."""
    from dlcli.data.registry import load
    from dlcli.errors import DlcliError

    if entry.status == "missing":
        return False, "missing: " + (entry.fix or "")
    try:
        dataset = load(entry.name, data_dir=data_dir, download=False)
    except DlcliError as error:
        return False, str(error)
    shape = f", input {tuple(dataset.input_shape)}" if tuple(dataset.input_shape) else ""
    return True, f"{len(dataset.y_train)} train, {len(dataset.y_test)} test samples{shape}"
