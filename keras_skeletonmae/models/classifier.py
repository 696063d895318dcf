"""The SSL action classifier: STRL layers around the (pre-trained) SkeletonMAE encoder."""

import inspect
import warnings

import keras
import numpy as np
from keras import ops

from keras_skeletonmae.evaluation import outputs_are_logits
from keras_skeletonmae.layers import STRLBlock
from keras_skeletonmae.losses import SparseCategoricalCrossentropyWithLabelSmoothing
from keras_skeletonmae.models import presets as preset_io
from keras_skeletonmae.models.backbone import SkeletonMAEBackbone
from keras_skeletonmae.models.task import BackboneTask

# The STRL arguments a trunk pre-trainer shares with the classifier.
TRUNK_ARGUMENTS = ("num_strl_layers", "person_interaction", "combine", "temporal_kernel_size",
                   "temporal_dilations")


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonClassifier(BackboneTask):
    """SSL: skeleton sequence -> action class scores, fine-tuned end to end with `fit(x, y)`.

    Graph: `H_0 = embedding(x) + temporal position embedding`; for each of `num_strl_layers`
    STRL layers `H_{l+1} = STRLBlock([H_l, G_E^l(H_l)])`; then global average pooling over persons,
    frames and joints, dropout, and a Dense head named `predictions`. `G_E^0` is the backbone's
    encoder; every further STRL layer has its own copy (`encoder_copies`), initialised from the
    backbone's weights when the classifier is built. Copies, not one shared encoder: each STRL
    depth sees differently distributed features, and a shared encoder's BatchNorm statistics
    would mix them.

    `freeze_backbone=True` is the linear-evaluation protocol: the classifier holds a frozen copy
    of the backbone (embedding and encoder, its weights copied when the classifier is built; its
    BatchNorm runs in inference mode), no STRL layers are built whatever `num_strl_layers` says,
    and only the linear head is trained on the pooled encoder features. The `backbone` passed in
    is left as it is: still trainable, for other models built on it.

    Labels are integer class ids. `compile()` defaults: Adam 1e-3, cross-entropy with label
    smoothing 0.1 (the paper's), accuracy. The paper's SGD recipe (momentum 0.9, lr 0.1, warm-up)
    can be passed as `compile(optimizer=...)`.

    Args:
        backbone: `SkeletonMAEBackbone`. Pre-trained or fresh. It is shared, not copied
            (fine-tuning trains it), except with `freeze_backbone` (see above).
        num_classes: int. Number of action classes.
        num_strl_layers: int. M, STRL layers (3 in the paper).
        person_interaction: str. `"add"` or `"none"`, see `STRLBlock`.
        combine: str. `"concat"` or `"add"`, the paper's "⊕", see `STRLBlock`.
        temporal_kernel_size: int. Kernel of the multi-scale temporal convolution.
        temporal_dilations: sequence of ints. Its dilations.
        dropout: float. Dropout rate before the head.
        freeze_backbone: bool. Linear evaluation, see above.
        activation: str or `None`. Activation of the head; `None` or `"linear"` gives logits
            (the default), `"softmax"` probabilities. The default loss and
            `evaluation.class_probabilities` follow it (`evaluation.outputs_are_logits`).
        pretrained_strl_layers: int, 0 to the STRL layers built. How many STRL layers, from
            `strl_0`, hold a pre-trainer's weights (`from_pretrainer` sets it for a trunk
            pre-trainer); a record that `pretrained_layers`, and so the fine-tuning recipes'
            lower rate for pre-trained layers, follow. It changes nothing in the graph.
        seed: int or `None`. Seed of the dropout. With a seed, every backend draws dropout
            masks from a seed state saved in checkpoints (a resumed run repeats them); without
            one, PyTorch uses its global generator.
        dtype: str or `keras.DTypePolicy`. Dtype policy of the task's own layers.

    Example:
        >>> import numpy as np
        >>> backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=16,
        ...                                num_persons=1, embed_dim=16, num_layers=1,
        ...                                hidden_dim=32)
        >>> classifier = SkeletonClassifier(backbone, num_classes=5, num_strl_layers=1)
        >>> classifier.compile()
        >>> x, y = np.zeros((4, 1, 16, 20, 3)), np.array([0, 1, 2, 3])
        >>> _ = classifier.fit(x, y, epochs=1, verbose=0)
        >>> classifier.predict(x, verbose=0).shape
        (4, 5)
    """

    def __init__(
        self,
        backbone,
        num_classes,
        num_strl_layers=3,
        person_interaction="add",
        combine="concat",
        temporal_kernel_size=5,
        temporal_dilations=(1, 2),
        dropout=0.5,
        freeze_backbone=False,
        activation=None,
        pretrained_strl_layers=0,
        seed=None,
        dtype=None,
        **kwargs,
    ):
        built_strl_layers = 0 if freeze_backbone else num_strl_layers
        if (isinstance(pretrained_strl_layers, bool) or not isinstance(pretrained_strl_layers, int)
                or not 0 <= pretrained_strl_layers <= built_strl_layers):
            raise ValueError(f"pretrained_strl_layers must be an integer from 0 to the STRL "
                             f"layers built ({built_strl_layers}), got {pretrained_strl_layers!r}.")
        if freeze_backbone:
            backbone = _copy(backbone)
        # === Layers ===
        self.backbone = backbone
        self.strl_blocks, self.encoder_copies = strl_trunk(
            backbone, built_strl_layers, person_interaction, combine,
            temporal_kernel_size, temporal_dilations, dtype,
        )
        self.dropout_layer = keras.layers.Dropout(dropout, seed=seed, dtype=dtype, name="dropout")
        self.predictions = keras.layers.Dense(
            num_classes, activation=activation, dtype=dtype, name="predictions"
        )
        # === Functional model ===
        inputs = keras.Input(shape=backbone.input.shape[1:], name="skeletons")
        if freeze_backbone:
            features = backbone(inputs)
        else:
            features = apply_trunk(
                backbone.embedding(inputs), backbone, self.strl_blocks, self.encoder_copies
            )
        pooled = ops.mean(features, axis=(1, 2, 3))
        outputs = self.predictions(self.dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        # Frozen after `super().__init__`, whose `trainable` argument (from a saved config) is
        # set on every layer.
        if freeze_backbone:
            backbone.trainable = False
        for encoder in self.encoder_copies:
            encoder.set_weights(backbone.encoder.get_weights())
        # === Config ===
        self.num_classes = num_classes
        self.num_strl_layers = num_strl_layers
        self.person_interaction = person_interaction
        self.combine = combine
        self.temporal_kernel_size = temporal_kernel_size
        self.temporal_dilations = list(temporal_dilations)
        self.dropout = dropout
        self.freeze_backbone = freeze_backbone
        self.activation = activation
        self.pretrained_strl_layers = pretrained_strl_layers
        self.seed = seed
        self.compile()

    @property
    def pretrained_layers(self):
        """The layers that start from pre-trained weights: the backbone, G_E's copies and the
        first `pretrained_strl_layers` STRL layers (every layer but the head after a trunk
        pre-trainer). `training.fine_tuning_optimizer` gives them their own rate."""
        return [self.backbone, *self.encoder_copies,
                *self.strl_blocks[:self.pretrained_strl_layers]]

    @classmethod
    def from_preset(cls, preset, load_weights=True, num_classes=None, **kwargs):
        """A classifier from a preset. Without `num_classes`, a preset saved from a classifier is
        restored with its head; with a different `num_classes`, every weight is kept except the
        head `predictions`, which is new. Around a backbone-only or pre-trainer preset, a new
        classifier is built and `num_classes` is required: around a pre-trainer preset with
        `encoder="trunk"`, by `from_pretrainer` (every layer but the head pre-trained)."""
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        if _holds_trunk_pretrainer(preset):
            from keras_skeletonmae.models.pretrainer import SkeletonMAEPretrainer

            if num_classes is None:
                raise ValueError(f"Preset '{preset}' holds a pre-trainer, no classifier: pass "
                                 "num_classes= to build one around its trunk.")
            backbone_arguments = inspect.signature(SkeletonMAEBackbone.__init__).parameters
            overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in backbone_arguments}
            pretrainer = SkeletonMAEPretrainer.from_preset(preset, load_weights, **overrides)
            return cls.from_pretrainer(pretrainer, **kwargs)
        try:
            return preset_io.load_task(
                cls, preset, load_weights, {"num_classes": ("predictions/",)}, **kwargs
            )
        except TypeError as e:
            if "num_classes" in str(e):
                raise ValueError(
                    f"Preset '{preset}' holds no classifier: pass num_classes= to build one "
                    "around its backbone."
                ) from None
            raise

    @classmethod
    def from_pretrainer(cls, pretrainer, num_classes, **kwargs):
        """A classifier that starts from `pretrainer`'s weights, every layer but the head.

        The classifier gets a copy of the pre-trainer's backbone (fine-tuning leaves the
        pre-trainer as it is). A pre-trainer with `encoder="trunk"` also gives its STRL layers
        and encoder copies (same names, `strl_0`, ..., `strl_1_encoder`, ...), and their
        arguments are the defaults of the classifier's; `kwargs` override them. STRL layers the
        pre-trainer lacks (a `"gin"` pre-trainer's, or beyond its `num_strl_layers`) start as in
        `SkeletonClassifier(backbone)`: new, with encoder copies of its G_E.

        Args:
            pretrainer: a `SkeletonMAEPretrainer`.
            num_classes: number of action classes.
            **kwargs: other constructor arguments (`dropout`, `seed`, ...).

        Example:
            >>> from keras_skeletonmae import SkeletonMAEBackbone, SkeletonMAEPretrainer
            >>> backbone = SkeletonMAEBackbone("coco17", num_frames=16, embed_dim=16,
            ...                                num_layers=1, hidden_dim=32)
            >>> pretrainer = SkeletonMAEPretrainer(backbone, encoder="trunk", num_strl_layers=2)
            >>> classifier = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=20)
            >>> [copy.name for copy in classifier.encoder_copies]
            ['strl_1_encoder']
            >>> [layer.name for layer in classifier.pretrained_layers][1:]
            ['strl_1_encoder', 'strl_0', 'strl_1']
        """
        arguments = {}
        if pretrainer.encoder == "trunk":
            arguments = {name: getattr(pretrainer, name) for name in TRUNK_ARGUMENTS}
        classifier = cls(_copy(pretrainer.backbone), num_classes, **{**arguments, **kwargs})
        try:
            preset_io.transfer_weights(pretrainer, classifier, skip=("predictions/",))
        except ValueError as e:
            raise ValueError(f"The pre-trainer's weights do not fit this classifier ({e}); keep "
                             f"the pre-trainer's {', '.join(TRUNK_ARGUMENTS)}.") from None
        if pretrainer.encoder == "trunk":
            classifier.pretrained_strl_layers = min(pretrainer.num_strl_layers,
                                                    len(classifier.strl_blocks))
        return classifier

    def init_head_from_class_means(self, x, y, batch_size=64):
        """Set the head to the nearest-class-mean classifier of the pooled features of `(x, y)`.

        With few labels a new head learns slowly on a pre-trained trunk's pooled features (their
        offsets and scales are far from 0 and 1), while its early, random gradients reshape the
        trunk. Here the pooled features `f` of `x` (inference mode) are standardised,
        `z = (f - mu) / sigma` with `x`'s mean and `sigma = sqrt(var + 1e-6)` per feature, and
        the head is set so that its logits are `z . c_k - |c_k|^2 / 2` for each class mean
        `c_k` of `z`: the class whose mean is nearest in `z` wins. A fine-tuning `fit` can
        follow, or nothing (the frozen trunk's nearest-class-mean score, `docs/results.md`).

        Args:
            x: array `(N, M, T, V, C)`, labelled sequences (the model's input shape).
            y: int array `(N,)`, their class ids in `[0, num_classes)`. A class without a
                sequence gets a head that does not predict it (a warning says which).
            batch_size: int, batch size of the feature pass.

        Example:
            >>> classifier = SkeletonClassifier(backbone, num_classes=5)  # doctest: +SKIP
            >>> classifier.init_head_from_class_means(x, y)  # doctest: +SKIP
            >>> classifier.fit(x, y, epochs=30)  # doctest: +SKIP
        """
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"init_head_from_class_means: expected one integer class id per "
                             f"sequence, got {len(x)} sequences and labels {y.dtype}{y.shape}.")
        if y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"init_head_from_class_means: class ids must lie in 0-"
                             f"{self.num_classes - 1}, got {sorted(set(y.tolist()))}.")
        present = np.unique(y)
        absent = np.setdiff1d(np.arange(self.num_classes), present)
        if len(absent):
            warnings.warn(f"init_head_from_class_means: no sequence of class ids "
                          f"{absent.tolist()}; the head will not predict them until training "
                          f"gives them weight.", stacklevel=2)
        pooled = keras.Model(self.input, self.dropout_layer.input)
        features = np.asarray(pooled.predict(x, batch_size=batch_size, verbose=0), "float64")
        mean, scale = features.mean(axis=0), np.sqrt(features.var(axis=0) + 1e-6)
        standardised = (features - mean) / scale
        centres = np.zeros((self.num_classes, features.shape[1]))
        centres[present] = [standardised[y == k].mean(axis=0) for k in present]
        kernel = (centres / scale).T
        bias = -0.5 * np.sum(centres**2, axis=1) - centres @ (mean / scale)
        bias[absent] = bias[present].min() - 1e3  # below every present class's logit
        self.predictions.kernel.assign(kernel.astype(self.predictions.kernel.dtype))
        self.predictions.bias.assign(bias.astype(self.predictions.bias.dtype))

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: Adam(1e-3), label-smoothed (0.1) cross-entropy, accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = SparseCategoricalCrossentropyWithLabelSmoothing(
                0.1, from_logits=outputs_are_logits(self)
            )
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            dtype=keras.dtype_policies.serialize(self.dtype_policy),
            num_classes=self.num_classes,
            num_strl_layers=self.num_strl_layers,
            person_interaction=self.person_interaction,
            combine=self.combine,
            temporal_kernel_size=self.temporal_kernel_size,
            temporal_dilations=self.temporal_dilations,
            dropout=self.dropout,
            freeze_backbone=self.freeze_backbone,
            activation=self.activation,
            pretrained_strl_layers=self.pretrained_strl_layers,
            seed=self.seed,
        )
        return config


