"""`dl translate`: the course's English-to-Spanish Transformer, trained and used from the shell.

`dl translate --train` loads spa-eng (70/15/15 split from a fixed seed), adapts the two
vectorisers on the training pairs, trains the course's Transformer (teacher forcing: the Spanish
so far in, the next token out), scores the test split (token accuracy and corpus BLEU of greedy
translations) and saves one model that holds the vectorisers too. `dl translate "I love you."`
translates with the newest trained model: greedy by default, `--beam K` for beam search; `-`
reads one sentence per line from stdin. Stdout carries only the translations, one per sentence.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlcli.checks import check_positive, check_range, choice
from dlcli.choices import OPTIMIZERS
from dlcli.commands.common import with_common
from dlcli.errors import DlcliError
from dlcli.session import GlobalOptions, Session, import_tensorflow_quietly

DATASET = "spa-eng"
DECODERS = ("fast", "course")
TRANSLATIONS_FILE = "test_translations.tsv"

# The course's choices: vocabulary 15,000, sequences of 20 tokens, embedding 256, feed-forward 2048,
# 8 heads, dropout 0.5 before the softmax, rmsprop, batch 64, 30 epochs.
COURSE = {"vocab_size": 15_000, "sequence_length": 20, "embed_dim": 256, "dense_dim": 2048, "heads": 8,
          "dropout": 0.5, "epochs": 30, "batch_size": 64, "optimizer": "rmsprop"}


def register(app: typer.Typer) -> None:
    app.command("translate", help="English to Spanish with the course's Transformer: --train, then translate sentences.")(
        with_common(translate))


def translate(
    sentences: Annotated[Optional[list[str]], typer.Argument(
        help="English sentences to translate; '-' reads one per line from stdin.", show_default=False)] = None,
    train: Annotated[bool, typer.Option("--train", help="Train a translation model on spa-eng instead of translating.")] = False,
    model: Annotated[Optional[Path], typer.Option(help="A translate run folder or its model.keras (default: the newest run).")] = None,
    beam: Annotated[int, typer.Option(help="Beam width; 1 is the course's greedy decoding.")] = 1,
    decoder: Annotated[str, typer.Option(help="fast (encoder once, compiled steps, batched) or course (the course's decode_sequence loop, for comparison).")] = "fast",
    vocab_size: Annotated[int, typer.Option(help="Most frequent words kept per language.", rich_help_panel="Network")] = COURSE["vocab_size"],
    sequence_length: Annotated[int, typer.Option(help="Tokens per sentence (longer ones are cut).", rich_help_panel="Network")] = COURSE["sequence_length"],
    embed_dim: Annotated[int, typer.Option(help="Embedding size (also each attention head's key size).", rich_help_panel="Network")] = COURSE["embed_dim"],
    dense_dim: Annotated[int, typer.Option(help="Units of the feed-forward projection.", rich_help_panel="Network")] = COURSE["dense_dim"],
    heads: Annotated[int, typer.Option(help="Attention heads.", rich_help_panel="Network")] = COURSE["heads"],
    dropout: Annotated[float, typer.Option(help="Dropout rate before the output layer, 0 to 1.", rich_help_panel="Network")] = COURSE["dropout"],
    epochs: Annotated[int, typer.Option(help="Training epochs.", rich_help_panel="Training")] = COURSE["epochs"],
    batch_size: Annotated[int, typer.Option(help="Batch size.", rich_help_panel="Training")] = COURSE["batch_size"],
    optimizer: Annotated[str, typer.Option(help=f"One of {', '.join(OPTIMIZERS)}.", rich_help_panel="Training")] = COURSE["optimizer"],
    learning_rate: Annotated[Optional[float], typer.Option(help="Learning rate (default: the optimizer's).", rich_help_panel="Training")] = None,
    bleu_sentences: Annotated[Optional[int], typer.Option(help="Translate only the first N test sentences for BLEU (default: all).", rich_help_panel="Training")] = None,
    common: GlobalOptions = None,
) -> None:
    """Train the course's translation Transformer, or translate English sentences to Spanish."""
    check_range("--beam", beam, 1)
    decoder = choice("decoder", decoder, DECODERS)
    if decoder == "course" and beam > 1:
        raise DlcliError("--decoder course is the course's greedy loop; drop --beam or use --decoder fast")
    if train:
        if sentences:
            raise DlcliError("--train takes no sentences; train first, then run: dl translate \"SENTENCE\"")
        settings = {"vocab_size": vocab_size, "sequence_length": sequence_length, "embed_dim": embed_dim,
                    "dense_dim": dense_dim, "heads": heads, "dropout": dropout, "epochs": epochs,
                    "batch_size": batch_size, "optimizer": choice("optimizer", optimizer, OPTIMIZERS),
                    "learning_rate": learning_rate, "bleu_sentences": bleu_sentences}
        check_positive(**{option: settings[option] for option in ("vocab_size", "sequence_length", "embed_dim",
                                                                   "dense_dim", "heads", "epochs", "batch_size", "bleu_sentences")})
        check_range("--dropout", dropout, 0, 1)
        check_range("--learning-rate", learning_rate, 0, low_open=True)
        return train_translator(settings, common)
    if not sentences:
        raise DlcliError("nothing to translate: give sentences, '-' to read them from stdin, or --train to train a model")
    texts = read_sentences(sentences)
    path = model_file(model, common.runs_dir)
    translate_sentences(path, texts, beam=beam, decoder=decoder, common=common)


