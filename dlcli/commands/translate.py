"""`dl translate`: English to Spanish with a Transformer, trained and used from the shell.

`dl translate --train` loads spa-eng (70/15/15 split from a fixed seed) and trains one of two
presets. `small` (the default): a cased byte-level BPE vocabulary learned on the training pairs,
a pre-norm Transformer with tied embeddings, label smoothing and a warm-up-then-cosine schedule,
exported to one .npz that `dlcli.runtime` translates with NumPy alone. `course`: the course's
lower-casing vectorisers and Transformer, unchanged. Both score the test split (token accuracy,
corpus BLEU and chrF). `dl translate "I love you."` translates with the newest trained run, else
the translator shipped in `dlcli/pretrained/`; `-` reads one sentence per line from stdin.
Stdout carries only the translations, one line per sentence.
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
EXPORTED = "translator.npz"  # the NumPy runtime's file in a small-preset run folder
TOKENIZER = "tokenizer.json"
BEAM_WIDTH = 4  # the beam that metrics.json's test_bleu_beam uses

# The course's choices: vocabulary 15,000, sequences of 20 tokens, embedding 256, feed-forward 2048,
# 8 heads, dropout 0.5 before the softmax, rmsprop, batch 64, 30 epochs.
COURSE = {"vocab_size": 15_000, "sequence_length": 20, "embed_dim": 256, "dense_dim": 2048, "heads": 8,
          "dropout": 0.5, "epochs": 30, "batch_size": 64, "optimizer": "rmsprop", "learning_rate": None}
# The default: sized to train in at most 3 hours on a 2-core CPU and to ship in at most 20 MB
# (docs/translate.md has the measurements behind it).
SMALL = {"vocab_size": 6000, "sequence_length": 40, "embed_dim": 256, "dense_dim": 512, "heads": 4,
         "encoder_layers": 3, "decoder_layers": 2, "dropout": 0.1, "label_smoothing": 0.1, "warmup_steps": 1000,
         "epochs": 18, "batch_size": 128, "optimizer": "adamw", "learning_rate": 1e-3}
PRESETS = {"small": SMALL, "course": COURSE}


def register(app: typer.Typer) -> None:
    app.command("translate", help="English to Spanish with a Transformer: translate sentences, or --train one (--preset small or course).")(
        with_common(translate))


def translate(
    sentences: Annotated[Optional[list[str]], typer.Argument(
        help="English sentences to translate; '-' reads one per line from stdin.", show_default=False)] = None,
    train: Annotated[bool, typer.Option("--train", help="Train a translation model on spa-eng instead of translating.")] = False,
    model: Annotated[Optional[Path], typer.Option(help="A translate run folder or a model file (translator.npz, or a course model.keras); default: the newest run, else the shipped translator.")] = None,
    beam: Annotated[int, typer.Option(help="Beam width; 1 is the course's greedy decoding.")] = 1,
    decoder: Annotated[str, typer.Option(help="fast (encoder once, compiled steps, batched) or course (the course's decode_sequence loop, for comparison).")] = "fast",
    preset: Annotated[str, typer.Option(help="small (cased subwords, the default) or course (the course's lower-cased words and sizes); the options below override it.")] = "small",
    vocab_size: Annotated[Optional[int], typer.Option(help="Subword vocabulary (small), or most frequent words kept per language (course).", rich_help_panel="Network", show_default=False)] = None,
    sequence_length: Annotated[Optional[int], typer.Option(help="Tokens per sentence (longer ones are cut).", rich_help_panel="Network", show_default=False)] = None,
    embed_dim: Annotated[Optional[int], typer.Option(help="Embedding size.", rich_help_panel="Network", show_default=False)] = None,
    dense_dim: Annotated[Optional[int], typer.Option(help="Units of the feed-forward projection.", rich_help_panel="Network", show_default=False)] = None,
    heads: Annotated[Optional[int], typer.Option(help="Attention heads.", rich_help_panel="Network", show_default=False)] = None,
    encoder_layers: Annotated[Optional[int], typer.Option(help="Encoder blocks (small preset).", rich_help_panel="Network", show_default=False)] = None,
    decoder_layers: Annotated[Optional[int], typer.Option(help="Decoder blocks (small preset).", rich_help_panel="Network", show_default=False)] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Dropout rate.", rich_help_panel="Network", show_default=False)] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(help="Share of the target's probability spread over every token (small preset).", rich_help_panel="Training", show_default=False)] = None,
    warmup_steps: Annotated[Optional[int], typer.Option(help="Steps of linear warm-up before the cosine decay (small preset).", rich_help_panel="Training", show_default=False)] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Training epochs.", rich_help_panel="Training", show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size (sentence pairs).", rich_help_panel="Training", show_default=False)] = None,
    optimizer: Annotated[Optional[str], typer.Option(help=f"One of {', '.join(OPTIMIZERS)}.", rich_help_panel="Training", show_default=False)] = None,
    learning_rate: Annotated[Optional[float], typer.Option(help="Learning rate (small: the peak of the schedule; course: default the optimizer's).", rich_help_panel="Training", show_default=False)] = None,
    bleu_sentences: Annotated[Optional[int], typer.Option(help="Translate only the first N test sentences for BLEU (default: all).", rich_help_panel="Training")] = None,
    common: GlobalOptions = None,
) -> None:
    """Train a translation Transformer, or translate English sentences to Spanish."""
    check_range("--beam", beam, 1)
    decoder = choice("decoder", decoder, DECODERS)
    if decoder == "course" and beam > 1:
        raise DlcliError("--decoder course is the course's greedy loop; drop --beam or use --decoder fast")
    if train:
        if sentences:
            raise DlcliError("--train takes no sentences; train first, then run: dl translate \"SENTENCE\"")
        given = {"vocab_size": vocab_size, "sequence_length": sequence_length, "embed_dim": embed_dim,
                 "dense_dim": dense_dim, "heads": heads, "encoder_layers": encoder_layers,
                 "decoder_layers": decoder_layers, "dropout": dropout, "label_smoothing": label_smoothing,
                 "warmup_steps": warmup_steps, "epochs": epochs, "batch_size": batch_size, "optimizer": optimizer,
                 "learning_rate": learning_rate}
        settings = preset_settings(choice("--preset", preset, tuple(PRESETS)), given)
        settings["bleu_sentences"] = bleu_sentences
        check_positive(**{option: settings.get(option) for option in (
            "vocab_size", "sequence_length", "embed_dim", "dense_dim", "heads", "encoder_layers", "decoder_layers",
            "epochs", "batch_size", "bleu_sentences")})
        check_range("--warmup-steps", settings.get("warmup_steps"), 0)
        check_range("--dropout", settings["dropout"], 0, 1)
        check_range("--label-smoothing", settings.get("label_smoothing"), 0, 1)
        check_range("--learning-rate", settings["learning_rate"], 0, low_open=True)
        settings["optimizer"] = choice("optimizer", settings["optimizer"], OPTIMIZERS)
        if settings["preset"] == "course":
            return train_translator(settings, common)
        if settings["embed_dim"] % settings["heads"] or settings["embed_dim"] % 2:
            raise DlcliError(f"--embed-dim {settings['embed_dim']} must be even and a multiple of --heads {settings['heads']}")
        return train_subword_translator(settings, common)
    if not sentences:
        raise DlcliError("nothing to translate: give sentences, '-' to read them from stdin, or --train to train a model")
    texts = read_sentences(sentences)
    path = model_file(model, common.runs_dir, quiet=common.quiet)
    translate_sentences(path, texts, beam=beam, decoder=decoder, common=common)


def preset_settings(preset: str, given: dict[str, Any]) -> dict[str, Any]:
    """The preset's values with the options given on the command line instead; the course preset
    refuses the options that only the small one has."""
    values = PRESETS[preset]
    extra = sorted(name for name, value in given.items() if value is not None and name not in values)
    if extra:
        names = ", ".join("--" + name.replace("_", "-") for name in extra)
        raise DlcliError(f"{names}: not an option of --preset {preset} (the course's one-block model); drop it or use --preset small")
    return {"preset": preset, **{name: value if given[name] is None else given[name] for name, value in values.items()}}


def read_sentences(arguments: list[str]) -> list[str]:
    """The sentences to translate, with each '-' replaced by stdin's lines. A blank stdin line stays
    an empty sentence (translated as an empty line, so that the output lines up with the input);
    a blank or wordless argument is refused."""
    texts: list[tuple[str, str, bool]] = []
    for position, argument in enumerate(arguments, start=1):
        if argument == "-":
            texts += [(f"line {number} of stdin", line, True) for number, line in enumerate(read_stdin().splitlines(), start=1)]
        else:
            texts.append((f"sentence {position}", argument, False))
    if not texts:
        raise DlcliError("stdin held no sentences; give one English sentence per line")
    for where, text, from_stdin in texts:
        try:
            text.encode("utf-8")  # argv's undecodable bytes arrive as lone surrogates
        except UnicodeEncodeError:
            raise DlcliError(f"{where} is not valid UTF-8 text; give English sentences in UTF-8") from None
        if from_stdin:
            continue
        if not text.strip():
            raise DlcliError(f"{where} is empty; give an English sentence to translate")
        if not any(character.isalnum() for character in text):
            raise DlcliError(f"{where} ({text.strip()!r}) has no words; give an English sentence to translate")
    return [text.strip() for _, text, _ in texts]


def read_stdin() -> str:
    """Standard input as UTF-8 text; a one-line error naming the line that is not UTF-8."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DlcliError(f"line {line} of stdin is not valid UTF-8 text; give English sentences in UTF-8") from None


