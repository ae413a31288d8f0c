"""The course's Transformer: positional embedding, encoder, causal decoder, and their two uses.

`build_transformer_classifier` is the course's IMDB classifier (embedding + positional
embedding, one `TransformerEncoder`, global max pooling, dropout, sigmoid) on word indices.
`build_translator` is the course's English-to-Spanish sequence-to-sequence Transformer as one
end-to-end model: raw English and Spanish strings in, next-token probabilities out, with both
`TextVectorization` layers (their vocabularies and the course's standardisation that keeps
`[start]` and `[end]`) inside, so that the saved `.keras` file is all a translation needs.
`Translator` decodes with it: the encoder once per sentence, a compiled decoder step, greedy
(batched) or beam search, stopping at `[end]`; `course_decode_sequence` is the course's loop.

Masking follows Keras 3: `PositionalEmbedding.compute_mask` marks padding (index 0); the encoder
masks padded keys; the decoder's self-attention is causal (`use_causal_mask=True`) and its
cross-attention masks the padded English positions (the course passed the Spanish padding mask
there, which only worked because both sides had length 20). The encoder, as in the course, does
not propagate its mask; the translator hands the English mask to the decoder explicitly.
"""

from __future__ import annotations

import re
import string
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops
from keras.src import backend as keras_backend  # set_keras_mask: Keras 3 has no public setter

START, END = "[start]", "[end]"
STRIP_CHARS = string.punctuation.replace("[", "").replace("]", "") + "¿"


@keras.saving.register_keras_serializable(package="dlcli")
def custom_standardization(input_string):
    """The course's Spanish standardisation: lower case, strip punctuation and '¿', keep '[' ']'."""
    lowercase = tf.strings.lower(input_string)
    return tf.strings.regex_replace(lowercase, f"[{re.escape(STRIP_CHARS)}]", "")


