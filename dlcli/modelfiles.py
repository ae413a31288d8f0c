"""Model files: which file a path names, and loading it, with one error style for every command.

Bottom layer: `run` (our trained runs), `go.mcts` and `dl go` (Go networks), `dl translate` and
`dl textgen` all find and load a model here. A path is a model file (.keras or .h5) or a folder
holding one (a run folder); a file that will not load is one line,
`cannot load the network PATH: REASON; FIX`, never a traceback. Custom layers must be registered
before loading (`import dlcli.models`, as `run.load_model` does); Keras is imported only to load.
"""

from __future__ import annotations

from pathlib import Path

from dlcli.errors import DlcliError

MODEL_SUFFIXES = (".h5", ".keras")
RUN_MODELS = ("model.h5", "model.keras")  # what a run folder is searched for, in this order


def find(path: str | Path, *, what: str = "model", names: tuple[str, ...] = RUN_MODELS, fix: str = "") -> Path:
    """The model file `path` names: the file itself, or the first of `names` in the folder `path`."""
    path = Path(path)
    hint = f"; {fix}" if fix else ""
    if path.is_dir():
        found = next((path / name for name in names if (path / name).is_file()), None)
        if found is None:
            raise DlcliError(f"{path} holds no {' or '.join(names)}{hint}")
        return found
    if not path.is_file():
        raise DlcliError(f"{path}: no such {what} file or run folder{hint}")
    return path


def load(path: str | Path, *, what: str = "model", fix: str = ""):
    """The Keras model saved at `path` (uncompiled: Keras 3 cannot always rebuild a saved loss)."""
    import keras

    hint = f"; {fix}" if fix else ""
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the user's to fix
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise DlcliError(f"cannot load the {what} {path}: {reason}{hint}") from None
    if not isinstance(model, keras.Model):
        raise DlcliError(f"cannot load the {what} {path}: it holds a {type(model).__name__}, not a Keras model{hint}")
    return model
