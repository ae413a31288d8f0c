"""One option name, one meaning: every command's --help agrees with the table in docs/options.md,
and the old spellings of issue 16 still work for a release (one warning line; old runs resume)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from dlcli import legacy
from dlcli.cli import app
from tests.conftest import assert_one_line_error, dl
from tests.test_resume import data_folder, interrupt_after_first_epoch, run_dl

TABLE = Path(__file__).resolve().parents[1] / "docs" / "options.md"
EVERY_RUN_COMMAND = "every run command"
# What --help shows for each type of the table (Typer's metavars).
SHOWN = {"int": {"<int>", "<int range>"}, "float": {"<float>"}, "fraction": {"<float>"}, "text": {"<str>"},
         "list": {"<str>"}, "path": {"<path>"}, "flag": {"flag"}}


def walk(command, path=()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), command


COMMANDS = dict(walk(typer.main.get_command(app)))


def visible_options(command) -> dict[str, object]:
    """{long name: parameter} of the options --help shows (deprecated spellings are hidden)."""
    return {max(p.opts, key=len): p for p in command.params if p.param_type_name == "option" and not p.hidden}


def shown_type(parameter) -> str:
    return "flag" if parameter.is_flag else parameter.display_type(None)


USES: dict[str, set[str]] = {}
for _path, _command in COMMANDS.items():
    for _name in visible_options(_command):
        USES.setdefault(_name, set()).add(_path)
RUN_COMMANDS = {path for path, command in COMMANDS.items() if "--resume" in visible_options(command)}


def table() -> tuple[dict[str, dict[str, object]], set[str]]:
    """The rows of docs/options.md's option tables, and its list of run commands."""
    text = TABLE.read_text(encoding="utf-8")
    listed = re.search(r"^Run commands: (.+)$", text, re.M)
    run_commands = {name.strip() for name in listed.group(1).split(",")} if listed else set()
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`--[a-z0-9-]+`", cells[0]):
            names = {name.strip() for name in cells[3].split(",")}
            commands = (names - {EVERY_RUN_COMMAND}) | (run_commands if EVERY_RUN_COMMAND in names else set())
            rows[cells[0].strip("`")] = {"type": cells[2], "commands": commands,
                                         "says": [word.strip().lower() for word in cells[4].split("/")]}
    return rows, run_commands


ROWS, LISTED_RUN_COMMANDS = table()


def test_the_table_lists_the_run_commands_as_they_are():
    assert RUN_COMMANDS and LISTED_RUN_COMMANDS == RUN_COMMANDS


def test_every_option_of_several_commands_is_in_the_table():
    shared = {name for name, paths in USES.items() if len(paths) > 1}
    assert shared and not shared - set(ROWS), f"not in docs/options.md: {sorted(shared - set(ROWS))}"


@pytest.mark.parametrize("option", sorted(ROWS))
def test_an_option_has_one_type_and_meaning_on_every_command(option):
    row = ROWS[option]
    assert row["type"] in SHOWN, f"{option}: unknown type {row['type']!r} in docs/options.md"
    assert USES.get(option, set()) == row["commands"], f"{option}: docs/options.md lists other commands than --help"
    for path in sorted(row["commands"]):
        parameter = visible_options(COMMANDS[path])[option]
        assert shown_type(parameter) in SHOWN[row["type"]], f"dl {path} {option} is {shown_type(parameter)}, not {row['type']}"
        help_text = (parameter.help or "").lower()
        assert any(word in help_text for word in row["says"]), f"dl {path} {option}: help {help_text!r} says none of {row['says']}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_help_shows_the_options_and_hides_the_old_spellings(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit:
        app([*path.split(), "--help"])
    shown = capsys.readouterr().out
    assert exit.value.code == 0
    for option in visible_options(COMMANDS[path]):
        assert option in shown, f"dl {path} --help does not show {option}"
    for old in ("--dropout-rate", "--dropout-flag"):
        assert old not in shown


def test_the_choice_lists_are_the_builders_own():
    """--help offers the lists in dlcli.choices without Keras; the builders accept exactly those."""
    from dlcli import choices
    from dlcli.models import gonets, mobilenet

    assert tuple(gonets.GO_BUILDERS) == choices.GO_NETWORKS
    assert mobilenet.BLOCKS == choices.MOBILENET_BLOCKS
    assert "--block" in visible_options(COMMANDS["mobilenet"])


