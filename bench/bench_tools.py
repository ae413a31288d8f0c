"""Wall times of the commands around the exercises on the real data (never part of the tests):
`dl data`, `dl data verify`, `dl runs`, `dl runs show RUN`, `dl runs compare RUN RUN2`, `dl eval RUN`
and `dl predict RUN` on four MNIST test images written as PNG files, RUN being a `dl classify mnist
--epochs 1` run made here and RUN2 the same with `--units 64` (the time of eval and predict does
not depend on how long the model trained).
Usage: python bench/bench_tools.py DATA_DIR [--repeats 3]
Writes bench/results/tools.json (median and every wall time per command, the load average around
them) and prints it. Times are upper bounds on a machine that other jobs share.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_foundation import DL, run_json, wall

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(options.data_dir.resolve()), "DLCLI_OFFLINE": "1"}
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        runs, images = Path(scratch) / "runs", []
        env["DLCLI_RUNS"] = str(runs)
        run = run_json([*DL, "classify", "mnist", "--epochs", "1", "--quiet", "--json"], env)["run"]
        other = run_json([*DL, "classify", "mnist", "--epochs", "1", "--units", "64", "--quiet", "--json"], env)["run"]
        with np.load(options.data_dir / "mnist.npz") as mnist:
            for index in range(4):
                images.append(Path(scratch) / f"digit{index}.png")
                Image.fromarray(mnist["x_test"][index]).save(images[-1])
        commands = {"dl data": ["data"], "dl data verify": ["data", "verify"], "dl runs": ["runs"],
                    "dl runs show RUN": ["runs", "show", run], "dl runs compare RUN RUN": ["runs", "compare", run, other],
                    "dl eval RUN": ["eval", run], "dl predict RUN 4 images": ["predict", run, *map(str, images)]}
        results = {"command": "bench/bench_tools.py DATA_DIR " + " ".join(sys.argv[2:]),
                   "load_average_before": os.getloadavg()[0], "commands": {}}
        for name, args in commands.items():
            times = [round(wall([*DL, *args], env), 2) for _ in range(options.repeats)]
            results["commands"][name] = {"median_s": statistics.median(times), "all_s": times}
            print(name, results["commands"][name], flush=True)
        results["load_average_after"] = os.getloadavg()[0]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "tools.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
