"""The exported subword translator: the NumPy runtime gives the Keras model's logits and tokens,
the tokenizer keeps cased Spanish, and translating with it never imports TensorFlow."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dlcli import runtime, subwords

ENGLISH = ["I love you.", "Where is the station?", "Run!", "The cat is very black."]
SPANISH = ["Te quiero.", "¿Dónde está la estación?", "¡Corre!", "El gato es muy negro."]


@pytest.fixture(scope="module")
def tokenizer():
    return subwords.learn(ENGLISH + SPANISH, 120)


@pytest.fixture(scope="module")
def exported(tokenizer):
    """A tiny random subword translator and its export, read back from the .npz bytes."""
    import keras

    from dlcli.models import seq2seq

    keras.utils.set_random_seed(3)
    model = seq2seq.build_subword_translator((12,), subwords.vocabulary_size(tokenizer), embed_dim=16, dense_dim=24,
                                             num_heads=2, encoder_layers=2, decoder_layers=2, dropout=0.1)
    # larger weights than the initialisers give, so that the logits (and greedy tokens) differ clearly
    for variable in model.trainable_variables:
        variable.assign(variable.numpy() + np.random.default_rng(len(variable.path)).normal(0, 0.3, variable.shape))
    buffer = io.BytesIO()
    runtime.save(buffer, seq2seq.export_weights(model), {**seq2seq.architecture(model), "sequence_length": 12},
                 subwords.to_json(tokenizer))
    buffer.seek(0)
    return model, runtime.Translator.load(buffer)


def test_tokenizer_keeps_case_accents_and_inverted_marks(tokenizer):
    ids = subwords.encode(tokenizer, SPANISH)
    assert subwords.decode(tokenizer, ids) == SPANISH
    assert subwords.decode(tokenizer, [[subwords.START_ID, *ids[1], subwords.END_ID, *ids[2]]]) == [SPANISH[1]]
    assert subwords.decode(tokenizer, subwords.encode(tokenizer, ["Ünïcödé ÑANDÚ ¿?"])) == ["Ünïcödé ÑANDÚ ¿?"]
    rows = subwords.target(tokenizer, SPANISH, 4)
    assert all(row[0] == subwords.START_ID and row[-1] == subwords.END_ID and len(row) <= 5 for row in rows)
    again = subwords.from_json(subwords.to_json(tokenizer))
    assert subwords.encode(again, SPANISH) == ids
    assert subwords.plain("[start] Hola. [end]") == "Hola."


def test_exported_logits_equal_the_keras_model(tokenizer, exported):
    model, translator = exported
    source = runtime.pad(subwords.encode(tokenizer, ENGLISH))
    target = runtime.pad(subwords.target(tokenizer, SPANISH, 11))[:, :-1]
    expected = np.asarray(model([source, target], training=False))
    got = translator.logits(source, target)
    valid = target != 0
    assert np.abs(expected).max() > 1  # not a degenerate model
    np.testing.assert_allclose(got[valid], expected[valid], rtol=1e-4, atol=1e-4)


def keras_greedy(model, source, steps):
    """Reference greedy decoding: the whole Keras model on the prefix so far, one token at a time."""
    tokens = np.full((len(source), 1), subwords.START_ID)
    for _ in range(steps):
        logits = np.array(model([source, tokens], training=False))[:, -1]
        logits[:, [subwords.PAD_ID, subwords.START_ID]] = -np.inf
        tokens = np.concatenate([tokens, logits.argmax(-1)[:, None]], axis=1)
    return tokens[:, 1:]


def test_cached_greedy_decoding_gives_the_keras_tokens(tokenizer, exported):
    model, translator = exported
    source = runtime.pad(subwords.encode(tokenizer, ENGLISH))
    ours = translator.greedy_ids(source)
    reference = keras_greedy(model, source, ours.shape[1])
    for mine, theirs in zip(ours, reference):
        stop = list(theirs).index(subwords.END_ID) + 1 if subwords.END_ID in theirs else len(theirs)
        assert list(mine[:stop]) == list(theirs[:stop])
    assert len({tuple(row) for row in ours}) > 1  # the sentences do not all decode alike


def test_beam_of_width_one_is_greedy_and_translations_keep_their_order(exported):
    _, translator = exported
    greedy = translator.translate(ENGLISH * 3, batch_size=5)
    assert greedy[:4] == greedy[4:8] == translator.translate(ENGLISH)
    assert translator.translate(ENGLISH, beam=1) == greedy[:4]
    wide = translator.translate(ENGLISH, beam=3)
    assert len(wide) == 4 and all(isinstance(text, str) for text in wide)


def test_a_file_that_is_no_translator_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(2))
    with pytest.raises(ValueError, match="no translator"):
        runtime.Translator.load(path)
    assert not runtime.is_exported(path) and not runtime.is_exported(tmp_path / "missing.npz")


def test_beam_candidates_are_the_largest_in_order_as_a_full_sort_gives_them():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20, 500))
    values[:, :9] = -np.inf  # never-chosen tokens
    values[3, 100] = values[3, 200] = 9.0  # an equal pair, both kept: the lower index first
    for count in (1, 8, 500):
        np.testing.assert_array_equal(runtime._top(values, count),
                                      np.argsort(-values, axis=1, kind="stable")[:, :count])
