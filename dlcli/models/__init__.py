"""The model zoo: pure builders `build_<name>(input_shape, outputs, **hyper) -> keras.Model`.

No I/O here. `build(name, ...)` looks a builder up by name; `names()` lists them.
"""

from __future__ import annotations

from typing import Any, Callable

from dlcli.errors import DlcliError
from dlcli.models.dense import build_dense

BUILDERS: dict[str, Callable[..., Any]] = {
    "dense": build_dense,
}


def names() -> list[str]:
    return sorted(BUILDERS)


def build(kind: str, input_shape, outputs: int, /, **hyper: Any):
    """Build the model registered as `kind`."""
    try:
        builder = BUILDERS[kind]
    except KeyError:
        raise DlcliError(f"unknown model '{kind}'; choose one of: {', '.join(names())}") from None
    return builder(input_shape, outputs, **hyper)
