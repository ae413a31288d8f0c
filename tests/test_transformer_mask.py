"""The Transformer encoder's padding mask: padded keys always masked, padded queries by choice
(`mask_queries`), on tiny random tensors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dlcli.models.transformer import TransformerEncoder, build_transformer_classifier

WORDS = 3  # positions 0-2 hold words, 3-5 padding


def encode(encoder, x):
    mask = np.array([[True] * WORDS + [False] * (x.shape[1] - WORDS)])
    return keras.ops.convert_to_numpy(encoder(keras.ops.convert_to_tensor(x), mask=keras.ops.convert_to_tensor(mask)))


@pytest.fixture
def pair():
    """Two encoders with the same weights, one masking padded queries, one not, and two inputs that
    differ only at the last padded position."""
    keras.utils.set_random_seed(0)
    both = {flag: TransformerEncoder(8, 16, 2, mask_queries=flag) for flag in (True, False)}
    x = np.random.default_rng(0).normal(size=(1, 6, 8)).astype("float32")
    both[True].build(x.shape)
    both[False].build(x.shape)
    both[False].set_weights(both[True].get_weights())
    changed = x.copy()
    changed[0, -1] += 5.0
    return both, x, changed


def test_words_never_see_padding_whichever_the_query_mask(pair):
    both, x, changed = pair
    outputs = [encode(encoder, data)[0, :WORDS] for encoder in both.values() for data in (x, changed)]
    for other in outputs[1:]:
        np.testing.assert_allclose(other, outputs[0], atol=1e-5)


def test_key_only_padded_positions_attend_to_the_words_alone(pair):
    both, x, changed = pair
    # the course under TF 2.6: position 3 (padding) attends to positions 0-2 only, so another
    # padded position's value cannot move it
    np.testing.assert_allclose(encode(both[False], changed)[0, WORDS], encode(both[False], x)[0, WORDS], atol=1e-5)


def test_masked_padded_queries_average_every_position(pair):
    both, x, changed = pair
    # Keras 3's masked query row: uniform weight over all six positions, padding included
    assert np.abs(encode(both[True], changed)[0, WORDS] - encode(both[True], x)[0, WORDS]).max() > 1e-3


def test_the_choice_is_saved_and_older_files_keep_masking_queries(tmp_path):
    encoder = TransformerEncoder(8, 16, 2, mask_queries=False)
    assert TransformerEncoder.from_config(encoder.get_config()).mask_queries is False
    config = encoder.get_config()
    del config["mask_queries"]  # a model saved before the option existed
    assert TransformerEncoder.from_config(config).mask_queries is True
    model = build_transformer_classifier((10,), vocab_size=50, embed_dim=8, dense_dim=8, mask_queries=False)
    model.save(tmp_path / "m.keras")
    assert keras.saving.load_model(tmp_path / "m.keras").get_layer("encoder_1").mask_queries is False
