"""Multiply-accumulates counted by `dlcli.models.macs` for the sequence families, against the
products written out by hand (tiny models, no training)."""

import keras
import pytest

from dlcli.models import macs
from dlcli.models.charlstm import build_char_lstm
from dlcli.models.seq2seq import build_subword_translator
from dlcli.models.transformer import build_transformer_classifier
from dlcli.models.vae import build_vae_decoder


def attention(length, features, heads, key_dim):
    """Self-attention: Q, K, V projections, scores and weighted sum over every pair, output projection."""
    return 4 * length * features * heads * key_dim + 2 * length * length * heads * key_dim


def test_char_lstm_counts_four_gates_at_every_step():
    model = build_char_lstm((12,), 5, characters="abcde", units=8)
    assert macs.count_macs(model, (12,)) == 12 * 4 * 8 * (5 + 8) + 8 * 5


def test_transformer_classifier_fixes_its_free_length_and_counts_attention():
    length, embed, dense, heads = 10, 8, 4, 2
    model = build_transformer_classifier((length,), vocab_size=50, embed_dim=embed, dense_dim=dense, num_heads=heads)
    expected = attention(length, embed, heads, embed) + length * (embed * dense + dense * embed) + embed * 1
    assert macs.count_macs(model, (length,)) == expected
    with pytest.raises(ValueError, match="input_shape"):  # a free length and no shape to fix it
        macs.count_macs(model)


def test_subword_translator_counts_every_call_and_the_shared_output_projection():
    length, embed, dense, heads, vocab = 6, 8, 16, 2, 30
    model = build_subword_translator(outputs=vocab, embed_dim=embed, dense_dim=dense, num_heads=heads,
                                     encoder_layers=2, decoder_layers=1)
    feed_forward = 2 * length * embed * dense
    encoder = attention(length, embed, heads, embed // heads) + feed_forward
    decoder = 2 * attention(length, embed, heads, embed // heads) + feed_forward
    assert macs.count_macs(model, (length,)) == 2 * encoder + decoder + length * embed * vocab


def test_a_layer_called_twice_counts_twice():
    dense = keras.layers.Dense(3)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, dense(dense(inputs)))
    assert macs.count_macs(model) == 2 * 3 * 3


def test_vae_decoder_counts_its_transposed_convolutions_by_input_position():
    decoder = build_vae_decoder((28, 28, 1), latent_dim=2)
    dense = 2 * 7 * 7 * 64
    deconv_1 = 7 * 7 * 9 * 64 * 64  # 7x7 inputs, each spreading a 3x3 kernel over 64 -> 64 channels
    deconv_2 = 14 * 14 * 9 * 64 * 32
    image = 28 * 28 * 9 * 32 * 1
    assert macs.count_macs(decoder) == dense + deconv_1 + deconv_2 + image
