"""BatchNormalization (+ PReLU) after a Dense, as the package's layers use it: the Keras layers,
or a fused path that computes the same in fewer passes where it measurably pays.

The fused path reads the layers' variables and updates the moving statistics itself; the plain
path calls the layers (`prelu(norm(dense(x), training=training))`) and is the reference the
fused one is tested against (`tests/test_fused_normalization.py`). Which one runs is a setting of
the process (`use_fused_normalization`), not of a model: both compute the same function of the
same weights, so a saved model loads the same whichever path saved or loads it.
"""

import keras
from keras import ops

from keras_skeletonmae.distribution import replicas_in_sync

# PyTorch's default (momentum 0.1 there = 0.9 here), as in GraphMAE and CTR-GCN. Keras's 0.99
# leaves the moving statistics far from the data after the few thousand steps of a small data set,
# so inference-mode accuracy lags training accuracy badly.
MOMENTUM = 0.9

# The path each backend takes by default, from training-step times of both paths measured in one
# run (benchmarks/README.md, "Fused or plain normalization").
FUSED_BY_DEFAULT = {"jax": True, "torch": True, "tensorflow": False}

_fused = None  # use_fused_normalization's setting; None: the backend's default


def use_fused_normalization(enabled=None):
    """Choose how GINConv, STRLBlock and MultiScaleTemporalConv compute BatchNorm (+ PReLU).

    Read when a layer is called, so it applies to calls and to training, evaluation and
    prediction functions traced after it (call it before `fit`, or `compile` again). It changes
    speed, not results: both paths give the same outputs, gradients and moving statistics
    within float32 rounding.

    Args:
        enabled (bool | None): `True`: the fused path; `False`: the Keras layers;
            `None`: the backend's default (`FUSED_BY_DEFAULT`).

    Returns:
        bool | None: the previous setting, to restore it.

    Example:
        >>> from keras_skeletonmae.layers import use_fused_normalization
        >>> previous = use_fused_normalization(False)  # the plain Keras layers
        >>> use_fused_normalization(previous)
        False
    """
    global _fused
    previous, _fused = _fused, None if enabled is None else bool(enabled)
    return previous


def fused_normalization():
    """Whether the fused path runs now: the `use_fused_normalization` setting, else the backend's
    default; never under a `tf.distribute` strategy of several replicas, whose global-batch
    statistics and gradients the Keras layers compute.

    Returns:
        bool: `True` for the fused path.

    Example:
        >>> import keras
        >>> fused_normalization() == FUSED_BY_DEFAULT[keras.backend.backend()]
        True
    """
    if replicas_in_sync() > 1:
        return False
    return FUSED_BY_DEFAULT[keras.backend.backend()] if _fused is None else _fused


def batch_norm(name, dtype=None):
    """The package's `BatchNormalization` (momentum 0.9, channels last). Built under a
    `tf.distribute` strategy's scope, it normalizes with the global batch's statistics
    (synchronized across replicas), as under JAX's data parallelism.

    Args:
        name (str): the layer's name.
        dtype (str | keras.DTypePolicy | None): its dtype policy.

    Returns:
        keras.layers.BatchNormalization: not built.

    Example:
        >>> norm = batch_norm("norm")
        >>> norm.momentum
        0.9
    """
    return keras.layers.BatchNormalization(momentum=MOMENTUM, dtype=dtype, name=name,
                                           synchronized=replicas_in_sync() > 1)


def normalize(norm, x, training=None, prelu=None):
    """`prelu(norm(x, training=training))`, or `norm(...)` alone without a `prelu`.

    `x` may have any rank with channels last: the layers are called on it reshaped to the rank
    they were built for. The fused path computes in float32 like `BatchNormalization`; both
    return `norm`'s compute dtype.

    Args:
        norm (keras.layers.BatchNormalization): built, channels last (`batch_norm`).
        x (tensor): `(..., channels)`.
        training (bool | None): batch statistics (and their moving averages updated) if true
            and `norm` is trainable, else the moving statistics.
        prelu (keras.layers.PReLU | None): built, one slope per channel.

    Returns:
        tensor: `x`'s shape.

    Example:
        >>> norm = batch_norm("norm")
        >>> norm.build((None, 4))
        >>> tuple(normalize(norm, keras.ops.ones((2, 3, 4)), training=True).shape)
        (2, 3, 4)
    """
    if fused_normalization():
        return _fused_normalize(norm, x, training, prelu)
    return _call_layers(norm, x, training, prelu)


