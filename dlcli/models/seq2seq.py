"""A subword Transformer translator on token ids, made to train on a CPU and to run without Keras.

`build_subword_translator` is the encoder-decoder of "Attention Is All You Need" with the
choices small models train best with: pre-layer-norm blocks (stable with a warm-up), sinusoidal
positions (no length limit, no weights), one vocabulary shared by both languages whose embedding
is also the output projection (three-way tying: the model is a third smaller), several blocks of
heads of `embed_dim / heads` each. Inputs: `source_ids` (English) and `target_ids` (`[start]` and
the Spanish so far); output: next-token logits, masked where the target is padding (Keras then
leaves padding out of the loss and accuracy). Every step is plain matrix algebra, so that
`dlcli.runtime` can run the exported weights with NumPy alone; `export_weights` names them.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops


@keras.saving.register_keras_serializable(package="dlcli")
class SharedEmbedding(layers.Layer):
    """Token embeddings scaled by sqrt(dim) plus sinusoidal positions; called with `reverse=True`
    on hidden states, the same matrix gives the output logits. Index 0 is padding (masked)."""

    def __init__(self, vocab_size: int, embed_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.supports_masking = True

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.vocab_size, self.embed_dim), name="embeddings",
                                          initializer=keras.initializers.RandomNormal(stddev=self.embed_dim ** -0.5))
        super().build(input_shape)

    def call(self, inputs, reverse: bool = False):
        table = ops.cast(self.embeddings, self.compute_dtype)
        if reverse:
            return ops.matmul(inputs, ops.transpose(table))
        tokens = ops.take(table, ops.cast(inputs, "int32"), axis=0) * math.sqrt(self.embed_dim)
        return tokens + ops.cast(sinusoids(ops.shape(inputs)[-1], self.embed_dim), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return mask if mask is not None else ops.not_equal(inputs, 0)

    def macs(self, input_shape, output_shape) -> int:
        """Multiply-accumulates per sentence (`dlcli.models.macs`): the look-up costs none, the
        output logits (called on hidden states, same rank out as in) one product per table entry
        and position."""
        reverse = len(input_shape) == len(output_shape)
        return math.prod(output_shape[1:-1]) * self.embed_dim * self.vocab_size if reverse else 0

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embed_dim": self.embed_dim}


def sinusoids(length, dim: int):
    """The sinusoidal position table (length, dim): sin on the first half of the channels, cos on the second."""
    half = dim // 2
    positions = ops.cast(ops.arange(length), "float32")[:, None]
    frequencies = ops.exp(ops.arange(half, dtype="float32") * (-math.log(10_000.0) / max(half - 1, 1)))[None, :]
    angles = positions * frequencies
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


class _Block(layers.Layer):
    """A pre-layer-norm residual block's parts: attentions, a ReLU feed-forward, dropouts, norms."""

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.dense_dim, self.num_heads, self.dropout = embed_dim, dense_dim, num_heads, dropout
        self.supports_masking = True
        self.feed_forward_in = layers.Dense(dense_dim, activation="relu", name="feed_forward_in")
        self.feed_forward_out = layers.Dense(embed_dim, name="feed_forward_out")
        self.drop = layers.Dropout(dropout)

    def _attention(self, name: str) -> layers.MultiHeadAttention:
        return layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.embed_dim // self.num_heads,
                                         dropout=self.dropout, name=name)

    def _feed_forward(self, x, training):
        return self.drop(self.feed_forward_out(self.drop(self.feed_forward_in(x), training=training)), training=training)

    def _build_feed_forward(self, shape):
        self.feed_forward_in.build(shape)
        self.feed_forward_out.build((*shape[:-1], self.dense_dim))

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="dlcli")
class EncoderBlock(_Block):
    """x + attention(norm(x)) over the unpadded English, then x + feed_forward(norm(x))."""

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, dropout: float = 0.1, **kwargs):
        super().__init__(embed_dim, dense_dim, num_heads, dropout, **kwargs)
        self.attention = self._attention("attention")
        self.norm_1 = layers.LayerNormalization(epsilon=1e-6, name="norm_1")
        self.norm_2 = layers.LayerNormalization(epsilon=1e-6, name="norm_2")

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.norm_1.build(input_shape)
        self.norm_2.build(input_shape)
        self._build_feed_forward(input_shape)
        super().build(input_shape)

    def call(self, inputs, mask=None, training=None):
        x = self.norm_1(inputs)
        x = inputs + self.drop(self.attention(x, x, query_mask=mask, value_mask=mask, training=training), training=training)
        return x + self._feed_forward(self.norm_2(x), training)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="dlcli")
