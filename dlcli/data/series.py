"""Time series for the course's LSTM exercise: the sine wave, the S&P 500, any CSV column.

Series are float64 values held as next-step pairs (see `dlcli.data.sequences`); `whole(dataset)`
gives the series back and `--limit N` keeps its first N + 1 values. `windows`, `split` and the
window normalisation are the course's `load_data` and `normalise_windows`, with one change:
windows are split in time order (train first, test last) instead of after a shuffle, so that the
test windows are later than every training target and can be plotted as a series.

- `sinwave`: generated, no file: sin(1 + k*pi/50) for k = 0..5000 rounded to 9 decimals, the
  5,001 values of the course's sinwave.csv (period 100 steps).
- `sp500`: `sp500.csv`, one daily close per line (the course's copy: 2000-01-03 .. 2016-08-01,
  4,171 values). It has no official download origin, so it is only looked for, never fetched.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from dlcli.data import files
from dlcli.data.common import LoadOptions
from dlcli.data.dataset import Dataset
from dlcli.data.sequences import next_step_dataset
from dlcli.errors import DlcliError

SINWAVE_VALUES = 5001
SINWAVE_SOURCE = "embedded:sin(1 + k*pi/50), k=0..5000, 9 decimals"
COURSE_SP500 = "http://www.lamsade.dauphine.fr/~cazenave/sp500.csv"
SP500 = files.FileSpec("sp500.csv", COURSE_SP500)
TEST_FRACTION = 0.1  # the course keeps 90 % of the windows for training


def load_sinwave(opts: LoadOptions) -> Dataset:
    """The course's sine wave, generated (identical to its sinwave.csv)."""
    values = np.round(np.sin(1.0 + np.arange(SINWAVE_VALUES) * math.pi / 50.0), 9)
    return _series("sinwave", values, source=SINWAVE_SOURCE, checksum=None)


def load_sp500(opts: LoadOptions) -> Dataset:
    """The S&P 500 daily closes of `sp500.csv` (one value per line), found in the data folders."""
    try:
        path = files.locate(SP500, data_dir=opts.data_dir, download=False)
    except files.DatasetFileNotFound:
        where = ", ".join(str(folder) for folder in files.search_dirs(opts.data_dir))
        raise files.DatasetFileNotFound(
            f"dataset file 'sp500.csv' not found in {where}; it has no official download origin: put a file "
            f"with one S&P 500 daily close per line there as 'sp500.csv' (the course's copy was {COURSE_SP500}) "
            "or pass --data-dir DIR, or use --csv FILE --column NAME") from None
    return _series("sp500", read_column(path, None), source=str(path), checksum=files.sha256(path))


def load_csv(path: str | Path, column: str | None = None, *, name: str | None = None) -> Dataset:
    """One column of a CSV file (optionally .gz) as a series; without `column` the file must have one."""
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise DlcliError(f"CSV file '{path}' does not exist; pass an existing file to --csv")
    return _series(name or path.name.split(".")[0], read_column(path, column), source=str(path),
                   checksum=files.sha256(path))


def read_column(path: Path, column: str | None) -> np.ndarray:
    """The numbers of one column: by header name, or the only column (a header line is optional).

    Empty lines are skipped; anything else that is not a number is a one-line error with its line.
    """
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        rows = [row for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) if any(cell.strip() for cell in row)]
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise DlcliError(f"cannot read '{path}' as a UTF-8 CSV file ({detail})") from None
    if not rows:
        raise DlcliError(f"'{path}' holds no values; give a series with one number per line")
    header = None if _is_number(rows[0][0]) else [cell.strip() for cell in rows[0]]
    body = rows[1:] if header else rows
    index = _column_index(path, header, len(rows[0]), column)
    values = np.empty(len(body), dtype=np.float64)
    for line, row in enumerate(body, start=2 if header else 1):
        cell = row[index].strip() if index < len(row) else ""
        if not _is_number(cell):
            raise DlcliError(f"'{path}' line {line}: '{cell}' is not a number (column {index + 1}); "
                             "fix the file or choose another --column")
        values[line - (2 if header else 1)] = float(cell)
    return values


def _column_index(path: Path, header: list[str] | None, width: int, column: str | None) -> int:
    """Where `column` is: its name in the header (case-insensitive), else the only column."""
    if column is None:
        if width == 1:
            return 0
        names = ", ".join(header) if header else f"{width} unnamed columns"
        raise DlcliError(f"'{path}' has several columns ({names}); choose one with --column NAME")
    if header is None:
        raise DlcliError(f"'{path}' has no header line, so it has no column '{column}'; drop --column for a "
                         "one-column file or add a header line")
    lowered = [name.lower() for name in header]
    if column.lower() not in lowered:
        raise DlcliError(f"'{path}' has no column '{column}'; choose one of: {', '.join(header)}")
    return lowered.index(column.lower())


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _series(name: str, values: np.ndarray, *, source: str, checksum: str | None) -> Dataset:
    if len(values) < 2:
        raise DlcliError(f"the series in '{source}' has {len(values)} value(s); give a longer series")
    return next_step_dataset(name, values, task="regression", kind="series", source=source, checksum=checksum)


def windows(values: np.ndarray, length: int) -> np.ndarray:
    """Every run of `length` + 1 consecutive values, (len - length, length + 1): the course's
    `result` (inputs are `[:, :-1]`, the value to predict `[:, -1]`)."""
    values = np.asarray(values)
    if len(values) <= length:
        return np.empty((0, length + 1), dtype=values.dtype)
    return np.lib.stride_tricks.sliding_window_view(values, length + 1).copy()


def split(rows: np.ndarray, test_fraction: float = TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """The first `round((1 - test_fraction) * n)` rows for training, the rest for testing, in time order."""
    cut = int(round((1 - test_fraction) * len(rows)))
    return rows[:cut], rows[cut:]


def normalise(rows: np.ndarray) -> np.ndarray:
    """The course's window normalisation n_i = p_i / p_0 - 1 (each row by its first value)."""
    first = rows[:, :1]
    if np.any(first == 0):
        raise DlcliError("window normalisation divides by each window's first value, and the series has a 0; "
                         "pass --no-normalise")
    return rows / first - 1.0


def denormalise(normalised: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The inverse, p_i = p_0 (n_i + 1), for values and their window's first value."""
    return np.asarray(first) * (np.asarray(normalised) + 1.0)