def dense_normalize(dense, norm, x, training=None, prelu=None):
    """`normalize(norm, dense(x), training, prelu)`, the Dense on `x` flattened to rows.

    The product runs on rows `(-1, features)`: one plain 2-D matrix product for the forward pass
    and each gradient, which XLA runs without transposing the activations. The fused path folds
    the Dense's bias into the normalization's shift (in training the batch mean cancels it, its
    gradient is 0) and calls a quantized Dense (`Model.quantize`: int8, int4, float8, ...) as it
    is, since only its own call applies its kernel's scales.

    Args:
        dense (keras.layers.Dense): built.
        norm (keras.layers.BatchNormalization): built for `dense.units` channels.
        x (tensor): `(..., features)`.
        training (bool | None): as in `normalize`.
        prelu (keras.layers.PReLU | None): as in `normalize`.

    Returns:
        tensor: `x`'s shape with `dense.units` channels.

    Example:
        >>> dense, norm = keras.layers.Dense(8), batch_norm("norm")
        >>> dense.build((None, 4)); norm.build((None, 8))
        >>> tuple(dense_normalize(dense, norm, keras.ops.ones((2, 3, 4))).shape)
        (2, 3, 8)
    """
    rows = ops.reshape(x, (-1, x.shape[-1]))
    if not fused_normalization():
        y = _call_layers(norm, dense(rows), training, prelu)
    elif dense.quantization_mode is None:
        y = ops.matmul(rows, ops.cast(dense.kernel, x.dtype))
        y = _fused_normalize(norm, y, training, prelu, dense.bias)
    else:
        y = _fused_normalize(norm, dense(rows), training, prelu)
    return ops.reshape(y, outer_shape(x) + (dense.units,))


def outer_shape(x):
    """`x`'s shape without the last axis, for `ops.reshape` to undo a flattening to rows: -1 for
    the batch axis, static sizes where known, dynamic ones elsewhere."""
    dynamic = ops.shape(x)
    return (-1,) + tuple(dynamic[i] if d is None else d for i, d in enumerate(x.shape[1:-1], 1))


def _call_layers(norm, x, training, prelu):
    """The plain path: the layers themselves, on `x` reshaped to the rank they were built for
    (their input specs check it; leading axes of 1 keep the statistics those of every row)."""
    rank = norm.input_spec.ndim
    y = x if len(x.shape) == rank else ops.reshape(x, (1,) * (rank - 2) + (-1, x.shape[-1]))
    y = norm(y, training=training)
    if prelu is not None:
        y = prelu(y)
    return y if len(x.shape) == rank else ops.reshape(y, ops.shape(x))


def _fused_normalize(norm, x, training, prelu, bias=None):
    """The fused path of `normalize`: one scale-and-shift per channel from the layers'
    variables, the moving statistics updated here. A `bias` (the preceding Dense's) is folded
    into the shift instead of being added to `x`."""
    x = ops.cast(x, "float32")
    bias = 0.0 if bias is None else ops.cast(bias, "float32")
    gamma, beta = ops.cast(norm.gamma, "float32"), ops.cast(norm.beta, "float32")
    alpha = None if prelu is None else ops.reshape(ops.cast(prelu.alpha, "float32"), (-1,))
    if not (training and norm.trainable):
        scale = gamma * ops.rsqrt(norm.moving_variance + norm.epsilon)
        shift = beta + (bias - norm.moving_mean) * scale
        if keras.backend.backend() == "torch":
            y = _torch_scale_shift_prelu(x, scale, shift, alpha)
        else:  # XLA fuses the element-wise operations into one pass
            y = _prelu(x * scale + shift, alpha)
    elif keras.backend.backend() == "torch":
        # `+ bias - bias` keeps the bias in the graph: its gradient is then exactly 0, as on the
        # other backends, instead of missing.
        y, mean, variance = _torch_batch_norm_prelu(x, gamma, beta + bias - bias, alpha,
                                                    norm.epsilon)
        _update_moving_statistics(norm, mean + bias, variance)
    else:  # JAX, sharded or not (its reductions span every device); TensorFlow when asked
        rows = ops.reshape(x, (-1, x.shape[-1]))
        mean, variance = ops.moments(ops.stop_gradient(rows), (0,))
        _update_moving_statistics(norm, mean + bias, variance)
        y = _batch_norm_prelu(rows, mean, variance, gamma, beta + bias - bias, alpha,
                              norm.epsilon)
        y = ops.reshape(y, ops.shape(x))
    return ops.cast(y, norm.compute_dtype)


