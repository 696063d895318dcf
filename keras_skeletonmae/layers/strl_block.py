"""One STRL layer of the SSL classifier: spatial modelling with the encoder, then multi-scale time."""

import keras
from keras import ops

from keras_skeletonmae.layers.batch_norm import batch_norm, dense_normalize
from keras_skeletonmae.layers.multiscale_temporal_conv import MultiScaleTemporalConv

PERSON_INTERACTIONS = ("add", "none")
COMBINES = ("concat", "add")


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class STRLBlock(keras.layers.Layer):
    """STRL layer on `[H, G_E(H)]`, both `(B, M, T, V, ·)`: `H -> H'` of `units` channels.

    Spatial modelling (SM): the encoder output `G_E(H)` is sum-pooled over joints, each person
    receives the other persons' pooled vectors (`person_interaction="add"`, the paper's "the two
    persons interact through SM"; `"none"` to switch off), the pooled vector is repeated to every
    joint and combined with `H` ("⊕": `"concat"`, the default, or `"add"`). Then
    `H_s = ReLU(BN(SM(H) W) + H W_r)`, `W_r` the paper's 1x1-conv residual, and the temporal
    module `H' = ReLU(MultiScaleTemporalConv(H_s))`.

    The encoder is applied by the caller (`SkeletonClassifier` gives each STRL layer its own copy
    of the pre-trained encoder), so this layer's config stays plain.

    Args:
        units: int. Output channels (the encoder's input width when another STRL layer
            follows).
        person_interaction: str. `"add"` or `"none"`.
        combine: str. `"concat"` or `"add"` (needs `G_E(H)` and `H` of equal width).
        temporal_kernel_size: int. Kernel of the multi-scale temporal convolution.
        temporal_dilations: sequence of ints. Its dilations.

    Example:
        >>> h = keras.ops.ones((2, 2, 16, 20, 8))  # (B, M, T, V, C): 2 persons
        >>> encoded = keras.ops.ones((2, 2, 16, 20, 8))  # G_E(H), from the caller's encoder
        >>> tuple(STRLBlock(8)([h, encoded]).shape)
        (2, 2, 16, 20, 8)
    """

    def __init__(
        self,
        units,
        person_interaction="add",
        combine="concat",
        temporal_kernel_size=5,
        temporal_dilations=(1, 2),
        **kwargs,
    ):
        super().__init__(**kwargs)
        if person_interaction not in PERSON_INTERACTIONS:
            raise ValueError(
                f"person_interaction must be one of {PERSON_INTERACTIONS}, got {person_interaction!r}."
            )
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}.")
        self.units = int(units)
        self.person_interaction = person_interaction
        self.combine = combine
        self.temporal_kernel_size = int(temporal_kernel_size)
        self.temporal_dilations = [int(d) for d in temporal_dilations]

    def build(self, input_shape):
        features_shape, encoded_shape = input_shape
        if self.combine == "add" and features_shape[-1] != encoded_shape[-1]:
            raise ValueError(
                f"combine='add' needs equal widths, got H {features_shape[-1]} and G_E(H) "
                f"{encoded_shape[-1]}; use combine='concat'."
            )
        combined = features_shape[-1] + (encoded_shape[-1] if self.combine == "concat" else 0)
        policy = self.dtype_policy
        out_shape = tuple(features_shape[:-1]) + (self.units,)
        self.spatial_dense = keras.layers.Dense(self.units, dtype=policy, name="spatial_dense")
        self.spatial_dense.build(tuple(features_shape[:-1]) + (combined,))
        self.spatial_norm = batch_norm("spatial_norm", policy)
        self.spatial_norm.build(out_shape)
        self.residual_dense = keras.layers.Dense(self.units, dtype=policy, name="residual_dense")
        self.residual_dense.build(features_shape)
        self.temporal = MultiScaleTemporalConv(
            self.units, self.temporal_kernel_size, self.temporal_dilations, dtype=policy,
            name="temporal",
        )
        self.temporal.build(out_shape)

    def call(self, inputs, training=None):
        features, encoded = inputs
        pooled = ops.sum(encoded, axis=-2)  # (B, M, T, E): sum over joints
        if self.person_interaction == "add":
            pooled = ops.sum(pooled, axis=1, keepdims=True)  # own + the other persons' vectors
            pooled = ops.broadcast_to(pooled, ops.shape(encoded)[:3] + (encoded.shape[-1],))
        repeated = ops.broadcast_to(pooled[:, :, :, None, :], ops.shape(encoded))
        if self.combine == "concat":
            combined = ops.concatenate([features, repeated], axis=-1)
        else:
            combined = features + repeated
        spatial = dense_normalize(self.spatial_dense, self.spatial_norm, combined, training)
        spatial = ops.relu(spatial + self.residual_dense(features))
        return ops.relu(self.temporal(spatial, training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            person_interaction=self.person_interaction,
            combine=self.combine,
            temporal_kernel_size=self.temporal_kernel_size,
            temporal_dilations=self.temporal_dilations,
        )
        return config
