"""The one BatchNormalization configuration every layer of the package uses."""

import keras

# PyTorch's default (momentum 0.1 there = 0.9 here), as in GraphMAE and CTR-GCN. Keras's 0.99
# leaves the moving statistics far from the data after the few thousand steps of a small data set,
# so inference-mode accuracy lags training accuracy badly.
MOMENTUM = 0.9


def batch_norm(name, dtype=None):
    return keras.layers.BatchNormalization(momentum=MOMENTUM, dtype=dtype, name=name)
