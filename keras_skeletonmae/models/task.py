"""What the task models (pre-trainer, classifier) share: a backbone and its serialization."""

import keras

from keras_skeletonmae.models import presets as preset_io
from keras_skeletonmae.models.functional import FunctionalModel


class BackboneTask(FunctionalModel):
    """A functional model built around a `SkeletonMAEBackbone` held as `self.backbone`.

    Subclasses build their graph in `__init__`, call `super().__init__(inputs, outputs)`, compile
    themselves with defaults, and return their own constructor arguments from `get_config`, with the
    backbone serialized.
    """

    presets = preset_io.PresetListing()

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """This task from a preset (built-in name, directory, `hf://` or `kaggle://` handle).

        A preset saved from this task class is restored whole: its backbone from
        `model.weights.h5`, its own layers from `task.weights.h5`. Otherwise a new task is built
        around the preset's backbone.

        Args:
            preset: str or `os.PathLike`, the preset.
            load_weights: bool, load the preset's weights; `False` builds its architecture
                untrained.
            **kwargs: task or backbone constructor arguments that replace the saved ones.

        Example:
            >>> pretrainer = SkeletonMAEPretrainer.from_preset("skeletonmae_kinect20_msr")
        """
        return preset_io.load_task(cls, preset, load_weights, **kwargs)

    def save_to_preset(self, preset_dir, metadata=None):
        """Write the backbone files plus `task.json` and `task.weights.h5`.

        `task.weights.h5` holds the task's own layers (one group per layer name), the backbone's
        weights being in `model.weights.h5`; no optimizer state is written.

        Args:
            preset_dir: str or `pathlib.Path`, the directory (created if missing).
            metadata: dict added to `metadata.json` (data, recipe, results), or `None`.

        Example:
            >>> classifier.save_to_preset("my_preset", metadata={"data": "MSR Action3D"})  # doctest: +SKIP
            >>> SkeletonClassifier.from_preset("my_preset")  # doctest: +SKIP
        """
        preset_io.save_preset(self, preset_dir, metadata)

    def compile_from_config(self, config):
        """Re-compile a loaded model as it was saved, optimizer state included.

        Keras skips this for models whose `compile` is overridden; ours only adds defaults.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.layers.serialize(self.backbone),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["backbone"], dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
