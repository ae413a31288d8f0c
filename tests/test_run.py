"""The run folder: layout, atomic writes, status marking, newest-run look-up."""

from __future__ import annotations

import json
import os

import pytest

from dlcli.atomic import atomic_path, write_json
from dlcli.errors import DlcliError
from dlcli.run import RunFolder, history_csv, newest_run


def test_create_names_folder_after_command_dataset_and_time(tmp_path):
    run = RunFolder.create("classify", "mnist", runs_dir=tmp_path)
    assert run.path.parent == tmp_path
    assert run.path.name.startswith("classify-mnist-")
    assert (run.path / "plots").is_dir()
    again = RunFolder.create("classify", "mnist", runs_dir=tmp_path)
    assert again.path != run.path


def test_status_goes_running_then_complete(tmp_path):
    run = RunFolder.create("regress", "boston", out=tmp_path / "r")
    run.start({"seed": 1})
    assert json.loads((run.path / "metrics.json").read_text())["status"] == "running"
    run.finish({"test_mae": 2.5})
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics == {"status": "complete", "test_mae": 2.5}
    assert json.loads((run.path / "config.json").read_text()) == {"seed": 1}


def test_mark_keeps_what_was_recorded(tmp_path):
    run = RunFolder.create("regress", "boston", out=tmp_path / "r")
    run.start({})
    run.mark("interrupted", reason="ctrl-c")
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["reason"] == "ctrl-c"


def test_out_refuses_a_folder_holding_a_run(tmp_path):
    run = RunFolder.create("regress", "boston", out=tmp_path / "r")
    run.start({})
    with pytest.raises(DlcliError, match="already holds a run"):
        RunFolder.create("regress", "boston", out=tmp_path / "r")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_root_is_a_user_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DlcliError, match="cannot write the run folder"):
        RunFolder.create("regress", "boston", runs_dir=locked)


def test_root_under_a_file_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DlcliError, match="cannot write the run folder"):
        RunFolder.create("regress", "boston", runs_dir=blocker)


def test_failed_write_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text('{"a": ')  # a truncated write, then a crash
            raise RuntimeError("crash while saving")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_history_csv_has_one_row_per_epoch():
    text = history_csv({"loss": [0.5, 0.25], "val_loss": [0.6, 0.3]})
    assert text.splitlines() == ["epoch,loss,val_loss", "1,0.5,0.6", "2,0.25,0.3"]


def test_newest_run_skips_incomplete_runs(tmp_path):
    done = RunFolder.create("classify", "digits", runs_dir=tmp_path)
    done.start({})
    done.finish({})
    broken = RunFolder.create("classify", "digits", runs_dir=tmp_path)
    broken.start({})
    os.utime(broken.path, (done.path.stat().st_mtime + 10,) * 2)
    assert newest_run("classify", tmp_path) == done.path
    with pytest.raises(DlcliError, match="no complete 'regress' run"):
        newest_run("regress", tmp_path)


def test_the_newest_run_is_named_on_stderr_unless_quiet(tmp_path, capsys):
    done = RunFolder.create("classify", "digits", runs_dir=tmp_path)
    done.start({"command": "classify"})
    done.finish({})
    assert newest_run("classify", tmp_path) == done.path
    assert str(done.path) in capsys.readouterr().err
    assert newest_run("classify", tmp_path, quiet=True) == done.path
    from dlcli.run import trained_run

    assert trained_run("classify", None, tmp_path, needs=(), quiet=True) == done.path
    assert capsys.readouterr().err == ""


def test_trained_run_finds_the_newest_complete_run_or_refuses_clearly(tmp_path):
    from dlcli.run import trained_run

    old = RunFolder.create("vae", "mnist", runs_dir=tmp_path)
    old.start({"command": "vae"})
    (old.path / "model.keras").write_bytes(b"x")
    old.finish({})
    assert trained_run("vae", None, tmp_path) == old.path
    assert trained_run("vae", old.path / "model.keras", tmp_path) == old.path
    with pytest.raises(DlcliError, match="is a 'vae' run, not a 'textgen' run"):
        trained_run("textgen", old.path, tmp_path)
    with pytest.raises(DlcliError, match="no such run folder"):
        trained_run("vae", tmp_path / "missing", tmp_path)
    with pytest.raises(DlcliError, match="has no encoder.keras"):
        trained_run("vae", old.path, tmp_path, needs=("encoder.keras",))
    unfinished = RunFolder.create("vae", "mnist", out=tmp_path / "unfinished")
    unfinished.start({"command": "vae"})
    with pytest.raises(DlcliError, match="marked 'running'"):
        trained_run("vae", unfinished.path, tmp_path)
    with pytest.raises(DlcliError, match="no complete 'textgen' run"):
        trained_run("textgen", None, tmp_path)
