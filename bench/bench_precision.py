"""float32 against mixed bfloat16, family by family, through the commands themselves: each run
trains 2 epochs on a slice of the real data; the second epoch's wall time (from the run's
metrics.json `epoch_seconds`, so start-up and graph building are left out) is compared, and the
headline metric is kept beside it. The two precisions alternate, round after round, so a load on
the machine falls on both. A large matrix product in each precision gives this CPU's practical
peak, against which each run's achieved multiply-accumulates per second are put (counted by
dlcli.models.macs on the run's saved model, where it can count them; x3 for forward + backward).

    DLCLI_DATA_DIR=../shared/datasets .venv/bin/python bench/bench_precision.py [--rounds 2] [--only cnn-mnist ...]

Writes bench/results/precision.json (with --only, updates those families' rows). Never part of the tests.
"""

from __future__ import annotations

import argparse
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
RESULTS = ROOT / "bench" / "results" / "precision.json"

# family -> (command line, the sample shape MACs are counted on: None where the model fixes it,
# "none" where there is no fixed count)
FAMILIES = {
    "dense (classify mnist)": (["classify", "mnist", "--limit", "20000"], None),
    "mnist convnet (cnn mnist)": (["cnn", "mnist", "--limit", "6000", "--validation", "0"], (28, 28, 1)),
    "cifar convnet (cnn cifar10)": (["cnn", "cifar10", "--limit", "6000", "--validation", "0"], (32, 32, 3)),
    "resnet tower (resnet cifar10)": (["resnet", "cifar10", "--limit", "1500"], (32, 32, 3)),
    "mobilenet tower (mobilenet cifar10)": (["mobilenet", "cifar10", "--limit", "1500"], (32, 32, 3)),
    "char-LSTM (textgen)": (["textgen", "--limit", "60000", "--temperatures", "0.5"], (60,)),
    "transformer classifier (classify imdb)": (["classify", "imdb", "--network", "transformer", "--limit", "600",
                                                "--validation-samples", "100"], (600,)),
    "transformer translator (translate --train)": (["translate", "--train", "--limit", "3000", "--bleu-sentences", "20"],
                                                   "none"),
    "vae (vae mnist)": (["vae", "mnist", "--limit", "6000"], (28, 28, 1)),
}


def train(args: list[str], precision: str, runs_dir: Path, env: dict | None = None, cpus: str | None = None) -> dict:
    """`dl ARGS --precision P` into `runs_dir` (on the CPUs `cpus` lists, as `taskset -c` reads
    them, when given): {folder, result (its --json line), metrics, config, process_s}, or {error:
    the last line it wrote} when it failed."""
    started = time.perf_counter()
    pinned = ["taskset", "-c", cpus] if cpus else []
    done = subprocess.run([*pinned, sys.executable, "-m", "dlcli", *args, "--precision", precision, "--runs-dir",
                           str(runs_dir), "--quiet", "--json"], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1][:300]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    folder = Path(result["run"])
    return {"folder": folder, "result": result, "metrics": json.loads((folder / "metrics.json").read_text()),
            "config": json.loads((folder / "config.json").read_text()),
            "process_s": round(time.perf_counter() - started, 1)}


def run(args: list[str], precision: str, runs_dir: Path, shape) -> dict:
    trained = train([*args, "--epochs", "2", "--seed", "0"], precision, runs_dir)
    if "error" in trained:
        return trained
    result, folder, metrics = trained["result"], trained["folder"], trained["metrics"]
    epochs = metrics["epoch_seconds"]
    samples = metrics.get("samples_per_s", 0) * sum(epochs) / len(epochs)  # samples per epoch
    return {"run": folder.name, "epoch_s": epochs[-1], "samples_per_epoch": round(samples),
            "precision_used": trained["config"].get("precision_used"),
            "headline": {k: v for k, v in result.items() if isinstance(v, (int, float)) and k.startswith(("test_", "val_", "loss", "bleu", "final"))},
            "macs_per_sample": None if shape == "none" else macs_of(folder, shape), "process_s": trained["process_s"]}


def macs_of(folder: Path, shape) -> int | None:
    import keras

    from dlcli.models import macs

    files = [folder / "model.keras"] if (folder / "model.keras").exists() else [folder / "encoder.keras",
                                                                                   folder / "decoder.keras"]  # the VAE
    try:
        return sum(int(macs.count_macs(keras.saving.load_model(file, compile=False), shape)) for file in files)
    except Exception as error:  # noqa: BLE001 - a model macs.py cannot count: no FLOP/s for it, said why
        print(f"{folder.name}: no MAC count: {error}", file=sys.stderr)
        return None