def model_file(model: Optional[Path], runs_dir: Optional[Path], quiet: bool = False) -> Path:
    """The model a translation uses: `--model` (a translate run folder, a file inside one, or a model
    file anywhere), else the newest complete translate run, else the translator shipped with the
    package (said on stderr). A run's exported translator.npz is preferred to its model.keras."""
    from dlcli import pretrained
    from dlcli.run import loose_file, runs_root, trained_run

    path = None if model is None else Path(model)
    if loose_file(path):
        return path

    try:
        run = trained_run("translate", path, runs_dir, needs=(), quiet=quiet)
    except DlcliError:
        if model is not None:
            raise
        shipped = pretrained.translator()
        if shipped is None:
            raise DlcliError(f"no trained translation model under {runs_root(runs_dir)}, and no translator ships with "
                             "this version yet; train one with dl translate --train, or pass --model PATH") from None
        if not quiet:
            print(f"dl: no translate run under {runs_root(runs_dir)}; using the shipped translator {shipped} "
                  f"(its card: {pretrained.card(shipped)})", file=sys.stderr)
        return shipped
    if path is not None and path.is_file():
        return path
    for name in (EXPORTED, "model.keras"):
        if (run / name).is_file():
            return run / name
    raise DlcliError(f"{run} has no {EXPORTED} or model.keras; train again with 'dl translate --train'")


