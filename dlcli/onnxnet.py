"""A trained Keras network as an ONNX Runtime session, in float32 or quantised to int8, for fast
inference on a CPU (the Go search's network calls: docs/go-search.md).

`export` writes a functional Keras model as an ONNX graph, layer by layer, for the layers the
package's networks use: convolutions (grouped, strided, dilated), depthwise convolutions, dense
layers, batch and layer normalisation, activations, add, multiply, concatenate, pooling, flatten,
and the layers that do nothing at inference (dropout, noise). Any other layer raises `Unsupported`
and `network` returns None, so callers keep TensorFlow. Inside the graph 4-D tensors are NCHW
(ONNX's convolution layout): the NHWC input is transposed once, and back where the model flattens
or outputs a 4-D tensor, so the outputs are those of Keras, in the model's order.

int8: the convolutions' weights are quantised per output channel and their inputs per tensor,
with ranges measured on `calibration` inputs the caller gives (inputs like the ones it will run:
MinMax calibration, QDQ format, ONNX Runtime's own quantiser). Outputs and everything after the
last convolution stay in float32, so a softmax keeps its small probabilities.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
import numpy as np

OPSET = 17
IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                   "AlphaDropout", "ActivityRegularization")


class Unsupported(ValueError):
    """The model holds a layer (or a layer setting) the export does not translate."""


def available() -> bool:
    """Whether ONNX Runtime and the onnx package can be imported here."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Graph:
    """ONNX nodes and weights under construction, with fresh names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.weights: list = []
        self.count = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def node(self, op: str, inputs: list[str], hint: str, **attributes) -> str:
        output = self.fresh(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def constant(self, array, hint: str, dtype=np.float32) -> str:
        name = self.fresh(hint)
        self.weights.append(self.numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name


def _activation(graph: _Graph, name, x: str, rank: int, hint: str) -> str:
    """Keras' activation `name` applied to `x` (rank `rank`, NCHW when 4-D)."""
    name = getattr(name, "__name__", name)
    if name in (None, "linear"):
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "elu": "Elu", "softplus": "Softplus"}
    if name in simple:
        return graph.node(simple[name], [x], hint)
    if name == "softmax" and rank == 2:
        return graph.node("Softmax", [x], hint, axis=-1)
    if name in ("swish", "silu"):
        return graph.node("Mul", [x, graph.node("Sigmoid", [x], hint)], hint)
    if name == "gelu":  # Keras' default: the exact form, x * (1 + erf(x / sqrt 2)) / 2
        erf = graph.node("Erf", [graph.node("Div", [x, graph.constant(np.sqrt(2.0), "sqrt2")], hint)], hint)
        half = graph.node("Mul", [x, graph.constant(0.5, "half")], hint)
        return graph.node("Mul", [half, graph.node("Add", [erf, graph.constant(1.0, "one")], hint)], hint)
    raise Unsupported(f"activation {name!r} on a rank-{rank} tensor")


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: (before, after), the extra one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _convolution(graph: _Graph, layer, x: str, weights: list, depthwise: bool) -> str:
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise Unsupported(f"{layer.name}: data_format {config['data_format']!r}")
    kernel = np.asarray(weights[0], np.float32)
    kh, kw = kernel.shape[:2]
    if depthwise:  # (kh, kw, in, multiplier) -> (in * multiplier, 1, kh, kw), channel c * multiplier + m
        channels, multiplier = kernel.shape[2:]
        onnx_kernel = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
        group = channels
    else:  # (kh, kw, in / groups, out) -> (out, in / groups, kh, kw)
        onnx_kernel = kernel.transpose(3, 2, 0, 1)
        group = int(config.get("groups", 1))
    strides, dilations = list(config["strides"]), list(config["dilation_rate"])
    if config["padding"] == "same":
        height, width = layer.input.shape[1:3]
        if height is None or width is None:
            raise Unsupported(f"{layer.name}: 'same' padding needs a fixed input size")
        (top, bottom), (left, right) = (_same_padding(n, k, s, d) for n, k, s, d in
                                        zip((height, width), (kh, kw), strides, dilations))
        pads = [top, left, bottom, right]
    elif config["padding"] == "valid":
        pads = [0, 0, 0, 0]
    else:
        raise Unsupported(f"{layer.name}: padding {config['padding']!r}")
    inputs = [x, graph.constant(onnx_kernel, layer.name + "_kernel")]
    if config.get("use_bias", True):
        inputs.append(graph.constant(weights[1], layer.name + "_bias"))
    y = graph.node("Conv", inputs, layer.name, kernel_shape=[kh, kw], strides=strides, dilations=dilations,
                   pads=pads, group=group)
    return _activation(graph, config.get("activation"), y, 4, layer.name)


