"""Where dataset files come from: --data-dir / DLCLI_DATA_DIR, Keras' cache, then a download.

Files keep Keras' cache layout (`mnist.npz`, `fashion-mnist/*.gz`, ...). A file found anywhere
is only ever read; a download goes to a temporary file in Keras' cache and is renamed into
place once complete, so no existing file is ever replaced, modified or deleted.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import lzma
import os
import pickle
import struct
import tarfile
import tempfile
import urllib.error
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.request import Request, urlopen

from dlcli.errors import DlcliError

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20

Progress = Callable[[int, "int | None"], None]


class DatasetFileNotFound(DlcliError):
    """A dataset file is in none of the folders searched and could not be downloaded."""


class CorruptDatasetFile(DlcliError):
    """A dataset file exists but cannot be read as the format it should have."""


class DownloadFailed(Exception):
    """Internal: why a download did not produce a file (becomes part of DatasetFileNotFound)."""


@dataclass(frozen=True)
class FileSpec:
    """One dataset file: its name in Keras' cache layout, its origin URL, accepted look-alikes.

    `name` is where a download is stored (relative to the Keras cache). `candidates`, when
    given, are the relative paths looked for in each folder, in order (e.g. the extracted
    CIFAR folder before its archives); by default just `name`.
    """

    name: str
    origin: str
    candidates: tuple[str, ...] = ()

    def search_names(self) -> tuple[str, ...]:
        """Relative paths to look for, in order of preference."""
        return self.candidates or (self.name,)


def keras_spec(name: str) -> FileSpec:
    """A file Keras downloads from its own storage bucket under the same name."""
    return FileSpec(name, KERAS_ORIGIN + name.rsplit("/", 1)[-1])


def keras_cache_dir() -> Path:
    """`$KERAS_HOME/datasets`, KERAS_HOME defaulting to `~/.keras`, as Keras uses."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(home).expanduser().absolute() / "datasets"


def offline() -> bool:
    """True when DLCLI_OFFLINE is set to something other than empty/0/false/no."""
    return os.environ.get("DLCLI_OFFLINE", "").strip().lower() not in ("", "0", "false", "no", "off")


def search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """Folders searched, in order: `data_dir` (else DLCLI_DATA_DIR), then Keras' cache."""
    given, origin = (data_dir, "--data-dir") if data_dir is not None else (os.environ.get("DLCLI_DATA_DIR") or None, "DLCLI_DATA_DIR")
    dirs = []
    if given is not None:
        folder = Path(given).expanduser().absolute()
        if not folder.is_dir():
            raise DlcliError(f"data folder '{folder}' (from {origin}) does not exist or is not a folder; pass an existing folder")
        dirs.append(folder)
    cache = keras_cache_dir()
    if cache not in dirs:
        dirs.append(cache)
    return dirs


def locate(spec: FileSpec, *, data_dir=None, download: bool = True, progress: Progress | None = None) -> Path:
    """The path of `spec`'s file: the first folder holding it, else a fresh download."""
    dirs = search_dirs(data_dir)
    for folder in dirs:
        for rel in spec.search_names():
            if (folder / rel).exists():
                return folder / rel
    if offline():
        why = "downloads are off (DLCLI_OFFLINE is set)"
    elif not download:
        why = "downloads are off"
    else:
        try:
            return fetch(spec, progress)
        except DownloadFailed as e:
            why = f"the download failed ({e})"
    where = ", ".join(str(d) for d in dirs)
    raise DatasetFileNotFound(
        f"dataset file '{spec.name}' not found in {where} and {why}; download {spec.origin} "
        f"by hand into one of those folders (as '{spec.name}') or pass --data-dir DIR"
    )


def fetch(spec: FileSpec, progress: Progress | None = None) -> Path:
    """Download `spec.origin` into Keras' cache as `spec.name`, atomically; return the path."""
    target = keras_cache_dir() / spec.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as e:
        raise DownloadFailed(f"cannot write to {target.parent}: {_one_line(e)}") from e
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(spec.origin, out, progress)
        if target.exists():  # someone else finished first: keep theirs
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, (OSError, urllib.error.URLError, http.client.HTTPException, ValueError)):
            raise DownloadFailed(_one_line(e)) from e
        raise
    return target


def _stream(url: str, out, progress: Progress | None) -> None:
    """Copy `url` into the open file `out`, reporting `progress(done, total)`."""
    with urlopen(Request(url, headers={"User-Agent": "dlcli"}), timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.strip().isdigit() else None
        done = 0
        if progress:
            progress(0, total)
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if total is not None and done != total:
        raise DownloadFailed(f"connection closed after {done} of {total} bytes")


def _one_line(error: BaseException) -> str:
    """An exception as one short line (URLError's reason, else its text)."""
    reason = getattr(error, "reason", None) if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError) else None
    text = str(reason if reason is not None else error) or type(error).__name__
    return " ".join(text.split())


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


_FORMAT_ERRORS = (
    OSError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
    zipfile.BadZipFile, tarfile.TarError, pickle.UnpicklingError, zlib.error,
    lzma.LZMAError, struct.error, gzip.BadGzipFile,
)


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn any error raised while reading `path` into a one-line DlcliError naming it."""
    try:
        yield
    except DlcliError:
        raise
    except PermissionError as e:
        raise DlcliError(f"cannot read dataset file '{path}' ({_one_line(e)}); fix its permissions or pass --data-dir DIR") from e
    except _FORMAT_ERRORS as e:
        detail = _one_line(e)[:200]
        raise CorruptDatasetFile(
            f"dataset file '{path}' is corrupt or not in the expected format ({detail}); "
            "download it again (or move it away so that dl downloads a fresh copy)"
        ) from e
