"""`dl textgen`: the course's character-level LSTM that learns to write like Nietzsche (or any text).

Training cuts windows of 60 characters every 3 characters (the course's `maxlen` and `step`) out
of the encoded text, batch by batch in a tf.data pipeline: the course's one-hot cube (windows x
60 x characters) never exists, the network one-hots its input itself. After each epoch it
continues a random 60-character seed from the text at temperatures 0.2, 0.5, 1.0 and 1.2 (the
course's reweighting) and appends the samples to samples.md. `--model RUN --prompt TEXT`
continues a prompt with a saved model: the character set travels inside it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlcli.checks import check_range, choice
from dlcli.commands.common import with_common
from dlcli.commands.families.sequences import SampleBook, comma_separated, decode, limited
from dlcli.errors import DlcliError
from dlcli.run import load_model, model_file, run_of
from dlcli.session import GlobalOptions, Session, import_tensorflow_quietly

DATASETS = ("nietzsche",)
COURSE_TEMPERATURES = "0.2,0.5,1.0,1.2"
SHOWN_TEMPERATURE = 0.5  # the one sample shown live after each epoch


def register(app: typer.Typer) -> None:
    app.command("textgen", help="Character-level LSTM text generation: train on Nietzsche or any text, or continue a prompt.")(
        with_common(textgen))


def textgen(
    dataset: Annotated[str, typer.Argument(help="The course's corpus: nietzsche (ignored with --text).")] = "nietzsche",
    text: Annotated[Optional[Path], typer.Option("--text", help="Train on this UTF-8 text file instead.", rich_help_panel="Data")] = None,
    keep_case: Annotated[bool, typer.Option("--keep-case", help="With --text: keep upper case (the course lowercases).", rich_help_panel="Data")] = False,
    window: Annotated[int, typer.Option(help="Characters in each input window (the course's maxlen).", rich_help_panel="Data")] = 60,
    step: Annotated[int, typer.Option(help="Characters between window starts.", rich_help_panel="Data")] = 3,
    units: Annotated[int, typer.Option(help="LSTM units.", rich_help_panel="Network")] = 128,
    epochs: Annotated[int, typer.Option(help="Training epochs (the course loops 59).", rich_help_panel="Training")] = 59,
    batch_size: Annotated[int, typer.Option(help="Batch size.", rich_help_panel="Training")] = 128,
    learning_rate: Annotated[float, typer.Option(help="RMSprop learning rate.", rich_help_panel="Training")] = 0.01,
    temperatures: Annotated[str, typer.Option(help="Comma-separated sampling temperatures after each epoch.", rich_help_panel="Training")] = COURSE_TEMPERATURES,
    sample_length: Annotated[int, typer.Option(help="Characters sampled per temperature after each epoch.", rich_help_panel="Training")] = 400,
    model: Annotated[Optional[Path], typer.Option(help="Generate with this textgen run folder or model file (default: the newest run).", rich_help_panel="Generate")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Generate: the text to continue (no training).", rich_help_panel="Generate")] = None,
    length: Annotated[int, typer.Option(help="Generate: characters to add.", rich_help_panel="Generate")] = 400,
    temperature: Annotated[float, typer.Option(help="Generate: sampling temperature.", rich_help_panel="Generate")] = 0.5,
    common: GlobalOptions = None,
) -> None:
    """Train the course's character LSTM (samples after each epoch in samples.md), or with --prompt continue a text."""
    if model is not None or prompt is not None:
        check_range("--length", length, 1)
        check_range("--temperature", temperature, 0, low_open=True)
        return generate(model, prompt, length, temperature, common)

    for option, value in (("--window", window), ("--step", step), ("--units", units), ("--epochs", epochs),
                          ("--batch-size", batch_size), ("--sample-length", sample_length)):
        check_range(option, value, 1)
    check_range("--learning-rate", learning_rate, 0, low_open=True)
    sampled = comma_separated("--temperatures", temperatures, float, 0, low_open=True, example=COURSE_TEMPERATURES)
    if keep_case and text is None:
        raise DlcliError("--keep-case applies to a --text file; nietzsche is lowercased as in the course")
    name = choice("dataset", dataset, DATASETS) if text is None else run_label(text)
    from dlcli.data import corpora  # numpy only: a bad file fails before TensorFlow loads, with no run folder

    from_file = None if text is None else limited(corpora.load_text(text, lower=not keep_case), common.limit)
    options = dict(text=text, keep_case=keep_case, window=window, step=step, units=units, epochs=epochs,
                   batch_size=batch_size, learning_rate=learning_rate, temperatures=sampled, sample_length=sample_length)

    with Session("textgen", name, options, common) as session:
        import numpy as np

        from dlcli import models, plots, training
        from dlcli.atomic import write_json, write_text
        from dlcli.data import sequences
        from dlcli.models import charlstm

        corpus = session.load(name) if from_file is None else session.record(from_file)
        codes = sequences.whole(corpus)
        starts = np.arange(0, len(codes) - window, step, dtype=np.int32)  # the course's range(0, len - maxlen, step)
        if len(starts) == 0:
            raise DlcliError(f"the text has {len(codes)} characters: windows of {window} need at least {window + 1}; "
                             "give a longer text or a smaller --window")
        characters = "".join(corpus.class_names)
        net = models.build("char_lstm", (window,), len(characters), characters=characters, units=units,
                           name=f"{name}_char_lstm")
        training.compile_model(net, optimizer="rmsprop", learning_rate=learning_rate,
                               loss="sparse_categorical_crossentropy", metrics=())

        book = SampleBook(name, window, sample_length)
        kept = session.run.checkpoints / "samples.json"  # the samples of the epochs a --resume continues after
        if common.resume is not None and kept.is_file():
            book.extend(json.loads(kept.read_text(encoding="utf-8")))

        def sample_after_epoch(epoch: int, logs: dict) -> dict[str, str]:
            """Continue a random seed at each temperature, append to samples.md; one short sample for the table."""
            rng = np.random.default_rng([session.seed, epoch])  # the same samples whether resumed or not
            start = int(rng.integers(0, len(codes) - window))  # the course's randint(0, len - maxlen - 1)
            seed_ids = codes[start:start + window]
            outputs = charlstm.generate(net, seed_ids, sample_length, sampled, rng)
            book.add(epoch + 1, float(logs.get("loss", float("nan"))), decode(seed_ids, characters),
                     {t: decode(ids, characters) for t, ids in zip(sampled, outputs)})
            write_text(session.run.path / "samples.md", book.markdown())
            write_json(kept, book.as_json())
            return {"sample": book.line(SHOWN_TEMPERATURE)}

        global_batch = batch_size * session.strategy.num_replicas_in_sync  # --batch-size is per replica
        batches, epoch_order = sequences.window_batches(codes, starts, window, global_batch, session.seed)
        history = session.fit(net, batches, None, epochs=epochs, batch_size=None, samples=len(starts),
                              annotate=sample_after_epoch, callbacks=[epoch_order])
        plots.training_curves(history, session.run.plots / "curves.png", title=name)
        metrics = {"final_loss": history["loss"][-1], "epochs": epochs, "characters": len(codes),
                   "vocabulary_size": len(characters), "windows": len(starts),
                   "samples": book.last_samples(), "samples_file": "samples.md"}
        session.finish(metrics, model=net, history=history)