def test_root_help_names_every_classify_dataset(capsys, monkeypatch):
    from dlcli.commands.families.dense import CLASSIFY_DATASETS

    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit):
        app(["--help"])
    line = next(line for line in capsys.readouterr().out.splitlines() if " classify " in line)
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "imdb": "IMDB", "reuters": "Reuters", "digits": "digits"}
    assert set(names) == set(CLASSIFY_DATASETS)
    for name in CLASSIFY_DATASETS:
        assert names[name] in line, line


# ----------------------------------------------------------------------------- the old spellings


@pytest.mark.parametrize("args, rewritten", [
    (["cnn", "--dropout", "--augment"], ["cnn", "--dropout-flag", "--augment"]),
    (["cnn", "mnist", "--dropout"], ["cnn", "mnist", "--dropout-flag"]),
    (["cnn", "--dropout", "cifar10"], ["cnn", "--dropout-flag", "cifar10"]),
    (["--seed", "3", "cnn", "--dropout", "0.3"], ["--seed", "3", "cnn", "--dropout", "0.3"]),
    (["classify", "--dropout", "--units", "8"], ["classify", "--dropout", "--units", "8"]),
    (["resnet", "--compare", "plain", "--epochs", "1"], ["resnet", "--compare", "--epochs", "1"]),
    (["resnet", "--compare=plain"], ["resnet", "--compare"]),
    (["textgen", "--prompt", "--", "--dropout"], ["textgen", "--prompt", "--", "--dropout"]),
])
def test_old_flags_are_rewritten_before_parsing(args, rewritten):
    assert legacy.rewrite(args) == rewritten


@pytest.mark.parametrize("command, recorded, upgraded", [
    ("classify", {"model": "transformer", "validation": 10000}, {"network": "transformer", "validation": None,
                                                                  "validation_samples": 10000}),
    ("classify", {"model": None, "network": "dense", "validation": 0.2}, {"model": None, "network": "dense", "validation": 0.2}),
    ("regress", {"validation": 30.0}, {"validation": None, "validation_samples": 30}),
    ("cnn", {"dropout": True, "dropout_rate": 0.3}, {"dropout": 0.3}),
    ("cnn", {"dropout": False, "dropout_rate": 0.3}, {"dropout": None}),
    ("cnn", {"dropout": None, "dropout_flag": True, "dropout_rate": None}, {"dropout": 0.5}),
    ("cnn", {"dropout": 0.25, "dropout_flag": False, "dropout_rate": None},  # a new run: as it was
     {"dropout": 0.25, "dropout_flag": False, "dropout_rate": None}),
    ("timeseries", {"units": "50,100"}, {"layer_units": "50,100"}),
    ("resnet", {"compare": "plain"}, {"compare": True}),
    ("resnet", {"compare": None}, {"compare": False}),
    ("resnet", {"compare": True}, {"compare": True}),
    ("kfold", {"validation": 100}, {"validation": 100}),
])
def test_recorded_old_names_are_upgraded(command, recorded, upgraded):
    assert legacy.upgrade(command, recorded)[0] == upgraded


def test_a_count_for_a_fraction_is_one_line_pointing_at_validation_samples(tmp_path):
    assert_one_line_error(dl("cnn", "mnist", "--validation", "300", "--runs-dir", tmp_path),
                          "--validation is a fraction", "--validation-samples 300")
    assert_one_line_error(dl("classify", "digits", "--validation", "0.2", "--validation-samples", "30", "--runs-dir", tmp_path),
                          "give one")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    yield data_folder(tmp_path_factory.mktemp("options-data"))
    from tensorflow.python.framework import config

    config.disable_op_determinism()  # --deterministic turned it on for this whole process: off for later tests


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "deprecated" in line]