@keras.saving.register_keras_serializable(package="dlcli")
class PositionalEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position; index 0 is padding (masked)."""

    def __init__(self, sequence_length: int, input_dim: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.token_embeddings = layers.Embedding(input_dim=input_dim, output_dim=output_dim, name="tokens")
        self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=output_dim, name="positions")

    def build(self, input_shape):
        self.token_embeddings.build(input_shape)
        self.position_embeddings.build((input_shape[-1],))
        super().build(input_shape)

    def call(self, inputs):
        positions = ops.arange(0, ops.shape(inputs)[-1], 1)
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "input_dim": self.input_dim, "output_dim": self.output_dim}


class _TransformerBlock(layers.Layer):
    """What the encoder and decoder share: their sizes, their feed-forward projection, their config."""

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.dense_dim = dense_dim
        self.num_heads = num_heads
        self.supports_masking = True

    def _attention(self, name: str) -> layers.MultiHeadAttention:
        return layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.embed_dim, name=name)

    def _feed_forward(self) -> keras.Sequential:
        return keras.Sequential([layers.Dense(self.dense_dim, activation="relu"), layers.Dense(self.embed_dim)],
                                name="dense_proj")

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="dlcli")
class TransformerEncoder(_TransformerBlock):
    """Self-attention then a feed-forward projection, each with a residual and layer norm.

    It uses the padding mask it receives but, as in the course, does not pass it on: the
    classifier's max pooling sees every position, and the translator gives the decoder the
    English padding mask explicitly.

    Padded keys are always masked. `mask_queries` says whether padded *queries* are too: Keras 3's
    `MultiHeadAttention` masks them (taking the query mask from the tensor itself), and its fused
    attention then gives a padded position uniform weights over every position. The course's
    `attention_mask=mask[:, None, :]` under TensorFlow 2.6 masked keys only: every position, padding
    included, attends to the words (`mask_queries=False`). The translator never reads a padded
    source position, so only the classifier's max pooling sees the difference.
    """

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, mask_queries: bool = True, **kwargs):
        super().__init__(embed_dim, dense_dim, num_heads, **kwargs)
        self.mask_queries = mask_queries
        self.attention = self._attention("attention")
        self.dense_proj = self._feed_forward()
        self.layernorm_1 = layers.LayerNormalization(name="layernorm_1")
        self.layernorm_2 = layers.LayerNormalization(name="layernorm_2")

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.dense_proj.build(input_shape)
        self.layernorm_1.build(input_shape)
        self.layernorm_2.build(input_shape)
        super().build(input_shape)

    def call(self, inputs, mask=None):
        keras_backend.set_keras_mask(inputs, mask if self.mask_queries else None)  # the query mask it reads
        attention_output = self.attention(inputs, inputs, value_mask=mask)
        proj_input = self.layernorm_1(inputs + attention_output)
        return self.layernorm_2(proj_input + self.dense_proj(proj_input))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_queries": self.mask_queries}


@keras.saving.register_keras_serializable(package="dlcli")
class TransformerDecoder(_TransformerBlock):
    """Causal self-attention, attention over the encoder's outputs, then a feed-forward projection.

    Called on `[target_embeddings, encoder_outputs]`; the mask is `[target_mask, source_mask]`.
    """

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, **kwargs):
        super().__init__(embed_dim, dense_dim, num_heads, **kwargs)
        self.attention_1 = self._attention("attention_1")
        self.attention_2 = self._attention("attention_2")
        self.dense_proj = self._feed_forward()
        self.layernorm_1 = layers.LayerNormalization(name="layernorm_1")
        self.layernorm_2 = layers.LayerNormalization(name="layernorm_2")
        self.layernorm_3 = layers.LayerNormalization(name="layernorm_3")

    def build(self, input_shape):
        target_shape, source_shape = input_shape
        self.attention_1.build(target_shape, target_shape)
        self.attention_2.build(target_shape, source_shape)
        self.dense_proj.build(target_shape)
        for norm in (self.layernorm_1, self.layernorm_2, self.layernorm_3):
            norm.build(target_shape)
        super().build(input_shape)

    def call(self, inputs, mask=None):
        targets, encoder_outputs = inputs
        target_mask, source_mask = (None, None) if mask is None else mask
        attention_output_1 = self.attention_1(query=targets, value=targets, key=targets, query_mask=target_mask,
                                              value_mask=target_mask, use_causal_mask=True)
        attention_output_1 = self.layernorm_1(targets + attention_output_1)
        attention_output_2 = self.attention_2(query=attention_output_1, value=encoder_outputs, key=encoder_outputs,
                                              query_mask=target_mask, value_mask=source_mask)
        attention_output_2 = self.layernorm_2(attention_output_1 + attention_output_2)
        return self.layernorm_3(attention_output_2 + self.dense_proj(attention_output_2))

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def build_transformer_classifier(input_shape: Sequence[int], outputs: int = 1, *, vocab_size: int = 20_000,
                                 embed_dim: int = 256, dense_dim: int = 32, num_heads: int = 2, blocks: int = 1,
                                 dropout: float = 0.5, output_activation: str | None = "sigmoid",
                                 mask_queries: bool = True, name: str = "transformer_classifier") -> keras.Model:
    """The course's Transformer text classifier on word-index sequences of length `input_shape[0]`
    (600 in the course): positional embedding, `blocks` encoders, global max pooling, dropout.
    `mask_queries`: see `TransformerEncoder` (False is the course's code as TF 2.6 ran it)."""
    sequence_length = int(input_shape[0])
    inputs = keras.Input(shape=(None,), dtype="int64", name="words")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim, name="embedding")(inputs)
    for block in range(1, blocks + 1):
        x = TransformerEncoder(embed_dim, dense_dim, num_heads, mask_queries=mask_queries, name=f"encoder_{block}")(x)
    x = layers.GlobalMaxPooling1D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, layers.Dense(outputs, activation=output_activation, name="outputs")(x), name=name)


