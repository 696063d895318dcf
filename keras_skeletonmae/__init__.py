"""keras-skeletonmae: SkeletonMAE pre-training and the SSL classifier on Keras 3.

Runs on TensorFlow, JAX and PyTorch (`KERAS_BACKEND`); tensors are channels-last
`(batch, persons, frames, joints, channels)`. Importing it changes no process-wide setting;
the speed settings the command line uses are explicit calls (`host_memory.retain_freed_memory`,
`models.xla_jit_compile`).
"""

from keras_skeletonmae import data, layers, layouts, losses, models, training
from keras_skeletonmae.layouts import SkeletonLayout, convert_layout, get_layout, register_layout
from keras_skeletonmae.models import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.version import __version__

__all__ = [
    "SkeletonClassifier",
    "SkeletonLayout",
    "SkeletonMAEBackbone",
    "SkeletonMAEPretrainer",
    "__version__",
    "convert_layout",
    "data",
    "get_layout",
    "layers",
    "layouts",
    "losses",
    "models",
    "register_layout",
    "training",
]
