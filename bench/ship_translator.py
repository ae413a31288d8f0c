"""Ship a trained translator with the package: copy a `dl translate --train` run's exported
translator.npz to dlcli/pretrained/translator.npz and write its card (translator.md) from the
run's own files and the start-up measurement of bench/bench_translate_runtime.py, and keep the
run's config.json, metrics.json and history.csv under bench/results/translate-shipped/RUN/ (the
numbers docs/ quotes).

    .venv/bin/python bench/ship_translator.py TRAIN_RUN bench/results/translate-runtime.json

Refuses a run that is not complete, a course-preset run (it has no export), a file of 20 MB or
more, and a model under the issue's bar (greedy test BLEU below 30).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "dlcli" / "pretrained" / "translator.npz"
MAX_BYTES = 20_000_000
MIN_BLEU = 30.0
RESULTS = ROOT / "bench" / "results" / "translate-shipped"
LOG = "epochs.log"  # the epoch lines the training printed, put beside the run's files by hand


def command_lines(config: dict) -> str:
    """The command that started the run, then each `--resume` (a run recorded before config.json kept
    the first command line stored only the resume's: its start is rebuilt from the recorded arguments)."""
    first, resumes = config["argv"], config.get("resumed_argv", [])
    if "--resume" in first and not resumes:
        given = {key: value for key, value in config["arguments"].items()
                 if value not in (None, [], False) and key not in ("beam", "decoder", "preset", "train")}
        resumes = [first]
        first = ["translate", "--train", *(f"--{key.replace('_', '-')} {value}" for key, value in given.items()),
                 "--seed", str(config["seed"])]
        if config["options"].get("preset") != "small":
            first += ["--preset", config["options"]["preset"]]
    lines = [f"dl {' '.join(first)}"]
    lines += [f"dl {' '.join(resume)}   # continued after an interruption" for resume in resumes]
    return "\n".join(lines)


def card(run: Path, startup: dict) -> str:
    config = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    options = config["options"]
    data = config["data"][0]
    hours = metrics["wall_time_s"] / 3600
    epochs = ", ".join(f"{s / 60:.1f}" for s in metrics["epoch_seconds"])
    if len(metrics["epoch_seconds"]) < metrics["epochs"]:  # a resumed run's metrics time its last process only
        timing = (f"its last {len(metrics['epoch_seconds'])} epochs, after the resume, took {hours:.2f} h on a 2-core "
                  f"CPU (minutes each: {epochs}); every epoch's line of both processes is in "
                  f"`bench/results/translate-shipped/{run.name}/{LOG}`")
    else:
        timing = f"{hours:.2f} h on a 2-core CPU (epochs in minutes: {epochs})"
    return f"""# The shipped translator (`dlcli/pretrained/translator.npz`)

English to Spanish, cased, with accents, ¿ ¡ and punctuation. Used by `dl translate "..."` when
no `--model` is given and no `dl translate --train` run exists; run by `dlcli.runtime` with NumPy
(no TensorFlow). Made by our own command:

```bash
{command_lines(config)}
```

- Data: spa-eng ({data['source'].split('/')[-1]}, sha256 {data['sha256'][:16]}...), shuffled with seed 113 and cut
  70/15/15: {metrics['train_pairs']:,} pairs trained on, {metrics['validation_pairs']:,} validation pairs watched,
  {metrics['test_pairs']:,} test pairs never trained on.
- Vocabulary: byte-level BPE (Hugging Face `tokenizers`), {metrics['vocabulary']:,} tokens shared by both languages,
  learned on the training pairs only.
- Network: preset `{options['preset']}`, {options['encoder_layers']} encoder and {options['decoder_layers']} decoder
  pre-norm blocks, embedding {options['embed_dim']}, feed-forward {options['dense_dim']}, {options['heads']} heads,
  tied embeddings, {metrics['parameters']:,} parameters; {metrics['exported_bytes'] / 1e6:.1f} MB exported (float32).
- Training: seed {config['seed']}, {metrics['epochs']} epochs, batch {options['batch_size']} pairs of similar lengths,
  {options['optimizer']} with a {options['warmup_steps']}-step warm-up to {options['learning_rate']} then a cosine
  decay, label smoothing {options['label_smoothing']}, dropout {options['dropout']}, precision
  {config['precision_used']}; {timing}.
- Versions: {', '.join(f'{k} {v}' for k, v in config['versions'].items())}.

## Scores on the {metrics['bleu_sentences']:,} test sentences

sacrebleu's defaults (cased, 13a tokenizer), one reference per sentence:

| decoding | BLEU | chrF | ms per sentence (batched, this CPU) |
|---|---|---|---|
| greedy | **{metrics['test_bleu']:.2f}** | {metrics['test_chrf']:.2f} | {metrics['decode_ms_per_sentence']} |
| beam {metrics['beam_width']} | {metrics['test_bleu_beam']:.2f} | {metrics['test_chrf_beam']:.2f} | {metrics['beam_ms_per_sentence']} |

Next-token accuracy with teacher forcing (padding ignored): {metrics['test_accuracy']:.4f}.

Start-up (`{startup['command']}`, medians of {startup['repeats']}, side by side):
`dl translate "I love you."` {startup['startup_median_seconds']['dl translate "I love you."']} s against
`python -c "import tensorflow"` {startup['startup_median_seconds']['import tensorflow']} s:
**{startup['dl_translate_over_tensorflow_import']}x** TensorFlow's import.
"""


def main() -> None:
    run, startup_file = Path(sys.argv[1]), Path(sys.argv[2])
    metrics = json.loads((run / "metrics.json").read_text())
    exported = run / "translator.npz"
    if metrics.get("status") != "complete" or not exported.is_file():
        raise SystemExit(f"{run}: not a complete run with a translator.npz (train with: dl translate --train)")
    if exported.stat().st_size >= MAX_BYTES:
        raise SystemExit(f"{exported}: {exported.stat().st_size:,} bytes, too big to ship (at most {MAX_BYTES:,})")
    if metrics["test_bleu"] < MIN_BLEU:
        raise SystemExit(f"{run}: greedy test BLEU {metrics['test_bleu']} is under {MIN_BLEU}")
    shutil.copyfile(exported, TARGET)
    kept = RESULTS / run.name
    kept.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "metrics.json", "history.csv"):
        shutil.copyfile(run / name, kept / name)
    TARGET.with_suffix(".md").write_text(card(run, json.loads(startup_file.read_text())))
    print(TARGET, TARGET.stat().st_size)


if __name__ == "__main__":
    main()
