"""Joint embedding: the per-joint linear map C -> D (of the coordinates, optionally with their
bone vectors and their motion), plus an optional temporal position embedding."""

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


def joint_bones(skeletons, parents):
    """`(..., V, C)`: each joint's bone vector `x_v - x_parent(v)` (`parents`: V joint indices),
    where both ends are detected (not all-zero); 0 elsewhere and at the root, its own parent."""
    parents = list(parents)
    skeletons = ops.convert_to_tensor(skeletons)
    detected = ops.any(ops.not_equal(skeletons, 0), axis=-1, keepdims=True)
    both = ops.logical_and(detected, ops.take(detected, parents, axis=-2))
    bones = skeletons - ops.take(skeletons, parents, axis=-2)
    return ops.where(both, bones, ops.zeros_like(bones))


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonEmbedding(keras.layers.Layer):
    """Embeds each joint's coordinates: `(..., T, V, C) -> (..., T, V, D)`.

    The paper's learnable linear map from a joint's (x, y[, z]) to D features. Two additions of
    ours, on MSR Action3D each worth points of accuracy (docs/results.md): with `bone_parents`,
    the map also takes the joint's bone vector (`joint_bones`, the input of the field's "bone
    stream"), and with `motion` the frame-to-frame motion of everything before
    (`[x_t, x_{t+1} - x_t]`, see `joint_motion`), since the per-frame graph encoder otherwise
    sees no movement at all: C, 2C (bones or motion) or 4C inputs. With `num_frames` set, a
    learnable temporal position embedding `(T, D)` (the SSL model's "positional embedding") is
    added to every joint of a frame.

    Args:
        embed_dim: D, the feature size per joint.
        num_frames: T, required for the position embedding; `None` for no position embedding.
        kernel_initializer: initializer of the linear map.
        motion: also embed each joint's frame-to-frame motion.
        bone_parents: each joint's parent (V joint indices, e.g. `SkeletonLayout.parents()`)
            to embed bone vectors too; `None` for none.
    """

    def __init__(self, embed_dim, num_frames=None, kernel_initializer="glorot_uniform",
                 motion=False, bone_parents=None, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_frames = None if num_frames is None else int(num_frames)
        self.motion = bool(motion)
        self.bone_parents = None if bone_parents is None else tuple(int(p) for p in bone_parents)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.projection = keras.layers.Dense(
            self.embed_dim,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )

    def build(self, input_shape):
        if self.bone_parents is not None and len(self.bone_parents) != input_shape[-2]:
            raise ValueError(
                f"{self.name}: input has {input_shape[-2]} joints on axis -2 but bone_parents "
                f"names {len(self.bone_parents)}. Input shape: {input_shape}."
            )
        channels = input_shape[-1] * (2 if self.bone_parents is not None else 1)
        channels *= 2 if self.motion else 1
        self.projection.build(tuple(input_shape[:-1]) + (channels,))
        if self.num_frames is not None:
            self.position_embedding = self.add_weight(
                shape=(self.num_frames, 1, self.embed_dim),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                name="position_embedding",
            )

    def call(self, inputs):
        if self.bone_parents is not None:
            inputs = ops.concatenate([inputs, joint_bones(inputs, self.bone_parents)], axis=-1)
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
            bone_parents=None if self.bone_parents is None else list(self.bone_parents),
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
