"""Which Go tower to ship: each candidate trained through the real CLI on the same `dl go data`
run for the same wall-clock budget, in mixed bfloat16 and float32, then scored on the same
held-out positions. Chooses by measurement what the course leaves open (tower, width, depth).

    .venv/bin/python bench/bench_go_towers.py RUN_OF_DL_GO_DATA [--seconds 240] [--candidates ...]

A candidate is NETWORK:FILTERS:BLOCKS. First a short throughput run per candidate and precision
(`--probe` positions), then, for those listed in `--race` (default: all), a training of
`--seconds` worth of positions each at its own best speed. Results accumulate in
bench/results/go-towers.json (a later invocation updates the candidates it ran, and records its
command; each entry names the invocation, an index into `commands`, that measured it). Never
part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_go import dl  # noqa: E402

CANDIDATES = ("baseline:32:5", "baseline:48:4", "residual:32:5", "residual:40:3", "mobilenet:32:5", "convnext:32:7")


def train(data: str, candidate: str, runs: Path, *, limit: int, precision: str, seed: int = 0) -> dict:
    network, filters, blocks = candidate.split(":")
    result = dl("go", "train", "--data", data, "--network", network, "--filters", filters, "--blocks", blocks,
                "--epochs", "1", "--limit", limit, "--precision", precision, "--seed", seed, "--runs-dir", runs)
    return {k: result.get(k) for k in ("parameters", "val_policy_accuracy", "val_value_mse", "samples_per_s",
                                       "wall_time_s", "precision", "train_positions")}


def macs_per_position(candidate: str) -> int:
    """Multiply-accumulates of one forward pass (`dlcli.models.macs.count_macs`); training costs
    about three times that per position (forward and backward)."""
    sys.path.insert(0, str(ROOT))
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    from dlcli.models.gonets import GO_BUILDERS
    from dlcli.models.macs import count_macs

    network, filters, blocks = candidate.split(":")
    return count_macs(GO_BUILDERS[network](filters=int(filters), blocks=int(blocks)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", help="a `dl go data` run folder")
    parser.add_argument("--seconds", type=float, default=240, help="training budget per candidate")
    parser.add_argument("--probe", type=int, default=4096, help="positions of the throughput run")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--race", help="candidates raced after their probe (default: all)")
    options = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="bench-go-towers-"))
    out = ROOT / "bench" / "results" / "go-towers.json"
    results = json.loads(out.read_text()) if out.exists() else {"commands": [], "throughput": {}, "race": {}}
    results["commands"].append(" ".join(["bench/bench_go_towers.py", *sys.argv[1:]]))
    invocation = len(results["commands"]) - 1  # each entry names the invocation that measured it
    raced = options.candidates.split(",") if options.race is None else options.race.split(",")
    for candidate in options.candidates.split(","):
        for precision in ("float32", "bfloat16"):
            probe = train(options.data, candidate, runs, limit=options.probe, precision=precision)
            results["throughput"][f"{candidate}/{precision}"] = {**probe, "invocation": invocation}
            print(candidate, precision, json.dumps(probe), flush=True)
        fastest = max(("float32", "bfloat16"), key=lambda p: results["throughput"][f"{candidate}/{p}"]["samples_per_s"])
        speed = results["throughput"][f"{candidate}/{fastest}"]["samples_per_s"]
        if candidate in raced:
            limit = int(options.seconds * speed)
            results["race"][candidate] = {**train(options.data, candidate, runs, limit=limit, precision=fastest),
                                          "seconds_budget": options.seconds,
                                          "invocation": invocation,
                                          "macs_per_position": macs_per_position(candidate)}
            print(candidate, json.dumps(results["race"][candidate]), flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
