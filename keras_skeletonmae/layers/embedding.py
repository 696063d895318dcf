"""Joint embedding: the per-joint linear map C -> D, plus an optional temporal position embedding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonEmbedding(keras.layers.Layer):
    """Embeds each joint's coordinates: `(..., T, V, C) -> (..., T, V, D)`.

    The paper's learnable linear map from a joint's (x, y[, z]) to D features. With
    `num_frames` set, a learnable temporal position embedding `(T, D)` (the SSL model's "positional
    embedding") is added to every joint of a frame.

    Args:
        embed_dim: D, the feature size per joint.
        num_frames: T, required for the position embedding; `None` for no position embedding.
        kernel_initializer: initializer of the linear map.
    """

    def __init__(self, embed_dim, num_frames=None, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_frames = None if num_frames is None else int(num_frames)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.projection = keras.layers.Dense(
            self.embed_dim,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape):
        self.projection.build(input_shape)
        if self.num_frames is not None:
            self.position_embedding = self.add_weight(
                shape=(self.num_frames, 1, self.embed_dim),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                name="position_embedding",
            )

    def call(self, inputs):
        x = self.projection(inputs)
        if self.num_frames is not None:
            x = x + ops.cast(self.position_embedding, x.dtype)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.embed_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            num_frames=self.num_frames,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
