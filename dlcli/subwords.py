"""Cased subword vocabularies for translation: byte-level BPE from Hugging Face `tokenizers`.

One vocabulary serves both languages (the translator ties its embeddings). Byte-level BPE keeps
every character (capitals, accents, ¿ ¡ and punctuation), never needs an unknown token, and
decodes to exactly the text it encoded. Ids 0, 1, 2 are padding, start and end. No TensorFlow:
the NumPy runtime uses this module to translate.
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

PAD, START, END = "[pad]", "[start]", "[end]"
SPECIALS = (PAD, START, END)
PAD_ID, START_ID, END_ID = 0, 1, 2


def learn(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer of at most `vocab_size` tokens learned on `texts` (NFC, cased)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def from_json(text: str):
    """A tokenizer from its JSON (as `to_json` wrote it); ValueError if it is not one of ours."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_str(text)
    except Exception as error:  # noqa: BLE001 - the library raises its own exception types
        raise ValueError(f"not a tokenizer ({error})") from None
    if [tokenizer.token_to_id(token) for token in SPECIALS] != [PAD_ID, START_ID, END_ID]:
        raise ValueError("the tokenizer has no [pad] [start] [end] tokens at ids 0, 1, 2")
    return tokenizer


def to_json(tokenizer) -> str:
    return tokenizer.to_str()


def encode(tokenizer, texts: Sequence[str], length: int | None = None) -> list[list[int]]:
    """Token ids of each text (NFC, no specials), cut to `length` tokens when given."""
    rows = [encoding.ids for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)]
    return rows if length is None else [row[:length] for row in rows]


def target(tokenizer, texts: Sequence[str], length: int) -> list[list[int]]:
    """`[start] ids [end]` of each Spanish text, its ids cut so that the whole is at most `length + 1`."""
    return [[START_ID, *row, END_ID] for row in encode(tokenizer, texts, length - 1)]


def decode(tokenizer, rows: Iterable[Sequence[int]]) -> list[str]:
    """Text of each row of ids, up to its first [end]; padding and start marks dropped."""
    cleaned = []
    for row in rows:
        ids = []
        for token in row:
            token = int(token)
            if token == END_ID:
                break
            if token > END_ID:
                ids.append(token)
        cleaned.append(ids)
    return [text.strip() for text in tokenizer.decode_batch(cleaned, skip_special_tokens=True)]


def plain(text: str) -> str:
    """A corpus Spanish sentence without the course's `[start] ... [end]` wrapping."""
    words = text.split()
    if words[:1] == [START]:
        words = words[1:]
    if words[-1:] == [END]:
        words = words[:-1]
    return " ".join(words)


def vocabulary_size(tokenizer) -> int:
    return tokenizer.get_vocab_size()


def describe(tokenizer) -> str:
    """One line for a card: the kind and size of the vocabulary."""
    model = json.loads(tokenizer.to_str())["model"]["type"]
    return f"byte-level {model}, {tokenizer.get_vocab_size():,} tokens shared by English and Spanish"
