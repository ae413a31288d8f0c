"""Checks of option values: each raises a one-line `DlcliError` naming the option.

Bottom layer (it imports nothing of dlcli but the error), so that the commands, the training
session and the data layer check values the same way.
"""

from __future__ import annotations

from typing import Optional

from dlcli.errors import DlcliError


def choice(option: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Check that `value` is one of `allowed` (case-insensitive); raise a one-line error if not."""
    lowered = value.lower()
    if lowered not in allowed:
        raise DlcliError(f"unknown {option} '{value}'; choose one of: {', '.join(allowed)}")
    return lowered


def check_positive(**values: Optional[int]) -> None:
    """Each named size is at least 1 (`batch_size=0` fails as --batch-size); None means not given."""
    for name, value in values.items():
        check_range(f"--{name.replace('_', '-')}", value, 1)


def check_range(option: str, value: float | None, low: float, high: float | None = None,
                *, low_open: bool = False, high_open: bool = True) -> None:
    """Check `low <= value < high` (bounds as given); raise a one-line error naming the option."""
    if value is None:
        return
    below = value <= low if low_open else value < low
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        upper = "" if high is None else (f" and below {high}" if high_open else f" and at most {high}")
        lower = f"above {low}" if low_open else f"at least {low}"
        raise DlcliError(f"{option} must be {lower}{upper}, got {value}")


def check_validation(value: float | None, counted: str | None = "--validation-samples") -> None:
    """--validation is a fraction (0 to 1) on every command; a count gets a pointer to `counted`."""
    if value is not None and value >= 1 and value == int(value) and counted:
        raise DlcliError(f"--validation is a fraction of the training samples, below 1, got {value:g}; "
                         f"to hold out {value:g} samples use {counted} {value:g}")
    check_range("--validation", value, 0, 1)
