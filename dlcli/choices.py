"""The names a user chooses from, that `--help` lists before TensorFlow loads.

Bottom layer: the commands offer these lists and the model builders accept them, from this one
place, so that `dl mobilenet --help` and `dlcli.models.mobilenet` cannot disagree.
"""

OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "nadam", "adagrad")  # names keras.optimizers.get knows