def _prelu(x, alpha):
    """PReLU with one slope per channel (`alpha`, or none: identity), in PReLU's own formula."""
    return x if alpha is None else ops.relu(x) - alpha * ops.relu(-x)


def _update_moving_statistics(norm, mean, variance):
    momentum = norm.momentum
    norm.moving_mean.assign(norm.moving_mean * momentum + mean * (1.0 - momentum))
    norm.moving_variance.assign(norm.moving_variance * momentum + variance * (1.0 - momentum))


def _torch_scale_shift_prelu(x, scale, shift, alpha):
    """Inference-mode `prelu(x * scale + shift)` in two PyTorch kernels (`addcmul`, `prelu`),
    where the element-wise formula runs five (eager PyTorch does not fuse them)."""
    import torch

    y = torch.addcmul(shift, x, scale)
    return y if alpha is None else torch.nn.functional.prelu(y, alpha)


def _torch_batch_norm_prelu(x, gamma, beta, alpha, epsilon):
    """Training-mode batch norm, then PReLU, in PyTorch's fused kernels (forward and backward, a
    few passes instead of about twenty): `(output, batch mean, batch variance)`."""
    import torch

    flat = x.reshape(-1, x.shape[-1])  # channels on axis 1, as PyTorch wants them
    y, mean, inverse_std = torch.native_batch_norm(
        flat, gamma, beta, None, None, True, 0.0, epsilon
    )
    if alpha is not None:
        y = torch.nn.functional.prelu(y, alpha)
    variance = inverse_std.detach() ** -2 - epsilon
    return y.reshape(x.shape), mean.detach(), variance


def _batch_norm_prelu(rows, mean, variance, gamma, beta, alpha, epsilon):
    """Training-mode `prelu(gamma * x_hat + beta)` on `(rows, channels)`, `x_hat` the rows
    standardized with their batch `mean` and `variance` (given, computed without gradient), with
    its analytic gradient (JAX): autodiff through the moments, the normalization and the PReLU
    has XLA write seven arrays of the rows' size per layer, this gradient four (forward and
    backward; benchmarks/README.md, G).
    `alpha=None`: no PReLU.
    """

    @ops.custom_gradient
    def forward(rows, mean, variance, gamma, beta, *prelu_alpha):
        alpha = prelu_alpha[0] if prelu_alpha else None
        inverse_std = ops.rsqrt(variance + epsilon)
        scale = gamma * inverse_std
        shift = beta - mean * scale
        y = _prelu(rows * scale + shift, alpha)

        def grad(dy):
            z = rows * scale + shift  # recomputed: only `rows` is kept
            if alpha is None:
                dz, d_alpha = dy, ()
            else:
                dz = ops.where(z > 0, dy, alpha * dy)
                d_alpha = (ops.sum(ops.where(z > 0, 0.0, dy * z), axis=0),)
            # d_gamma = sum(dz * x_hat), d_rows = scale * (dz - (d_beta + x_hat * d_gamma) / N),
            # with x_hat = (rows - mean) * inverse_std expanded so that XLA forms no array of
            # x_hat or of rows - mean. Float32 error: about 1e-5 relative where the mean is 20
            # standard deviations from 0.
            d_beta = ops.sum(dz, axis=0)
            d_gamma = inverse_std * (ops.sum(dz * rows, axis=0) - mean * d_beta)
            count = ops.cast(ops.shape(rows)[0], rows.dtype)
            slope = -scale * inverse_std * d_gamma / count
            d_rows = dz * scale + rows * slope - (scale * d_beta / count + mean * slope)
            zeros = ops.zeros_like(mean)
            return (d_rows, zeros, zeros, d_gamma, d_beta, *d_alpha)

        return y, grad

    return forward(rows, mean, variance, gamma, beta, *([] if alpha is None else [alpha]))
