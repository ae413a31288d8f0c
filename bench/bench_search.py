"""Search speed: today's compiled search against the pure-Python search of a git revision, side by side.

    .venv/bin/python bench/bench_search.py ../shared/datasets [--baseline 4aea7b7] [--playouts 512] [--runtimes]
                                           [--threads 1] [--out FILE]

At move 120 of the first real game of 200 moves or more, with a network of just under 100,000
parameters (the course's golois tower at 46 filters: 99,369; random weights, speed does not depend
on them): playouts per second of `mcts.Search` (and the 31-plane encoder) as they were at
`--baseline`, loaded from git (bench/baseline.py), and of today's `mcts.CompiledSearch` (with the
network called in float32, in bfloat16, and in int8 through ONNX Runtime as engines call it by
default: `mcts.search_precision`; the int8 twin is calibrated on the network's own self-play), each run
`--repeats` times in turn, best run kept; the share of a compiled playout spent in the network call;
the encoder alone, reference and compiled. `--runtimes` also times one network call with
`tf.function` (what the search uses), the same with XLA (`jit_compile=True`) and the TFLite
interpreter, to choose the runtime by measurement. `--threads 1` runs TensorFlow on one thread
(the issue's "one core"). Writes bench/results/go-search.json (or `--out`) and prints it. Never
part of the tests.
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
sys.path.insert(0, str(ROOT / "bench"))

from baseline import old_module  # noqa: E402

from dlcli import lowprecision  # noqa: E402


def middle_game(archive: Path, moves: int = 120):
    from dlcli.go import sgf

    game = next(game for game in sgf.read_collection(archive, check=False) if len(game.moves) >= 200)
    board = game.board()
    board.seen = {board.hash}  # the engine plays with the superko check: give the replayed board one
    for colour, point in game.moves[:moves]:
        board.play(point, colour)
    return board


class Timed:
    """A network's compiled function that adds up the seconds spent in it."""

    def __init__(self, forward):
        self.forward, self.seconds = forward, 0.0

    def __call__(self, planes):
        started = time.perf_counter()
        outputs = self.forward(planes)
        outputs = [np.asarray(output) for output in outputs]
        self.seconds += time.perf_counter() - started
        return outputs


