"""`dl eval` and `dl predict` on runs trained once, in process, on tiny data files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from dlcli import inference
from dlcli.cli import app
from dlcli.errors import DlcliError
from tests import datafiles
from tests.conftest import assert_one_line_error, dl


def invoke(*args):
    result = CliRunner().invoke(app, list(map(str, args)), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run each of classify mnist, cnn mnist, classify imdb and regress boston."""
    data_dir, runs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("runs")
    datafiles.write_mnist(data_dir, n_train=64, n_test=20)
    datafiles.write_fashion_mnist(data_dir)
    datafiles.write_imdb(data_dir)
    datafiles.write_boston(data_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLCLI_OFFLINE", "1")
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
        common = ["--runs-dir", runs, "--data-dir", data_dir, "--quiet", "--json"]
        made = {name: json.loads(invoke(*args, *common)) for name, args in {
            "mnist": ["classify", "mnist", "--epochs", "1", "--units", "16"],
            "cnn": ["cnn", "mnist", "--epochs", "1", "--validation", "0"],
            "imdb": ["classify", "imdb", "--epochs", "1", "--validation-samples", "10", "--num-words", "50"],
            "boston": ["regress", "boston", "--epochs", "1", "--limit", "60"],
        }.items()}
    return data_dir, runs, made


def test_eval_scores_the_test_split_again_as_recorded(trained):
    data_dir, runs, made = trained
    for name in ("mnist", "cnn", "imdb"):
        result = json.loads(invoke("eval", made[name]["run"], "--data-dir", data_dir, "--json"))
        assert list(result)[0] == "run"
        assert result["test_accuracy"] == pytest.approx(made[name]["test_accuracy"], abs=1e-6)
        assert result["test_loss"] == pytest.approx(made[name]["test_loss"], rel=1e-3)
    boston = json.loads(invoke("eval", Path(made["boston"]["run"]).name, "--runs-dir", runs, "--data-dir", data_dir,
                               "--json"))
    assert boston["test_mae"] == pytest.approx(made["boston"]["test_mae"], rel=1e-4)
    assert boston["test_samples"] == 60, "the run's own --limit: the samples it was scored on"
    every = json.loads(invoke("eval", made["boston"]["run"], "--limit", "500", "--data-dir", data_dir, "--json"))
    assert every["test_samples"] == 102


def test_eval_on_another_dataset_of_the_same_shape_and_a_limit(trained):
    data_dir, runs, made = trained
    result = json.loads(invoke("eval", made["cnn"]["run"], "fashion-mnist", "--limit", "7", "--data-dir", data_dir, "--json"))
    assert result["dataset"] == "fashion-mnist" and result["test_samples"] == 7 and 0 <= result["test_accuracy"] <= 1
    table = CliRunner().invoke(app, ["eval", made["mnist"]["run"], "--data-dir", str(data_dir)]).stdout
    row = [line for line in table.splitlines() if "test_accuracy" in line][0]
    now, recorded = row.strip("│ ").split("│")[1:3]
    assert now.strip() == recorded.strip() == f"{made['mnist']['test_accuracy']:.4f}"


def test_eval_refuses_another_shape_in_one_line(trained):
    data_dir, runs, made = trained
    result = dl("eval", made["mnist"]["run"], "digits", "--data-dir", data_dir)
    assert_one_line_error(result, "shape (8, 8)", "takes (28, 28)")


def test_predict_images_of_any_size_and_mode(trained, tmp_path):
    data_dir, runs, made = trained
    dark_on_light = tmp_path / "drawn.png"
    image = Image.new("RGBA", (90, 120), (255, 255, 255, 255))
    image.paste((0, 0, 0, 255), (30, 20, 50, 100))
    image.save(dark_on_light)
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.RandomState(0).randint(0, 100, (50, 70, 3)).astype("uint8")).save(photo)
    for name in ("mnist", "cnn"):
        result = json.loads(invoke("predict", made[name]["run"], dark_on_light, photo, "--json"))
        assert result["run"] == made[name]["run"]
        drawn, colour = result["predictions"]
        assert drawn["input"] == str(dark_on_light) and drawn["inverted"] is True and colour["inverted"] is False
        assert drawn["class"] in [str(i) for i in range(10)] and 0.1 <= drawn["probability"] <= 1
        assert len(drawn["top"]) == 3 and drawn["top"][0]["class"] == drawn["class"]


