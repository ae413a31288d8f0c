"""What the engines' int8 network costs in play: the same network scored in float32, bfloat16 and
int8 on held-out positions, with the time each evaluator takes to build.

    .venv/bin/python bench/bench_go_int8.py DATA_RUN [--network default] [--limit N] [--out FILE]

DATA_RUN is a `dl go data` run folder (its validation split is scored, as `dl go eval` scores it);
`--network` any network `dl go` takes ('default': the shipped one). For each precision the engines
can call (`mcts.NetworkEvaluator(precision=...)`): policy top-1 and top-5 accuracy, value MSE, the
share of positions whose most probable move is float32's, the largest policy and value differences
from float32, and the seconds to build the evaluator (the int8 one calibrates on 480 self-play
positions and quantises). TensorFlow and ONNX Runtime run on one thread, as in a match. Writes
bench/results/go-int8.json (or `--out`) and prints it. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_run", type=Path)
    parser.add_argument("--network", default="default")
    parser.add_argument("--limit", type=int, help="score the first N validation positions only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "go-int8.json")
    options = parser.parse_args()
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from dlcli.go import dataset, mcts
    from dlcli.go import evaluate as scoring

    model = mcts.load_network(options.network)
    folder, manifest = dataset.load_manifest(options.data_run)
    positions = list(scoring.shard_positions(folder, manifest, "validation", options.limit))
    results = {"network": options.network, "parameters": model.count_params(), "data": str(options.data_run),
               "positions": len(positions), "precisions": {}}
    reference = None
    for precision in mcts.PRECISIONS[::-1]:  # float32 first: the others are compared with it
        started = time.perf_counter()
        evaluator = mcts.NetworkEvaluator(model, symmetries=False, precision=precision)
        built = time.perf_counter() - started
        answers = []

        def predict(planes, evaluator=evaluator, answers=answers):  # dl go eval's scoring, answers kept
            answers.append(evaluator.predict(planes))
            return answers[-1]

        scores = scoring.score(predict, positions, scoring.Scores(), batch_size=256)
        policy, value = (np.concatenate(column) for column in zip(*answers))
        row = {"precision_used": evaluator.precision, "build_seconds": round(built, 2),
               **{key: scores.report()["all"][key] for key in ("policy_top1", "policy_top5", "value_mse")}}
        if reference is None:
            reference = (policy, value)
        else:
            row["same_top_move_as_float32"] = round(float(np.mean(policy.argmax(1) == reference[0].argmax(1))), 4)
            row["max_policy_difference"] = round(float(np.abs(policy - reference[0]).max()), 4)
            row["mean_value_difference"] = round(float(np.abs(value - reference[1]).mean()), 4)
        results["precisions"][precision] = row
        print(precision, json.dumps(row), flush=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