class DecoderBlock(_Block):
    """Causal self-attention, attention over the encoded English, feed-forward; each pre-normed and
    residual. Called on `[target, encoded]` with mask `[target_mask, source_mask]`."""

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, dropout: float = 0.1, **kwargs):
        super().__init__(embed_dim, dense_dim, num_heads, dropout, **kwargs)
        self.self_attention = self._attention("self_attention")
        self.cross_attention = self._attention("cross_attention")
        self.norm_1 = layers.LayerNormalization(epsilon=1e-6, name="norm_1")
        self.norm_2 = layers.LayerNormalization(epsilon=1e-6, name="norm_2")
        self.norm_3 = layers.LayerNormalization(epsilon=1e-6, name="norm_3")

    def build(self, input_shape):
        target_shape, source_shape = input_shape
        self.self_attention.build(target_shape, target_shape)
        self.cross_attention.build(target_shape, source_shape)
        for norm in (self.norm_1, self.norm_2, self.norm_3):
            norm.build(target_shape)
        self._build_feed_forward(target_shape)
        super().build(input_shape)

    def call(self, inputs, mask=None, training=None):
        targets, encoded = inputs
        target_mask, source_mask = (None, None) if mask is None else mask
        x = self.norm_1(targets)
        x = targets + self.drop(self.self_attention(x, x, query_mask=target_mask, value_mask=target_mask,
                                                    use_causal_mask=True, training=training), training=training)
        y = self.norm_2(x)
        x = x + self.drop(self.cross_attention(y, encoded, query_mask=target_mask, value_mask=source_mask,
                                               training=training), training=training)
        return x + self._feed_forward(self.norm_3(x), training)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def build_subword_translator(input_shape=(40,), outputs: int = 8000, *, embed_dim: int = 256, dense_dim: int = 1024,
                             num_heads: int = 4, encoder_layers: int = 3, decoder_layers: int = 3,
                             dropout: float = 0.1, name: str = "subword_translator") -> keras.Model:
    """[source_ids, target_ids] -> next-token logits over the shared vocabulary of `outputs` tokens.

    `input_shape` is not used: the sinusoidal positions take sentences of any length (the command
    cuts them at `--sequence-length` tokens)."""
    if embed_dim % num_heads or embed_dim % 2:
        raise ValueError(f"the embedding size ({embed_dim}) must be even and a multiple of the heads ({num_heads})")
    source = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    target = keras.Input(shape=(None,), dtype="int32", name="target_ids")
    embedding = SharedEmbedding(outputs, embed_dim, name="embedding")
    source_mask, target_mask = ops.not_equal(source, 0), ops.not_equal(target, 0)
    x = layers.Dropout(dropout, name="source_dropout")(embedding(source))
    for index in range(encoder_layers):
        x = EncoderBlock(embed_dim, dense_dim, num_heads, dropout, name=f"encoder_{index}")(x, mask=source_mask)
    encoded = layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(x)
    y = layers.Dropout(dropout, name="target_dropout")(embedding(target))
    for index in range(decoder_layers):
        y = DecoderBlock(embed_dim, dense_dim, num_heads, dropout, name=f"decoder_{index}")(
            [y, encoded], mask=[target_mask, source_mask])
    y = layers.LayerNormalization(epsilon=1e-6, name="decoder_norm")(y)
    logits = embedding(y, reverse=True)
    return keras.Model([source, target], logits, name=name)


