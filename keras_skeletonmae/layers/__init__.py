"""Keras layers of SkeletonMAE and the SSL classifier."""

from keras_skeletonmae.layers.batch_norm import use_fused_normalization
from keras_skeletonmae.layers.body_part_masking import BodyPartMasking
from keras_skeletonmae.layers.embedding import SkeletonEmbedding
from keras_skeletonmae.layers.gin_conv import GINConv
from keras_skeletonmae.layers.multiscale_temporal_conv import MultiScaleTemporalConv
from keras_skeletonmae.layers.strl_block import STRLBlock

__all__ = [
    "BodyPartMasking",
    "GINConv",
    "MultiScaleTemporalConv",
    "STRLBlock",
    "SkeletonEmbedding",
    "use_fused_normalization",
]
