"""Body-part masking: replace every joint of whole body parts by a learnable mask token."""

import keras
from keras import ops

from keras_skeletonmae.layouts import get_layout, layout_to_config_value

SAMPLINGS = ("sample", "frame")


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class BodyPartMasking(keras.layers.Layer):
    """Masks whole body parts of embedded skeletons `(B, M, T, V, D)` with a learnable token.

    Returns `(masked, mask)`: `masked` has every joint of the chosen parts replaced by the D-dim
    mask token, and `mask` `(B, M, T, V)` is 1 on masked joints, 0 elsewhere.

    Policy:
    - `mask_parts=[names]`: always mask these parts (the paper's best: right arm + right leg);
    - otherwise `num_masked_parts=k` parts drawn uniformly at random, without replacement, either
      once per sequence (`sampling="sample"`: the same parts in every frame and person) or
      independently for every person and frame (`sampling="frame"`).
    Not every part may be masked at once (the paper's rule). Random draws come from a
    `keras.random.SeedGenerator`, so a fresh mask is drawn at every step, under jit too, and the
    sequence of masks is reproducible from `seed`. The layer masks in training and inference alike:
    it exists only inside the pre-trainer, whose loss needs the mask in `evaluate` as well.

    Args:
        layout: a registered layout name, a `SkeletonLayout`, or its config dict.
        mask_parts: names of parts to always mask, or `None` for random parts.
        num_masked_parts: k, the number of random parts (ignored when `mask_parts` is given).
        sampling: `"sample"` or `"frame"`, how often random parts are drawn.
        seed: int seed of the random draws.
    """

    def __init__(
        self, layout, mask_parts=None, num_masked_parts=2, sampling="sample", seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.layout = get_layout(layout)
        self.mask_parts = None if mask_parts is None else [str(p) for p in mask_parts]
        self.num_masked_parts = int(num_masked_parts)
        self.sampling = sampling
        self.seed = seed
        num_parts = self.layout.num_parts
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}.")
        if self.mask_parts is not None:
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
        self.mask_token = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", name="mask_token"
        )

    def joint_mask(self, inputs):
        """The `(B, M, T, V)` 0/1 mask for one batch (fresh random parts at every call)."""
        shape = ops.shape(inputs)[:-1]
        dtype = inputs.dtype
        if self.mask_parts is not None:
            return ops.broadcast_to(ops.convert_to_tensor(self._fixed_mask, dtype=dtype), shape)
        num_parts = self.layout.num_parts
        draw_shape = (shape[0], 1, 1) if self.sampling == "sample" else tuple(shape[:3])
        scores = keras.random.uniform(draw_shape + (num_parts,), seed=self.seed_generator)
        kth_largest = ops.top_k(scores, self.num_masked_parts, sorted=True)[0][..., -1:]
        chosen = ops.cast(scores >= kth_largest, dtype)
        membership = ops.convert_to_tensor(self._membership, dtype=dtype)
        return ops.broadcast_to(ops.einsum("...p,pv->...v", chosen, membership), shape)

    def call(self, inputs):
        mask = self.joint_mask(inputs)
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
        )
        return config

