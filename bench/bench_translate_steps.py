"""Time training steps of `dl translate --train` presets on the real spa-eng batches, to estimate
the epoch time (and so the epochs that fit in a budget) before a long training.

    nice -n 19 .venv/bin/python bench/bench_translate_steps.py ../shared/datasets bench/results/translate-steps.json [NAME...]

NAME: the configurations to time (default: all; `small` alone when the machine is busy).

Per configuration: the default preset's tokenizer and length-bucketed batches of the training
split, the model built and compiled as the command does, a few warm-up steps (tracing), then
timed steps in the same process; epoch seconds = steps per epoch x median seconds per step.
Several configurations are timed alternately, twice each, so that a change of machine load hits them alike.
Both wall and CPU seconds (all threads) are recorded per step: on a shared, loaded machine the
wall time says little, while the CPU time bounds the wall time on an idle 2-core machine between
CPU / 2 (both cores busy all the time) and CPU (one core).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGURATIONS = {  # name: (options over the small preset, precision)
    "small": ({}, "float32"),
    "small-bfloat16": ({}, "bfloat16"),
    "small-3+3-blocks": ({"decoder_layers": 3}, "float32"),
}
WARMUP, TIMED = 2, 6


def main() -> None:
    data_dir, out = sys.argv[1], Path(sys.argv[2])
    chosen = {name: CONFIGURATIONS[name] for name in (sys.argv[3:] or CONFIGURATIONS)}
    repeats = 2 if len(chosen) > 1 else 1
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    from dlcli import data, precision, subwords
    from dlcli.commands import translate
    from dlcli.data import pairs
    from dlcli.models import seq2seq

    dataset = data.load("spa-eng", data_dir=data_dir)
    cut = len(dataset.x_train) - pairs.validation_count(len(dataset.x_train))
    english, spanish = list(dataset.x_train[:cut]), [subwords.plain(t) for t in dataset.y_train[:cut]]
    small = translate.SMALL
    started = time.perf_counter()
    tokenizer = subwords.learn(english + spanish, small["vocab_size"])
    learn_seconds = time.perf_counter() - started
    source = subwords.encode(tokenizer, english, small["sequence_length"])
    target = subwords.target(tokenizer, spanish, small["sequence_length"])
    results = {}
    for repeat in range(repeats):
        for name, (options, mode) in chosen.items():
            settings = {**small, **options}
            precision.apply(mode)
            keras.utils.set_random_seed(0)
            batches, steps = translate.bucketed(source, target, settings["batch_size"], seed=repeat)
            model = seq2seq.build_subword_translator(
                (settings["sequence_length"],), subwords.vocabulary_size(tokenizer), embed_dim=settings["embed_dim"],
                dense_dim=settings["dense_dim"], num_heads=settings["heads"], encoder_layers=settings["encoder_layers"],
                decoder_layers=settings["decoder_layers"], dropout=settings["dropout"])
            if mode != "float32":
                precision.outputs_in_float32(model)
            schedule = seq2seq.WarmupCosine(settings["learning_rate"], settings["warmup_steps"], steps * settings["epochs"])
            model.compile(optimizer=keras.optimizers.AdamW(learning_rate=schedule),
                          loss=seq2seq.SmoothedCrossEntropy(settings["label_smoothing"]), metrics=["accuracy"])
            times, cpu = [], []

            class Clock(keras.callbacks.Callback):
                def on_train_batch_begin(self, batch, logs=None):
                    self.started, self.cpu = time.perf_counter(), time.process_time()

                def on_train_batch_end(self, batch, logs=None):
                    times.append(time.perf_counter() - self.started)
                    cpu.append(time.process_time() - self.cpu)

            model.fit(batches.take(WARMUP + TIMED), epochs=1, verbose=0, shuffle=False, callbacks=[Clock()])
            step, step_cpu = float(np.median(times[WARMUP:])), float(np.median(cpu[WARMUP:]))
            entry = results.setdefault(name, {"parameters": int(model.count_params()), "float32_mb": round(
                4 * model.count_params() / 1e6, 2), "steps_per_epoch": steps, "wall_seconds_per_step": [],
                "cpu_seconds_per_step": []})
            entry["wall_seconds_per_step"].append(round(step, 4))
            entry["cpu_seconds_per_step"].append(round(step_cpu, 4))
            precision.apply("float32")
            print(name, round(step, 3), "s/step wall", round(step_cpu, 3), "s/step cpu", flush=True)
    for entry in results.values():
        wall, cpu = (float(np.median(entry[key])) for key in ("wall_seconds_per_step", "cpu_seconds_per_step"))
        entry["epoch_minutes_wall_here"] = round(entry["steps_per_epoch"] * wall / 60, 1)
        entry["epoch_minutes_idle_2_cores"] = [round(entry["steps_per_epoch"] * cpu / 2 / 60, 1),
                                               round(entry["steps_per_epoch"] * cpu / 60, 1)]
        entry["epochs_in_3_hours_idle"] = [round(180 / minutes, 1) for minutes in reversed(entry["epoch_minutes_idle_2_cores"])]
    report = {"command": " ".join(["bench/bench_translate_steps.py", *sys.argv[1:]]), "train_pairs": cut,
              "tokenizer_learn_seconds": round(learn_seconds, 1), "load_average_at_end": os.getloadavg()[0],
              "cpus": os.cpu_count(), "warmup_steps": WARMUP, "timed_steps": TIMED, "configurations": results}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
