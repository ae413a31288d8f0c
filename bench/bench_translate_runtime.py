"""How fast `dl translate` starts and decodes, against TensorFlow's own import, side by side.

    nice -n 19 .venv/bin/python bench/bench_translate_runtime.py MODEL ../shared/datasets bench/results/translate-runtime.json

MODEL is a translate run folder, or a translator.npz; `default` builds a random model of the small
preset's sizes in a temporary folder (its decoding runs to the 40-token limit: an upper bound).
Measured in one invocation, alternately, `--repeats` times each, medians reported:
- start-up: `python -c "import tensorflow"` vs `dl translate "I love you." --model MODEL`, end to end;
- import cost of each way to run the network: the NumPy runtime (numpy + tokenizers), Keras
  (tensorflow + keras), ONNX Runtime and LiteRT where installed (else recorded as not installed);
- decoding: the NumPy runtime's batched greedy and beam-4 translations of the first 100 test
  sentences, and the Keras model's greedy decoding of the same sentences (whole model per token).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SENTENCES = 100


def seconds(command: list[str]) -> float:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=ROOT)
    return time.perf_counter() - started


def random_default(folder: Path, data_dir: str) -> Path:
    """A random model of the small preset's sizes with a tokenizer learned on the training split, exported."""
    import keras

    from dlcli import data, runtime, subwords
    from dlcli.commands import translate
    from dlcli.data import pairs
    from dlcli.models import seq2seq

    small = translate.SMALL
    dataset = data.load("spa-eng", data_dir=data_dir)
    cut = len(dataset.x_train) - pairs.validation_count(len(dataset.x_train))
    tokenizer = subwords.learn(list(dataset.x_train[:cut]) + [subwords.plain(t) for t in dataset.y_train[:cut]],
                               small["vocab_size"])
    keras.utils.set_random_seed(0)
    model = seq2seq.build_subword_translator((40,), subwords.vocabulary_size(tokenizer), embed_dim=small["embed_dim"],
                                             dense_dim=small["dense_dim"], num_heads=small["heads"],
                                             encoder_layers=small["encoder_layers"], decoder_layers=small["decoder_layers"])
    model.save(folder / "model.keras")
    path = folder / "translator.npz"
    runtime.save(path, seq2seq.export_weights(model), {**seq2seq.architecture(model), "sequence_length": 40},
                 subwords.to_json(tokenizer))
    return path


def keras_greedy_seconds(model_file: Path, translator, english: list[str]) -> float:
    """The Keras model's greedy decoding, batched, the whole model run on the prefix per new token."""
    import keras
    import numpy as np

    import dlcli.models  # noqa: F401
    from dlcli import runtime, subwords

    model = keras.saving.load_model(model_file, compile=False)
    started = time.perf_counter()
    for begin in range(0, len(english), 64):
        source = runtime.pad(translator.source_ids(english[begin:begin + 64]))
        tokens = np.full((len(source), 1), subwords.START_ID)
        for _ in range(translator.max_length):
            logits = np.array(model([source, tokens], training=False))[:, -1]
            tokens = np.concatenate([tokens, logits.argmax(-1)[:, None]], axis=1)
            if (tokens == subwords.END_ID).any(axis=1).all():
                break
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data_dir")
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="translate-bench-"))
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    model = random_default(folder, args.data_dir) if args.model == "default" else Path(args.model)
    exported = model if model.suffix == ".npz" else model / "translator.npz"
    python = sys.executable
    imports = {"numpy runtime (dlcli.runtime)": "import dlcli.runtime", "tensorflow + keras": "import tensorflow, keras"}
    for name, module in (("onnxruntime", "onnxruntime"), ("LiteRT (ai_edge_litert)", "ai_edge_litert")):
        if importlib.util.find_spec(module):
            imports[name] = f"import {module}"
    startup = {"import tensorflow": [], "dl translate \"I love you.\"": []}
    import_times = {name: [] for name in imports}
    for _ in range(args.repeats):
        startup["import tensorflow"].append(seconds([python, "-c", "import tensorflow"]))
        startup["dl translate \"I love you.\""].append(
            seconds([python, "-m", "dlcli", "translate", "I love you.", "--model", str(exported), "--quiet"]))
        for name, statement in imports.items():
            import_times[name].append(seconds([python, "-c", statement]))
    medians = {name: round(statistics.median(values), 3) for name, values in startup.items()}

    from dlcli import data, runtime, subwords

    dataset = data.load("spa-eng", data_dir=args.data_dir)
    english = list(dataset.x_test[:SENTENCES])
    translator = runtime.Translator.load(exported)
    translator.translate(english[:8])
    started = time.perf_counter()
    greedy = translator.translate(english)
    greedy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    translator.translate(english, beam=4)
    beam_seconds = time.perf_counter() - started
    keras_file = (folder if args.model == "default" else model) / "model.keras"
    keras_seconds = keras_greedy_seconds(keras_file, translator, english) if keras_file.is_file() else None
    report = {
        "command": " ".join(["bench/bench_translate_runtime.py", *sys.argv[1:]]),
        "model": args.model, "exported_bytes": exported.stat().st_size, "repeats": args.repeats,
        "startup_seconds": {name: [round(v, 3) for v in values] for name, values in startup.items()},
        "startup_median_seconds": medians,
        "dl_translate_over_tensorflow_import": round(medians["dl translate \"I love you.\""] / medians["import tensorflow"], 3),
        "import_median_seconds": {name: round(statistics.median(values), 3) for name, values in import_times.items()},
        "not_installed": [name for name in ("onnxruntime", "LiteRT (ai_edge_litert)") if name not in imports],
        "decode_sentences": len(english),
        "numpy_greedy_ms_per_sentence": round(1000 * greedy_seconds / len(english), 2),
        "numpy_beam4_ms_per_sentence": round(1000 * beam_seconds / len(english), 2),
        "keras_greedy_ms_per_sentence": None if keras_seconds is None else round(1000 * keras_seconds / len(english), 2),
        "mean_output_tokens": round(sum(len(translator.source_ids([t])[0]) for t in greedy) / len(greedy), 1),
        "load_average_at_end": os.getloadavg()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
