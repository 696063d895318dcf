"""The one BatchNormalization configuration every layer of the package uses, and its fast path."""

import keras
from keras import ops

from keras_skeletonmae.distribution import replicas_in_sync

# PyTorch's default (momentum 0.1 there = 0.9 here), as in GraphMAE and CTR-GCN. Keras's 0.99
# leaves the moving statistics far from the data after the few thousand steps of a small data set,
# so inference-mode accuracy lags training accuracy badly.
MOMENTUM = 0.9


def batch_norm(name, dtype=None):
    return keras.layers.BatchNormalization(momentum=MOMENTUM, dtype=dtype, name=name)


def normalize(norm, x, training=None, prelu=None, bias=None):
    """`norm(x + bias, training)`, then `prelu(...)` if given, as one scale-and-shift per channel.

    The same result as calling the built layers (`norm` a channels-last `BatchNormalization`,
    `prelu` a `PReLU` with one slope per channel), with their variables and the moving-statistics
    update, in fewer element-wise passes and on `x` of any rank (the layers may have been built for
    another). A `bias` (a preceding Dense's) is folded into the shift instead of being added to
    `x`: in training its gradient is exactly 0, as the batch mean cancels it. Computes in float32
    like `BatchNormalization`; returns `norm`'s compute dtype. Under a `tf.distribute` strategy the
    statistics are those of the global batch (synchronized across replicas), as they are under
    JAX's data parallelism.
    """
    x = ops.cast(x, "float32")
    bias = 0.0 if bias is None else ops.cast(bias, "float32")
    gamma, beta = ops.cast(norm.gamma, "float32"), ops.cast(norm.beta, "float32")
    alpha = None if prelu is None else ops.reshape(ops.cast(prelu.alpha, "float32"), (-1,))
    if not (training and norm.trainable):
        scale = gamma * ops.rsqrt(norm.moving_variance + norm.epsilon)
        y = _prelu(x * scale + (beta + (bias - norm.moving_mean) * scale), alpha)
    elif keras.backend.backend() == "torch":
        # `+ bias - bias` keeps the bias in the graph: its gradient is then exactly 0, as on the
        # other backends, instead of missing.
        y, mean, variance = _torch_batch_norm_prelu(x, gamma, beta + bias - bias, alpha,
                                                    norm.epsilon)
        _update_moving_statistics(norm, mean + bias, variance)
    elif keras.backend.backend() == "jax":  # sharded or not: its reductions span every device
        rows = ops.reshape(x, (-1, x.shape[-1]))
        mean, variance = ops.moments(ops.stop_gradient(rows), (0,))
        _update_moving_statistics(norm, mean + bias, variance)
        y = _batch_norm_prelu(rows, mean, variance, gamma, beta + bias - bias, alpha,
                              norm.epsilon)
        y = ops.reshape(y, ops.shape(x))
    else:  # TensorFlow: autodiff (its XLA fuses it; the analytic gradient measured 3% slower)
        axes = tuple(range(len(x.shape) - 1))
        mean, variance = ops.moments(x, axes, synchronized=replicas_in_sync() > 1)
        mean = mean + bias
        _update_moving_statistics(norm, mean, variance)
        scale = gamma * ops.rsqrt(variance + norm.epsilon)
        y = _prelu(x * scale + (beta + (bias - mean) * scale), alpha)
    return ops.cast(y, norm.compute_dtype)


def _prelu(x, alpha):
    """PReLU with one slope per channel (`alpha`, or none: identity), in PReLU's own formula
    (on TensorFlow 1% faster than `where` to differentiate)."""
    return x if alpha is None else ops.relu(x) - alpha * ops.relu(-x)


def _update_moving_statistics(norm, mean, variance):
    momentum = norm.momentum
    norm.moving_mean.assign(norm.moving_mean * momentum + mean * (1.0 - momentum))
    norm.moving_variance.assign(norm.moving_variance * momentum + variance * (1.0 - momentum))


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


def dense_normalize(dense, norm, x, training=None, prelu=None):
    """`normalize(norm, dense(x), training, prelu)`, the Dense's bias folded into the shift.

    The product runs on `x` flattened to rows `(-1, features)`: one plain 2-D matrix product for
    the forward pass and each gradient, which XLA runs without transposing the activations.
    A quantized Dense (`Model.quantize`: int8, int4, float8, ...) is called as it is, bias and
    all: its kernel holds quantized values whose scales only its own call applies.
    """
    rows = ops.reshape(x, (-1, x.shape[-1]))
    if dense.quantization_mode is None:
        y = ops.matmul(rows, ops.cast(dense.kernel, x.dtype))
        y = normalize(norm, y, training, prelu, dense.bias)
    else:
        y = normalize(norm, dense(rows, training=training), training, prelu)
    return ops.reshape(y, outer_shape(x) + (dense.units,))


def outer_shape(x):
    """`x`'s shape without the last axis, for `ops.reshape` to undo a flattening to rows: -1 for
    the batch axis, static sizes where known, dynamic ones elsewhere."""
    dynamic = ops.shape(x)
    return (-1,) + tuple(dynamic[i] if d is None else d for i, d in enumerate(x.shape[1:-1], 1))