def is_subword_translator(model) -> bool:
    names = {layer.name for layer in getattr(model, "layers", [])}
    return {"embedding", "encoder_norm", "decoder_norm"} <= names


def architecture(model: keras.Model) -> dict:
    """The sizes that rebuild `model` (what the NumPy runtime needs besides the weights)."""
    encoders = [layer for layer in model.layers if isinstance(layer, EncoderBlock)]
    decoders = [layer for layer in model.layers if isinstance(layer, DecoderBlock)]
    block = encoders[0]
    return {"vocab_size": model.get_layer("embedding").vocab_size, "embed_dim": block.embed_dim,
            "dense_dim": block.dense_dim, "num_heads": block.num_heads,
            "encoder_layers": len(encoders), "decoder_layers": len(decoders)}


def export_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weight of `model` as float32 arrays under the names `dlcli.runtime` reads."""
    def dense(prefix, layer):
        return {f"{prefix}.kernel": layer.kernel, f"{prefix}.bias": layer.bias}

    def norm(prefix, layer):
        return {f"{prefix}.gamma": layer.gamma, f"{prefix}.beta": layer.beta}

    def attention(prefix, layer):
        return {**dense(f"{prefix}.query", layer._query_dense), **dense(f"{prefix}.key", layer._key_dense),
                **dense(f"{prefix}.value", layer._value_dense), **dense(f"{prefix}.output", layer._output_dense)}

    weights = {"embedding": model.get_layer("embedding").embeddings,
               **norm("encoder_norm", model.get_layer("encoder_norm")),
               **norm("decoder_norm", model.get_layer("decoder_norm"))}
    for layer in model.layers:
        if isinstance(layer, (EncoderBlock, DecoderBlock)):
            prefix = layer.name
            weights |= dense(f"{prefix}.feed_forward_in", layer.feed_forward_in)
            weights |= dense(f"{prefix}.feed_forward_out", layer.feed_forward_out)
            if isinstance(layer, EncoderBlock):
                weights |= attention(f"{prefix}.attention", layer.attention)
                weights |= norm(f"{prefix}.norm_1", layer.norm_1) | norm(f"{prefix}.norm_2", layer.norm_2)
            else:
                weights |= attention(f"{prefix}.self_attention", layer.self_attention)
                weights |= attention(f"{prefix}.cross_attention", layer.cross_attention)
                for index, part in enumerate((layer.norm_1, layer.norm_2, layer.norm_3), start=1):
                    weights |= norm(f"{prefix}.norm_{index}", part)
    return {name: np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32) for name, value in weights.items()}


@keras.saving.register_keras_serializable(package="dlcli")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then a cosine down to `peak * floor` at `total_steps`."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int, floor: float = 0.02):
        self.peak, self.warmup_steps, self.total_steps, self.floor = peak, warmup_steps, total_steps, floor

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = self.peak * (step + 1) / max(self.warmup_steps, 1)
        progress = ops.clip((step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 0.0, 1.0)
        cosine = self.peak * (self.floor + (1 - self.floor) * 0.5 * (1 + ops.cos(math.pi * progress)))
        return ops.where(step < self.warmup_steps, warmup, cosine)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps, "floor": self.floor}


@keras.saving.register_keras_serializable(package="dlcli")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Sparse cross-entropy on logits with label smoothing (the target keeps 1 - s, every token
    shares s); padding is left out through the logits' mask."""

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        labels = ops.expand_dims(ops.cast(y_true, "int32"), -1)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, labels, axis=-1), -1)
        return (1 - self.label_smoothing) * nll - self.label_smoothing * ops.mean(log_probs, axis=-1)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