def test_converted_image_is_what_the_model_takes(tmp_path):
    path = tmp_path / "wide.png"
    image = Image.new("L", (300, 100), 255)
    image.paste(0, (140, 10, 160, 90))
    image.save(path)
    pixels, inverted = inference.read_image(path, (28, 28, 1), digit_box=True)
    assert pixels.shape == (28, 28, 1) and inverted and pixels.dtype == np.float32
    rows, columns = np.nonzero(pixels[..., 0] > 0.5)
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1) and abs(columns.mean() - 13.5) < 1.5
    pixels, inverted = inference.read_image(path, (32, 32, 3))
    assert pixels.shape == (32, 32, 3) and not inverted and pixels.max() <= 1.0


def test_predict_texts_and_rows(trained, tmp_path):
    data_dir, runs, made = trained
    review = tmp_path / "review.txt"
    review.write_text("w1 w2 w3, W4! unknownword")
    result = json.loads(invoke("predict", made["imdb"]["run"], "w5 w6 w7", review, "--data-dir", data_dir, "--json"))
    inline, from_file = result["predictions"]
    assert from_file["words"] == 5 and from_file["unknown_words"] == 1
    assert inline["class"] in ("negative", "positive") and 0.5 <= inline["probability"] <= 1
    rows = tmp_path / "houses.csv"
    rows.write_text(",".join(f"f{i}" for i in range(13)) + "\n" + "\n".join(",".join(["1.5"] * 13) for _ in range(2)) + "\n")
    result = json.loads(invoke("predict", made["boston"]["run"], rows, ",".join(["0"] * 13), "--data-dir", data_dir, "--json"))
    values = [p["value"] for p in result["predictions"]]
    assert [p["input"] for p in result["predictions"]] == [f"{rows}:2", f"{rows}:3", ",".join(["0"] * 13)]
    assert values[0] == values[1] and values[0] != values[2] and all(np.isfinite(values))


def test_encoding_follows_the_datasets_index():
    index = {"good": 4, "film": 5, "rare": 10_500}
    assert inference.encode("Good film... RARE, unseen", index, 10_000) == [1, 4, 5, 2, 2]
    assert inference.words("It's great!\nReally") == ["it's", "great", "really"]


@pytest.mark.parametrize("inputs, needles", [
    (["missing.png"], ["missing.png", "no such image file"]),
    (["notanimage.png"], ["cannot read the image"]),
])
def test_bad_images_are_one_line(trained, tmp_path, inputs, needles):
    data_dir, runs, made = trained
    (tmp_path / "notanimage.png").write_text("hello")
    assert_one_line_error(dl("predict", made["mnist"]["run"], *inputs, cwd=tmp_path), *needles)


def test_bad_rows_and_runs_are_refused(trained, tmp_path):
    data_dir, runs, made = trained
    boston = inference.open_run(Path(made["boston"]["run"]))
    with pytest.raises(DlcliError, match="has 2 values; the model takes 13"):
        inference.predict(boston, ["1,2"], data_dir=data_dir)
    with pytest.raises(DlcliError, match="not a row of numbers"):
        inference.predict(boston, ["a,b"], data_dir=data_dir)
    failed = runs / "classify-mnist-failed"
    failed.mkdir()
    (failed / "config.json").write_text(json.dumps({"command": "classify", "dataset": "mnist"}))
    (failed / "metrics.json").write_text(json.dumps({"status": "failed"}))
    with pytest.raises(DlcliError, match="marked 'failed'"):
        inference.open_run(failed)
    other = runs / "vae-mnist-x"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"command": "vae", "dataset": "mnist"}))
    with pytest.raises(DlcliError, match="'vae' run; eval and predict use"):
        inference.open_run(other)
