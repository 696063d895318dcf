"""Multi-device helpers shared by the layers and the models."""

import keras


def replicas_in_sync():
    """Replicas computing one step together under `tf.distribute` (TensorFlow), else 1.

    A `tf.distribute` strategy runs the step once per replica and sums the replicas' gradients,
    so a loss computed outside Keras's compiled losses must be divided by this number.

    Returns:
        int.

    Example:
        >>> replicas_in_sync()  # outside a tf.distribute strategy
        1
    """
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync
