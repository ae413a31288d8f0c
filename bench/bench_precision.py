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

# family -> (command line, samples per epoch, the image/sequence shape macs are counted on)
FAMILIES = {
    "dense (classify mnist)": (["classify", "mnist", "--limit", "20000"], 20000),
    "mnist convnet (cnn mnist)": (["cnn", "mnist", "--limit", "6000", "--validation", "0"], 6000),
    "cifar convnet (cnn cifar10)": (["cnn", "cifar10", "--limit", "6000", "--validation", "0"], 6000),
    "resnet tower (resnet cifar10)": (["resnet", "cifar10", "--limit", "1500"], 1500),
    "mobilenet tower (mobilenet cifar10)": (["mobilenet", "cifar10", "--limit", "1500"], 1500),
    "char-LSTM (textgen)": (["textgen", "--limit", "60000", "--temperatures", "0.5"], None),
    "transformer classifier (classify imdb)": (["classify", "imdb", "--network", "transformer", "--limit", "600",
                                                "--validation-samples", "100"], 500),
    "transformer translator (translate --train)": (["translate", "--train", "--limit", "3000", "--bleu-sentences", "20"], None),
    "vae (vae mnist)": (["vae", "mnist", "--limit", "6000"], 6000),
}


def train(args: list[str], precision: str, runs_dir: Path, env: dict | None = None) -> dict:
    """`dl ARGS --precision P` into `runs_dir`: {folder, result (its --json line), metrics, config,
    process_s}, or {error: the last line it wrote} when it failed."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dlcli", *args, "--precision", precision, "--runs-dir", str(runs_dir),
                           "--quiet", "--json"], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1][:300]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    folder = Path(result["run"])
    return {"folder": folder, "result": result, "metrics": json.loads((folder / "metrics.json").read_text()),
            "config": json.loads((folder / "config.json").read_text()),
            "process_s": round(time.perf_counter() - started, 1)}


def run(args: list[str], precision: str, runs_dir: Path) -> dict:
    trained = train([*args, "--epochs", "2", "--seed", "0"], precision, runs_dir)
    if "error" in trained:
        return trained
    result, folder = trained["result"], trained["folder"]
    return {"run": folder.name, "epoch_s": trained["metrics"]["epoch_seconds"][-1],
            "precision_used": trained["config"].get("precision_used"),
            "headline": {k: v for k, v in result.items() if isinstance(v, (int, float)) and k.startswith(("test_", "val_", "loss", "bleu", "final"))},
            "macs_per_sample": macs_of(folder), "process_s": trained["process_s"]}


def macs_of(folder: Path) -> int | None:
    try:
        import keras

        from dlcli.models import macs

        model = keras.saving.load_model(folder / "model.keras", compile=False)
        return int(macs.count_macs(model))
    except Exception:  # noqa: BLE001 - layers macs.py cannot count: no FLOP/s for that family
        return None


def peak(precision: str, size: int = 2048, repeats: int = 10) -> float:
    """Multiply-accumulates per second of a large matrix product (the practical peak)."""
    code = f"""
import time, tensorflow as tf
a = tf.random.uniform(({size}, {size}), dtype=tf.{precision}); b = tf.random.uniform(({size}, {size}), dtype=tf.{precision})
f = tf.function(lambda: tf.matmul(a, b)); f().numpy()
t = time.perf_counter()
for _ in range({repeats}): f().numpy()
print({size} ** 3 * {repeats} / (time.perf_counter() - t))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    chosen = {k: v for k, v in FAMILIES.items() if not args.only or any(o in k for o in args.only)}
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"families": {}}  # --only updates its rows
    from dlcli import lowprecision

    results.update(machine=lowprecision.cpu_description(), cpus_usable=len(os.sched_getaffinity(0)),
                   peak_macs_per_s={p: peak(p) for p in ("float32", "bfloat16")})
    with tempfile.TemporaryDirectory() as runs:
        for family, (command, samples) in chosen.items():
            rounds = {"float32": [], "bfloat16": []}
            for _ in range(args.rounds):
                for precision in rounds:
                    rounds[precision].append(run(command, precision, Path(runs)))
            entry = {"command": "dl " + " ".join(command) + " --epochs 2 --seed 0 --precision P", "runs": rounds}
            times = {p: [r["epoch_s"] for r in rs if "epoch_s" in r] for p, rs in rounds.items()}
            if all(times.values()):
                median = {p: statistics.median(t) for p, t in times.items()}
                entry.update(epoch_s=median, bfloat16_time_ratio=round(median["bfloat16"] / median["float32"], 3))
                macs = next((r["macs_per_sample"] for r in rounds["float32"] if r.get("macs_per_sample")), None)
                if macs and samples:
                    entry["achieved_share_of_peak"] = {
                        p: round(3 * macs * samples / median[p] / results["peak_macs_per_s"][p], 4) for p in median}
            results["families"][family] = entry
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            print(family, entry.get("bfloat16_time_ratio"), entry.get("epoch_s"), flush=True)


if __name__ == "__main__":
    main()
