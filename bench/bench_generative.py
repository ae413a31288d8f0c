"""Benchmarks of `dl autoencode` and `dl vae` on the real Fashion-MNIST (never part of the tests).

Runs through the real `dl` CLI, seed 0:
  - `autoencode fashion-mnist` (the course's 5 epochs): test reconstruction MSE;
  - `autoencode fashion-mnist --denoise`: MSE of the noisy and of the denoised test images against
    the clean ones, and the test MSE of that model; again with a stronger noise (std 0.2 instead
    of the course's 0.05), where a 16-number code can be closer to the clean images than the noisy
    ones are (with the course's noise it cannot: see docs/autoencode.md);
  - `vae fashion-mnist --epochs N` (the course trains 30; N is what a shared CPU allows, default 5):
    final training and test total, reconstruction and KL losses;
  - `vae --model RUN --sample 16`: wall time of decoding without retraining.
Usage: python bench/bench_generative.py DATA_DIR [--ae-epochs N] [--vae-epochs N] [--code-size N]
Keeps the runs under bench/results/runs (or --runs-dir); writes bench/results/generative.json and prints a Markdown summary for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DL = [sys.executable, "-m", "dlcli"]
AUTOENCODE_METRICS = ("test_mse", "noisy_mse", "denoised_mse", "epochs")


def run_json(args: list[str], env: dict[str, str]) -> tuple[dict, float]:
    """Run a `dl` command with --json; return its JSON object and wall time."""
    started = time.perf_counter()
    completed = subprocess.run([*DL, *args, "--quiet", "--json"], capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        raise SystemExit(f"dl {' '.join(args)} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1]), round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--ae-epochs", type=int, default=5, help="autoencoder epochs (course: 5)")
    parser.add_argument("--vae-epochs", type=int, default=5, help="VAE epochs (course: 30)")
    parser.add_argument("--code-size", type=int, default=16, help="autoencoder code size (course: 16)")
    parser.add_argument("--runs-dir", type=Path, default=HERE / "results" / "runs", help="where the runs are kept")
    parser.add_argument("--strong-noise-std", type=float, default=0.2, help="noise std of the extra denoising run")
    options = parser.parse_args()
    env = {**os.environ, "DLCLI_DATA_DIR": str(options.data_dir.resolve()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    common = ["--seed", "0", "--code-size", str(options.code_size), "--epochs", str(options.ae_epochs)]
    results: dict[str, dict] = {}
    where = ["--runs-dir", str(options.runs_dir)]
    variants = {"autoencode": [], "autoencode --denoise": ["--denoise"],
                "autoencode --denoise (stronger noise)": ["--denoise", "--noise-std", str(options.strong_noise_std)]}
    for label, extra in variants.items():
        args = ["autoencode", "fashion-mnist", *extra, *common]
        out, seconds = run_json([*args, *where], env)
        results[label] = {"command": "dl " + " ".join(args), "wall_s": seconds, **{k: out[k] for k in AUTOENCODE_METRICS},
                          "denoised_below_noisy": out["denoised_mse"] < out["noisy_mse"]}
    vae_args = ["vae", "fashion-mnist", "--seed", "0", "--epochs", str(options.vae_epochs)]
    vae, seconds = run_json([*vae_args, *where], env)
    losses = ("total_loss", "reconstruction_loss", "kl_loss")
    results["vae"] = {"command": "dl " + " ".join(vae_args), "wall_s": seconds, "epochs": vae["epochs"],
                      "samples_per_s": vae.get("samples_per_s"),
                      **{k: vae[k] for k in losses}, **{f"test_{k}": vae[f"test_{k}"] for k in losses}}
    sample, seconds = run_json(["vae", "--model", vae["run"], "--sample", "16"], env)
    results["vae --sample 16"] = {"command": "dl vae --model RUN --sample 16", "wall_s": seconds, "png": sample["png"]}

    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "generative.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| command | result | wall time |\n|---|---|---|")
    for name, result in results.items():
        shown = {k: v for k, v in result.items() if k not in ("command", "wall_s", "png")}
        text = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
        print(f"| `{result['command']}` | {text} | {result['wall_s']} s |")


if __name__ == "__main__":
    main()