def load_translator(path: Path):
    """A `Translator` over the end-to-end model saved at `path`; one-line error for any other file."""
    import_tensorflow_quietly()
    from dlcli.models import transformer
    from dlcli.run import load_model

    saved = load_model(path, fix="pass a translate run folder or its model.keras")
    if not transformer.is_translator(saved):
        raise DlcliError(f"'{path}' is not a translation model (no vectorisers); pass a folder written by dl translate --train")
    return transformer.Translator(saved)


def load_exported(path: Path):
    """The NumPy translator exported at `path` (no TensorFlow); one-line error for any other file."""
    from dlcli import runtime

    try:
        return runtime.Translator.load(path)
    except ValueError as error:
        raise DlcliError(f"'{path}' is not an exported translator ({error}); pass a folder written by dl translate --train") from None


def decode(translator, texts: list[str], *, beam: int, decoder: str) -> list[str]:
    """Translations of `texts`: the course's loop, greedy (batched) or beam search."""
    from dlcli.models import transformer

    if decoder == "course":
        return [transformer.course_decode_sequence(translator, text) for text in texts]
    return translator.greedy(texts) if beam == 1 else translator.beam(texts, beam)


def translate_sentences(path: Path, texts: list[str], *, beam: int, decoder: str, common: GlobalOptions) -> None:
    """Print one translation per sentence on stdout (or one JSON object with --json); timing on stderr.
    Empty sentences (blank stdin lines) give empty lines and are not sent to the model."""
    from dlcli.run import run_of

    exported = path.suffix == ".npz"
    if exported and decoder == "course":
        raise DlcliError(f"--decoder course runs the course's Keras model; {path} is an exported subword translator")
    translator = load_exported(path) if exported else load_translator(path)
    started = time.perf_counter()
    wanted = [index for index, text in enumerate(texts) if text]
    translations = [""] * len(texts)
    if wanted:
        chosen = [texts[index] for index in wanted]
        results = translator.translate(chosen, beam=beam) if exported else decode(translator, chosen, beam=beam, decoder=decoder)
        for index, translation in zip(wanted, results):
            translations[index] = translation
    seconds = time.perf_counter() - started
    if common.json:
        print(json.dumps({"run": str(run_of(path)),
                          "pairs": [{"source": source, "translation": target} for source, target in zip(texts, translations)],
                          "translations": translations, "model": str(path), "beam": beam, "decoder": decoder,
                          "sentences": len(texts), "decode_seconds": round(seconds, 4),
                          "seconds_per_sentence": round(seconds / len(texts), 5)}, ensure_ascii=False))
        return
    if not common.quiet:
        print(f"{len(texts)} sentence(s) in {seconds:.2f} s ({1000 * seconds / len(texts):.1f} ms each) with {path}",
              file=sys.stderr)
    for translation in translations:
        print(translation)


