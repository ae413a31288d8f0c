"""The one model-file resolver and loader (dlcli.modelfiles): which file a path names, one error style."""

from __future__ import annotations

import pytest

from dlcli import modelfiles
from dlcli.errors import DlcliError


def test_a_file_names_itself_and_a_folder_its_first_model(tmp_path):
    loose = tmp_path / "net.keras"
    loose.write_bytes(b"x")
    assert modelfiles.find(loose) == loose
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"x")
    assert modelfiles.find(run) == run / "model.keras"
    (run / "model.h5").write_bytes(b"x")
    assert modelfiles.find(run) == run / "model.h5"  # the course's exchange format first


@pytest.mark.parametrize("where, needles", [
    ("missing", ["missing: no such network file or run folder", "give a .h5"]),
    ("empty", ["holds no model.h5 or model.keras", "give a .h5"]),
])
def test_nothing_to_load_is_one_line(tmp_path, where, needles):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DlcliError) as error:
        modelfiles.find(tmp_path / where, what="network", fix="give a .h5 or .keras network")
    assert "\n" not in str(error.value)
    for needle in needles:
        assert needle in str(error.value)


def test_a_file_that_will_not_load_is_one_line_and_a_model_loads(tmp_path):
    import keras

    junk = tmp_path / "junk.h5"
    junk.write_text("not a network")
    with pytest.raises(DlcliError, match=f"^cannot load the network {junk}: .+; give a .h5$") as error:
        modelfiles.load(junk, what="network", fix="give a .h5")
    assert "\n" not in str(error.value)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "tiny.keras")
    reloaded = modelfiles.load(tmp_path / "tiny.keras")
    assert [w.shape for w in reloaded.get_weights()] == [(3, 2), (2,)]
