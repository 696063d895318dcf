"""Joint embedding: the per-joint linear map C -> D (of the coordinates, optionally with their
motion), plus an optional temporal position embedding."""

import keras
from keras import ops


def joint_motion(skeletons):
    """`(..., T, V, C)`: each joint's displacement to the next frame, `x_{t+1} - x_t`, where the
    joint is detected (not all-zero) in both frames; 0 elsewhere and at the last frame, so
    padding persons and frames and undetected joints add no spurious jumps."""
    detected = ops.any(ops.not_equal(skeletons, 0), axis=-1, keepdims=True)
    both = ops.logical_and(detected[..., 1:, :, :], detected[..., :-1, :, :])
    step = skeletons[..., 1:, :, :] - skeletons[..., :-1, :, :]
    step = ops.where(both, step, ops.zeros_like(step))
    return ops.concatenate([step, ops.zeros_like(skeletons[..., :1, :, :])], axis=-3)


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonEmbedding(keras.layers.Layer):
    """Embeds each joint's coordinates: `(..., T, V, C) -> (..., T, V, D)`.

    The paper's learnable linear map from a joint's (x, y[, z]) to D features. With `motion`,
    the map takes the joint's motion too, `[x_t, x_{t+1} - x_t]` (2C inputs, see
    `joint_motion`): an addition of ours, since the per-frame graph encoder otherwise sees no
    movement at all. With `num_frames` set, a learnable temporal position embedding `(T, D)` (the
    SSL model's "positional embedding") is added to every joint of a frame.

    Args:
        embed_dim: D, the feature size per joint.
        num_frames: T, required for the position embedding; `None` for no position embedding.
        kernel_initializer: initializer of the linear map.
        motion: also embed each joint's frame-to-frame motion.
    """

    def __init__(self, embed_dim, num_frames=None, kernel_initializer="glorot_uniform",
                 motion=False, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_frames = None if num_frames is None else int(num_frames)
        self.motion = bool(motion)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.projection = keras.layers.Dense(
            self.embed_dim,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape):
        channels = input_shape[-1] * (2 if self.motion else 1)
        self.projection.build(tuple(input_shape[:-1]) + (channels,))
        if self.num_frames is not None:
            self.position_embedding = self.add_weight(
                shape=(self.num_frames, 1, self.embed_dim),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                name="position_embedding",
            )

    def call(self, inputs):
        if self.motion:
            inputs = ops.concatenate([inputs, joint_motion(inputs)], axis=-1)
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
            motion=self.motion,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
