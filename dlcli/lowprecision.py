"""bfloat16 where the hardware computes it: the hardware check, output layers kept in float32, and
a bfloat16 twin of a trained float32 network for fast inference (the Go search's network calls).

Mixed bfloat16 keeps the variables in float32 and computes in bfloat16. A twin shares nothing with
its original: it is a clone whose layers compute in bfloat16, holding a copy of the weights.
"""

from __future__ import annotations

from pathlib import Path


def _cpu_fields() -> tuple[str | None, set[str]]:
    """The CPU's model name and its instruction flags, from /proc/cpuinfo (None and nothing elsewhere)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's
    return fields.get("model name"), set(fields.get("flags", "").split())


def cpu_description() -> dict:
    """What a run's speed depends on, for config.json: the CPU's model, the cores this process may
    use, and which of its instructions our precision choices turn on (bfloat16: AVX512_BF16 or AMX;
    int8 dot products: VNNI). Runs of one command on two machines are then told apart."""
    import os
    import platform

    model, flags = _cpu_fields()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model or platform.processor() or platform.machine(), "cores": cores,
            "instructions": sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni"})}


def hardware_has_bfloat16() -> bool:
    """A CPU with AVX512_BF16 or AMX, or a GPU that computes in bfloat16 (compute capability 8+)."""
    if _cpu_fields()[1] & {"avx512_bf16", "amx_bf16"}:
        return True
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
        if capability >= (8, 0):
            return True
    return False


def outputs_in_float32(model) -> None:
    """Make the layers that produce `model`'s outputs compute in float32 (a softmax in bfloat16
    rounds small probabilities away); nested models are followed to their own output layers."""
    import keras

    for output in getattr(model, "outputs", None) or []:
        layer = output._keras_history.operation
        if isinstance(layer, keras.Model):
            outputs_in_float32(layer)
        elif isinstance(layer, keras.layers.Layer):
            layer.dtype_policy = keras.DTypePolicy("float32")


def bfloat16_twin(model):
    """`model` (functional, trained in any precision) cloned to compute in mixed bfloat16, its output
    layers in float32, with a copy of its weights; None when the model cannot be cloned that way
    (a subclassed model, a layer whose config does not rebuild it), so callers keep the original."""
    import keras

    def in_bfloat16(layer):
        config = layer.get_config()
        config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    try:
        twin = keras.models.clone_model(model, clone_function=in_bfloat16)
        outputs_in_float32(twin)
        twin.set_weights(model.get_weights())
    except (ValueError, TypeError, NotImplementedError, KeyError):
        return None
    return twin
