"""SkeletonMAE pre-training: mask body parts, encode, re-mask, decode, re-weighted cosine error."""

import keras
from keras import ops

from keras_skeletonmae.layers import BodyPartMasking, GINConv
from keras_skeletonmae.distribution import replicas_in_sync
from keras_skeletonmae.losses import reweighted_cosine_error
from keras_skeletonmae.models.classifier import apply_trunk, strl_trunk
from keras_skeletonmae.models.task import BackboneTask

TARGETS = ("coordinates", "embedding")
ENCODERS = ("gin", "trunk")
MASK_TOKENS = ("shared", "joint")


def coordinate_target(skeletons, center, window):
    """Fixed reconstruction target: each joint's coordinates over `window` frames around t.

    `(B, M, T, V, C) -> (B, M, T, V, C * window)`: for every offset j in `[-r, r]`
    (`window = 2r + 1`, clamped at the sequence ends), `x[t + j, v] - x[t, center]`. Centring on
    the layout's centre joint removes the global position; cosine error removes the scale.
    """
    radius = (window - 1) // 2
    origin = skeletons[:, :, :, center : center + 1, :]
    frames = skeletons.shape[2]
    padded = ops.concatenate(
        [skeletons[:, :, :1]] * radius + [skeletons] + [skeletons[:, :, -1:]] * radius, axis=2
    )
    shifted = [padded[:, :, j : j + frames] - origin for j in range(window)]
    return ops.concatenate(shifted, axis=-1)


