"""Hostile inputs and faults: the run folder is guarded, nothing is lost, and every user mistake
is one line and exit 2, never a traceback (issue 11)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Result, assert_one_line_error, dl


def fake_run(folder: Path, command: str = "classify", dataset: str = "mnist", status: str = "interrupted",
             options: dict | None = None) -> Path:
    """A run folder as an interrupted run leaves it (no TensorFlow needed to make one)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"command": command, "dataset": dataset, "options": options or {},
                                                    "seed": 0, "limit": None}))
    (folder / "metrics.json").write_text(json.dumps({"status": status, "reason": "interrupted (Ctrl-C)"}))
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- the run folder


def test_resume_with_another_dataset_is_refused_before_touching_the_run(tmp_path):
    run = fake_run(tmp_path / "run", dataset="mnist")
    before = contents(run)
    assert_one_line_error(dl("classify", "digits", "--resume", run), "a run on 'mnist', not 'digits'")
    assert_one_line_error(dl("regress", "diabetes", "--resume", run), "is a 'classify' run")
    assert contents(run) == before


def test_resume_with_other_options_is_refused_before_touching_the_run(tmp_path):
    run = fake_run(tmp_path / "run", dataset="digits", options={"units": 64, "dropout": 0.0, "epochs": 3})
    before = contents(run)
    assert_one_line_error(dl("classify", "--resume", run, "--units", "32", "--dropout", "0.5", "--epochs", "9"),
                          "--units 64 -> 32, --dropout 0.0 -> 0.5; leave those options out")
    assert contents(run) == before


def test_resume_with_out_is_refused(tmp_path):
    run = fake_run(tmp_path / "run", dataset="digits")
    before = contents(run)
    assert_one_line_error(dl("classify", "--resume", run, "--out", tmp_path / "elsewhere"), "--out and --resume")
    assert contents(run) == before and not (tmp_path / "elsewhere").exists()


def test_a_second_writer_of_a_run_folder_is_refused_with_one_line(tmp_path):
    run = fake_run(tmp_path / "run", dataset="digits")
    before = contents(run)
    holder = os.open(run, os.O_RDONLY)  # another dl process writing this run holds this lock
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert_one_line_error(dl("classify", "--resume", run), "in use by another dl process")
    finally:
        os.close(holder)
    assert contents(run) == before


