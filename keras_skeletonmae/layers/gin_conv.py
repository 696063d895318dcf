"""Graph Isomorphism Network convolution over a skeleton layout's fixed bone graph."""

import keras
from keras import ops

from keras_skeletonmae.layers.batch_norm import batch_norm, dense_normalize, outer_shape
from keras_skeletonmae.layouts import get_layout, layout_to_config_value


def _prelu(rank, name, dtype):
    """A PReLU with one slope per channel (shared over every other axis), initialised as in PyTorch."""
    return keras.layers.PReLU(
        alpha_initializer=keras.initializers.Constant(0.25),
        shared_axes=list(range(1, rank - 1)),
        dtype=dtype,
        name=name,
    )


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class GINConv(keras.layers.Layer):
    """GIN layer: `h'_v = MLP((1 + eps) h_v + sum_{u in N(v)} h_u)` on `(..., V, D)` features.

    `N(v)` comes from the layout's bones. With `directed=False` (the paper's symmetric A) both ends
    of a bone exchange messages; with `directed=True` a message goes from child to parent only.
    The adjacency is `A[target, source]` (row = receiving joint), a constant built from the layout,
    so the layer's weights do not depend on the number of joints.
    The MLP is Dense(hidden) -> BatchNorm -> PReLU -> Dense(units), followed by BatchNorm -> PReLU
    when `output_activation` is true (encoder layers; the decoder's last layer has none), as in
    GraphMAE.

    Args:
        units: int. Output features per joint.
        layout: str, `SkeletonLayout` or dict. A registered layout name, a layout, or its
            config dict.
        hidden_units: int. Width of the MLP's hidden layer.
        epsilon: float. The initial (or fixed) eps.
        learnable_epsilon: bool. Train eps (GIN-eps) instead of keeping it fixed.
        directed: bool. Messages along child -> parent only, instead of both directions.
        output_activation: bool. Apply BatchNorm -> PReLU to the output.
        kernel_initializer: str or `keras.initializers.Initializer`. Initializer of both
            Dense kernels.

    Example:
        >>> layer = GINConv(16, layout="kinect20", hidden_units=32)
        >>> tuple(layer(keras.ops.ones((2, 8, 20, 4))).shape)  # (batch, frames, joints, D)
        (2, 8, 20, 16)
    """

    def __init__(
        self,
        units,
        layout,
        hidden_units=256,
        epsilon=0.0,
        learnable_epsilon=False,
        directed=False,
        output_activation=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.layout = get_layout(layout)
        self.hidden_units = int(hidden_units)
        self.epsilon = float(epsilon)
        self.learnable_epsilon = bool(learnable_epsilon)
        self.directed = bool(directed)
        self.output_activation = bool(output_activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._adjacency = self.layout.adjacency(directed=self.directed)

    def build(self, input_shape):
        rank = len(input_shape)
        if input_shape[-2] is not None and input_shape[-2] != self.layout.num_joints:
            raise ValueError(
                f"{self.name}: input has {input_shape[-2]} joints on axis -2, but layout "
                f"'{self.layout.name}' has {self.layout.num_joints}. Input shape: {input_shape}."
            )
        if self.learnable_epsilon:
            self.eps = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(self.epsilon), name="epsilon"
            )
        policy = self.dtype_policy
        dense = dict(kernel_initializer=self.kernel_initializer, dtype=policy)
        hidden_shape = tuple(input_shape[:-1]) + (self.hidden_units,)
        output_shape = tuple(input_shape[:-1]) + (self.units,)
        self.hidden_dense = keras.layers.Dense(self.hidden_units, name="hidden_dense", **dense)
        self.hidden_dense.build(input_shape)
        self.hidden_norm = batch_norm("hidden_norm", policy)
        self.hidden_norm.build(hidden_shape)
        self.hidden_activation = _prelu(rank, "hidden_activation", policy)
        self.hidden_activation.build(hidden_shape)
        self.output_dense = keras.layers.Dense(self.units, name="output_dense", **dense)
        self.output_dense.build(hidden_shape)
        if self.output_activation:
            self.output_norm = batch_norm("output_norm", policy)
            self.output_norm.build(output_shape)
            self.output_prelu = _prelu(rank, "output_prelu", policy)
            self.output_prelu.build(output_shape)

    def aggregate(self, inputs):
        """`(1 + eps) h_v + sum_{u in N(v)} h_u` for every joint, all frames in one product."""
        adjacency = ops.convert_to_tensor(self._adjacency, dtype=inputs.dtype)
        eye = ops.eye(self.layout.num_joints, dtype=inputs.dtype)
        eps = ops.cast(self.eps, inputs.dtype) if self.learnable_epsilon else self.epsilon
        propagation = adjacency + (1.0 + eps) * eye
        return ops.einsum("vu,...ud->...vd", propagation, inputs)

    def call(self, inputs, training=None):
        # Every joint of every frame graph is one row of a 2-D (rows, features) matrix for the
        # MLP: one plain matrix product per Dense (and per gradient), no per-layer transposes.
        joints, features = self.layout.num_joints, inputs.shape[-1]
        x = self.aggregate(ops.reshape(inputs, (-1, joints, features)))
        x = ops.reshape(x, (-1, features))
        x = dense_normalize(
            self.hidden_dense, self.hidden_norm, x, training, self.hidden_activation
        )
        if self.output_activation:
            x = dense_normalize(self.output_dense, self.output_norm, x, training, self.output_prelu)
        else:
            x = self.output_dense(x)
        return ops.reshape(x, outer_shape(inputs) + (self.units,))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            layout=layout_to_config_value(self.layout),
            hidden_units=self.hidden_units,
            epsilon=self.epsilon,
            learnable_epsilon=self.learnable_epsilon,
            directed=self.directed,
            output_activation=self.output_activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