def read_sentences(arguments: list[str]) -> list[str]:
    """The sentences to translate, with each '-' replaced by stdin's lines; refuses empty ones."""
    texts: list[tuple[str, str]] = []
    for position, argument in enumerate(arguments, start=1):
        if argument == "-":
            texts += [(f"line {number} of stdin", line) for number, line in enumerate(read_stdin().splitlines(), start=1)]
        else:
            texts.append((f"sentence {position}", argument))
    if not texts:
        raise DlcliError("stdin held no sentences; give one English sentence per line")
    for where, text in texts:
        try:
            text.encode("utf-8")  # argv's undecodable bytes arrive as lone surrogates
        except UnicodeEncodeError:
            raise DlcliError(f"{where} is not valid UTF-8 text; give English sentences in UTF-8") from None
        if not text.strip():
            raise DlcliError(f"{where} is empty; give an English sentence to translate")
        if not any(character.isalnum() for character in text):
            raise DlcliError(f"{where} ({text.strip()!r}) has no words; give an English sentence to translate")
    return [text.strip() for _, text in texts]


def read_stdin() -> str:
    """Standard input as UTF-8 text; a one-line error naming the line that is not UTF-8."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DlcliError(f"line {line} of stdin is not valid UTF-8 text; give English sentences in UTF-8") from None


def model_file(model: Optional[Path], runs_dir: Optional[Path]) -> Path:
    """The model.keras of a translate run (`--model`, else the newest complete one), or a model file
    given by path outside any run folder."""
    from dlcli.run import model_file as trained_model_file
    from dlcli.run import runs_root

    try:
        return trained_model_file("translate", model, runs_dir)
    except DlcliError:
        if model is not None:
            raise
        raise DlcliError(f"no trained translation model under {runs_root(runs_dir)}; "
                         "train one with dl translate --train, or pass --model PATH") from None


def load_translator(path: Path):
    """A `Translator` over the end-to-end model saved at `path`; one-line error for any other file."""
    import_tensorflow_quietly()
    from dlcli.models import transformer
    from dlcli.run import load_model

    saved = load_model(path, fix="pass a translate run folder or its model.keras")
    if not transformer.is_translator(saved):
        raise DlcliError(f"'{path}' is not a translation model (no vectorisers); pass a folder written by dl translate --train")
    return transformer.Translator(saved)


def decode(translator, texts: list[str], *, beam: int, decoder: str) -> list[str]:
    """Translations of `texts`: the course's loop, greedy (batched) or beam search."""
    from dlcli.models import transformer

    if decoder == "course":
        return [transformer.course_decode_sequence(translator, text) for text in texts]
    return translator.greedy(texts) if beam == 1 else translator.beam(texts, beam)


def translate_sentences(path: Path, texts: list[str], *, beam: int, decoder: str, common: GlobalOptions) -> None:
    """Print one translation per sentence on stdout (or one JSON object with --json); timing on stderr."""
    from dlcli.run import run_of

    translator = load_translator(path)
    started = time.perf_counter()
    translations = decode(translator, texts, beam=beam, decoder=decoder)
    seconds = time.perf_counter() - started
    if common.json:
        print(json.dumps({"run": str(run_of(path)), "translations": translations, "model": str(path), "beam": beam,
                          "decoder": decoder, "sentences": len(texts), "decode_seconds": round(seconds, 4),
                          "seconds_per_sentence": round(seconds / len(texts), 5)}, ensure_ascii=False))
        return
    if not common.quiet:
        print(f"{len(texts)} sentence(s) in {seconds:.2f} s ({1000 * seconds / len(texts):.1f} ms each) with {path}",
              file=sys.stderr)
    for translation in translations:
        print(translation)