def train_subword_translator(settings: dict[str, Any], common: GlobalOptions) -> None:
    """The default preset: learn the cased subword vocabulary on the training pairs, train the
    pre-norm Transformer on length-bucketed batches, export it, score the test split with the export."""
    with Session("translate", DATASET, settings, common) as session:
        import keras

        from dlcli import plots, runtime, subwords, training
        from dlcli.models import seq2seq
        from dlcli.atomic import atomic_path, write_text

        data, cut, held_out = load_split(session)
        english, spanish = list(data.x_train), [subwords.plain(text) for text in data.y_train]
        tokenizer = subword_vocabulary(session, english[:cut] + spanish[:cut], settings["vocab_size"])
        length = settings["sequence_length"]

        done = (training.read_checkpoint(session.run.checkpoints, "train") or {}).get("epoch", 0) if common.resume else 0

        def batches(source, target, shuffle=False):
            return bucketed(subwords.encode(tokenizer, source, length), subwords.target(tokenizer, target, length),
                            settings["batch_size"], seed=session.seed if shuffle else None, first_epoch=done)

        train, steps = batches(english[:cut], spanish[:cut], shuffle=True)
        validation = batches(english[cut:], spanish[cut:])[0] if held_out else None
        model = seq2seq.build_subword_translator(
            (length,), subwords.vocabulary_size(tokenizer), embed_dim=settings["embed_dim"],
            dense_dim=settings["dense_dim"], num_heads=settings["heads"], encoder_layers=settings["encoder_layers"],
            decoder_layers=settings["decoder_layers"], dropout=settings["dropout"])
        schedule = seq2seq.WarmupCosine(settings["learning_rate"], settings["warmup_steps"], steps * settings["epochs"])
        optimizer = type(keras.optimizers.get(settings["optimizer"]))(learning_rate=schedule)
        model.compile(optimizer=optimizer, loss=seq2seq.SmoothedCrossEntropy(settings["label_smoothing"]),
                      metrics=["accuracy"])
        history = session.fit(model, train, None, epochs=settings["epochs"], batch_size=None,
                              validation_data=validation, samples=cut)
        test_english, test_spanish = list(data.x_test), [subwords.plain(text) for text in data.y_test]
        results = training.evaluate(model, batches(test_english, test_spanish)[0], None, batch_size=None)

        config = {**seq2seq.architecture(model), "sequence_length": length, "preset": settings["preset"]}
        with atomic_path(session.run.path / EXPORTED) as temporary, open(temporary, "wb") as handle:
            runtime.save(handle, seq2seq.export_weights(model), config, subwords.to_json(tokenizer))
        translator = runtime.Translator.load(session.run.path / EXPORTED)
        english, references = test_english[: settings["bleu_sentences"]], test_spanish[: settings["bleu_sentences"]]
        greedy, greedy_seconds = timed(translator.translate, english)
        beamed, beam_seconds = timed(translator.translate, english, beam=BEAM_WIDTH)
        write_text(session.run.path / TRANSLATIONS_FILE, "english\treference\ttranslation\tbeam\n" + "".join(
            f"{e}\t{r}\t{g}\t{b}\n" for e, r, g, b in zip(english, references, greedy, beamed)))
        plots.training_curves(history, session.run.plots / "curves.png", title="spa-eng")
        session.display.table("Test translations (first 5)", ["english", "reference", "translation"],
                              [[e, r, o] for e, r, o in zip(english[:5], references[:5], greedy[:5])])
        metrics = {**results, **scores(greedy, references), **scores(beamed, references, suffix="_beam"),
                   "beam_width": BEAM_WIDTH, "bleu_sentences": len(english),
                   "decode_ms_per_sentence": round(1000 * greedy_seconds / len(english), 2),
                   "beam_ms_per_sentence": round(1000 * beam_seconds / len(english), 2),
                   "epochs": settings["epochs"], "train_pairs": cut, "validation_pairs": held_out,
                   "test_pairs": len(data.x_test), "vocabulary": subwords.vocabulary_size(tokenizer),
                   "exported_bytes": (session.run.path / EXPORTED).stat().st_size}
        session.finish(metrics, model=model, history=history, model_formats=("keras",))


