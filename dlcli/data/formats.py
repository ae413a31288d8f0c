"""Safe readers for the file formats Keras' datasets use: npz, gzip IDX, pickles.

Nothing here executes code from a file: object arrays and pickles go through an
unpickler that only rebuilds numpy arrays (the same allow-list Keras 3 uses).
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED_GLOBALS[(_module, "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED_GLOBALS[(_module, "scalar")] = _multiarray.scalar


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays, lists, dicts, numbers and bytes, and nothing else."""

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle") from None


def restricted_loads(data: bytes, *, encoding: str = "ASCII"):
    """`pickle.loads` through `RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def _read_npy(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    """One `.npy` member: numeric arrays without pickle, object arrays via the restricted unpickler."""
    with archive.open(member) as fp:
        version = np.lib.format.read_magic(fp)
        header = np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0
        _, _, dtype = header(fp)
        if dtype.hasobject:  # unpickling from memory is much faster than from the zip stream
            array = RestrictedUnpickler(io.BytesIO(fp.read())).load()
            if not isinstance(array, np.ndarray):
                raise ValueError(f"member {member} holds a {type(array).__name__}, not an array")
            return array
    with archive.open(member) as fp:
        return np.lib.format.read_array(fp, allow_pickle=False)


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `keys` of an `.npz` file; ValueError when one is missing."""
    with zipfile.ZipFile(path) as archive:
        members = {name[: -len(".npy")]: name for name in archive.namelist() if name.endswith(".npy")}
        missing = [k for k in keys if k not in members]
        if missing:
            raise ValueError(f"no array named {', '.join(missing)}; it holds {', '.join(sorted(members)) or 'none'}")
        return {k: _read_npy(archive, members[k]) for k in keys}


_IDX_UBYTE = 0x08


def read_idx_gz(path: Path, ndim: int) -> np.ndarray:
    """A gzip-compressed IDX file of unsigned bytes with `ndim` dimensions (MNIST's format)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, dims = struct.unpack_from(">HBB", raw, 0)
    if zero != 0 or dtype_code != _IDX_UBYTE or dims != ndim:
        expected = (_IDX_UBYTE << 8) | ndim
        raise ValueError(f"magic number {int.from_bytes(raw[:4], 'big')} is not {expected} (unsigned bytes, {ndim} dimensions)")
    shape = struct.unpack_from(f">{ndim}I", raw, 4)
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"header says {shape} but there are {data.size} bytes of data")
    return data.reshape(shape)
