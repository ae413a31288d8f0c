"""End-to-end: `dl translate` (both presets: train, reload, translate, decoders, errors) and
`dl classify imdb --model transformer`, through the real CLI on tiny data written by the tests."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcli.errors import DlcliError
from tests import datafiles
from tests.conftest import Result, assert_one_line_error, dl

# Sixteen pairs, each four times: the held-out test pairs also occur in training, so a tiny
# Transformer that learned anything translates them exactly.
PAIRS = [("I see a black cat.", "Veo un gato negro."), ("I see a white dog.", "Veo un perro blanco."),
         ("The cat is very black.", "El gato es muy negro."), ("The dog is very white.", "El perro es muy blanco."),
         ("I have a small cat.", "Tengo un gato pequeño."), ("I have a big dog.", "Tengo un perro grande."),
         ("She is very tired today.", "Ella está muy cansada hoy."), ("We are here all day.", "Estamos aquí todo el día."),
         ("I love you very much.", "Te quiero mucho."), ("Thank you for the help.", "Gracias por la ayuda."),
         ("He is at home now.", "Él está en casa ahora."), ("We won the game today.", "Ganamos el partido hoy."),
         ("Help me with this box.", "Ayúdame con esta caja."), ("Go to your room now.", "Ve a tu cuarto ahora."),
         ("Run to the big house!", "¡Corre a la casa grande!"), ("I am tired of this.", "Estoy cansado de esto.")]
TINY = ["--preset", "course", "--embed-dim", "32", "--dense-dim", "64", "--heads", "2", "--epochs", "30", "--batch-size", "16",
        "--learning-rate", "0.003"]


# The default preset, tiny: a byte-level vocabulary of 400, one block each side, no regularisation.
SMALL_TINY = ["--vocab-size", "400", "--embed-dim", "32", "--dense-dim", "64", "--heads", "2", "--encoder-layers", "1",
              "--decoder-layers", "1", "--dropout", "0", "--label-smoothing", "0", "--epochs", "40", "--batch-size", "8",
              "--learning-rate", "0.01", "--warmup-steps", "20"]


def train_tiny(root, *options):
    (root / "data" / "spa-eng").mkdir(parents=True)
    (root / "data" / "spa-eng" / "spa.txt").write_text("".join(f"{e}\t{s}\n" for e, s in PAIRS * 4), encoding="utf-8")
    env = {"DLCLI_OFFLINE": "1", "KERAS_HOME": str(root / "keras")}
    result = dl("translate", "--train", *options, "--data-dir", root / "data", "--runs-dir", root / "runs", "--quiet", env=env)
    assert result.code == 0, result.stderr
    return result, root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny course-preset translation model trained through the CLI, shared by this module's tests."""
    return train_tiny(tmp_path_factory.mktemp("translate"), *TINY)


@pytest.fixture(scope="module")
def subword(tmp_path_factory):
    """One tiny default-preset (subword) translator trained through the CLI."""
    return train_tiny(tmp_path_factory.mktemp("subword"), *SMALL_TINY)


def dl_reading(stdin: str, *args) -> Result:
    """`dl` with `stdin` on its standard input (conftest's `dl` gives it none)."""
    return run_bytes([sys.executable, "-m", "dlcli", *map(str, args)], stdin)


def run_bytes(command: list[str], stdin: str) -> Result:
    """`command` with `stdin` as bytes (lone surrogates become the bytes they escaped); output decoded."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run(command, input=stdin.encode("utf-8", "surrogateescape"), capture_output=True,
                               env=environment, timeout=600)
    completed.stdout, completed.stderr = (text.decode("utf-8", "replace") for text in (completed.stdout, completed.stderr))
    return Result(completed)


# `dl` in a fresh interpreter that reports on stderr, once it is done, which heavy modules it imported
WATCHED = """
import sys
from dlcli.cli import app
try:
    app(sys.argv[1:])
finally:
    print("imported:", sorted(m for m in ("tensorflow", "keras") if m in sys.modules), file=sys.stderr)
