"""An earlier revision's version of one of our modules, loaded beside today's, so that a
benchmark measures the two side by side in one run (these machines are noisy)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def old_module(revision: str, path: str) -> types.ModuleType:
    """The module at `path` (e.g. dlcli/go/features.py) as it was at git `revision`."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True)
    if source.returncode:
        raise SystemExit(f"cannot read {path} at {revision}: {source.stderr.strip()}")
    name = f"baseline_{revision}_{Path(path).stem}"
    module = types.ModuleType(name)
    module.__file__ = f"{revision}:{path}"
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    exec(compile(source.stdout, module.__file__, "exec"), module.__dict__)
    return module


def old_features(revision: str) -> types.ModuleType:
    return old_module(revision, "dlcli/go/features.py")