def load_split(session: Session):
    """spa-eng and its course split: (dataset, training pairs, validation pairs after them)."""
    from dlcli.data import pairs

    data = session.load(DATASET)
    held_out = pairs.validation_count(len(data.x_train))
    if len(data.x_train) - held_out < 2 or len(data.x_test) < 1:
        raise DlcliError(f"spa-eng gave {len(data.x_train)} training and {len(data.x_test)} test pairs; use a larger --limit")
    return data, len(data.x_train) - held_out, held_out


def subword_vocabulary(session: Session, texts: list[str], size: int):
    """The run's tokenizer: learned on the training pairs and kept in the run folder (a resumed run reads it back)."""
    from dlcli import subwords
    from dlcli.atomic import write_text

    path = session.run.path / TOKENIZER
    if session.common.resume is not None and path.is_file():
        return subwords.from_json(path.read_text(encoding="utf-8"))
    tokenizer = subwords.learn(texts, size)
    write_text(path, subwords.to_json(tokenizer))
    return tokenizer


BUCKETS = (6, 8, 10, 12, 14, 17, 20, 25, 30)  # a batch holds pairs of similar lengths: little padding


def bucketed(source: list[list[int]], target: list[list[int]], batch_size: int, *, seed: int | None,
             first_epoch: int = 0):
    """A tf.data pipeline of ((source ids, target ids but the last), target ids but the first) batches
    of pairs of similar lengths, each cut to its longest pair; and how many batches one pass holds.

    With a `seed`, epoch e's order (pairs and batches) is drawn from (seed, e): a run resumed at
    `first_epoch` sees the batches an uninterrupted run would have seen.
    """
    import itertools

    import numpy as np
    import tensorflow as tf

    from dlcli import runtime

    bucket = np.searchsorted(np.array(BUCKETS), [max(len(s), len(t)) for s, t in zip(source, target)])
    steps = int(sum(-(-int(count) // batch_size) for count in np.bincount(bucket)))
    source_ids, target_ids = runtime.pad(source).astype(np.int32), runtime.pad(target).astype(np.int32)
    epochs = itertools.count(first_epoch)

    def batches():
        rng = None if seed is None else np.random.default_rng([seed, next(epochs)])
        order = np.arange(len(bucket)) if rng is None else rng.permutation(len(bucket))
        order = order[np.argsort(bucket[order], kind="stable")]
        groups = [rows[begin:begin + batch_size] for key in np.unique(bucket)
                  for rows in [order[bucket[order] == key]] for begin in range(0, len(rows), batch_size)]
        for index in (range(len(groups)) if rng is None else rng.permutation(len(groups))):
            s, t = source_ids[groups[index]], target_ids[groups[index]]
            s, t = s[:, :max(1, int((s != 0).sum(1).max()))], t[:, :int((t != 0).sum(1).max())]
            yield (s, t[:, :-1]), t[:, 1:]

    spec = tf.TensorSpec([None, None], tf.int32)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=((spec, spec), spec))
    # a known length: Keras then neither guesses the epoch's end nor warns that the input "ran out of data"
    return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2), steps


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def scores(outputs: list[str], references: list[str], suffix: str = "") -> dict[str, float]:
    """sacrebleu's corpus BLEU and chrF with its defaults (cased, its 13a tokenizer)."""
    import sacrebleu

    return {f"test_bleu{suffix}": round(float(sacrebleu.corpus_bleu(outputs, [references]).score), 2),
            f"test_chrf{suffix}": round(float(sacrebleu.corpus_chrf(outputs, [references]).score), 2)}


def train_translator(settings: dict[str, Any], common: GlobalOptions) -> None:
    """The course's training exercise: vectorise, fit with teacher forcing, score the test split, save."""
    with Session("translate", DATASET, settings, common) as session:
        from dlcli import models, plots, training
        from dlcli.atomic import write_text
        from dlcli.models import transformer

        data, cut, held_out = load_split(session)
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
