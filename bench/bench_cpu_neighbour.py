"""How much one core's arithmetic depends on what the other core does (issue 12's measurements
run one job per core). On core A, a 2048x2048 matrix product is timed in float32 and in
bfloat16 (AMX here) while core B is idle, then while core B runs the same product in float32,
then in bfloat16, in rounds. Run it with both cores otherwise idle.

    .venv/bin/python bench/bench_cpu_neighbour.py [--cores 0 1] [--rounds 2] [--seconds 4]

Writes bench/results/cpu-neighbour.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "cpu-neighbour.json"

RATE = """
import json, sys, time, tensorflow as tf
seconds, dtypes = float(sys.argv[1]), sys.argv[2:]
products = {}
for name in dtypes:
    a, b = (tf.cast(tf.random.uniform((2048, 2048)), getattr(tf, name)) for _ in range(2))
    products[name] = tf.function(lambda a=a, b=b: tf.matmul(a, b))
    products[name]().numpy()
print("ready", flush=True)
rates = {}
for name in dtypes if seconds > 0 else []:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        products[name]().numpy(); count += 1
    rates[name] = 2048 ** 3 * count / (time.perf_counter() - start)
if seconds > 0:
    print(json.dumps(rates), flush=True)
else:
    while True:
        products[dtypes[0]]().numpy()
"""


def measure(core: int, seconds: float) -> dict:
    done = subprocess.run(["taskset", "-c", str(core), sys.executable, "-c", RATE, str(seconds), "float32", "bfloat16"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def with_neighbour(core: int, other: int, load: str | None, seconds: float) -> dict:
    if load is None:
        return measure(core, seconds)
    neighbour = subprocess.Popen(["taskset", "-c", str(other), sys.executable, "-c", RATE, "0", load],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while neighbour.stdout.readline().strip() != "ready":
            time.sleep(0.1)
        return measure(core, seconds)
    finally:
        neighbour.kill()
        neighbour.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cores", type=int, nargs=2, default=[1, 0], help="the measured core, then its neighbour")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    from dlcli import lowprecision

    core, other = args.cores
    loads = {"neighbour idle": None, "neighbour float32": "float32", "neighbour bfloat16": "bfloat16"}
    runs = {name: [] for name in loads}
    for _ in range(args.rounds):
        for name, load in loads.items():
            runs[name].append(with_neighbour(core, other, load, args.seconds))
            print(name, {k: round(v / 1e9, 1) for k, v in runs[name][-1].items()}, flush=True)
    median = {name: {p: statistics.median(r[p] for r in rs) for p in ("float32", "bfloat16")} for name, rs in runs.items()}
    RESULTS.write_text(json.dumps({
        "machine": lowprecision.cpu_description(), "command": " ".join(["bench/bench_cpu_neighbour.py", *sys.argv[1:]]),
        "measured_core": core, "neighbour_core": other, "macs_per_s": runs, "median_macs_per_s": median,
        "share_of_idle": {name: {p: round(v / median["neighbour idle"][p], 3) for p, v in m.items()}
                          for name, m in median.items()}}, indent=2) + "\n")
    print(RESULTS)


if __name__ == "__main__":
    main()
