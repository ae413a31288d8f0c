"""Trained models that ship with the package, each a model file beside a card (`<name>.md`:
the exact commands, seed, data, parameters and metrics that made it). Made by our own commands,
retrained rarely; every version stays in the repository's history.
"""

from __future__ import annotations

from pathlib import Path

from dlcli.errors import DlcliError

FOLDER = Path(__file__).resolve().parent
DEFAULT = "default"  # what a user types for the shipped model: `dl go info default`, `policy:default`
GO_NETWORK = "go-network.h5"
TRANSLATOR = "translator.npz"


def go_network() -> Path:
    """The shipped Go policy/value network (a .h5 file, the course's exchange format)."""
    path = FOLDER / GO_NETWORK
    if not path.is_file():
        raise DlcliError(f"the shipped Go network {path} is missing; reinstall dlcli or pass a network file")
    return path


def card(model: Path) -> Path:
    """The card that describes a shipped model."""
    return model.with_suffix(".md")


def translator() -> Path | None:
    """The shipped English-to-Spanish translator (an exported .npz, run by `dlcli.runtime`), or None
    while no trained one ships (bench/ship_translator.py puts one here)."""
    path = FOLDER / TRANSLATOR
    return path if path.is_file() else None
