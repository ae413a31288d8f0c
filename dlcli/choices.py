"""The names a user chooses from, that `--help` lists before TensorFlow loads.

Bottom layer: the commands offer these lists and the model builders accept them, from this one
place, so that `dl mobilenet --help` and `dlcli.models.mobilenet` cannot disagree.
"""

OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "nadam", "adagrad")  # names keras.optimizers.get knows
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")  # the OPTIMIZERS that take --momentum
SCHEDULES = ("constant", "cosine", "one-cycle")  # --schedule; dlcli.training.learning_rate_schedule
MOBILENET_BLOCKS = ("mobilenet", "shufflenet", "convnext")  # dl mobilenet --block; dlcli.models.mobilenet
GO_NETWORKS = ("baseline", "residual", "mobilenet", "convnext")  # dl go train --network; dlcli.models.gonets.GO_BUILDERS
GO_VALUE_HEADS = ("course", "relative")  # dl go train --value-head; dlcli.models.gonets.VALUE_HEADS


def mobilenet_expand(block: str, trunk: int) -> int:
    """The course's width inside a block, `dl mobilenet --expand`'s default: 6x the trunk (inverted
    residual, ShuffleNet), 4x (ConvNeXt)."""
    return (4 if block == "convnext" else 6) * trunk