def test_a_new_run_folder_is_locked_for_the_life_of_its_process(tmp_path):
    from dlcli.run import RunFolder

    run = RunFolder.create("classify", "digits", out=tmp_path / "run")
    run.start({"command": "classify", "dataset": "digits"})
    probe = os.open(run.path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from dlcli.run import RunFolder
        RunFolder.reopen({str(run.path)!r}, "classify")""")], capture_output=True, text=True)
    assert child.returncode != 0 and "in use by another dl process" in child.stderr, child.stderr


def test_a_run_that_diverged_at_its_last_epoch_stays_failed_on_resume(tmp_path):
    from tests.test_resume import run_dl

    code, _, stderr = run_dl("regress", "diabetes", "--learning-rate", "1e30", "--optimizer", "sgd", "--epochs", "1",
                             "--limit", "32", "--out", tmp_path / "run", "--quiet")
    assert code == 2 and "NaN at epoch 1" in stderr
    code, stdout, stderr = run_dl("regress", "--resume", tmp_path / "run", "--quiet")
    assert code == 2 and "NaN at epoch 1" in stderr, stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "NaN" in metrics["reason"]
    assert not (tmp_path / "run" / "model.keras").exists()


def test_a_model_h5_that_cannot_be_written_is_a_warning_and_recorded(tmp_path, capsys):
    from dlcli.run import RunFolder
    from dlcli.session import GlobalOptions, Session

    class Functional:  # a graph model whose HDF5 form fails
        def save(self, path):
            if str(path).endswith(".h5"):
                raise ValueError("cannot serialise layer 'odd' to HDF5\nsecond line")
            Path(path).write_bytes(b"keras zip")

        def count_params(self):
            return 3

    class Display:
        def summary(self, metrics, path):
            pass

    session = Session("classify", "digits", {}, GlobalOptions(quiet=True))
    session.run, session.display = RunFolder.create("classify", "digits", out=tmp_path / "run"), Display()
    session.finish({"test_accuracy": 0.5}, model=Functional())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model_files"] == ["model.keras"]
    assert metrics["model_files_skipped"] == {"model.h5": "cannot serialise layer 'odd' to HDF5"}
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warning == ["dl: warning: model.h5 not written (cannot serialise layer 'odd' to HDF5); "
                       "the run keeps its .keras model"]


def tiny_model(optimizer: str):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_restored_weights_are_the_checkpoints_and_a_mismatched_optimizer_is_an_error(tmp_path):
    import keras

    from dlcli import training
    from dlcli.errors import DlcliError

    keras.utils.set_random_seed(0)
    x, y = np.random.rand(16, 3).astype("float32"), np.random.rand(16, 1).astype("float32")
    trained = tiny_model("adam")
    trained.fit(x, y, epochs=1, verbose=0, callbacks=[training.Checkpointer(tmp_path, "train")])
    record = training.read_checkpoint(tmp_path, "train")

    resumed = tiny_model("adam")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert training.restore_checkpoint(resumed, tmp_path, "train")["epoch"] == 1
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]  # no Keras warning on resume
    saved = tiny_model("adam")
    saved.load_weights(tmp_path / f"{record['stem']}.weights.h5")
    for mine, theirs, original in zip(resumed.get_weights(), saved.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_array_equal(mine, original)
    for mine, theirs in zip(resumed.optimizer.variables, trained.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    for mine, theirs in zip(training.seed_states(resumed), training.seed_states(trained), strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))  # the dropout masks go on alike

    with pytest.raises(DlcliError, match="optimizer variables"):
        training.restore_checkpoint(tiny_model("sgd"), tmp_path, "train")
    wider = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(1)])
    wider.compile(optimizer="adam", loss="mse")
    with pytest.raises(DlcliError, match="does not fit this model"):
        training.restore_checkpoint(wider, tmp_path, "train")


def test_a_legacy_run_resumes_with_its_list_options_as_text(tmp_path):
    """Runs recorded before `arguments` existed hold --temperatures / --units as lists."""
    missing = tmp_path / "gone.txt"
    run = fake_run(tmp_path / "run", command="textgen", dataset="gone",
                   options={"text": str(missing), "temperatures": [0.2, 0.5], "units": 8})
    # the options parse (the list is text again); the recorded --text file is what is missing now
    assert_one_line_error(dl("textgen", "--resume", run), "gone.txt")


# ----------------------------------------------------------------------------- one line, never a traceback


def dl_bytes(*args: bytes | str, stdin: bytes = b"", env: dict | None = None) -> Result:
    completed = subprocess.run([sys.executable, "-m", "dlcli", *args], input=stdin, capture_output=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    completed.stdout, completed.stderr = (completed.stdout.decode(errors="replace"),
                                          completed.stderr.decode(errors="replace"))
    return Result(completed)


def test_non_utf8_sentences_for_translate_are_one_line(tmp_path):
    assert_one_line_error(dl_bytes("translate", "-", "--runs-dir", str(tmp_path), stdin=b"Hello.\n\xff\xfe bad\n"),
                          "line 2 of stdin is not valid UTF-8")
    assert_one_line_error(dl_bytes("translate", b"caf\xe9", "--runs-dir", str(tmp_path)),
                          "sentence 1 is not valid UTF-8")


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_a_seed_out_of_range_is_one_line(tmp_path, seed):
    assert_one_line_error(dl("classify", "digits", "--seed", seed, "--runs-dir", tmp_path), "--seed")
    assert_one_line_error(dl("--seed", seed, "regress", "diabetes", "--runs-dir", tmp_path), "--seed")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("text, needle", [
    ("classify = 3\n", "'classify' is a command"),
    ("[clasify]\nunits = 3\n", "[clasify] names no command"),
    ("[go.trian]\nepochs = 1\n", "[go.trian] names no command of dl go"),
    ("[go]\nepochs = 1\n", "[go] holds tables of its commands"),
    ("epochs = true\n", "epochs takes a number, got true"),
    ("[classify]\nlearning-rate = false\n", "learning-rate takes a number, got false"),
])
def test_config_mistakes_are_one_line(tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert_one_line_error(dl("classify", "digits", "--config", config, "--runs-dir", tmp_path / "runs"), needle)
    assert not (tmp_path / "runs").exists()


def test_a_config_table_for_a_go_command_applies_to_it_only(tmp_path):
    config = tmp_path / "go.toml"
    config.write_text("[go.train]\nepochs = 0\n[classify]\nunits = 3\n")
    assert_one_line_error(dl("go", "train", "--config", config, "--runs-dir", tmp_path), "--epochs")


def test_ctrl_c_while_tensorflow_loads_is_one_line(tmp_path):
    """TensorFlow's start-up lines stay parked; only dl's own line shows (exit 130)."""
    probe = textwrap.dedent("""
        import os, sys

        class Interrupting:
            def find_spec(self, name, path=None, target=None):
                if name == "tensorflow":
                    os.write(2, b"I tensorflow/core/platform/cpu_feature_guard.cc: start-up chatter\\n")
                    raise KeyboardInterrupt
                return None

        sys.meta_path.insert(0, Interrupting())
        from dlcli.cli import app
        app(sys.argv[1:])
        """)
    completed = subprocess.run([sys.executable, "-c", probe, "regress", "diabetes", "--runs-dir", str(tmp_path)],
                               capture_output=True, text=True)
    assert completed.returncode == 130, completed.stderr
    assert completed.stderr.strip().splitlines() == ["dl: error: interrupted"]


@pytest.mark.parametrize("args", [["textgen", "--text", "{tiny}"], ["vae", "mnist"], ["translate", "--train"]])
def test_multiworker_is_refused_before_any_work_where_the_loop_cannot_shard(tmp_path, args):
    (tmp_path / "tiny.txt").write_text("The cat sat on the mat. " * 10)
    tf_config = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}})
    result = dl(*[a.replace("{tiny}", str(tmp_path / "tiny.txt")) for a in args], "--strategy", "multiworker",
                "--runs-dir", tmp_path / "runs", env={"TF_CONFIG": tf_config})
    assert_one_line_error(result, "--strategy multiworker", "mirrored")
    assert not (tmp_path / "runs").exists()


def undeserialisable_model(folder: Path) -> Path:
    import zipfile

    path = folder / "net.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.5.0", "date_saved": "2026-11-30"}))
        archive.writestr("config.json", json.dumps({"module": "nowhere", "class_name": "NoSuchModel", "config": {},
                                                    "registered_name": "NoSuchModel"}))
    return path


def test_go_gtp_and_match_with_a_model_that_will_not_deserialise_are_one_line(tmp_path):
    from tests.test_resume import run_dl

    model = undeserialisable_model(tmp_path)
    for args in (["go", "gtp", "--model", model], ["go", "match", model, "random", "--games", "1"]):
        code, _, stderr = run_dl(*args, "--runs-dir", tmp_path / "runs")
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in stderr, stderr
        assert f"cannot load the network {model}: Could not locate class" in lines[0]


ENGINE = textwrap.dedent("""
    import subprocess, sys
    for line in sys.stdin:
        command = line.strip()
        if command == "genmove b":  # dies, leaving a child that holds its stdout open
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            open(sys.argv[1], "w").write(str(child.pid))
            sys.exit(3)
        print("= " + ("fragile" if command == "name" else ""), end="\\n\\n", flush=True)
    """)


def test_a_gtp_engine_that_dies_mid_game_is_reported_at_once(tmp_path):
    from dlcli.go.gtp import GtpError, GtpPlayer

    script, pid_file = tmp_path / "engine.py", tmp_path / "child.pid"
    script.write_text(ENGINE)
    player = GtpPlayer([sys.executable, str(script), str(pid_file)], timeout=10)
    try:
        assert player.command("boardsize 9") == ""
        with pytest.raises(GtpError, match=r"exited \(code 3\)"):
            player.command("genmove b")
    finally:
        player.close()
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 9)


# ----------------------------------------------------------------------------- self-play


def test_each_self_play_game_draws_from_its_own_seed_and_index():
    from dlcli.go import mcts, selfplay
    from tests.test_go_search import UniformEvaluator

    def engine():
        settings = mcts.Settings(seconds=None, playouts=8, noise_fraction=0.25, temperature=1.0, temperature_moves=30)
        return mcts.Engine(UniformEvaluator(by_score=False), settings, seed=4)

    whole = engine()
    games = []
    for index in range(3):
        whole.reseed(4, index)
        games.append(selfplay.play(whole, size=9, max_moves=12).moves)
    resumed = engine()
    resumed.reseed(4, 2)  # `--resume` after two games
    assert selfplay.play(resumed, size=9, max_moves=12).moves == games[2]
    assert games[2] != games[1]


def test_the_multiworker_loop_refuses_input_it_cannot_shard():
    import tensorflow as tf

    from dlcli import distribute
    from dlcli.errors import DlcliError

    pipeline = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.zeros(4))).batch(2)
    for x, y in ((pipeline, None), ([np.zeros((4, 2)), np.zeros((4, 2))], np.zeros(4)), (np.zeros((4, 2)), None)):
        with pytest.raises(DlcliError, match="mirrored or single"):
            distribute.fit_multiworker(None, x, y, epochs=1, batch_size=2)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    import time

    from dlcli.run import RunFolder

    monkeypatch.setattr(time, "strftime", lambda pattern: "20261130-120000")
    taken = tmp_path / "classify-digits-20261130-120000"
    taken.mkdir()  # another process claims the name between this one's look and its mkdir:
    monkeypatch.setattr(Path, "exists", lambda self: False)  # a look that came just before that
    paths = [RunFolder.create("classify", "digits", runs_dir=tmp_path).path for _ in range(2)]
    assert [p.name for p in paths] == ["classify-digits-20261130-120000-2", "classify-digits-20261130-120000-3"]
