"""The best linear code of each size for Fashion-MNIST: the test MSE of a reconstruction from the
first k principal components of the training images (never part of the tests).

docs/autoencode.md uses it as the floor a k-number autoencoder code has to beat: no linear code of
16 numbers rebuilds the test images better, whatever the training.
Usage: python bench/pca_bound.py DATA_DIR [--train-images 20000] [--sizes 16,32,64,128]
Writes bench/results/pca-bound.json and prints it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dlcli import data

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--train-images", type=int, default=20000, help="the first N training images (SVD cost)")
    parser.add_argument("--sizes", default="16,32,64,128", help="code sizes (principal components kept)")
    options = parser.parse_args()
    fashion = data.load("fashion-mnist", data_dir=options.data_dir)
    train = fashion.x_train[: options.train_images].reshape(-1, 28 * 28).astype("float64") / 255
    test = fashion.x_test.reshape(-1, 28 * 28).astype("float64") / 255
    mean = train.mean(axis=0)
    _, _, components = np.linalg.svd(train - mean, full_matrices=False)
    results = {"command": f"bench/pca_bound.py DATA_DIR --train-images {options.train_images} --sizes {options.sizes}",
               "train_images": len(train), "test_images": len(test), "test_mse": {}}
    for size in (int(k) for k in options.sizes.split(",")):
        basis = components[:size]
        rebuilt = (test - mean) @ basis.T @ basis + mean
        results["test_mse"][str(size)] = round(float(np.mean((rebuilt - test) ** 2)), 5)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "pca-bound.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
