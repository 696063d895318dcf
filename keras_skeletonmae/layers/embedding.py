"""Joint embedding: the per-joint linear map C -> D (of the coordinates, optionally with their
bone vectors and their motion), plus an optional temporal position embedding."""

import keras
from keras import ops


def joint_motion(skeletons):
    """Each joint's displacement to the next frame, `x_{t+1} - x_t`.

    Where the joint is not detected (all-zero) in both frames, and at the last frame, the
    motion is 0, so padding persons and frames and undetected joints add no spurious jumps.

    Args:
        skeletons: tensor `(..., T, V, C)`, joint coordinates.

    Returns:
        A tensor of the same shape.

    Example:
        >>> x = keras.ops.convert_to_tensor([[[1.0, 1.0]], [[2.0, 3.0]]])  # T = 2, V = 1
        >>> keras.ops.convert_to_numpy(joint_motion(x)).tolist()
        [[[1.0, 2.0]], [[0.0, 0.0]]]
    """
    detected = ops.any(ops.not_equal(skeletons, 0), axis=-1, keepdims=True)
    both = ops.logical_and(detected[..., 1:, :, :], detected[..., :-1, :, :])
    step = skeletons[..., 1:, :, :] - skeletons[..., :-1, :, :]
    step = ops.where(both, step, ops.zeros_like(step))
    return ops.concatenate([step, ops.zeros_like(skeletons[..., :1, :, :])], axis=-3)


def joint_bones(skeletons, parents):
    """Each joint's bone vector `x_v - x_parent(v)`.

    0 where either end is not detected (all-zero), and at the root (its own parent).

    Args:
        skeletons: tensor `(..., V, C)`, joint coordinates.
        parents: sequence of V ints, each joint's parent (e.g. `SkeletonLayout.parents()`).

    Returns:
        A tensor of the same shape.

    Example:
        >>> x = keras.ops.convert_to_tensor([[0.0, 1.0], [2.0, 2.0]])  # V = 2, C = 2
        >>> keras.ops.convert_to_numpy(joint_bones(x, [0, 0])).tolist()
        [[0.0, 0.0], [2.0, 1.0]]
    """
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
    ours (docs/architecture.md): with `bone_parents`,
    the map also takes the joint's bone vector (`joint_bones`, the input of the field's "bone
    stream"), and with `motion` the frame-to-frame motion of everything before
    (`[x_t, x_{t+1} - x_t]`, see `joint_motion`), since the per-frame graph encoder otherwise
    sees no movement at all: C, 2C (bones or motion) or 4C inputs. Channels after the first
    `coordinate_channels` (a confidence score) are embedded as they are, once, after these: bones
    and motion are of coordinates only. With `num_frames` set, a learnable temporal position
    embedding `(T, D)` (the SSL model's "positional embedding") is added to every joint of a frame.

    Called with `joint_mask` (`(..., T, V)`, 1 on joints to hide), the hidden joints are removed
    (set to 0, "not detected") before bones and motion are derived, so no visible joint's
    features carry anything of a hidden one: what the pre-trainer feeds its encoder.

    Args:
        embed_dim: int. D, the feature size per joint.
        num_frames: int or `None`. T, required for the position embedding; `None` for no
            position embedding.
        kernel_initializer: str or `keras.initializers.Initializer`. Initializer of the linear
            map.
        motion: bool. Also embed each joint's frame-to-frame motion.
        bone_parents: sequence of V ints or `None`. Each joint's parent (e.g.
            `SkeletonLayout.parents()`) to embed bone vectors too; `None` for none.
        coordinate_channels: int or `None`. How many leading input channels are coordinates
            (e.g. `SkeletonLayout.coordinate_channels(C)`); `None`: all of them.

    Example:
        >>> embedding = SkeletonEmbedding(8, bone_parents=(0, 0, 1), coordinate_channels=2)
        >>> tuple(embedding(ops.ones((1, 4, 3, 3))).shape)  # 4 frames, 3 joints: x, y, score
        (1, 4, 3, 8)
    """

    def __init__(self, embed_dim, num_frames=None, kernel_initializer="glorot_uniform",
                 motion=False, bone_parents=None, coordinate_channels=None, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.num_frames = None if num_frames is None else int(num_frames)
        self.motion = bool(motion)
        self.bone_parents = None if bone_parents is None else tuple(int(p) for p in bone_parents)
        self.coordinate_channels = None if coordinate_channels is None else int(coordinate_channels)
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
        coordinates = self._coordinates(input_shape[-1])
        channels = coordinates * (2 if self.bone_parents is not None else 1)
        channels *= 2 if self.motion else 1
        channels += input_shape[-1] - coordinates
        self.projection.build(tuple(input_shape[:-1]) + (channels,))
        if self.num_frames is not None:
            self.position_embedding = self.add_weight(
                shape=(self.num_frames, 1, self.embed_dim),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                name="position_embedding",
            )

    def _coordinates(self, channels):
        if self.coordinate_channels is None:
            return channels
        if not 1 <= self.coordinate_channels <= channels:
            raise ValueError(f"{self.name}: coordinate_channels={self.coordinate_channels} for "
                             f"an input of {channels} channels; expected 1 to {channels}.")
        return self.coordinate_channels

    def call(self, inputs, joint_mask=None):
        if joint_mask is not None:
            hidden = ops.cast(joint_mask, "bool")[..., None]
            # `where`, not a product: a hidden joint's inf or nan must not survive as nan.
            inputs = ops.where(hidden, ops.zeros_like(inputs), inputs)
        coordinates = self._coordinates(inputs.shape[-1])
        features, score = inputs[..., :coordinates], inputs[..., coordinates:]
        if self.bone_parents is not None:
            bones = joint_bones(features, self.bone_parents)
            features = ops.concatenate([features, bones], axis=-1)
        if self.motion:
            features = ops.concatenate([features, joint_motion(features)], axis=-1)
        if score.shape[-1]:
            features = ops.concatenate([features, score], axis=-1)
        x = self.projection(features)
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
            coordinate_channels=self.coordinate_channels,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
