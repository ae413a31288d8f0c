"""The course's character-level language model, and sampling text from it.

The network takes character ids, one-hots them itself (so training never holds the course's
dense one-hot cube), runs one LSTM and a softmax over the character set. The character set and
the training window live in the `CharacterEncoding` layer's config, so a saved model generates
text with nothing else: `encoding(model)` gives them back.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import layers, ops

ENCODING_LAYER = "characters"


@keras.saving.register_keras_serializable(package="dlcli")
class CharacterEncoding(layers.Layer):
    """Character ids -> one-hot vectors; carries the model's character set and training window.

    `characters[i]` is the character with id i; `window` is the context length the model was
    trained on (generation feeds at most that many last characters).
    """

    def __init__(self, characters: str, window: int, **kwargs):
        super().__init__(**kwargs)
        self.characters = str(characters)
        self.window = int(window)

    def call(self, ids):
        return ops.one_hot(ops.cast(ids, "int32"), len(self.characters))

    def compute_output_shape(self, input_shape):
        return (*input_shape, len(self.characters))

    def get_config(self):
        return {**super().get_config(), "characters": self.characters, "window": self.window}


def build_char_lstm(input_shape: Sequence[int | None], outputs: int, *, characters: str, units: int = 128,
                    name: str = "char_lstm") -> keras.Model:
    """The course's model: LSTM(`units`) over one-hot characters, Dense(len(characters), softmax).

    `input_shape` is `(window,)`: the model is trained on windows of that many ids but accepts
    any length (its input is `(None,)`), so a short prompt needs no padding.
    """
    (window,) = input_shape
    if outputs != len(characters):
        raise ValueError(f"{outputs} outputs for {len(characters)} characters")
    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    x = CharacterEncoding(characters, window, name=ENCODING_LAYER)(ids)
    x = layers.LSTM(units, name="lstm")(x)
    probabilities = layers.Dense(outputs, activation="softmax", name="next_character")(x)
    return keras.Model(ids, probabilities, name=name)


def encoding(model: keras.Model) -> CharacterEncoding | None:
    """The model's `CharacterEncoding` layer, or None for a model that is not a character model."""
    found = [layer for layer in model.layers if isinstance(layer, CharacterEncoding)]
    return found[0] if found else None


def reweight(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The course's reweighting: exp(log(p) / T), normalised (rows of `probabilities`)."""
    logits = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-300)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def generate(model: keras.Model, prompt_ids: Sequence[int], length: int, temperatures: Sequence[float],
             rng: np.random.Generator) -> list[list[int]]:
    """`length` character ids after `prompt_ids` for each temperature, sampled as the course does.

    One forward pass per character serves every temperature at once (a batch of contexts, each
    the last `window` ids of its own text).
    """
    window = encoding(model).window
    texts = [list(prompt_ids) for _ in temperatures]
    for _ in range(length):
        context = np.array([text[-window:] for text in texts], dtype=np.int32)
        probabilities = np.asarray(model.predict_on_batch(context), dtype=np.float64)
        for text, row, temperature in zip(texts, probabilities, temperatures):
            text.append(int(rng.choice(len(row), p=reweight(row, temperature))))
    return [text[len(prompt_ids):] for text in texts]