PEAK_CODE = """
import json, sys, time, tensorflow as tf
dtype = getattr(tf, sys.argv[1])
def rate(f, macs, seconds=2.0):
    f().numpy(); count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        f().numpy(); count += 1
    return macs * count / (time.perf_counter() - start)
rates = {}
for n in (1024, 2048, 4096):
    a, b = (tf.cast(tf.random.uniform((n, n)), dtype) for _ in range(2))
    rates[f"matmul {n}"] = rate(tf.function(lambda: tf.matmul(a, b)), n ** 3)
for c in (64, 128, 256):
    x, k = tf.cast(tf.random.uniform((64, 32, 32, c)), dtype), tf.cast(tf.random.uniform((3, 3, c, c)), dtype)
    rates[f"conv3x3 64x32x32x{c}"] = rate(tf.function(lambda: tf.nn.conv2d(x, k, 1, "SAME")), 64 * 32 * 32 * 9 * c * c)
print(json.dumps(rates))
"""


def peak(precision: str) -> dict:
    """The practical peak: multiply-accumulates per second of the best of large matrix products and
    3x3 convolutions in `precision` (each kernel's rate kept)."""
    done = subprocess.run([sys.executable, "-c", PEAK_CODE, precision], capture_output=True, text=True, check=True)
    rates = json.loads(done.stdout.strip().splitlines()[-1])
    return {"macs_per_s": max(rates.values()), "kernels": {k: round(v) for k, v in rates.items()}}


def nominal_peak(cores: int) -> dict:
    """The CPU's clock x the multiply-accumulates per cycle per core its instructions allow x cores."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = next((float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")), None)
    flags = set(next((line.split(":")[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    if mhz is None or "avx512f" not in flags:
        return {}
    bfloat16 = 1024 if "amx_bf16" in flags else 64 if "avx512_bf16" in flags else None
    per_cycle = {"float32": 32, **({"bfloat16": bfloat16} if bfloat16 else {})}
    return {"mhz": mhz, "cores": cores, "macs_per_cycle_per_core": per_cycle,
            "macs_per_s": {p: mhz * 1e6 * n * cores for p, n in per_cycle.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    chosen = {k: v for k, v in FAMILIES.items() if not args.only or any(o in k for o in args.only)}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"families": {}}  # --only updates its rows
    from dlcli import lowprecision

    cores = len(os.sched_getaffinity(0))
    peaks = {p: peak(p) for p in ("float32", "bfloat16")}
    results.update(machine=lowprecision.cpu_description(), cpus_usable=cores,
                   peak_macs_per_s={p: v["macs_per_s"] for p, v in peaks.items()},
                   peak_kernels={p: v["kernels"] for p, v in peaks.items()}, nominal_peak=nominal_peak(cores))
    results.setdefault("peaks_measured", []).append({"invocation": " ".join(sys.argv[1:]), "when": time.strftime("%Y-%m-%d %H:%M"),
                                                     "kernels": results["peak_kernels"]})
    with tempfile.TemporaryDirectory() as runs:
        for family, (command, shape) in chosen.items():
            rounds = {"float32": [], "bfloat16": []}
            for _ in range(args.rounds):
                for precision in rounds:
                    rounds[precision].append(run(command, precision, Path(runs), shape))
            entry = {"command": "dl " + " ".join(command) + " --epochs 2 --seed 0 --precision P", "runs": rounds}
            times = {p: [r["epoch_s"] for r in rs if "epoch_s" in r] for p, rs in rounds.items()}
            if all(times.values()):
                median = {p: statistics.median(t) for p, t in times.items()}
                entry.update(epoch_s=median, bfloat16_time_ratio=round(median["bfloat16"] / median["float32"], 3))
                macs = next((r["macs_per_sample"] for r in rounds["float32"] if r.get("macs_per_sample")), None)
                samples = next((r["samples_per_epoch"] for r in rounds["float32"] if r.get("samples_per_epoch")), None)
                if macs and samples:
                    achieved = {p: 3 * macs * samples / median[p] for p in median}
                    nominal = results["nominal_peak"].get("macs_per_s", {})
                    entry.update(peak_macs_per_s=results["peak_macs_per_s"],  # this invocation's (--only re-measures)
                                 achieved_macs_per_s={p: round(v) for p, v in achieved.items()},
                                 achieved_share_of_peak={p: round(v / results["peak_macs_per_s"][p], 4) for p, v in achieved.items()},
                                 achieved_share_of_nominal={p: round(v / nominal[p], 4) for p, v in achieved.items() if p in nominal})
            results["families"][family] = entry
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            print(family, entry.get("bfloat16_time_ratio"), entry.get("epoch_s"), flush=True)


if __name__ == "__main__":
    main()
