"""The exported subword translator, run with NumPy: no TensorFlow, no Keras at translation time.

`dl translate --train` exports its model (`dlcli.models.seq2seq`) to one `.npz` file: every
weight as float32, the sizes, and the tokenizer's JSON. `Translator` runs the same arithmetic as
the Keras layers (pre-norm blocks, multi-head attention, tied output) on it: the English encoded
once per batch, then one token per step with the decoder's keys and values cached, greedy or
beam search, the sentences of a batch sorted by length. Importing this module costs NumPy and
`tokenizers` only, which is why `dl translate "..."` starts in a fraction of TensorFlow's import.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dlcli import subwords

FORMAT = "dlcli-translator-1"
EPSILON = 1e-6  # the layer norms' (seq2seq uses the same)
NEGATIVE = -1e9  # Keras' masked-softmax adder for float32


def save(path: Path, weights: dict[str, np.ndarray], config: dict[str, Any], tokenizer_json: str) -> None:
    """Write the weights, the sizes and the tokenizer into one .npz file at `path` (a file object or path)."""
    np.savez(path, **weights, __config__=np.array(json.dumps({"format": FORMAT, **config})),
             __tokenizer__=np.array(tokenizer_json))


def is_exported(path: Path) -> bool:
    """Whether `path` is an .npz that holds an exported translator."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            return "__config__" in saved.files and json.loads(str(saved["__config__"])).get("format") == FORMAT
    except (OSError, ValueError, KeyError):
        return False


