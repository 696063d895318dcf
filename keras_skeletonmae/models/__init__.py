"""SkeletonMAE models: the backbone and its two task models."""

from keras_skeletonmae.models.backbone import SkeletonMAEBackbone
from keras_skeletonmae.models.classifier import SkeletonClassifier
from keras_skeletonmae.models.functional import xla_jit_compile
from keras_skeletonmae.models.pretrainer import SkeletonMAEPretrainer

__all__ = ["SkeletonClassifier", "SkeletonMAEBackbone", "SkeletonMAEPretrainer", "xla_jit_compile"]
