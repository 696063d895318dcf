"""keras-skeletonmae: SkeletonMAE pre-training and the SSL classifier on Keras 3.

Runs on TensorFlow, JAX and PyTorch (`KERAS_BACKEND`); tensors are channels-last
`(batch, persons, frames, joints, channels)`.
"""

from keras_skeletonmae.host_memory import retain_freed_memory

retain_freed_memory()  # steps reuse freed memory instead of faulting it in: see host_memory.py

from keras_skeletonmae import data, layers, layouts, losses, models
from keras_skeletonmae.layouts import SkeletonLayout, get_layout, register_layout
from keras_skeletonmae.models import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.version import __version__

__all__ = [
    "SkeletonClassifier",
    "SkeletonLayout",
    "SkeletonMAEBackbone",
    "SkeletonMAEPretrainer",
    "__version__",
    "data",
    "get_layout",
    "layers",
    "layouts",
    "losses",
    "models",
    "register_layout",
]