def run_label(path: Path) -> str:
    """A run-folder-friendly name for a text file: its stem in lowercase letters, digits and '-'."""
    return re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "text"


def generate(model: Optional[Path], prompt: Optional[str], length: int, temperature: float, common: GlobalOptions) -> None:
    """Continue `prompt` with a saved textgen model; print prompt + continuation on stdout."""
    if not prompt:
        raise DlcliError("generating needs a text to continue: pass --prompt \"...\" (not empty)")
    path = model_file("textgen", model, common.runs_dir, quiet=common.quiet)
    import_tensorflow_quietly()
    import keras
    import numpy as np

    from dlcli.models import charlstm

    net = load_model(path)
    encoding = charlstm.encoding(net)
    if encoding is None:
        raise DlcliError(f"'{path}' is not a textgen model (it has no character set); pass a textgen run folder")
    characters = encoding.characters
    if not any(c.isupper() for c in characters):
        prompt = prompt.lower()
    unknown = sorted(set(prompt) - set(characters))
    if unknown:
        raise DlcliError(f"the prompt has characters the model never saw: {''.join(unknown)!r}; remove them")
    seed = common.random_seed
    keras.utils.set_random_seed(seed)
    ids = [characters.index(c) for c in prompt]
    (continuation,) = charlstm.generate(net, ids, length, (temperature,), np.random.default_rng(seed))
    written = decode(continuation, characters)
    if common.json:
        print(json.dumps({"run": str(run_of(path)), "prompt": prompt, "text": written, "temperature": temperature,
                          "length": length, "seed": seed, "model": str(path)}))
    else:
        print(prompt + written)