@pytest.mark.parametrize("old, new, expected", [
    (["classify", "digits", "--model", "dense", "--validation", "16"],
     ["classify", "digits", "--network", "dense", "--validation-samples", "16"],
     ["--model dense is deprecated for classify; use --network dense",
      "--validation 16 (a sample count) is deprecated for classify; use --validation-samples 16"]),
    (["cnn", "mnist", "--net", "small", "--dropout", "--dropout-rate", "0.3"],
     ["cnn", "mnist", "--net", "small", "--dropout", "0.3"],
     ["--dropout --dropout-rate 0.3 is deprecated for cnn; use --dropout 0.3"]),
])
def test_an_old_spelling_warns_once_and_trains_as_the_new_one(old, new, expected, folder, tmp_path):
    tiny = ["--limit", "48", "--epochs", "1", "--units", "8"] if old[0] == "classify" else ["--batch-size", "16", "--epochs", "1"]
    common = [*tiny, "--seed", "1", "--deterministic", "--quiet", "--data-dir", folder]
    code, _, stderr = run_dl(*old, *common, "--out", tmp_path / "old")
    assert code == 0, stderr
    assert [line.removeprefix("dl: warning: ") for line in warnings(stderr)] == expected
    code, _, stderr = run_dl(*new, *common, "--out", tmp_path / "new")
    assert code == 0 and not warnings(stderr), stderr
    configs = [json.loads((tmp_path / run / "config.json").read_text())["options"] for run in ("old", "new")]
    assert configs[0] == configs[1]
    assert (tmp_path / "old" / "history.csv").read_text() == (tmp_path / "new" / "history.csv").read_text()


@pytest.mark.parametrize("args, old_arguments, old_options", [
    (["classify", "digits", "--limit", "48", "--units", "8", "--network", "dense", "--validation-samples", "16"],
     {"model": "dense", "validation": 16}, {"model": "dense", "validation": 16}),
    (["cnn", "mnist", "--batch-size", "16", "--net", "small", "--dropout", "0.3"],
     {"dropout": True, "dropout_rate": 0.3}, {}),  # cnn recorded the rate in its options already
    (["timeseries", "sinwave", "--limit", "120", "--window", "8", "--layer-units", "4,4", "--batch-size", "16"],
     {"units": "4,4"}, {"units": [4, 4]}),
])
def test_a_run_recorded_under_the_old_names_resumes(args, old_arguments, old_options, folder, tmp_path, monkeypatch):
    common = ["--epochs", "2", "--seed", "5", "--deterministic", "--quiet", "--data-dir", folder]
    code, _, stderr = run_dl(*args, *common, "--out", tmp_path / "whole")
    assert code == 0, stderr
    with interrupt_after_first_epoch(monkeypatch):
        code, _, stderr = run_dl(*args, *common, "--out", tmp_path / "cut")
    assert code == 130, stderr
    config_file = tmp_path / "cut" / "config.json"
    config = json.loads(config_file.read_text())
    new_names = {"network", "validation_samples", "dropout_flag", "layer_units"}
    config["arguments"] = {**{k: v for k, v in config["arguments"].items() if k not in new_names}, **old_arguments}
    config["options"] = {**{k: v for k, v in config["options"].items() if k not in new_names}, **old_options}
    config_file.write_text(json.dumps(config))  # as the release before issue 16 recorded it
    code, _, stderr = run_dl(args[0], "--resume", tmp_path / "cut", "--quiet")
    assert code == 0 and not warnings(stderr), stderr
    assert (tmp_path / "cut" / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()


def test_validation_is_a_fraction_and_validation_samples_a_count_in_the_dense_family(capsys):
    import numpy as np

    from dlcli.commands.families import dense

    x, y = np.arange(10), np.arange(10)
    fraction = dense.resolve("digits", validation=0.25)
    assert (fraction.validation, fraction.validation_samples) == (0.25, 0)
    (train, _), (held, _) = dense.split_validation(x, y, fraction)
    assert list(held) == [0, 1, 2] and len(train) == 7  # the first ones, Keras' rounding: 10 - floor(7.5)
    count = dense.resolve("digits", validation_samples=4)
    assert dense.split_validation(x, y, count)[1][0].tolist() == [0, 1, 2, 3]
    assert dense.resolve("digits").validation_samples == 300  # the course's preset is a count
    assert capsys.readouterr().err == ""
    old = dense.resolve("digits", validation=4.0)  # the old count spelling: one warning, the same split
    assert (old.validation, old.validation_samples) == (None, 4)
    assert capsys.readouterr().err.count("deprecated") == 1