def train_translator(settings: dict[str, Any], common: GlobalOptions) -> None:
    """The course's training exercise: vectorise, fit with teacher forcing, score the test split, save."""
    with Session("translate", DATASET, settings, common) as session:
        from dlcli import models, plots, training
        from dlcli.atomic import write_text
        from dlcli.data import pairs
        from dlcli.models import transformer

        data = session.load(DATASET)
        held_out = pairs.validation_count(len(data.x_train))
        if len(data.x_train) - held_out < 2 or len(data.x_test) < 1:
            raise DlcliError(f"spa-eng gave {len(data.x_train)} training and {len(data.x_test)} test pairs; use a larger --limit")
        cut = len(data.x_train) - held_out
        model = models.build("translator", (settings["sequence_length"],), settings["vocab_size"],
                             source_texts=data.x_train[:cut], target_texts=data.y_train[:cut],
                             embed_dim=settings["embed_dim"], dense_dim=settings["dense_dim"],
                             num_heads=settings["heads"], dropout=settings["dropout"])
        network = training.compile_model(transformer.sequence_to_sequence(model), optimizer=settings["optimizer"],
                                         learning_rate=settings["learning_rate"],
                                         loss="sparse_categorical_crossentropy", metrics=("accuracy",))
        translator = transformer.Translator(model)
        x, y = teacher_forcing(translator, data.x_train[:cut], data.y_train[:cut])
        validation = teacher_forcing(translator, data.x_train[cut:], data.y_train[cut:]) if held_out else None
        history = session.fit(network, x, y, epochs=settings["epochs"], batch_size=settings["batch_size"],
                              validation_data=validation, samples=cut)
        results = training.evaluate(network, *teacher_forcing(translator, data.x_test, data.y_test))

        english = list(data.x_test[: settings["bleu_sentences"]])
        references = [transformer.words_of(text) for text in data.y_test[: len(english)]]
        translator.greedy(english[:1])  # traces the compiled steps outside the timing
        started = time.perf_counter()
        outputs = translator.greedy(english)
        decode_seconds = time.perf_counter() - started
        bleu = corpus_bleu(translator, outputs, references)
        write_text(session.run.path / TRANSLATIONS_FILE, "english\treference\ttranslation\n" + "".join(
            f"{e}\t{r}\t{o}\n" for e, r, o in zip(english, references, outputs)))
        plots.training_curves(history, session.run.plots / "curves.png", title="spa-eng")
        session.display.table("Test translations (first 5)", ["english", "reference", "translation"],
                              [[e, r, o] for e, r, o in zip(english[:5], references[:5], outputs[:5])])
        metrics = {**results, "test_bleu": round(bleu, 2), "bleu_sentences": len(english),
                   "decode_ms_per_sentence": round(1000 * decode_seconds / len(english), 2),
                   "epochs": settings["epochs"], "train_pairs": cut, "validation_pairs": held_out,
                   "test_pairs": len(data.x_test), "english_vocabulary": len(translator.source_vectorization.get_vocabulary()),
                   "spanish_vocabulary": len(translator.vocabulary)}
        # Only model.keras: the legacy HDF5 format cannot hold the vectorisers' vocabularies and
        # standardisation, so a model.h5 would not translate once reloaded.
        session.finish(metrics, model=model, history=history, model_formats=("keras",))


def teacher_forcing(translator, english, spanish):
    """The course's `format_dataset`: ([english ids, spanish ids but the last], spanish ids but the first)."""
    source = translator.source_ids(english).numpy()
    target = translator.target_vectorization(list(spanish)).numpy().astype("int64")
    return [source, target[:, :-1]], target[:, 1:]


def corpus_bleu(translator, outputs: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU of the outputs against the references, both standardised as the
    model sees Spanish (lower case, no punctuation), since the model can only output such words."""
    import sacrebleu

    from dlcli.models import transformer

    standard = [text.decode("utf-8") for text in transformer.custom_standardization(references).numpy()]
    return float(sacrebleu.corpus_bleu(outputs, [[" ".join(text.split()) for text in standard]]).score)
