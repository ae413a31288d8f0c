"""End-to-end: `dl autoencode` and `dl vae` through the real CLI on tiny image files.

Each run keeps a few inputs and what its networks made of them in samples.npz; the saved
networks are reloaded here, in another process than the one that saved them, and must give the
same numbers.
"""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

import dlcli.models  # noqa: F401 - registers the custom layers
from dlcli import data
from dlcli.models.vae import Sampler, build_vae
from tests import datafiles
from tests.conftest import assert_one_line_error, dl

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "data"
    datafiles.write_fashion_mnist(folder, n_train=48, n_test=20)
    datafiles.write_mnist(folder, n_train=48, n_test=20)
    return folder


def history_rows(run):
    with open(run / "history.csv") as handle:
        return list(csv.DictReader(handle))


def test_autoencode_denoise_trains_saves_and_reloads(tmp_path, images):
    result = dl("autoencode", "fashion-mnist", "--denoise", "--epochs", "2", "--batch-size", "16",
                "--data-dir", images, "--runs-dir", tmp_path / "runs", "--quiet", "--json")
    assert result.code == 0, result.stderr
    out = result.json()
    run = tmp_path / "runs" / out["run"].split("/")[-1]
    assert run.name.startswith("autoencode-fashion-mnist-")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["denoise"] is True and metrics["code_size"] == 16
    assert {"model.keras", "model.h5", "encoder.keras", "decoder.keras", "samples.npz"} <= {p.name for p in run.iterdir()}
    for figure in ("curves", "reconstructions", "denoising", "generated"):
        assert (run / "plots" / f"{figure}.png").stat().st_size > 1000, figure
    rows = history_rows(run)
    assert len(rows) == 2 and {"loss", "val_loss"} <= set(rows[0])

    # The course's noise: N(0.1, 0.05) per pixel, so noisy images are 0.1^2 + 0.05^2 = 0.0125 away.
    samples = np.load(run / "samples.npz")
    noise = samples["noisy"] - samples["images"]
    assert abs(noise.mean() - 0.1) < 0.005 and abs(noise.std() - 0.05) < 0.005
    assert abs(metrics["noisy_mse"] - 0.0125) < 0.001
    assert samples["codes"].shape == (10, 16) and samples["generated"].shape == (10, 28, 28, 1)

    autoencoder = keras.saving.load_model(run / "model.keras")
    legacy = keras.saving.load_model(run / "model.h5", compile=False)
    encoder = keras.saving.load_model(run / "encoder.keras")
    decoder = keras.saving.load_model(run / "decoder.keras")
    np.testing.assert_allclose(autoencoder.predict(samples["images"], verbose=0), samples["reconstructions"], **TOLERANCE)
    np.testing.assert_allclose(legacy.predict(samples["noisy"], verbose=0), samples["denoised"], **TOLERANCE)
    np.testing.assert_allclose(encoder.predict(samples["images"], verbose=0), samples["codes"], **TOLERANCE)
    np.testing.assert_allclose(decoder.predict(samples["random_codes"], verbose=0), samples["generated"], **TOLERANCE)

    test = np.expand_dims(data.load("fashion-mnist", data_dir=images).x_test.astype("float32") / 255, -1)
    reconstructed = autoencoder.predict(test, verbose=0)
    assert metrics["test_mse"] == pytest.approx(float(np.mean((reconstructed - test) ** 2)), rel=1e-4)


def test_autoencode_quiet_prints_nothing_on_stderr_not_even_tensorflow(tmp_path, images):
    # TensorFlow's runtime logs "E0000 ... util.cc:131] oneDNN supports DT_INT32 only ..." after the import,
    # when it optimises the graph traced for a last, smaller batch (48 = 32 + 16); a user's shell has no
    # TF_CPP_MIN_LOG_LEVEL to hide it.
    result = dl("autoencode", "fashion-mnist", "--epochs", "1", "--batch-size", "32", "--data-dir", images,
                "--runs-dir", tmp_path / "runs", "--quiet", env={"TF_CPP_MIN_LOG_LEVEL": None})
    assert result.code == 0, result.stderr
    assert result.stderr == "" and result.run.is_dir()


