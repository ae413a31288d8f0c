"""Where training runs: one device, all local GPUs, or several machines (`--strategy`).

`auto` mirrors over the local GPUs when there is more than one, else uses `single` (TensorFlow's default
strategy: one device).
`multiworker` is `tf.distribute.MultiWorkerMirroredStrategy`, configured by the standard
`TF_CONFIG` variable. Keras 3's `fit` cannot drive that strategy (keras-team/keras#20585: its
data-batch and log reductions fail on per-replica values), so `fit_multiworker` runs the same
`train_step`/`test_step` through `strategy.run` in a loop of our own, with the usual callbacks.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import keras
import tensorflow as tf

from dlcli.errors import DlcliError

def cluster() -> dict:
    """The parsed TF_CONFIG, or {} when it is not set."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
        config["cluster"], config["task"]["type"], int(config["task"]["index"])
    except (ValueError, KeyError, TypeError):
        raise DlcliError("TF_CONFIG is not valid: it needs {\"cluster\": {...}, \"task\": {\"type\": ..., "
                         "\"index\": ...}} (see docs/scale.md)") from None
    return config


def is_chief() -> bool:
    """True unless TF_CONFIG names this process a worker other than the chief."""
    config = cluster()
    if not config:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def task_name() -> str:
    """'chief', 'worker 1', ... for the run folder's config."""
    config = cluster()
    return "chief" if is_chief() else f"{config['task']['type']} {config['task']['index']}"


def make_strategy(name: str) -> tuple[str, tf.distribute.Strategy]:
    """The strategy called `name` (auto resolved), created before any model."""
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "single"
    if name == "single":
        return name, tf.distribute.get_strategy()
    if name == "mirrored":
        return name, tf.distribute.MirroredStrategy()
    if not cluster():
        raise DlcliError("--strategy multiworker needs the TF_CONFIG variable describing the cluster "
                         "(see docs/scale.md for a two-machine example)")
    return name, tf.distribute.MultiWorkerMirroredStrategy()


def in_multiworker() -> bool:
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.num_replicas_in_sync > 1


def _distributed(strategy, x, y, batch_size: int, *, training: bool, shuffle: bool = False, seed: int = 0):
    """A batched dataset sharded by data across the workers.

    A last batch smaller than the number of replicas would leave a replica with no samples, whose
    mean loss is 0/0: in training that batch is dropped (a different few samples each epoch, as
    the data are reshuffled); in evaluation the batch size grows until every replica has data.
    """
    replicas = strategy.num_replicas_in_sync
    drop = False
    if 0 < len(x) % batch_size < replicas:
        if training:
            drop = True
        else:
            batch_size = next(size for size in range(batch_size, len(x) + 1)
                              if len(x) % size == 0 or len(x) % size >= replicas)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.batch(batch_size, drop_remainder=drop).with_options(options))


def fit_multiworker(model: keras.Model, x, y, *, epochs: int, batch_size: int, validation_data=None,
                    callbacks: Sequence[keras.callbacks.Callback] = (), shuffle: bool = True,
                    initial_epoch: int = 0, seed: int = 0) -> keras.callbacks.History:
    """`model.fit` for MultiWorkerMirroredStrategy: synchronous data-parallel steps, same callbacks."""
    if y is None or not all(hasattr(a, "shape") and hasattr(a, "__len__") for a in (x, y)):
        raise DlcliError("--strategy multiworker shards arrays of one input and one target; this command trains "
                         "on other input (a tf.data pipeline, several inputs or no labels): use --strategy mirrored or single")
    strategy = tf.distribute.get_strategy()
    with strategy.scope():  # build weights, optimizer and metric state before any replica step
        model._symbolic_build(data_batch=(x[:1], y[:1]))  # Keras' own builder, fed a local batch
    train = _distributed(strategy, x, y, batch_size, training=True, shuffle=shuffle, seed=seed)
    held_out = None if validation_data is None else _distributed(strategy, *validation_data, batch_size, training=False)
    train_step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
    steps = -(-len(x) // batch_size)
    history = keras.callbacks.History()
    hooks = keras.callbacks.CallbackList([*callbacks, history], model=model, epochs=epochs, steps=steps, verbose=0)
    model.stop_training = False
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        hooks.on_epoch_begin(epoch)
        for step, batch in enumerate(train):
            hooks.on_train_batch_begin(step)
            train_step(batch)
            hooks.on_train_batch_end(step)
        logs = {name: float(value) for name, value in model.get_metrics_result().items()}
        if held_out is not None:
            logs.update({f"val_{name}": value for name, value in _evaluate(model, held_out).items()})
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end()
    return history


def _evaluate(model: keras.Model, dataset) -> dict[str, float]:
    """The compiled metrics of `model` over a distributed dataset, reduced across the workers."""
    strategy = tf.distribute.get_strategy()
    test_step = tf.function(lambda batch: strategy.run(model.test_step, args=(batch,)))
    model.reset_metrics()
    for batch in dataset:
        test_step(batch)
    return {name: float(value) for name, value in model.get_metrics_result().items()}


def evaluate_multiworker(model: keras.Model, x, y, *, batch_size: int) -> dict[str, float]:
    """`model.evaluate(..., return_dict=True)` for MultiWorkerMirroredStrategy (see module doc)."""
    return _evaluate(model, _distributed(tf.distribute.get_strategy(), x, y, batch_size, training=False))
