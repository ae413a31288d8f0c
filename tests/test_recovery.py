"""Recovery and reproducibility: --config, --deterministic, --tensorboard, SIGINT/SIGTERM, --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import assert_one_line_error, dl


def test_config_file_sets_defaults_and_the_command_line_wins(tmp_path):
    config = tmp_path / "digits.toml"
    config.write_text('epochs = 2\nbatch-size = 64\n[classify]\nunits = 16\n[regress]\nunits = 99\n')
    result = dl("classify", "digits", "--config", config, "--batch-size", "100", "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.code == 0, result.stderr
    recorded = json.loads((result.run / "config.json").read_text())
    assert recorded["options"]["epochs"] == 2 and recorded["options"]["units"] == 16
    assert recorded["options"]["batch_size"] == 100
    assert recorded["config_file"] == str(config)


@pytest.mark.parametrize("text, needle", [("epochs = [", "not valid TOML"), ("epoks = 3", "no option epoks")])
def test_bad_config_file_is_one_line(tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert_one_line_error(dl("classify", "digits", "--config", config, "--runs-dir", tmp_path), needle)


def test_missing_config_file_is_one_line(tmp_path):
    assert_one_line_error(dl("classify", "digits", "--config", tmp_path / "none.toml"), "cannot read --config")


def test_two_deterministic_runs_write_identical_history(tmp_path):
    runs = [dl("classify", "digits", "--epochs", "3", "--seed", "7", "--deterministic", "--dropout", "0.3",
               "--runs-dir", tmp_path / str(i), "--quiet") for i in range(2)]
    assert all(r.code == 0 for r in runs), runs[0].stderr
    first, second = [(r.run / "history.csv").read_bytes() for r in runs]
    assert first == second and len(first.splitlines()) == 4


def test_tensorboard_logs_land_in_the_run_folder(tmp_path):
    result = dl("regress", "diabetes", "--epochs", "1", "--tensorboard", "--runs-dir", tmp_path, "--quiet")
    assert result.code == 0, result.stderr
    logs = list((result.run / "tensorboard").rglob("events.out.tfevents.*"))
    assert logs


def start_and_signal(args, tmp_path, sig, wait_for: str):
    process = subprocess.Popen([sys.executable, "-m", "dlcli", *args, "--runs-dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen, deadline = "", time.time() + 120
    while wait_for not in seen and time.time() < deadline and process.poll() is None:
        seen += process.stderr.readline()
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, seen + stderr


def test_sigterm_marks_the_run_interrupted_and_exits_143(tmp_path):
    code, stdout, stderr = start_and_signal(["classify", "digits", "--epochs", "1000"], tmp_path, signal.SIGTERM,
                                            "epoch 2/1000")
    assert code == 143, stderr
    assert "Traceback" not in stderr and stdout == ""
    run = next(tmp_path.iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and "SIGTERM" in metrics["reason"]


def read_rows(run):
    return (run / "history.csv").read_text().splitlines()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_resumes_to_the_same_epochs_as_an_uninterrupted_one(tmp_path, sig, code):
    import keras
    import numpy as np

    args = ["classify", "digits", "--epochs", "40", "--batch-size", "16", "--seed", "3"]
    status, stdout, stderr = start_and_signal(args, tmp_path / "cut", sig, "epoch 3/40")
    assert status == code, stderr
    run = next((tmp_path / "cut").iterdir())
    assert f"--resume {run}" in stderr
    metrics = json.loads((run / "metrics.json").read_text())
    record = json.loads((run / "checkpoints" / "train.json").read_text())
    assert metrics["status"] == "interrupted" and 2 <= record["epoch"] < 40
    assert len(record["history"]["loss"]) == record["epoch"]
    for path in run.rglob("*.json"):
        json.loads(path.read_text())  # every JSON file whole
    assert not any(p.name.startswith(".tmp-") for p in run.rglob("*"))

    resumed = dl("classify", "--resume", run, "--json")
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["run"] == str(run)
    assert f"epoch {record['epoch'] + 1}/40" in resumed.stderr and "epoch 1/40" not in resumed.stderr
    final = json.loads((run / "metrics.json").read_text())
    assert final["status"] == "complete" and not (run / "checkpoints").exists()

    whole = dl(*args, "--runs-dir", tmp_path / "whole", "--quiet")
    assert whole.code == 0, whole.stderr
    assert len(read_rows(run)) == len(read_rows(whole.run)) == 41
    assert read_rows(run)[0] == read_rows(whole.run)[0]
    model = keras.saving.load_model(run / "model.keras")
    assert np.isfinite(model.predict(np.zeros((1, 8, 8), "float32"), verbose=0)).all()


def test_resume_refuses_complete_runs_other_commands_and_non_runs(tmp_path):
    done = dl("regress", "diabetes", "--epochs", "1", "--runs-dir", tmp_path, "--quiet")
    assert done.code == 0, done.stderr
    assert_one_line_error(dl("regress", "--resume", done.run), "already complete")
    assert_one_line_error(dl("classify", "--resume", done.run), "is a 'regress' run")
    assert_one_line_error(dl("classify", "--resume", tmp_path / "nothing"), "not a dl run folder")


def test_a_crash_while_saving_keeps_the_previous_model_file(tmp_path):
    from dlcli.run import RunFolder

    run = RunFolder.create("classify", "digits", out=tmp_path / "run")
    (run.path / "model.keras").write_bytes(b"the previous model")

    class CrashingModel:
        def save(self, path):
            with open(path, "wb") as handle:
                handle.write(b"half a mod")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run.save_model(CrashingModel())
    assert (run.path / "model.keras").read_bytes() == b"the previous model"
    assert sorted(p.name for p in run.path.iterdir()) == ["model.keras", "plots"]


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_multiworker_training_on_two_local_workers(tmp_path):
    import keras
    import numpy as np

    from dlcli import data
    from dlcli.commands.families import dense as dense_tasks

    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "dlcli", "regress", "diabetes", "--strategy", "multiworker", "--epochs", "2",
             "--seed", "1", "--quiet", "--json", "--out", str(tmp_path / f"worker{index}")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    chief, other = (json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs)
    assert chief["run"] == str(tmp_path / "worker0") and other["run"] != str(tmp_path / "worker1")
    config = json.loads((tmp_path / "worker0" / "config.json").read_text())
    assert config["strategy"] == "multiworker" and config["replicas"] == 2 and config["task"] == "chief"
    assert chief["test_mae"] == pytest.approx(other["test_mae"], rel=1e-6)

    saved = [keras.saving.load_model(os.path.join(summary["run"], "model.keras")) for summary in (chief, other)]
    for mine, theirs in zip(*(model.get_weights() for model in saved)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    prepared = dense_tasks.prepare(data.load("diabetes"))
    predicted = saved[0].predict(prepared.x_test, verbose=0)[:, 0]
    assert float(np.mean(np.abs(predicted - prepared.y_test))) == pytest.approx(chief["test_mae"], rel=1e-4)


@pytest.mark.parametrize("strategy, recorded", [("mirrored", "mirrored"), ("auto", "single")])
def test_strategy_is_recorded_with_its_replicas(tmp_path, strategy, recorded):
    result = dl("regress", "diabetes", "--epochs", "1", "--strategy", strategy, "--runs-dir", tmp_path, "--quiet")
    assert result.code == 0, result.stderr
    config = json.loads((result.run / "config.json").read_text())
    assert config["strategy"] == recorded and config["replicas"] == 1 and config["task"] == "chief"


def test_multiworker_without_tf_config_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert_one_line_error(dl("regress", "diabetes", "--strategy", "multiworker", "--runs-dir", tmp_path), "TF_CONFIG")
    assert not any(tmp_path.iterdir())
