"""The course's plain Keras MNIST script (Dense 512 relu + softmax, rmsprop, batch 128), timed.

Baseline for `dl classify mnist`: the same network and data, written as the course writes it.
Reads mnist.npz with numpy (never keras.datasets: see docs/data.md). Prints one JSON line with
the wall time of each epoch and the test accuracy.
Usage: python bench/plain_mnist.py DATA_DIR EPOCHS
"""

import json
import os
import sys
import time

import numpy as np
from tensorflow import keras
from tensorflow.keras import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.utils import to_categorical

data_dir, epochs = sys.argv[1], int(sys.argv[2])
keras.utils.set_random_seed(0)
with np.load(os.path.join(data_dir, "mnist.npz")) as f:
    train_images, train_labels = f["x_train"], f["y_train"]
    test_images, test_labels = f["x_test"], f["y_test"]

train_images = train_images.reshape((60000, 28 * 28)).astype("float32") / 255
test_images = test_images.reshape((10000, 28 * 28)).astype("float32") / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

network = Sequential()
network.add(keras.Input(shape=(28 * 28,)))
network.add(Dense(512, activation="relu"))
network.add(Dense(10, activation="softmax"))
network.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds.append(time.perf_counter() - self.started)


seconds = []
network.fit(train_images, train_labels, epochs=epochs, batch_size=128, callbacks=[EpochTimer()])
test_loss, test_acc = network.evaluate(test_images, test_labels, verbose=0)
print(json.dumps({"epoch_seconds": seconds, "test_accuracy": test_acc}))