def build_translator(input_shape: Sequence[int] = (20,), outputs: int = 15_000, *,
                     source_texts: Sequence[str], target_texts: Sequence[str], embed_dim: int = 256,
                     dense_dim: int = 2048, num_heads: int = 8, dropout: float = 0.5,
                     name: str = "translator") -> keras.Model:
    """The course's English-to-Spanish Transformer, end to end on strings.

    `input_shape[0]` is the sequence length (20), `outputs` the largest vocabulary of each language
    (15,000). The vectorisers adapt to `source_texts` (English, Keras' default standardisation)
    and `target_texts` (Spanish wrapped in `[start] ... [end]`, the course's standardisation).
    Inputs: `english` and `spanish` strings (the Spanish so far, starting with `[start]`);
    output: for each Spanish position, the probabilities of the next token.
    """
    sequence_length = int(input_shape[0])
    source_vectorization = layers.TextVectorization(max_tokens=outputs, output_mode="int",
                                                    output_sequence_length=sequence_length, name="source_vectorization")
    target_vectorization = layers.TextVectorization(max_tokens=outputs, output_mode="int",
                                                    output_sequence_length=sequence_length + 1,
                                                    standardize=custom_standardization, name="target_vectorization")
    source_vectorization.adapt(tf.constant(list(source_texts)))
    target_vectorization.adapt(tf.constant(list(target_texts)))

    english = keras.Input(shape=(), dtype="string", name="english")
    spanish = keras.Input(shape=(), dtype="string", name="spanish")
    network = _sequence_to_sequence(sequence_length, source_vectorization.vocabulary_size(),
                                    target_vectorization.vocabulary_size(), embed_dim, dense_dim, num_heads, dropout)
    source_ids = source_vectorization(english)
    target_ids = target_vectorization(spanish)[:, :-1]  # the Spanish so far: all but the last position
    return keras.Model([english, spanish], network([source_ids, target_ids]), name=name)


def _sequence_to_sequence(sequence_length, source_vocab, target_vocab, embed_dim, dense_dim, num_heads,
                          dropout) -> keras.Model:
    """The course's `transformer` on token ids: [english ids, spanish ids] -> next-token probabilities.
    Each vocabulary is the size the vectoriser reached (at most `max_tokens`), so no id is out of range."""
    encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="english_ids")
    x = PositionalEmbedding(sequence_length, source_vocab, embed_dim, name="source_embedding")(encoder_inputs)
    encoder_outputs = TransformerEncoder(embed_dim, dense_dim, num_heads, name="encoder")(x)
    decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="spanish_ids")
    x = PositionalEmbedding(sequence_length, target_vocab, embed_dim, name="target_embedding")(decoder_inputs)
    masks = [ops.not_equal(decoder_inputs, 0), ops.not_equal(encoder_inputs, 0)]
    x = TransformerDecoder(embed_dim, dense_dim, num_heads, name="decoder")([x, encoder_outputs], mask=masks)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(target_vocab, activation="softmax", name="next_token")(x)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="transformer")


def sequence_to_sequence(translator: keras.Model) -> keras.Model:
    """The token-id model inside an end-to-end translator (trained with `fit` on id arrays)."""
    return translator.get_layer("transformer")


def is_translator(model) -> bool:
    """Whether `model` is an end-to-end translator built by `build_translator`."""
    names = {layer.name for layer in getattr(model, "layers", [])}
    return {"source_vectorization", "target_vectorization", "transformer"} <= names


def words_of(text: str) -> str:
    """A decoded Spanish string without its `[start]` and `[end]` marks."""
    return " ".join(word for word in text.split() if word not in (START, END))