def test_vae_trains_with_three_losses_reloads_and_samples(tmp_path, images):
    runs = tmp_path / "runs"
    result = dl("vae", "mnist", "--latent-dim", "3", "--epochs", "2", "--batch-size", "16",
                "--data-dir", images, "--runs-dir", runs, "--quiet")
    assert result.code == 0, result.stderr
    run = result.run
    assert run.name.startswith("vae-mnist-")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["latent_dim"] == 3 and metrics["test_samples"] == 20
    assert metrics["reload_max_abs_diff"] < 1e-5
    rows = history_rows(run)
    assert len(rows) == 2
    assert {"total_loss", "reconstruction_loss", "kl_loss", "val_total_loss"} <= set(rows[0])
    assert metrics["total_loss"] == pytest.approx(metrics["reconstruction_loss"] + metrics["kl_loss"], rel=1e-3)
    assert {"encoder.keras", "decoder.keras", "samples.npz"} <= {p.name for p in run.iterdir()}
    for figure in ("curves", "latent-grid", "latent-means", "samples"):
        assert (run / "plots" / f"{figure}.png").stat().st_size > 1000, figure

    encoder = keras.saving.load_model(run / "encoder.keras")
    decoder = keras.saving.load_model(run / "decoder.keras")
    samples = np.load(run / "samples.npz")
    z_mean, z_log_var = encoder.predict(samples["images"], verbose=0)
    assert z_mean.shape == (10, 3)
    np.testing.assert_allclose(z_mean, samples["z_mean"], **TOLERANCE)
    np.testing.assert_allclose(z_log_var, samples["z_log_var"], **TOLERANCE)
    np.testing.assert_allclose(decoder.predict(samples["points"], verbose=0), samples["decoded"], **TOLERANCE)

    # The KL term needs no sampling: the course's mean of -0.5 (1 + log var - mean^2 - var) over the
    # test images (one batch) and the latent dimensions. It is tiny after two epochs on noise, so
    # float32 rounding matters: an absolute tolerance well below the value itself.
    test = np.expand_dims(data.load("mnist", data_dir=images).x_test.astype("float32") / 255, -1)
    mean, log_var = (part.astype("float64") for part in encoder.predict(test, verbose=0))
    kl = float(np.mean(-0.5 * (1 + log_var - mean ** 2 - np.exp(log_var))))
    assert kl > 0 and metrics["test_kl_loss"] == pytest.approx(kl, rel=1e-3, abs=kl / 20)

    sampled = dl("vae", "--sample", "5", "--seed", "3", "--runs-dir", runs)  # the newest run
    assert sampled.code == 0, sampled.stderr
    png = sampled.run
    assert f"using the newest complete 'vae' run: {run}" in sampled.stderr
    assert png == run / "plots" / "samples-5-seed3.png" and png.stat().st_size > 1000
    drawn = np.load(png.with_suffix(".npz"))
    assert drawn["points"].shape == (5, 3)
    np.testing.assert_allclose(decoder.predict(drawn["points"], verbose=0), drawn["images"], **TOLERANCE)

    explicit = dl("vae", "--model", run, "--sample", "5", "--seed", "3", "--output", tmp_path / "five.png", "--json")
    assert explicit.code == 0, explicit.stderr
    assert "newest" not in explicit.stderr
    assert list(explicit.json()) == ["run", "samples", "png", "arrays"] and explicit.json()["run"] == str(run)
    assert explicit.json()["samples"] == 5 and (tmp_path / "five.png").stat().st_size > 1000
    np.testing.assert_allclose(np.load(tmp_path / "five.npz")["images"], drawn["images"], **TOLERANCE)


def test_vae_wrapper_and_sampler_serialise(tmp_path):
    """The whole VAE, Sampler included, saves as .keras and reloads with the same encoder and decoder."""
    keras.utils.set_random_seed(0)
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(Sampler(seed=7))).seed == 7
    model = build_vae((28, 28, 1), 2, seed=5)
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    model(images)
    model.save(tmp_path / "vae.keras")
    reloaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert isinstance(reloaded.sampler, Sampler) and reloaded.seed == 5
    np.testing.assert_allclose(reloaded.encoder.predict(images, verbose=0)[0], model.encoder.predict(images, verbose=0)[0])
    points = np.ones((2, 2), dtype=np.float32)
    np.testing.assert_allclose(reloaded.decoder.predict(points, verbose=0), model.decoder.predict(points, verbose=0))


def fake_run(folder, command: str, status: str = "complete"):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"command": command}))
    (folder / "metrics.json").write_text(json.dumps({"status": status}))
    return folder


@pytest.mark.parametrize("args, needles", [
    (["--sample", "4"], ["no complete 'vae' run", "train one first"]),
    (["--sample", "4", "--model", "{tmp}/missing"], ["missing", "no such run folder"]),
    (["--sample", "4", "--model", "{tmp}/runs/autoencode-x"], ["'autoencode' run, not a 'vae' run"]),
    (["--sample", "4", "--model", "{tmp}/runs/vae-failed"], ["marked 'failed'"]),
    (["--sample", "4", "--model", "{tmp}/runs/vae-empty"], ["has no encoder.keras, decoder.keras"]),
    (["--sample", "0"], ["--sample must be at least 1"]),
    (["--model", "{tmp}/runs/vae-empty"], ["go with --sample N"]),
])
def test_vae_sample_refuses_what_it_cannot_use(tmp_path, args, needles):
    fake_run(tmp_path / "runs" / "autoencode-x", "autoencode")
    fake_run(tmp_path / "runs" / "vae-failed", "vae", status="failed")
    fake_run(tmp_path / "runs" / "vae-empty", "vae")
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = dl("vae", *[a.replace("{tmp}", str(tmp_path)) for a in args], "--runs-dir", empty)
    assert_one_line_error(result, *needles)


@pytest.mark.parametrize("args, needles", [
    (["autoencode", "--code-size", "20"], ["--code-size must be a multiple of 16"]),
    (["autoencode", "cifar10"], ["unknown dataset 'cifar10'"]),
    (["vae", "--latent-dim", "0"], ["--latent-dim must be at least 1"]),
    (["vae", "imdb"], ["unknown dataset 'imdb'"]),
])
def test_bad_options_leave_no_run_folder(tmp_path, args, needles):
    result = dl(*args, "--runs-dir", tmp_path)
    assert_one_line_error(result, *needles)
    assert not any(tmp_path.iterdir())


def test_vae_trains_in_mixed_bfloat16_with_float32_latents(tmp_path, images):
    """Under --precision bfloat16 the sampler met a bfloat16 z_log_var and a float32 epsilon (a
    traceback); the latent heads and the losses now compute in float32."""
    result = dl("vae", "mnist", "--epochs", "1", "--batch-size", "16", "--precision", "bfloat16",
                "--data-dir", images, "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.code == 0, result.stderr
    config = json.loads((result.run / "config.json").read_text())
    metrics = json.loads((result.run / "metrics.json").read_text())
    assert config["precision_used"] == "bfloat16" and metrics["status"] == "complete"
    assert np.isfinite(metrics["total_loss"]) and metrics["reload_max_abs_diff"] < 1e-2
