"""The data layer: every course dataset as numpy arrays, read the way keras.datasets reads them.

`load(name, ...)` finds the file (--data-dir / DLCLI_DATA_DIR, then Keras' cache, then a
download), reads it without importing Keras and returns a `Dataset`. See docs/data.md.
"""

from dlcli.data.registry import Dataset, describe, load, names

__all__ = ["Dataset", "load", "names", "describe"]