def search_speed(network, board, old_mcts, batches, playouts: int, repeats: int) -> list[dict]:
    from dlcli.go import mcts

    rows = []
    for batch in batches:
        settings = {"seconds": None, "playouts": playouts, "batch_size": batch}
        sides = {"baseline": (old_mcts, old_mcts.Search, {}), "compiled": (mcts, mcts.CompiledSearch, {}),
                 "compiled_bfloat16": (mcts, mcts.CompiledSearch, {"precision": "bfloat16"}),
                 "compiled_int8": (mcts, mcts.CompiledSearch, {"precision": "int8"})}
        evaluators = {name: module.NetworkEvaluator(network, seed=0, **extra) for name, (module, _, extra) in sides.items()}
        for evaluator in evaluators.values():
            evaluator._forward = Timed(evaluator._forward)
            evaluator.predict(np.zeros((batch, 19, 19, 31), np.float32))  # the one trace
        best: dict[str, tuple] = {}
        for _ in range(repeats):
            for name, (module, search, _) in sides.items():
                evaluator = evaluators[name]
                evaluator._forward.seconds = 0.0
                result = search(evaluator, module.Settings(**settings), seed=0).run(board)
                if name not in best or result.seconds < best[name][0].seconds:
                    best[name] = (result, evaluator._forward.seconds)
        row = {"batch": batch}
        for name, (result, network_seconds) in best.items():
            row[name] = {"playouts": result.playouts, "seconds": round(result.seconds, 3),
                         "playouts_per_s": round(result.playouts / result.seconds, 1),
                         "network_share": round(network_seconds / result.seconds, 3)}
        row["speedup"] = round(row["compiled"]["playouts_per_s"] / row["baseline"]["playouts_per_s"], 2)
        for name in ("bfloat16", "int8"):
            row[f"speedup_{name}"] = round(row[f"compiled_{name}"]["playouts_per_s"] / row["baseline"]["playouts_per_s"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def best_of_rounds(calls: dict, seconds: float = 0.5, rounds: int = 4) -> dict:
    """Milliseconds per call of each function, timed in turn for `seconds` each round, best round
    kept: the sides share the machine's load as much as a noisy machine allows."""
    best = {name: float("inf") for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            started, count = time.perf_counter(), 0
            while time.perf_counter() - started < seconds:
                call()
                count += 1
            best[name] = min(best[name], 1000 * (time.perf_counter() - started) / count)
    return best


def encode_speed(board, old_features) -> dict:
    from dlcli.go import compiled, features

    ints, bits = compiled.state_of(board)
    seen, out = compiled.seen_array(board), np.zeros((board.points, 31), np.uint8)

    def from_arrays():  # what the search does at its leaves: no Board to convert
        out[:] = 0
        compiled.encode_state(ints, bits, board.size, features.komi_plane(board.komi), seen, out)

    best = best_of_rounds({"baseline": lambda: old_features.encode(board),
                           "compiled_from_board": lambda: compiled.encode_board(board),
                           "compiled_from_arrays": from_arrays})
    return {**{f"{name}_ms": round(ms, 4) for name, ms in best.items()},
            "speedup_from_board": round(best["baseline"] / best["compiled_from_board"], 1),
            "speedup_from_arrays": round(best["baseline"] / best["compiled_from_arrays"], 1)}


def runtimes(network, batches) -> list[dict]:
    """One network call: tf.function (the search's float32), with XLA, the TFLite interpreter,
    tf.function on a bfloat16 twin, ONNX Runtime in float32, and ONNX Runtime's int8 twin (what
    engines call by default)."""
    import tensorflow as tf

    signature = [tf.TensorSpec([None, 19, 19, 31], tf.float32)]
    plain = tf.function(lambda x: network(x, training=False), input_signature=signature, reduce_retracing=True)
    xla = tf.function(lambda x: network(x, training=False), input_signature=signature, jit_compile=True)
    twin = lowprecision.bfloat16_twin(network)
    bfloat16 = tf.function(lambda x: twin(x, training=False), input_signature=signature, reduce_retracing=True)
    lite = tf.lite.TFLiteConverter.from_concrete_functions([plain.get_concrete_function()], network).convert()
    from dlcli import onnxnet
    from dlcli.go import mcts

    onnx_float32 = onnxnet.network(network)
    int8 = mcts.NetworkEvaluator(network, precision="int8")._forward  # calibrated as engines calibrate it
    rows = []
    for batch in batches:
        planes = np.random.default_rng(0).random((batch, 19, 19, 31)).astype(np.float32)
        interpreter = tf.lite.Interpreter(model_content=lite)
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], planes.shape)
        interpreter.allocate_tensors()

        def tflite(x, interpreter=interpreter):
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
            interpreter.invoke()
            return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]

        best = best_of_rounds({"tf.function": lambda: plain(planes), "xla": lambda: xla(planes),
                               "tflite": lambda: tflite(planes), "bfloat16": lambda: bfloat16(planes),
                               "onnx_float32": lambda: onnx_float32(planes), "onnx_int8": lambda: int8(planes)},
                              seconds=1.0)
        exact = np.asarray(plain(planes)[0])
        row = {"batch": batch, **{f"{name}_ms": round(ms, 2) for name, ms in best.items()}}
        for name, forward in (("bfloat16", bfloat16), ("onnx_int8", int8)):
            fast = np.asarray(forward(planes)[0])
            row[f"{name}_same_top_move"] = float(np.mean(exact.argmax(1) == fast.argmax(1)))
            row[f"{name}_max_policy_difference"] = round(float(np.abs(exact - fast).max()), 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--baseline", default="4aea7b7")
    parser.add_argument("--playouts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--runtimes", action="store_true")
    parser.add_argument("--threads", type=int, help="TensorFlow's intra- and inter-op threads (default: its own)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "go-search.json")
    options = parser.parse_args()
    from dlcli.session import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    if options.threads:
        tf.config.threading.set_intra_op_parallelism_threads(options.threads)
        tf.config.threading.set_inter_op_parallelism_threads(options.threads)
    from dlcli.models import gonets

    old_features = old_module(options.baseline, "dlcli/go/features.py")
    old_mcts = old_module(options.baseline, "dlcli/go/mcts.py")
    old_mcts.features = old_features  # the baseline's search encodes with the baseline's planes
    network = gonets.build_go_baseline(filters=46)
    board = middle_game(options.data_dir / "go" / "go_ai_games_sgf.zip")
    results = {"baseline": options.baseline, "position": "move 120 of the first game of 200 moves or more",
               "parameters": network.count_params(), "playouts_per_search": options.playouts,
               "tensorflow_threads": options.threads or "default",
               "encode_move_120": encode_speed(board, old_features),
               "search": search_speed(network, board, old_mcts, options.batches, options.playouts, options.repeats)}
    if options.runtimes:
        results["network_runtimes"] = runtimes(network, options.batches)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