def _channel_axis_is_last(layer, rank: int) -> bool:
    axis = layer.get_config()["axis"]
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    return [a % rank for a in axes] == [rank - 1]


def _layer(graph: _Graph, layer, inputs: list[tuple[str, int]]) -> tuple[str, int]:
    """The ONNX nodes of one Keras layer: its inputs' (name, rank) to its output's (name, rank)."""
    kind = type(layer).__name__
    config = layer.get_config()
    weights = [np.asarray(w) for w in layer.get_weights()]
    x, rank = inputs[0]
    if kind in IDENTITY_LAYERS:
        return x, rank
    if kind == "Conv2D" or kind == "DepthwiseConv2D":
        if rank != 4:
            raise Unsupported(f"{layer.name}: a convolution of a rank-{rank} tensor")
        return _convolution(graph, layer, x, weights, kind == "DepthwiseConv2D"), 4
    if kind == "Dense":
        if rank != 2:
            raise Unsupported(f"{layer.name}: a dense layer on a rank-{rank} tensor")
        bias = weights[1] if config.get("use_bias", True) else np.zeros(weights[0].shape[1], np.float32)
        y = graph.node("Gemm", [x, graph.constant(weights[0], layer.name + "_kernel"),
                                graph.constant(bias, layer.name + "_bias")], layer.name)
        return _activation(graph, config.get("activation"), y, 2, layer.name), 2
    if kind == "Activation":
        return _activation(graph, config["activation"], x, rank, layer.name), rank
    if kind == "ReLU":
        if config.get("threshold") or config.get("negative_slope"):
            raise Unsupported(f"{layer.name}: a ReLU with a threshold or a negative slope")
        y = graph.node("Relu", [x], layer.name)
        if config.get("max_value") is not None:
            y = graph.node("Clip", [y, graph.constant(0.0, "zero"), graph.constant(config["max_value"], "max")],
                           layer.name)
        return y, rank
    if kind == "BatchNormalization":
        if not _channel_axis_is_last(layer, rank):
            raise Unsupported(f"{layer.name}: batch normalisation over an axis other than the channels")
        mean, variance = (np.asarray(v) for v in (layer.moving_mean, layer.moving_variance))
        gamma = np.asarray(layer.gamma) if layer.scale else np.ones_like(mean)
        beta = np.asarray(layer.beta) if layer.center else np.zeros_like(mean)
        parts = [graph.constant(array, f"{layer.name}_{what}")
                 for array, what in ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (variance, "variance"))]
        return graph.node("BatchNormalization", [x, *parts], layer.name, epsilon=float(config["epsilon"])), rank
    if kind == "LayerNormalization":
        if not _channel_axis_is_last(layer, rank) or config.get("rms_scaling"):
            raise Unsupported(f"{layer.name}: layer normalisation other than over the channels")
        channels = layer.input.shape[-1]
        gamma = np.asarray(layer.gamma) if layer.scale else np.ones(channels, np.float32)
        beta = np.asarray(layer.beta) if layer.center else np.zeros(channels, np.float32)
        last = graph.node("Transpose", [x], layer.name, perm=[0, 2, 3, 1]) if rank == 4 else x
        y = graph.node("LayerNormalization", [last, graph.constant(gamma, layer.name + "_gamma"),
                                              graph.constant(beta, layer.name + "_beta")],
                       layer.name, axis=-1, epsilon=float(config["epsilon"]))
        return (graph.node("Transpose", [y], layer.name, perm=[0, 3, 1, 2]) if rank == 4 else y), rank
    if kind in ("Add", "Multiply"):
        if any(r != rank for _, r in inputs):
            raise Unsupported(f"{layer.name}: inputs of different ranks")
        y = x
        for other, _ in inputs[1:]:
            y = graph.node("Add" if kind == "Add" else "Mul", [y, other], layer.name)
        return y, rank
    if kind == "Concatenate":
        if any(r != rank for _, r in inputs) or config["axis"] % rank != rank - 1:
            raise Unsupported(f"{layer.name}: a concatenation other than along the channels")
        return graph.node("Concat", [name for name, _ in inputs], layer.name, axis=1), rank
    if kind == "GlobalAveragePooling2D" and rank == 4 and config.get("data_format", "channels_last") == "channels_last":
        pooled = graph.node("GlobalAveragePool", [x], layer.name)
        return (pooled, 4) if config.get("keepdims") else (graph.node("Flatten", [pooled], layer.name, axis=1), 2)
    if kind == "Flatten":
        if rank == 4:  # Keras flattens NHWC: back to that order first
            x = graph.node("Transpose", [x], layer.name, perm=[0, 2, 3, 1])
        return (graph.node("Flatten", [x], layer.name, axis=1) if rank > 2 else x), 2
    raise Unsupported(f"{layer.name}: layer {kind} (with {config.get('data_format', 'its settings')})")


