"""SkeletonMAE backbone: the joint embedding and the GIN encoder G_E."""

import keras

from keras_skeletonmae.layers import GINConv, SkeletonEmbedding
from keras_skeletonmae.layouts import get_layout, layout_to_config_value
from keras_skeletonmae.models import presets as preset_io
from keras_skeletonmae.models.functional import FunctionalModel


@keras.saving.register_keras_serializable(package="keras_skeletonmae")
class SkeletonMAEBackbone(FunctionalModel):
    """Embedding + `num_layers` GIN layers, applied to every person's per-frame joint graph.

    Input `(batch, persons, frames, joints, channels)`; output the encoder's per-joint features
    `(batch, persons, frames, joints, embed_dim)`. Pre-training (`SkeletonMAEPretrainer`) and the
    SSL classifier (`SkeletonClassifier`) reuse `embedding` and `encoder` (G_E, a `keras.Sequential`
    of `GINConv` layers), so the pre-trained weights serve both. The embedding includes the SSL model's temporal position embedding; pre-training uses it too
    (each frame graph learns its time index), so it is trained in both phases.

    Args:
        layout: str, `SkeletonLayout` or dict. A registered layout name, a layout, or its
            config dict.
        num_channels: int. C, coordinates per joint (2 or 3, +1 with a confidence score).
        num_frames: int. T, frames per sequence.
        num_persons: int. M, persons per sequence.
        embed_dim: int. D, the embedding and encoder width (64 in the paper).
        num_layers: int. L_D, GIN encoder layers (3 in the paper).
        hidden_dim: int. Width of each GIN layer's MLP.
        learnable_epsilon: bool. Train GIN's eps instead of keeping it at 0.
        motion: bool. Embed each joint's frame-to-frame motion with its coordinates (see
            `SkeletonEmbedding`; not in the paper). The command line's recipe turns it on
            (its effect: docs/results.md).
        bones: bool. Embed each joint's bone vector (to its parent in the layout) too, and with
            `motion` the bones' motion (see `SkeletonEmbedding`; not in the paper).
        dtype: str or `keras.DTypePolicy`. Dtype policy of every layer, e.g.
            `"mixed_bfloat16"`.

    Example:
        >>> import numpy as np
        >>> backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=16,
        ...                                num_persons=1, embed_dim=16, num_layers=1,
        ...                                hidden_dim=32)
        >>> backbone.predict(np.zeros((2, 1, 16, 20, 3)), verbose=0).shape
        (2, 1, 16, 20, 16)
    """

    def __init__(
        self,
        layout="coco17",
        num_channels=2,
        num_frames=64,
        num_persons=2,
        embed_dim=64,
        num_layers=3,
        hidden_dim=256,
        learnable_epsilon=False,
        motion=False,
        bones=False,
        dtype=None,
        **kwargs,
    ):
        layout = get_layout(layout)
        # === Layers ===
        self.embedding = SkeletonEmbedding(
            embed_dim,
            num_frames,
            motion=motion,
            bone_parents=layout.parents() if bones else None,
            coordinate_channels=layout.coordinate_channels(num_channels),
            dtype=dtype,
            name="embedding",
        )
        self.encoder = keras.Sequential(
            [
                GINConv(
                    embed_dim,
                    layout,
                    hidden_units=hidden_dim,
                    learnable_epsilon=learnable_epsilon,
                    dtype=dtype,
                    name=f"encoder_gin_{i}",
                )
                for i in range(num_layers)
            ],
            name="encoder",
        )
        # === Functional model ===
        inputs = keras.Input(
            shape=(num_persons, num_frames, layout.num_joints, num_channels), name="skeletons"
        )
        outputs = self.encoder(self.embedding(inputs))
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        # === Config ===
        self.layout = layout
        self.num_channels = num_channels
        self.num_frames = num_frames
        self.num_persons = num_persons
        self.embed_dim = embed_dim
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.motion = motion
        self.bones = bones
        self.learnable_epsilon = learnable_epsilon

    presets = preset_io.PresetListing()

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """A backbone from a built-in preset name, a preset directory, or an `hf://` /
        `kaggle://` handle.

        Args:
            preset: str or `os.PathLike`, the preset.
            load_weights: bool, load `model.weights.h5`; `False` builds the architecture
                untrained.
            **kwargs: constructor arguments to override: another `layout` or `num_frames` keeps
                the pre-trained weights (GIN weights do not depend on the joint count; the
                position embedding is resampled), another `num_channels`, `motion` or `bones`
                is an error.

        Example:
            >>> backbone = SkeletonMAEBackbone.from_preset("skeletonmae_kinect20_msr", layout="ntu25")
        """
        return preset_io.load_backbone(preset, load_weights, **kwargs)

    def save_to_preset(self, preset_dir, metadata=None):
        """Write `config.json`, `model.weights.h5` (no optimizer state) and `metadata.json`.

        Args:
            preset_dir: str or `pathlib.Path`, the directory (created if missing).
            metadata: dict added to `metadata.json` (data, recipe, results), or `None`.

        Example:
            >>> backbone.save_to_preset("my_backbone", metadata={"data": "NTU RGB+D"})  # doctest: +SKIP
        """
        preset_io.save_preset(self, preset_dir, metadata)

    def copy_encoder(self, name):
        """A new, unbuilt G_E with the same layers; its caller copies the weights once it is built."""
        return keras.Sequential(
            [GINConv.from_config(layer.get_config()) for layer in self.encoder.layers], name=name
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "layout": layout_to_config_value(self.layout),
            "num_channels": self.num_channels,
            "num_frames": self.num_frames,
            "num_persons": self.num_persons,
            "embed_dim": self.embed_dim,
            "num_layers": self.num_layers,
            "hidden_dim": self.hidden_dim,
            "motion": self.motion,
            "bones": self.bones,
            "learnable_epsilon": self.learnable_epsilon,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
