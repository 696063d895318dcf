"""Multi-scale temporal convolution (CTR-GCN's MultiScale_TemporalConv), channels-last."""

import keras
from keras import ops

from keras_skeletonmae.layers.batch_norm import batch_norm, dense_normalize, normalize


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class MultiScaleTemporalConv(keras.layers.Layer):
    """Temporal modelling at several scales on `(B, M, T, V, C)` features.

    Branches (each with `filters / (len(dilations) + 2)` channels), concatenated:
    one per dilation d: 1x1 -> BN -> ReLU -> temporal conv (kernel_size, dilation d) -> BN;
    1x1 -> BN -> ReLU -> temporal max-pool (3) -> BN; and 1x1 -> BN. A residual (identity, or
    1x1 -> BN when the channel count changes) is added. Each person and joint is convolved along
    T alone ("same" padding, stride 1), so T is preserved.

    Args:
        filters: int. Output channels; divisible by `len(dilations) + 2`.
        kernel_size: int. Temporal kernel of the dilated branches.
        dilations: sequence of ints. One branch per dilation.
        residual: bool. Add the residual connection.

    Example:
        >>> layer = MultiScaleTemporalConv(8)
        >>> tuple(layer(keras.ops.ones((2, 1, 16, 20, 4))).shape)  # (B, M, T, V, C)
        (2, 1, 16, 20, 8)
    """

    def __init__(self, filters, kernel_size=5, dilations=(1, 2), residual=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.dilations = [int(d) for d in dilations]
        self.residual = bool(residual)
        num_branches = len(self.dilations) + 2
        if self.filters % num_branches:
            raise ValueError(
                f"filters ({self.filters}) must be divisible by the number of branches "
                f"({num_branches} = {len(self.dilations)} dilations + max-pool + 1x1)."
            )
        self.branch_filters = self.filters // num_branches

    def _norm(self, name):
        return batch_norm(name, self.dtype_policy)

    def _pointwise(self, units, name):
        return keras.layers.Dense(units, dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        _, self.num_persons, self.num_frames, self.num_joints, channels = input_shape
        bf = self.branch_filters
        self.branches = []
        for d in self.dilations:
            self.branches.append([
                self._pointwise(bf, f"dilation{d}_pointwise"),
                self._norm(f"dilation{d}_norm_in"),
                "relu",
                keras.layers.Conv2D(
                    bf, (self.kernel_size, 1), padding="same", dilation_rate=(d, 1),
                    dtype=self.dtype_policy, name=f"dilation{d}_temporal_conv",
                ),
                self._norm(f"dilation{d}_norm_out"),
            ])
        self.branches.append([
            self._pointwise(bf, "maxpool_pointwise"),
            self._norm("maxpool_norm_in"),
            "relu",
            keras.layers.MaxPooling2D((3, 1), strides=(1, 1), padding="same",
                                      dtype=self.dtype_policy, name="maxpool"),
            self._norm("maxpool_norm_out"),
        ])
        self.branches.append([self._pointwise(bf, "pointwise"), self._norm("pointwise_norm")])
        frame_shape = (None, self.num_frames, self.num_joints)
        for branch in self.branches:
            shape = frame_shape + (channels,)
            for layer in branch:
                if layer != "relu":
                    layer.build(shape)
                    shape = layer.compute_output_shape(shape)
        self.residual_projection = None
        if self.residual and channels != self.filters:
            self.residual_projection = [
                self._pointwise(self.filters, "residual_pointwise"),
                self._norm("residual_norm"),
            ]
            self.residual_projection[0].build(frame_shape + (channels,))
            self.residual_projection[1].build(frame_shape + (self.filters,))

    @staticmethod
    def _run(layers, x, training):
        """One branch: 1x1 -> BN, then, if it has them, ReLU -> temporal op -> BN."""
        pointwise, norm, *rest = layers
        x = dense_normalize(pointwise, norm, x, training)
        if rest:
            _, temporal, norm_out = rest  # "relu", a Conv2D or MaxPooling2D, a BN
            x = normalize(norm_out, temporal(ops.relu(x)), training)
        return x

    def call(self, inputs, training=None):
        channels = inputs.shape[-1]
        frames = ops.reshape(inputs, (-1, self.num_frames, self.num_joints, channels))
        x = ops.concatenate([self._run(b, frames, training) for b in self.branches], axis=-1)
        if self.residual_projection is not None:
            x = x + self._run(self.residual_projection, frames, training)
        elif self.residual:
            x = x + frames
        return ops.reshape(x, (-1, self.num_persons, self.num_frames, self.num_joints, self.filters))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            dilations=self.dilations,
            residual=self.residual,
        )
        return config
