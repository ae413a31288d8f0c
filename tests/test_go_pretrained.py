"""The Go network shipped with the package: present, small, fit for the course's rules, its card
beside it, and used wherever a network is named `default` or none is given."""

from __future__ import annotations

import json
import subprocess
import sys

from dlcli import pretrained
from tests.conftest import dl

CARD_FACTS = ("dl go data", "dl go train", "seed", "parameters", "policy top-1", "value MSE")


def test_the_shipped_network_and_its_card():
    path = pretrained.go_network()
    assert path.is_file() and path.stat().st_size < 1_000_000
    card = pretrained.card(path).read_text()
    for fact in CARD_FACTS:
        assert fact in card, fact


def test_info_and_eval_know_default(tmp_path):
    info = dl("go", "info", "default", "--json")
    assert info.code == 0, info.stderr
    report = info.json()
    assert report["path"] == str(pretrained.go_network()) and report["card"].endswith("go-network.md")
    assert report["fits_course_rules"] and report["parameters"] < 100_000 and report["input_shape"] == [19, 19, 31]

    from dlcli.go import gamesdata
    from tests.test_go_cli import random_game

    (tmp_path / "games.data").write_text(gamesdata.write([random_game(seed, moves=30) for seed in range(2)]))
    scored = dl("go", "eval", "default", tmp_path / "games.data", "--json")
    assert scored.code == 0, scored.stderr
    assert scored.json()["network"] == str(pretrained.go_network()) and scored.json()["all"]["positions"] == 60


def test_gtp_without_a_model_plays_the_shipped_network(tmp_path):
    """With no `dl go train` run under the runs folder, `dl go gtp` says it uses the shipped network
    and plays a legal move with it; `policy:default` is a player too."""
    engine = subprocess.run([sys.executable, "-m", "dlcli", "go", "gtp", "--playouts", "8", "--runs-dir", tmp_path],
                            input="boardsize 19\nclear_board\ngenmove b\nquit\n", capture_output=True, text=True,
                            timeout=300)
    assert engine.returncode == 0, engine.stderr
    answers = [line for line in engine.stdout.splitlines() if line.startswith("=")]
    assert len(answers) == 4 and len(answers[2].split()) == 2 and answers[2].split()[1] != "pass"
    assert "shipped network" in engine.stderr

    from dlcli.go.match import parse_spec

    spec = parse_spec("policy:default")
    assert spec.kind == "network" and spec.source == str(pretrained.go_network()) and spec.options["playouts"] == 0
    assert json.loads(json.dumps(spec.options)) == spec.options


def test_the_shipped_value_head_is_not_a_constant():
    """The first shipped network's value heads learnt nothing (one answered 0.504 everywhere, the
    shipped one 0.38-0.41 on these positions); the value must now tell positions apart (the final
    positions of three random games, encoded as golois does: 0.05, 0.19 and 0.88 today)."""
    import numpy as np

    from dlcli.go import features
    from dlcli.go.mcts import load_network
    from tests.test_go_cli import random_game

    planes = []
    for seed in range(3):
        board = random_game(seed, moves=60).final_board()
        planes.append(features.encode(board))
    values = load_network("default").predict(np.stack(planes).astype("float32"), verbose=0)[1][:, 0]
    assert np.ptp(values) > 0.3, values