class Translator:
    """Fast decoding with a trained end-to-end translator.

    The English side goes through the encoder once per sentence (batched); each new Spanish
    token costs one compiled call of the decoder on the prefix so far, with the output layer
    applied to the last position only. Greedy decoding stops each sentence at `[end]` and the
    batch when every sentence has ended; padding (index 0) is never chosen.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.source_vectorization = model.get_layer("source_vectorization")
        self.target_vectorization = model.get_layer("target_vectorization")
        self.network = sequence_to_sequence(model)
        self.vocabulary = np.array(self.target_vectorization.get_vocabulary(), dtype=object)
        words = list(self.vocabulary)
        self.start, self.end = words.index(START), words.index(END)
        self.max_length = self.target_vectorization.get_config()["output_sequence_length"] - 1
        source_embedding, encoder = self.network.get_layer("source_embedding"), self.network.get_layer("encoder")
        target_embedding, decoder = self.network.get_layer("target_embedding"), self.network.get_layer("decoder")
        head = self.network.get_layer("next_token")
        ids = tf.TensorSpec([None, None], tf.int64)

        @tf.function(input_signature=[ids])
        def encode(source_ids):
            source_mask = ops.not_equal(source_ids, 0)
            return encoder(source_embedding(source_ids), mask=source_mask), source_mask

        @tf.function(input_signature=[ids, tf.TensorSpec([None, None, None], tf.float32), tf.TensorSpec([None, None], tf.bool)])
        def next_log_probs(prefix, encoded, source_mask):
            target_mask = ops.not_equal(prefix, 0)
            x = decoder([target_embedding(prefix), encoded], mask=[target_mask, source_mask])
            log_probs = tf.math.log(head(x[:, -1, :]) + 1e-12)
            return tf.concat([tf.fill([tf.shape(prefix)[0], 1], -np.inf), log_probs[:, 1:]], axis=1)

        @tf.function(input_signature=[ids, tf.TensorSpec([None, None, None], tf.float32), tf.TensorSpec([None, None], tf.bool)])
        def next_token(prefix, encoded, source_mask):
            return tf.argmax(next_log_probs(prefix, encoded, source_mask), axis=-1)

        self._encode, self._next_log_probs, self._next_token = encode, next_log_probs, next_token

    def source_ids(self, sentences: Sequence[str]) -> tf.Tensor:
        return tf.cast(self.source_vectorization(tf.constant(list(sentences))), tf.int64)

    def greedy(self, sentences: Sequence[str], batch_size: int = 64) -> list[str]:
        """The most likely next token at each step, for a batch of sentences at a time."""
        out = []
        for begin in range(0, len(sentences), batch_size):
            out += self._greedy_batch(sentences[begin:begin + batch_size])
        return out

    def _greedy_batch(self, sentences: Sequence[str]) -> list[str]:
        encoded, source_mask = self._encode(self.source_ids(sentences))
        tokens = np.full((len(sentences), 1), self.start, dtype=np.int64)
        done = np.zeros(len(sentences), dtype=bool)
        for _ in range(self.max_length):
            chosen = self._next_token(tokens, encoded, source_mask).numpy()
            chosen[done] = 0
            tokens = np.concatenate([tokens, chosen[:, None]], axis=1)
            done |= chosen == self.end
            if done.all():
                break
        return [self._text(row[1:]) for row in tokens]

    def beam(self, sentences: Sequence[str], width: int, length_penalty: float = 1.0) -> list[str]:
        """Beam search of `width` hypotheses per sentence; finished hypotheses are ranked by
        log-probability divided by length ** `length_penalty`."""
        return [self._beam_one(sentence, width, length_penalty) for sentence in sentences]

    def _beam_one(self, sentence: str, width: int, length_penalty: float) -> str:
        encoded, source_mask = self._encode(self.source_ids([sentence]))
        prefixes = np.full((1, 1), self.start, dtype=np.int64)
        scores = np.zeros(1)
        finished: list[tuple[float, np.ndarray]] = []
        for step in range(1, self.max_length + 1):
            count = len(prefixes)
            log_probs = self._next_log_probs(prefixes, tf.repeat(encoded, count, axis=0),
                                             tf.repeat(source_mask, count, axis=0)).numpy()
            candidates = (scores[:, None] + log_probs).ravel()
            best = np.argsort(-candidates, kind="stable")[:width]
            rows, tokens = np.divmod(best, log_probs.shape[1])
            keep = []
            for row, token, score in zip(rows, tokens, candidates[best]):
                sequence = np.append(prefixes[row], token)
                if token == self.end or step == self.max_length:
                    finished.append((score / step ** length_penalty, sequence))
                else:
                    keep.append((score, sequence))
            if len(finished) >= width or not keep:
                break
            scores = np.array([score for score, _ in keep])
            prefixes = np.stack([sequence for _, sequence in keep])
        _, best_sequence = max(finished, key=lambda item: item[0])
        return self._text(best_sequence[1:])

    def _text(self, ids: np.ndarray) -> str:
        words = []
        for token in ids:
            if token == self.end or token == 0:
                break
            words.append(self.vocabulary[token])
        return " ".join(words)


def course_decode_sequence(translator: Translator, input_sentence: str) -> str:
    """The course's `decode_sequence`: re-vectorise the Spanish so far and run the whole model
    (encoder included, eagerly) once per new token. Kept as the reference for tests and benchmarks."""
    tokenized_input_sentence = translator.source_vectorization([input_sentence])
    decoded_sentence = START
    for i in range(translator.max_length):
        tokenized_target_sentence = translator.target_vectorization([decoded_sentence])[:, :-1]
        predictions = translator.network([tokenized_input_sentence, tokenized_target_sentence])
        sampled_token = translator.vocabulary[int(np.argmax(predictions[0, i, :]))]
        decoded_sentence += " " + sampled_token
        if sampled_token == END:
            break
    return words_of(decoded_sentence)
