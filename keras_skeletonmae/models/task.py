"""What the task models (pre-trainer, classifier) share: a backbone and its serialization."""

import keras


class BackboneTask(keras.Model):
    """A functional model built around a `SkeletonMAEBackbone` held as `self.backbone`.

    Subclasses build their graph in `__init__`, call `super().__init__(inputs, outputs)`, and
    return their own constructor arguments from `get_config`, with the backbone serialized.
    """

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
