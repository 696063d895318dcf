"""Losses: SkeletonMAE's re-weighted cosine error and label-smoothed sparse cross-entropy."""

import keras
from keras import ops


def reweighted_cosine_error(target, reconstruction, mask, beta=2.0):
    """Mean over masked joints of `(1 - cos(x_i, z_i))^beta` (the paper's loss, beta = 2).

    Args:
        target: tensor `(..., V, F)`. `x_i`, the features the decoder must reconstruct.
        reconstruction: tensor, same shape. `z_i`.
        mask: tensor `(..., V)`. 1 on joints that count (the masked ones), 0 elsewhere;
            visible joints contribute nothing.
        beta: float. The re-weighting exponent; larger values down-weight easy joints.

    Returns:
        A float32 scalar; 0 when the mask is empty.

    Example:
        >>> x = ops.ones((1, 3, 4))
        >>> float(reweighted_cosine_error(x, x, ops.ones((1, 3))))
        0.0
        >>> float(reweighted_cosine_error(x, -x, ops.ones((1, 3))))  # (1 - (-1))^2
        4.0
    """
    target = ops.cast(target, "float32")
    reconstruction = ops.cast(reconstruction, "float32")
    mask = ops.cast(mask, "float32")
    cosine = ops.sum(
        ops.normalize(target, axis=-1, epsilon=1e-8)
        * ops.normalize(reconstruction, axis=-1, epsilon=1e-8),
        axis=-1,
    )
    error = ops.power(ops.maximum(1.0 - cosine, 0.0), beta)
    return ops.sum(error * mask) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SparseCategoricalCrossentropyWithLabelSmoothing(keras.losses.Loss):
    """Cross-entropy on integer labels with label smoothing (the SSL fine-tuning loss, 0.1).

    `keras.losses.SparseCategoricalCrossentropy` has no `label_smoothing`; this one-hot encodes the
    labels and defers to `keras.losses.categorical_crossentropy`.

    Args:
        label_smoothing: float. Weight of the uniform distribution mixed into the targets.
        from_logits: bool. Whether `y_pred` are logits (else probabilities).
        name: str. The loss's name.
        **kwargs: passed to `keras.losses.Loss` (e.g. `reduction`).

    Example:
        >>> loss = SparseCategoricalCrossentropyWithLabelSmoothing(0.1)
        >>> round(float(loss([0], ops.convert_to_tensor([[0.0, 0.0]]))), 4)  # ln 2
        0.6931
    """

    def __init__(self, label_smoothing=0.1, from_logits=True, name="smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        one_hot = ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing, from_logits=self.from_logits)
        return config
