"""Body-part masking: replace every joint of whole body parts by a learnable mask token."""

import keras
from keras import ops

from keras_skeletonmae.layouts import get_layout, layout_to_config_value

SAMPLINGS = ("sample", "frame", "span")


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class BodyPartMasking(keras.layers.Layer):
    """Masks whole body parts of embedded skeletons `(B, M, T, V, D)` with a learnable token.

    Returns `(masked, mask)`: `masked` has every joint of the chosen parts replaced by the D-dim
    mask token, and `mask` `(B, M, T, V)` is 1 on masked joints, 0 elsewhere. With
    `joint_tokens=True` each joint v has its own token (a `(V, D)` weight), so a masked joint
    still says which joint it is; with one shared token (the paper's), a masked joint is told
    apart from another only by what its neighbours carry, and a masked left hand and right hand
    with the same visible context look the same.

    Policy:
    - `mask_parts=[names]`: always mask these parts (the paper's best: right arm + right leg);
    - `num_masked_joints=n`: n single joints drawn at random, whatever their parts (the
      ablation "random joints instead of body parts", at a matched joint count);
    - otherwise `num_masked_parts=k` parts drawn uniformly at random, without replacement.
    Random parts or joints are drawn either once per sequence (`sampling="sample"`: the same in
    every frame and person), independently for every person and frame (`sampling="frame"`), or
    once per span of `span` consecutive frames (`sampling="span"`: frames `[0, S)`, `[S, 2S)`,
    ... each draw their own parts, the same for every person; the last span may be shorter).
    Spans hide a body part for a stretch of time while it stays visible before and after, so
    an encoder that mixes frames must use the temporal context to reconstruct it.
    Not every part (or joint) may be masked at once (the paper's rule). Random draws come from a
    `keras.random.SeedGenerator`, so a fresh mask is drawn at every step, under jit too, and the
    sequence of masks is reproducible from `seed`. The layer masks in training and inference alike:
    it exists only inside the pre-trainer, whose loss needs the mask in `evaluate` as well.

    Args:
        layout: a registered layout name, a `SkeletonLayout`, or its config dict.
        mask_parts: names of parts to always mask, or `None` for random parts.
        num_masked_parts: k, the number of random parts (ignored when `mask_parts` or
            `num_masked_joints` is given).
        num_masked_joints: n random joints instead of parts, or `None`.
        sampling: `"sample"`, `"frame"` or `"span"`, how often random parts or joints are drawn.
        seed: int seed of the random draws.
        span: S, frames per span; required with `sampling="span"`, only allowed with it.
        joint_tokens: bool. One learnable token per joint instead of one for all.

    Example:
        >>> masking = BodyPartMasking("coco17", num_masked_parts=2, sampling="span", span=4,
        ...                           seed=0)
        >>> masked, mask = masking(ops.zeros((1, 2, 8, 17, 16)))  # 8 frames: two spans of 4
        >>> tuple(mask.shape)
        (1, 2, 8, 17)
    """

    def __init__(
        self,
        layout,
        mask_parts=None,
        num_masked_parts=2,
        sampling="sample",
        seed=None,
        num_masked_joints=None,
        span=None,
        joint_tokens=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.joint_tokens = bool(joint_tokens)
        self.layout = get_layout(layout)
        self.mask_parts = None if mask_parts is None else [str(p) for p in mask_parts]
        self.num_masked_parts = int(num_masked_parts)
        self.num_masked_joints = None if num_masked_joints is None else int(num_masked_joints)
        self.sampling = sampling
        self.seed = seed
        num_parts = self.layout.num_parts
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}.")
        if (sampling == "span") != (span is not None):
            raise ValueError(
                "span (frames per span) is required with sampling='span' and only allowed with "
                f"it; got sampling={sampling!r}, span={span!r}."
            )
        if span is not None and (int(span) != span or span < 1):
            raise ValueError(f"span must be a positive whole number of frames, got {span!r}.")
        self.span = None if span is None else int(span)
        if self.mask_parts is not None and self.num_masked_joints is not None:
            raise ValueError("pass mask_parts or num_masked_joints, not both.")
        if self.num_masked_joints is not None:
            if not 1 <= self.num_masked_joints < self.layout.num_joints:
                raise ValueError(
                    f"num_masked_joints must be in [1, {self.layout.num_joints - 1}] for layout "
                    f"'{self.layout.name}', got {self.num_masked_joints}."
                )
        elif self.mask_parts is not None:
            if not self.mask_parts or len(set(self.mask_parts)) != len(self.mask_parts):
                raise ValueError(f"mask_parts must name distinct parts, got {self.mask_parts}.")
            if len(self.mask_parts) >= num_parts:
                raise ValueError(
                    f"mask_parts={self.mask_parts} masks every part of layout "
                    f"'{self.layout.name}'; leave at least one part visible."
                )
            part_indices = [self.layout.part_index(name) for name in self.mask_parts]
            self._fixed_mask = self.layout.part_membership()[part_indices].sum(axis=0)
        elif not 1 <= self.num_masked_parts < num_parts:
            raise ValueError(
                f"num_masked_parts must be in [1, {num_parts - 1}] for layout "
                f"'{self.layout.name}' ({num_parts} parts), got {self.num_masked_parts}."
            )
        self._membership = self.layout.part_membership()
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        shape = (self.layout.num_joints,) if self.joint_tokens else ()
        self.mask_token = self.add_weight(
            shape=shape + (input_shape[-1],), initializer="zeros", name="mask_token"
        )

    def joint_mask(self, inputs):
        """The `(B, M, T, V)` 0/1 mask for one batch (fresh random parts at every call)."""
        shape = ops.shape(inputs)[:-1]
        dtype = inputs.dtype
        if self.mask_parts is not None:
            return ops.broadcast_to(ops.convert_to_tensor(self._fixed_mask, dtype=dtype), shape)
        if self.sampling == "sample":
            draw_shape = (shape[0], 1, 1)
        elif self.sampling == "span":
            draw_shape = (shape[0], 1, -(-inputs.shape[2] // self.span))  # ceil(T / S) spans
        else:
            draw_shape = tuple(shape[:3])
        if self.num_masked_joints is not None:
            mask = self._draw(draw_shape, self.layout.num_joints, self.num_masked_joints, dtype)
        else:
            chosen = self._draw(draw_shape, self.layout.num_parts, self.num_masked_parts, dtype)
            membership = ops.convert_to_tensor(self._membership, dtype=dtype)
            mask = ops.einsum("...p,pv->...v", chosen, membership)
        if self.sampling == "span":
            mask = ops.repeat(mask, self.span, axis=2)[:, :, : inputs.shape[2]]
        return ops.broadcast_to(mask, shape)

    def _draw(self, draw_shape, num_items, k, dtype):
        """`draw_shape + (num_items,)` 0/1: k items chosen uniformly without replacement."""
        scores = keras.random.uniform(draw_shape + (num_items,), seed=self.seed_generator)
        kth_largest = ops.top_k(scores, k, sorted=True)[0][..., -1:]
        return ops.cast(scores >= kth_largest, dtype)

    def call(self, inputs, joint_mask=None):
        """`(masked, mask)` for a fresh mask, or for `joint_mask` `(B, M, T, V)` when given (a
        mask already drawn, e.g. by an earlier call, so that the features can be derived
        without the masked joints first)."""
        mask = self.joint_mask(inputs) if joint_mask is None else ops.cast(joint_mask, inputs.dtype)
        token = ops.cast(self.mask_token, inputs.dtype)
        masked = inputs + mask[..., None] * (token - inputs)
        return masked, mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), tuple(input_shape[:-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            layout=layout_to_config_value(self.layout),
            mask_parts=self.mask_parts,
            num_masked_parts=self.num_masked_parts,
            sampling=self.sampling,
            seed=self.seed,
            num_masked_joints=self.num_masked_joints,
            span=self.span,
            joint_tokens=self.joint_tokens,
        )
        return config