"""


def dl_watched(stdin: str, *args) -> Result:
    return run_bytes([sys.executable, "-c", WATCHED, *map(str, args)], stdin)


def read_translations(run):
    with open(run / "test_translations.tsv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_train_writes_metrics_translations_and_a_self_contained_model(trained):
    result, root = trained
    run = result.run
    assert run.name.startswith("translate-spa-eng-")
    assert {"config.json", "metrics.json", "history.csv", "model.keras", "test_translations.tsv"} <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["model_files"] == ["model.keras"] and metrics["parameters"] > 0
    assert (metrics["train_pairs"], metrics["validation_pairs"], metrics["test_pairs"]) == (46, 9, 9)  # 70/15/15 of 64
    assert metrics["test_accuracy"] > 0.6 and metrics["test_bleu"] > 30  # it learned the repeated pairs
    rows = read_translations(run)
    assert len(rows) == 9 and all(row["english"] and row["reference"] for row in rows)
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 30
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["embed_dim"] == 32 and config["options"]["vocab_size"] == 15000


def test_a_fresh_process_reloads_the_newest_model_and_keeps_the_order_of_arguments_and_stdin(trained, tmp_path):
    result, root = trained
    rows = read_translations(result.run)
    english, expected = [row["english"] for row in rows], [row["translation"] for row in rows]
    # No --model: the newest run. An empty --data-dir: the model file alone must be enough.
    stdin = "".join(text + "\n" for text in english[1:-1])
    again = dl_reading(stdin, "translate", english[0], "-", english[-1], "--runs-dir", root / "runs", "--data-dir", tmp_path)
    assert again.code == 0, again.stderr
    assert again.stdout.splitlines() == expected
    assert "sentence(s) in" in again.stderr and f"using the newest complete 'translate' run: {result.run}" in again.stderr


def test_the_course_loop_gives_the_same_translations_through_the_cli(trained):
    result, root = trained
    rows = read_translations(result.run)[:3]
    course = dl("translate", *(row["english"] for row in rows), "--model", result.run, "--decoder", "course", "--json").json()
    assert list(course)[0] == "run" and course["run"] == str(result.run)
    assert course["translations"] == [row["translation"] for row in rows]
    assert course["decoder"] == "course" and course["sentences"] == 3 and course["seconds_per_sentence"] > 0


def test_beam_search_of_width_one_is_greedy_and_wider_beams_translate(trained):
    import keras

    import dlcli.models  # noqa: F401 - registers the custom layers
    from dlcli.models import transformer

    result, root = trained
    translator = transformer.Translator(keras.saving.load_model(result.run / "model.keras"))
    english = [row["english"] for row in read_translations(result.run)]
    greedy = translator.greedy(english, batch_size=4)  # several batches
    assert greedy == [row["translation"] for row in read_translations(result.run)]
    assert translator.beam(english, 1) == greedy
    assert [transformer.course_decode_sequence(translator, text) for text in english[:2]] == greedy[:2]
    wide = translator.beam(english, 3)
    assert len(wide) == len(english) and all(wide)
    assert np.mean([a == b for a, b in zip(wide, greedy)]) >= 0.5  # a trained model mostly agrees


@pytest.mark.parametrize("args, stdin, needles", [
    (["translate", ""], None, ["sentence 1 is empty"]),
    (["translate", "Go.", "-"], "Run!\n\udcff\n", ["line 2 of stdin is not valid UTF-8"]),
    (["translate", "--train", "--preset", "course", "--encoder-layers", "2"], None, ["--encoder-layers", "--preset small"]),
    (["translate", "--train", "--preset", "big"], None, ["unknown --preset 'big'"]),
    (["translate"], None, ["nothing to translate", "--train"]),
    (["translate", "--train", "Go."], None, ["--train takes no sentences"]),
    (["translate", "Go.", "--beam", "0"], None, ["--beam"]),
    (["translate", "Go.", "--decoder", "slow"], None, ["unknown decoder 'slow'"]),
    (["translate", "Go.", "?!"], None, ["sentence 2 ('?!') has no words"]),
])
def test_bad_input_is_one_line(args, stdin, needles, tmp_path):
    assert_one_line_error(dl_reading(stdin or "", *args, "--runs-dir", tmp_path), *needles)


def test_a_fresh_install_translates_with_the_shipped_translator_without_tensorflow(tmp_path):
    from dlcli import pretrained

    shipped = pretrained.translator()
    assert shipped is not None and shipped.stat().st_size < 20_000_000
    card = pretrained.card(shipped).read_text(encoding="utf-8")
    assert "dl translate --train" in card and "BLEU" in card and "seed" in card
    result = dl_watched("", "translate", "I love you.", "Where is the train station?", "--runs-dir", tmp_path / "runs")
    assert result.code == 0, result.stderr
    love, station = result.stdout.splitlines()
    assert love in {"Te amo.", "Te quiero.", "Yo te amo.", "Yo te quiero."}  # cased, with its full stop
    assert station.startswith("¿") and station.endswith("?") and "estación" in station  # ¿ and accents
    assert "using the shipped translator" in result.stderr and "translator.md" in result.stderr
    assert "imported: []" in result.stderr  # no TensorFlow, no Keras


def test_no_model_at_all_says_how_to_get_one(tmp_path, monkeypatch):
    from dlcli import pretrained
    from dlcli.commands import translate

    monkeypatch.setattr(pretrained, "translator", lambda: None)
    with pytest.raises(DlcliError, match="no translator ships with this version"):
        translate.model_file(None, tmp_path / "runs")


def test_a_folder_of_another_command(tmp_path):
    other = tmp_path / "classify-digits-1"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"command": "classify"}))
    (other / "metrics.json").write_text(json.dumps({"status": "complete"}))
    assert_one_line_error(dl("translate", "Go.", "--model", other), "'classify' run, not a 'translate' run")
    assert_one_line_error(dl("translate", "Go.", "--model", tmp_path / "nowhere.keras"), "no such run folder or file")


def test_classify_imdb_transformer_trains_reloads_and_is_no_translator(tmp_path):
    import keras

    import dlcli.models  # noqa: F401 - registers the custom layers
    from dlcli import data

    folder = tmp_path / "data"
    datafiles.write_imdb(folder)
    result = dl("classify", "imdb", "--network", "transformer", "--epochs", "2", "--limit", "16", "--validation-samples", "4",
                "--num-words", "60", "--data-dir", folder, "--runs-dir", tmp_path / "runs", "--json")
    assert result.code == 0, result.stderr
    metrics = result.json()
    run = Path(metrics["run"])
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["network"] == "transformer" and config["options"]["units"] == 32
    assert config["options"]["dropout"] == 0.5 and config["options"]["batch_size"] == 32
    assert config["precision_used"] == "float32"  # `auto`: the Transformer classifier is not measured to gain
    recorded = json.loads((run / "metrics.json").read_text())
    assert recorded["status"] == "complete" and len(recorded["epoch_seconds"]) == 2  # --json leaves per-epoch lists out
    assert metrics["test_samples"] == 16 and "epoch_seconds" not in metrics

    model = keras.saving.load_model(run / "model.keras")
    assert model.get_layer("encoder_1").num_heads == 2
    dataset = data.load("imdb", data_dir=folder, num_words=60, limit=16)
    x = keras.utils.pad_sequences(dataset.x_test, maxlen=600, padding="post", truncating="post")
    accuracy = float(np.mean((model.predict(x, verbose=0)[:, 0] > 0.5) == dataset.y_test))
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert_one_line_error(dl("translate", "Go.", "--model", run / "model.keras"), "is a 'classify' run, not a 'translate' run")
    loose = tmp_path / "loose.keras"
    loose.write_bytes((run / "model.keras").read_bytes())
    assert_one_line_error(dl("translate", "Go.", "--model", loose), "not a translation model")


def test_transformer_classifier_is_imdb_only(tmp_path):
    assert_one_line_error(dl("classify", "digits", "--network", "transformer", "--runs-dir", tmp_path), "imdb")
    assert_one_line_error(dl("classify", "imdb", "--network", "rnn", "--runs-dir", tmp_path), "unknown --network 'rnn'")


def test_the_default_preset_trains_exports_and_scores_cased_spanish(subword):
    import keras

    import dlcli.models  # noqa: F401 - registers the custom layers
    from dlcli import runtime, subwords

    result, root = subword
    run = result.run
    assert {"model.keras", "translator.npz", "tokenizer.json", "test_translations.tsv"} <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    for name in ("test_bleu", "test_chrf", "test_bleu_beam", "test_chrf_beam"):
        assert 0 <= metrics[name] <= 100
    assert metrics["test_bleu"] > 30 and metrics["test_chrf"] > 50  # it learned the repeated pairs, cased
    assert metrics["beam_width"] == 4 and metrics["exported_bytes"] == (run / "translator.npz").stat().st_size
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["preset"] == "small" and config["options"]["encoder_layers"] == 1
    rows = read_translations(run)
    assert any(row["translation"][:1].isupper() for row in rows)  # cased output
    # the saved Keras model and the export agree
    translator = runtime.Translator.load(run / "translator.npz")
    model = keras.saving.load_model(run / "model.keras", compile=False)
    tokenizer = subwords.from_json((run / "tokenizer.json").read_text(encoding="utf-8"))
    english = [row["english"] for row in rows]
    source = runtime.pad(subwords.encode(tokenizer, english))
    target = runtime.pad(subwords.target(tokenizer, [row["reference"] for row in rows], 40))[:, :-1]
    valid = target != 0
    np.testing.assert_allclose(translator.logits(source, target)[valid], np.asarray(model([source, target]))[valid],
                               rtol=1e-4, atol=1e-4)
    assert translator.translate(english) == [row["translation"] for row in rows]


def test_translating_with_the_export_needs_no_tensorflow_and_keeps_stdin_lines(subword):
    result, root = subword
    rows = read_translations(result.run)
    english, expected = [row["english"] for row in rows[:3]], [row["translation"] for row in rows[:3]]
    stdin = f"{english[0]}\n\n   \n{english[1]}\n{english[2]}\n"
    out = dl_watched(stdin, "translate", "-", "--runs-dir", root / "runs")
    assert out.code == 0, out.stderr
    assert out.stdout.split("\n") == [expected[0], "", "", expected[1], expected[2], ""]  # blank lines stay blank
    assert "imported: []" in out.stderr
    pairs = dl_watched("", "translate", english[0], english[1], "--model", result.run, "--json")
    assert pairs.code == 0, pairs.stderr
    assert pairs.json()["pairs"] == [{"source": english[0], "translation": expected[0]},
                                     {"source": english[1], "translation": expected[1]}]
    assert "imported: []" in pairs.stderr
    beam = dl("translate", english[0], "--model", result.run / "translator.npz", "--beam", "3", "--quiet")
    assert beam.code == 0 and len(beam.stdout.splitlines()) == 1
    assert_one_line_error(dl("translate", "Go.", "--model", result.run, "--decoder", "course"), "exported subword translator")