class Translator:
    """English to Spanish with exported weights: `translate(texts, beam=1)`."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict[str, Any], tokenizer):
        self.weights = weights
        self.config = config
        self.tokenizer = tokenizer
        self.heads = int(config["num_heads"])
        self.embed_dim = int(config["embed_dim"])
        self.max_length = int(config["sequence_length"])
        self.embedding = weights["embedding"]
        self.output_table = np.ascontiguousarray(self.embedding.T)

    @classmethod
    def load(cls, path: Path) -> "Translator":
        """Read an exported translator; ValueError with the reason if the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                files = set(saved.files)
                if "__config__" not in files or "__tokenizer__" not in files:
                    raise ValueError("no translator inside (no __config__ or __tokenizer__)")
                config = json.loads(str(saved["__config__"]))
                tokenizer_json = str(saved["__tokenizer__"])
                weights = {name: saved[name].astype(np.float32) for name in files - {"__config__", "__tokenizer__"}}
        except (OSError, EOFError) as error:
            raise ValueError(f"unreadable ({error})") from None
        if config.get("format") != FORMAT:
            raise ValueError(f"format {config.get('format')!r}, expected {FORMAT!r}")
        return cls(weights, config, subwords.from_json(tokenizer_json))

    # -- the network -------------------------------------------------------------------------

    def _dense(self, name: str, x: np.ndarray) -> np.ndarray:
        kernel = self.weights[f"{name}.kernel"]
        return x @ kernel.reshape(x.shape[-1], -1) + self.weights[f"{name}.bias"].reshape(-1)

    def _norm(self, name: str, x: np.ndarray) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + EPSILON) * self.weights[f"{name}.gamma"] + self.weights[f"{name}.beta"]

    def _split(self, x: np.ndarray) -> np.ndarray:
        """(batch, length, heads * key) -> (batch, heads, length, key)."""
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.heads, -1).transpose(0, 2, 1, 3)

    def _keys_values(self, name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._split(self._dense(f"{name}.key", x)), self._split(self._dense(f"{name}.value", x))

    def _attend(self, name: str, x: np.ndarray, keys: np.ndarray, values: np.ndarray, adder: np.ndarray | None) -> np.ndarray:
        """Multi-head attention of `x`'s queries over cached keys and values; `adder` masks (0 or -1e9)."""
        query = self._split(self._dense(f"{name}.query", x)) / math.sqrt(keys.shape[-1])
        scores = query @ keys.transpose(0, 1, 3, 2)
        if adder is not None:
            scores = scores + adder
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        mixed = (scores / scores.sum(-1, keepdims=True)) @ values  # (batch, heads, length, key)
        batch, _, length, _ = mixed.shape
        return self._dense(f"{name}.output", mixed.transpose(0, 2, 1, 3).reshape(batch, length, -1))

    def _feed_forward(self, name: str, x: np.ndarray) -> np.ndarray:
        return self._dense(f"{name}.feed_forward_out", np.maximum(self._dense(f"{name}.feed_forward_in", x), 0))

    def _embed(self, ids: np.ndarray, offset: int = 0) -> np.ndarray:
        return self.embedding[ids] * math.sqrt(self.embed_dim) + sinusoids(offset + ids.shape[1], self.embed_dim)[offset:]

    def encode(self, source_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The encoded English (batch, length, dim) and its key adder (batch, 1, 1, length)."""
        adder = np.where(source_ids == 0, NEGATIVE, 0.0).astype(np.float32)[:, None, None, :]
        x = self._embed(source_ids)
        for index in range(int(self.config["encoder_layers"])):
            name = f"encoder_{index}"
            normed = self._norm(f"{name}.norm_1", x)
            x = x + self._attend(f"{name}.attention", normed, *self._keys_values(f"{name}.attention", normed), adder)
            x = x + self._feed_forward(name, self._norm(f"{name}.norm_2", x))
        return self._norm("encoder_norm", x), adder

    def _decode(self, ids: np.ndarray, offset: int, cache: list[dict[str, np.ndarray]], causal: bool) -> np.ndarray:
        """Run the decoder on target `ids` at positions offset.. , extending each layer's cached
        self-attention keys and values; return the next-token logits of every position."""
        x = self._embed(ids, offset)
        length = ids.shape[1]
        adder = None
        if causal and length > 1:
            future = np.triu(np.ones((length, offset + length), dtype=bool), k=offset + 1)
            adder = np.where(future, NEGATIVE, 0.0).astype(np.float32)
        for index, layer in enumerate(cache):
            name = f"decoder_{index}"
            normed = self._norm(f"{name}.norm_1", x)
            keys, values = self._keys_values(f"{name}.self_attention", normed)
            if "keys" in layer:
                keys, values = np.concatenate([layer["keys"], keys], 2), np.concatenate([layer["values"], values], 2)
            layer["keys"], layer["values"] = keys, values
            x = x + self._attend(f"{name}.self_attention", normed, keys, values, adder)
            x = x + self._attend(f"{name}.cross_attention", self._norm(f"{name}.norm_2", x),
                                 layer["source_keys"], layer["source_values"], layer["source_adder"])
            x = x + self._feed_forward(name, self._norm(f"{name}.norm_3", x))
        return self._norm("decoder_norm", x) @ self.output_table

    def _cache(self, encoded: np.ndarray, adder: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per decoder layer: the cross-attention keys and values of the encoded English (computed once)."""
        cache = []
        for index in range(int(self.config["decoder_layers"])):
            keys, values = self._keys_values(f"decoder_{index}.cross_attention", encoded)
            cache.append({"source_keys": keys, "source_values": values, "source_adder": adder})
        return cache

    def logits(self, source_ids: np.ndarray, target_ids: np.ndarray) -> np.ndarray:
        """Teacher-forced next-token logits (batch, target length, vocabulary), as the Keras model gives
        at the unpadded target positions."""
        source_ids, target_ids = np.asarray(source_ids), np.asarray(target_ids)
        encoded, adder = self.encode(source_ids)
        return self._decode(target_ids, 0, self._cache(encoded, adder), causal=True)

    # -- decoding ----------------------------------------------------------------------------

    def _step_log_probs(self, tokens: np.ndarray, step: int, cache) -> np.ndarray:
        logits = self._decode(tokens[:, None], step, cache, causal=False)[:, 0]
        logits[:, subwords.PAD_ID] = logits[:, subwords.START_ID] = -np.inf  # never chosen
        shifted = logits - logits.max(-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))

    def greedy_ids(self, source_ids: np.ndarray) -> np.ndarray:
        """Greedy decoding of a padded batch: (batch, steps) token ids, each row ending at [end] or the limit."""
        encoded, adder = self.encode(source_ids)
        cache = self._cache(encoded, adder)
        batch = len(source_ids)
        tokens = np.full(batch, subwords.START_ID)
        out, done = [], np.zeros(batch, dtype=bool)
        for step in range(self.max_length):
            chosen = self._step_log_probs(tokens, step, cache).argmax(-1)
            chosen[done] = subwords.PAD_ID
            out.append(chosen)
            done |= chosen == subwords.END_ID
            if done.all():
                break
            tokens = chosen
        return np.stack(out, axis=1)

    def beam_ids(self, source_ids: np.ndarray, width: int, length_penalty: float = 1.0) -> list[list[int]]:
        """Beam search of `width` hypotheses per sentence; finished ones are ranked by log-probability
        divided by length ** `length_penalty`. Returns each sentence's best ids."""
        batch = len(source_ids)
        encoded, adder = self.encode(source_ids)
        rows = np.repeat(np.arange(batch), width)
        cache = self._cache(encoded[rows], adder[rows])
        scores = np.full((batch, width), -np.inf)
        scores[:, 0] = 0.0
        prefixes = [[] for _ in range(batch * width)]
        tokens = np.full(batch * width, subwords.START_ID)
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
        for step in range(1, self.max_length + 1):
            log_probs = self._step_log_probs(tokens, step - 1, cache)
            vocabulary = log_probs.shape[1]
            totals = (scores.reshape(-1, 1) + log_probs).reshape(batch, -1)
            best = _top(totals, 2 * width)
            parents, new_tokens = np.arange(batch * width), np.full(batch * width, subwords.PAD_ID)
            new_scores, new_prefixes = np.full((batch, width), -np.inf), list(prefixes)
            for sentence in range(batch):
                if len(finished[sentence]) >= width:
                    continue
                alive = 0
                for candidate in best[sentence]:
                    total = totals[sentence, candidate]
                    if not np.isfinite(total) or alive == width:
                        break
                    beam, token = divmod(int(candidate), vocabulary)
                    parent = sentence * width + beam
                    if token == subwords.END_ID or step == self.max_length:
                        finished[sentence].append((total / step ** length_penalty, prefixes[parent] + [token]))
                        continue
                    row = sentence * width + alive
                    parents[row], new_tokens[row], new_scores[sentence, alive] = parent, token, total
                    new_prefixes[row] = prefixes[parent] + [token]
                    alive += 1
            if all(len(done) >= width for done in finished) or step == self.max_length:
                break
            for layer in cache:
                layer["keys"], layer["values"] = layer["keys"][parents], layer["values"][parents]
            scores, prefixes, tokens = new_scores, new_prefixes, new_tokens
        return [max(done, key=lambda item: item[0])[1] for done in finished]

    def source_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return subwords.encode(self.tokenizer, texts, self.max_length)

    def translate(self, texts: Sequence[str], beam: int = 1, batch_size: int = 64) -> list[str]:
        """Spanish for each English text, in order; batches of similar lengths."""
        ids = self.source_ids(texts)
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        out: list[str] = [""] * len(ids)
        for begin in range(0, len(order), batch_size):
            chosen = order[begin:begin + batch_size]
            padded = pad([ids[index] for index in chosen])
            rows = self.greedy_ids(padded) if beam == 1 else self.beam_ids(padded, beam)
            for index, text in zip(chosen, subwords.decode(self.tokenizer, rows)):
                out[index] = text
        return out


def _top(values: np.ndarray, count: int) -> np.ndarray:
    """The column indices of each row's `count` largest values, largest first, without sorting whole
    rows (a beam step picks among width x vocabulary candidates per sentence; a full sort was half of
    beam search's time). The same as a stable descending argsort's first `count`, except which of
    several exactly equal values at the cut is kept (ties among the kept ones: lower index first)."""
    count = min(count, values.shape[1])
    part = np.argpartition(-values, count - 1, axis=1)[:, :count]
    order = np.lexsort((part, -np.take_along_axis(values, part, 1)), axis=1)
    return np.take_along_axis(part, order, 1)


def pad(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Rows of ids padded with 0 to the longest (at least one column)."""
    width = max([1, *map(len, rows)])
    out = np.zeros((len(rows), width), dtype=np.int64)
    for index, row in enumerate(rows):
        out[index, :len(row)] = row
    return out


def sinusoids(length: int, dim: int) -> np.ndarray:
    """NumPy twin of `seq2seq.sinusoids`."""
    half = dim // 2
    positions = np.arange(length, dtype=np.float32)[:, None]
    frequencies = np.exp(np.arange(half, dtype=np.float32) * np.float32(-np.log(10_000.0) / max(half - 1, 1)))[None, :]
    angles = positions * frequencies
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1).astype(np.float32)
