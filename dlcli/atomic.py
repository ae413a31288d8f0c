"""Atomic file writes: a temporary name beside the target, renamed into place when whole.

The bottom layer (like `errors`): run folders, checkpoints, plots and Go's tournament logs all
write through it, so that an interrupted program never leaves a truncated file.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dlcli import interrupts


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (ending in its whole name, so writers that check the
    suffix, like Keras' `.weights.h5`, accept it); rename it onto `target` on success."""
    target = Path(target)
    with interrupts.held():  # Ctrl-C waits for the file: unwinding out of h5py's writer can crash
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{target.name}", dir=target.parent)
        os.close(handle)
        os.unlink(temporary)  # writers such as Keras want to create the file themselves
        try:
            yield Path(temporary)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def write_text(target: Path, text: str) -> None:
    """Write `text` to `target` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(target: Path, value: Any) -> None:
    """Write `value` as indented JSON to `target` atomically."""
    write_text(target, json.dumps(value, indent=2, sort_keys=False, default=_plain) + "\n")


def write_arrays(target: Path, arrays: dict[str, Any]) -> Path:
    """numpy arrays as one .npz file, written atomically."""
    import numpy as np

    with atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    return target


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars and arrays, and paths."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