def present_frames(skeletons):
    """`(B, M, T)` 1 where a person has any non-zero joint (0 = padding person or frame)."""
    return ops.cast(ops.any(ops.not_equal(skeletons, 0), axis=(-2, -1)), "float32")


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonMAEPretrainer(BackboneTask):
    """SkeletonMAE: masked body-part reconstruction on unlabeled skeletons; `fit(x)`, no labels.

    Graph: draw a `BodyPartMasking` mask -> embed `x` with the masked joints removed (their
    coordinates set to 0 before bones and motion are derived, so that no visible joint's input
    carries anything of a masked one) -> the mask token on masked joints -> encoder G_E (the
    backbone's GIN layers) -> re-mask (a bias-free Dense, then masked joints' hidden vectors set
    to 0, as GraphMAE) -> one GIN decoder layer -> reconstruction `z`. Loss:
    `reweighted_cosine_error(x, z)` over the masked joints of persons/frames that are present
    (all-zero padding persons and frames are ignored).

    Reconstruction target `x` (`target=`):
    - `"coordinates"` (default): fixed, the joint's centred coordinates (not its confidence
      score) over `target_window` frames (`coordinate_target`). It cannot be changed by the
      model, so the loss cannot be won by collapsing the embedding.
    - `"embedding"`: the paper's literal target, the embedded input features, with stop-gradient.
      They still depend on the learned embedding, which pre-training can shrink towards
      uninformative features; offered to reproduce the paper and for ablations.

    Masked encoder (`encoder=`):
    - `"gin"` (default, the paper's): G_E alone, on every person's frame graph separately.
    - `"trunk"`: the `SkeletonClassifier`'s whole trunk, `H_{l+1} = STRL_l([H_l, G_E^l(H_l)])`
      for `num_strl_layers` STRL layers named as the classifier names them (`strl_0`, ...,
      encoder copies `strl_1_encoder`, ..., initialised from G_E), so that the STRL layers and
      their temporal convolutions are pre-trained too: `SkeletonClassifier.from_pretrainer` or
      `SkeletonClassifier.from_preset` then starts with every layer but the head pre-trained.
      The STRL layers mix frames and persons; as masked joints enter as the mask token, what
      they mix carries nothing of a masked joint's coordinates. With `mask_sampling="span"`
      the trunk can (and must) use the visible frames around a masked span.

    `predict(x)` returns `{"reconstruction", "target", "mask"}` (mask = joints the loss counts).

    Args:
        backbone: a `SkeletonMAEBackbone`.
        mask_parts: names of parts always masked; `None` for `num_masked_parts` random parts.
        num_masked_parts: k random parts per draw.
        num_masked_joints: n random joints per draw instead of parts (an ablation), or `None`.
        mask_sampling: `"sample"` (one draw per sequence), `"frame"` (per person and frame) or
            `"span"` (per span of `mask_span` consecutive frames), see `BodyPartMasking`.
        mask_span: frames per span with `mask_sampling="span"`; `None` otherwise.
        target: `"coordinates"` or `"embedding"`.
        target_window: odd number of frames in the coordinate target.
        beta: the loss exponent (2 in the paper).
        decoder_hidden_dim: width of the decoder's MLP; `None` = the backbone's `hidden_dim`.
        seed: int seed of the masking.
        encoder: `"gin"` or `"trunk"`, the masked encoder (see above).
        num_strl_layers: with `encoder="trunk"`, M, STRL layers (as `SkeletonClassifier`).
        person_interaction: with `encoder="trunk"`, see `STRLBlock`.
        combine: with `encoder="trunk"`, see `STRLBlock`.
        temporal_kernel_size: with `encoder="trunk"`, see `STRLBlock`.
        temporal_dilations: with `encoder="trunk"`, see `STRLBlock`.
        remask: bool. `True` (GraphMAE's re-mask, the paper's decoder input): the masked joints'
            codes are set to 0 before the decoder, so a masked joint is reconstructed from its
            visible neighbours within the decoder's one hop; inside a masked part (a hand whose
            wrist and elbow are masked too) the decoder then sees only zeros and can do no
            better than one output for every such joint. `False`: the decoder gets every
            joint's code, the masked ones holding what the encoder gathered around them (over
            its hops and, with `encoder="trunk"`, the visible frames and persons); still
            nothing of a masked joint's coordinates.
        mask_token: `"shared"` (the paper's: one learnable token for every masked joint) or
            `"joint"` (one per joint, `BodyPartMasking(joint_tokens=True)`): the masked joint's
            identity enters the encoder, so the decoder need not infer which joint it
            reconstructs from the neighbours alone.
        dtype: dtype policy of the task's own layers.

    Example:
        >>> from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
        >>> backbone = SkeletonMAEBackbone("coco17", num_frames=16, embed_dim=16, num_layers=1,
        ...                                hidden_dim=32)
        >>> pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling="span", mask_span=4,
        ...                                    encoder="trunk", num_strl_layers=2, seed=0)
        >>> pretrainer.fit(x_unlabeled, epochs=1)  # doctest: +SKIP
        >>> classifier = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=10)
        >>> [block.name for block in classifier.strl_blocks]
        ['strl_0', 'strl_1']
    """

    def __init__(
        self,
        backbone,
        mask_parts=None,
        num_masked_parts=2,
        mask_sampling="sample",
        target="coordinates",
        target_window=5,
        beta=2.0,
        decoder_hidden_dim=None,
        seed=None,
        num_masked_joints=None,
        mask_span=None,
        encoder="gin",
        num_strl_layers=3,
        person_interaction="add",
        combine="concat",
        temporal_kernel_size=5,
        temporal_dilations=(1, 2),
        remask=True,
        mask_token="shared",
        dtype=None,
        **kwargs,
    ):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}.")
        if mask_token not in MASK_TOKENS:
            raise ValueError(f"mask_token must be one of {MASK_TOKENS}, got {mask_token!r}.")
        if encoder == "trunk" and num_strl_layers < 1:
            raise ValueError(f"encoder='trunk' needs num_strl_layers >= 1, got {num_strl_layers}.")
        if target_window < 1 or target_window % 2 == 0:
            raise ValueError(f"target_window must be a positive odd number, got {target_window}.")
        layout = backbone.layout
        coordinates = layout.coordinate_channels(backbone.num_channels)
        target_dim = backbone.embed_dim if target == "embedding" else coordinates * target_window
        # === Layers ===
        self.backbone = backbone
        self.masking = BodyPartMasking(
            layout,
            mask_parts,
            num_masked_parts,
            mask_sampling,
            seed,
            num_masked_joints=num_masked_joints,
            span=mask_span,
            joint_tokens=mask_token == "joint",
            dtype=dtype,
            name="masking",
        )
        # The classifier's trunk, built and named as `SkeletonClassifier` builds it, so that its
        # weights transfer by name.
        self.strl_blocks, self.encoder_copies = strl_trunk(
            backbone, num_strl_layers if encoder == "trunk" else 0, person_interaction, combine,
            temporal_kernel_size, temporal_dilations, dtype,
        )
        self.remask = keras.layers.Dense(
            backbone.embed_dim, use_bias=False, dtype=dtype, name="remask"
        )
        self.decoder = GINConv(
            target_dim,
            layout,
            hidden_units=decoder_hidden_dim or backbone.hidden_dim,
            output_activation=False,
            dtype=dtype,
            name="decoder",
        )
        # === Functional model ===
        inputs = keras.Input(shape=backbone.input.shape[1:], name="skeletons")
        # Every joint's embedding: the "embedding" target, and what the mask is drawn for.
        embedded = backbone.embedding(inputs)
        _, mask = self.masking(embedded)
        # The encoder's input: bones and motion derived without the masked joints (else a
        # visible joint's bone or motion would give a masked one away), then the mask token.
        visible = backbone.embedding(inputs, joint_mask=mask)
        masked, _ = self.masking(visible, joint_mask=mask)
        if encoder == "gin":
            encoded = backbone.encoder(masked)
        else:
            encoded = apply_trunk(masked, backbone, self.strl_blocks, self.encoder_copies)
        hidden = self.remask(encoded)
        if remask:
            hidden = hidden * (1.0 - mask[..., None])
        reconstruction = self.decoder(hidden)
        if target == "embedding":
            target_features = ops.stop_gradient(embedded)
        else:
            target_features = coordinate_target(
                inputs[..., :coordinates], layout.center, target_window
            )
        loss_mask = ops.cast(mask, "float32") * present_frames(inputs)[..., None]
        outputs = {"reconstruction": reconstruction, "target": target_features, "mask": loss_mask}
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        for copy in self.encoder_copies:
            copy.set_weights(backbone.encoder.get_weights())
        # === Config ===
        self.mask_parts = mask_parts
        self.num_masked_parts = num_masked_parts
        self.num_masked_joints = num_masked_joints
        self.mask_sampling = mask_sampling
        self.target = target
        self.target_window = target_window
        self.beta = beta
        self.decoder_hidden_dim = decoder_hidden_dim
        self.seed = seed
        self.mask_span = mask_span
        self.encoder = encoder
        self.num_strl_layers = num_strl_layers
        self.person_interaction = person_interaction
        self.combine = combine
        self.temporal_kernel_size = temporal_kernel_size
        self.temporal_dilations = list(temporal_dilations)
        self.remask_masked_joints = bool(remask)
        self.mask_token = mask_token
        self.compile()

    def compile(self, optimizer="auto", **kwargs):
        """Adam at the paper's 1.5e-4 when `optimizer="auto"`. The loss is built in."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1.5e-4)
        super().compile(optimizer=optimizer, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The re-weighted cosine error plus any added losses; under `tf.distribute`, this
        replica's share (Keras sums the replicas' gradients and reports the sum)."""
        loss = reweighted_cosine_error(
            y_pred["target"], y_pred["reconstruction"], y_pred["mask"], self.beta
        )
        for extra in self.losses:
            loss = loss + ops.cast(ops.sum(extra), "float32")
        return loss / replicas_in_sync()

    def get_config(self):
        config = super().get_config()
        config.update(
            dtype=keras.dtype_policies.serialize(self.dtype_policy),
            mask_parts=self.mask_parts,
            num_masked_parts=self.num_masked_parts,
            num_masked_joints=self.num_masked_joints,
            mask_sampling=self.mask_sampling,
            target=self.target,
            target_window=self.target_window,
            beta=self.beta,
            decoder_hidden_dim=self.decoder_hidden_dim,
            seed=self.seed,
            mask_span=self.mask_span,
            encoder=self.encoder,
            num_strl_layers=self.num_strl_layers,
            person_interaction=self.person_interaction,
            combine=self.combine,
            temporal_kernel_size=self.temporal_kernel_size,
            temporal_dilations=self.temporal_dilations,
            remask=self.remask_masked_joints,
            mask_token=self.mask_token,
        )
        return config
