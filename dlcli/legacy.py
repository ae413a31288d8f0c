"""Old option spellings, kept working for one release (0.x -> next) with one line on stderr.

Issue 16 gave every shared option one meaning (docs/options.md). What changed:

- classify `--model dense|transformer` is `--network`; `--model` means a run folder or model file.
- classify/regress `--validation N` (a sample count) is `--validation-samples N`; `--validation`
  is a fraction everywhere.
- cnn `--dropout` (a flag) with `--dropout-rate R` is `--dropout R`, a rate as everywhere else.
- timeseries `--units 50,100` (a list) is `--layer-units 50,100`; `--units` is one number.
- resnet `--compare plain` is the flag `--compare`, as in classify.
- `--strategy default` is `--strategy single`.

A run folder recorded with the old names still resumes: `upgrade` renames what it recorded (its
options as parsed, and the checked options `RunFolder.reopen` holds a resumed run to).
Remove this module, its hidden options and the rewrite in `cli.py` in the release after.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

# Flags that became options with a value: given bare (no number after them), they are the old flag.
BARE_FLAGS = {"cnn": {"--dropout": "--dropout-flag"}}
# Options with a value that became flags: {command: {option: its one old value}}.
VALUES_DROPPED = {"resnet": {"--compare": "plain"}}
ROOT_OPTIONS_WITH_VALUES = ("--runs-dir", "--data-dir", "--seed")
COURSE_CNN_DROPOUT = 0.5  # the rate the old `cnn --dropout` flag used without --dropout-rate


def warn(command: str, old: str, new: str) -> None:
    """The one deprecation line: `dl: warning: OLD is deprecated for COMMAND; use NEW`."""
    print(f"dl: warning: {old} is deprecated for {command}; use {new}", file=sys.stderr)


def _is_number(token: Optional[str]) -> bool:
    try:
        float(token)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def rewrite(args: list[str]) -> list[str]:
    """The old spellings a parser cannot tell apart by name, rewritten before parsing:
    `dl cnn --dropout` with no number after it (the old flag, as its hidden spelling) and
    `dl resnet --compare plain` (now the flag `--compare`)."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in ROOT_OPTIONS_WITH_VALUES else 1
    command = args[index] if index < len(args) else None
    flags, dropped = BARE_FLAGS.get(command, {}), VALUES_DROPPED.get(command, {})
    if not flags and not dropped:
        return args
    rewritten, position = list(args[:index + 1]), index + 1
    while position < len(args):
        token = args[position]
        following = args[position + 1] if position + 1 < len(args) else None
        if token == "--":
            return rewritten + args[position:]
        name, _, attached = token.partition("=")
        if name in dropped and dropped[name] in (attached, following):
            warn(command, f"{name} {dropped[name]}", name)
            rewritten.append(name)
            position += 1 if attached else 2
            continue
        rewritten.append(flags[token] if token in flags and not _is_number(following) else token)
        position += 1
    return rewritten


def validation_count(command: str, validation: Optional[float]) -> Optional[int]:
    """classify/regress `--validation N` with N >= 1: the old sample count (None: a fraction or not given)."""
    if validation is None or validation < 1 or validation != int(validation):
        return None
    warn(command, f"--validation {int(validation)} (a sample count)", f"--validation-samples {int(validation)}")
    return int(validation)


def cnn_dropout(dropout: Optional[float], flag: bool, rate: Optional[float]) -> float:
    """cnn's dropout rate from `--dropout R`, or from the old `--dropout` flag and `--dropout-rate R`."""
    if flag:
        chosen = COURSE_CNN_DROPOUT if rate is None else rate
        warn("cnn", "--dropout (a flag)" if rate is None else f"--dropout --dropout-rate {rate:g}", f"--dropout {chosen:g}")
        return chosen
    if rate is not None:
        warn("cnn", "--dropout-rate", f"--dropout {rate:g} (without --dropout it never applied)")
    return 0.0 if dropout is None else dropout


def renamed(command: str, old: str, new: str, value: Any) -> Any:
    """A renamed option given under its old name: warn and hand its value on."""
    shown = value if not isinstance(value, (list, tuple)) else ",".join(map(str, value))
    warn(command, f"{old} {shown}", f"{new} {shown}")
    return value


def upgrade(command: str, values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Values recorded (config.json's arguments) or configured (--config) under the old names,
    renamed; and the (old, new) option names that were renamed."""
    values, renames = dict(values), []
    if command == "classify" and values.get("model") is not None:
        values["network"] = values.pop("model")
        renames.append(("model", "network"))
    validation = values.get("validation")
    if command in ("classify", "regress") and isinstance(validation, (int, float)) and not isinstance(validation, bool) \
            and validation >= 1 and validation == int(validation):
        values["validation"], values["validation_samples"] = None, int(validation)
        renames.append(("validation", "validation-samples"))
    if command == "cnn" and (isinstance(values.get("dropout"), bool) or values.get("dropout_flag")
                             or values.get("dropout_rate") is not None):
        on = bool(values.pop("dropout_flag", False)) or values.get("dropout") is True
        rate = values.pop("dropout_rate", None)
        dropout = None if isinstance(values.get("dropout"), bool) else values.get("dropout")
        values["dropout"] = (COURSE_CNN_DROPOUT if rate is None else rate) if on else dropout
        renames.append(("dropout (a flag) and dropout-rate", "dropout (a rate)"))
    if command == "resnet" and "compare" in values and not isinstance(values["compare"], bool):
        values["compare"] = values["compare"] == VALUES_DROPPED["resnet"]["--compare"]  # "plain" or None before
        renames.append(("compare = \"plain\"", "compare = true"))
    if command == "timeseries" and values.get("units") is not None:
        values["layer_units"] = values.pop("units")
        renames.append(("units", "layer-units"))
    return values, renames