def _key(tensor) -> tuple[str, int, int]:
    operation, node_index, tensor_index = tensor._keras_history
    return operation.name, node_index, tensor_index


def export(model):
    """The ONNX graph (an `onnx.ModelProto`) of the functional Keras `model` with one NHWC input;
    raises Unsupported for a layer it does not translate."""
    import keras
    import onnx
    from onnx import TensorProto

    if not isinstance(getattr(model, "inputs", None), list) or len(model.inputs) != 1:
        raise Unsupported("the export takes a functional model with one input")
    graph = _Graph()
    source = model.inputs[0]
    shape = list(source.shape)
    rank = len(shape)
    if rank == 4:
        tensors = {_key(source): (graph.node("Transpose", ["input"], "input_nchw", perm=[0, 3, 1, 2]), 4)}
    elif rank == 2:
        tensors = {_key(source): ("input", 2)}
    else:
        raise Unsupported(f"an input of rank {rank}")
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model) or len(layer._inbound_nodes) != 1 or isinstance(layer.output, (list, tuple)):
            raise Unsupported(f"{layer.name}: a nested model, a layer used more than once or one with several outputs")
        layer_inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        try:
            inputs = [tensors[_key(tensor)] for tensor in layer_inputs]
        except KeyError as missing:
            raise Unsupported(f"{layer.name}: an input the export did not reach ({missing})") from None
        tensors[_key(layer.output)] = _layer(graph, layer, inputs)
    outputs = []
    for index, output in enumerate(model.outputs):
        name, output_rank = tensors[_key(output)]
        if output_rank == 4:
            name = graph.node("Transpose", [name], "output_nhwc", perm=[0, 2, 3, 1])
        final = f"output_{index}"
        graph.nodes.append(graph.helper.make_node("Identity", [name], [final], name=final))
        outputs.append(graph.helper.make_tensor_value_info(final, TensorProto.FLOAT, ["batch", *output.shape[1:]]))
    inputs = [graph.helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *shape[1:]])]
    proto = graph.helper.make_model(graph.helper.make_graph(graph.nodes, model.name or "network", inputs, outputs,
                                                            graph.weights),
                                    opset_imports=[graph.helper.make_opsetid("", OPSET)], producer_name="dlcli")
    onnx.checker.check_model(proto)
    return proto


def _has_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags or "amx_int8" in flags


@contextlib.contextmanager
def _quiet_logging():
    """The quantiser's advice ('consider pre-processing') goes to the root logger: not to a user."""
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(before)


def quantise(proto, calibration: np.ndarray):
    """`proto` with its convolutions in int8 (weights per channel, inputs per tensor), the ranges
    measured on `calibration` (a batch of inputs like those it will run, NHWC)."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": calibration[i:i + 64]} for i in range(0, len(calibration), 64)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="dlcli-int8-") as folder, _quiet_logging():
        source, target = Path(folder) / "float32.onnx", Path(folder) / "int8.onnx"
        onnx.save(proto, source)
        quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["Conv"], per_channel=True, reduce_range=not _has_vnni(),
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        return onnx.load(target)


class OnnxNetwork:
    """An ONNX Runtime session behind a call like a Keras model's: inputs (NHWC float32) in, the
    model's outputs (a list, in the model's order) out. `precision` is 'float32' or 'int8'."""

    def __init__(self, proto, precision: str, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.proto, self.precision, self.threads = proto, precision, threads

    def __call__(self, inputs: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"input": np.asarray(inputs, dtype=np.float32)})

    def quantised(self, calibration: np.ndarray) -> "OnnxNetwork":
        """This float32 network's int8 twin, calibrated on `calibration` inputs."""
        return OnnxNetwork(quantise(self.proto, np.asarray(calibration, dtype=np.float32)), "int8", self.threads)


def network(model, *, calibration: np.ndarray | None = None, threads: int = 1) -> OnnxNetwork | None:
    """`model` as an ONNX Runtime session: int8 when `calibration` inputs are given, else float32;
    None when ONNX Runtime is missing or the model holds a layer the export does not translate."""
    if not available():
        return None
    try:
        proto = export(model)
    except Unsupported:
        return None
    exported = OnnxNetwork(proto, "float32", threads)
    return exported if calibration is None else exported.quantised(calibration)