def strl_trunk(backbone, num_strl_layers, person_interaction, combine, temporal_kernel_size,
               temporal_dilations, dtype=None):
    """The STRL layers `strl_0`, ... and G_E's copies `strl_1_encoder`, ... of a trunk around
    `backbone` (`SkeletonClassifier`'s, and `SkeletonMAEPretrainer(encoder="trunk")`'s, named
    alike so that weights transfer by name). The caller copies G_E's weights into the copies
    once they are built.

    Args:
        backbone: a `SkeletonMAEBackbone`.
        num_strl_layers: int, M.
        person_interaction: str, see `STRLBlock`.
        combine: str, see `STRLBlock`.
        temporal_kernel_size: int, see `STRLBlock`.
        temporal_dilations: sequence of int, see `STRLBlock`.
        dtype: dtype policy of the STRL layers.

    Returns:
        `(blocks, copies)`: lists of `STRLBlock` and of `keras.Sequential`.
    """
    blocks = [
        STRLBlock(
            backbone.embed_dim,
            person_interaction=person_interaction,
            combine=combine,
            temporal_kernel_size=temporal_kernel_size,
            temporal_dilations=temporal_dilations,
            dtype=dtype,
            name=f"strl_{i}",
        )
        for i in range(num_strl_layers)
    ]
    copies = [backbone.copy_encoder(f"strl_{i}_encoder") for i in range(1, num_strl_layers)]
    return blocks, copies


def apply_trunk(features, backbone, blocks, copies):
    """`H_{l+1} = STRL_l([H_l, G_E^l(H_l)])` over `blocks`, G_E^0 the backbone's encoder and
    G_E^l its copy `copies[l - 1]`."""
    for block, encoder in zip(blocks, [backbone.encoder] + copies):
        features = block([features, encoder(features)])
    return features


def _holds_trunk_pretrainer(preset):
    """Whether `preset` holds a `SkeletonMAEPretrainer` with `encoder="trunk"`."""
    path = preset_io.resolve_preset(preset) / preset_io.TASK_CONFIG_FILE
    if not path.is_file():
        return False
    saved = preset_io.read_json(path)
    return (saved.get("class_name") == "SkeletonMAEPretrainer"
            and saved.get("config", {}).get("encoder") == "trunk")


def _copy(backbone):
    """A copy of `backbone` with its current weights, for linear evaluation to freeze. Freezing
    `backbone` itself (`trainable` is a flag of its variables, which every model built on it
    shares) would freeze it for its owner and every other model built on it too."""
    copy = type(backbone).from_config(backbone.get_config())
    copy.set_weights(backbone.get_weights())
    return copy
