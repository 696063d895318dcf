"""`benchmarks/recipe_search.py`'s fine-tuning recipes are the package's
(`training.fine_tuning_optimizer`), their warm-up counted in epochs of the run's batches."""

import argparse

import keras
import pytest

from helpers import load_benchmark
from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
from keras_skeletonmae.training import FineTuningAdam


def _compiled(steps_per_epoch=3, **options):
    keras.utils.set_random_seed(0)
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=16,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    classifier = SkeletonClassifier(backbone, num_classes=5, num_strl_layers=2)
    args = argparse.Namespace(**{
        "frozen_encoder": False, "frozen_warmup": 0, "backbone_rate_scale": 1.0,
        "learning_rate": 1e-3, "finetune_epochs": 4, "cosine": True, **options})
    load_benchmark("recipe_search").compile_classifier(classifier, args, steps_per_epoch)
    return classifier


def test_warmup_and_scale_are_the_package_optimizer():
    classifier = _compiled(frozen_warmup=2, backbone_rate_scale=0.1)
    optimizer = classifier.optimizer
    assert isinstance(optimizer, FineTuningAdam)
    assert optimizer.frozen_warmup_steps == 2 * 3
    assert optimizer.backbone_rate_scale == 0.1
    assert "strl_1_encoder/encoder_gin_0/hidden_dense/kernel" in optimizer.scaled_paths
    assert optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == 4 * 3


def test_frozen_encoder_freezes_the_pretrained_layers():
    classifier = _compiled(frozen_encoder=True)
    assert not classifier.backbone.embedding.trainable_variables
    assert not classifier.encoder_copies[0].trainable_variables
    assert type(classifier.optimizer) is type(keras.optimizers.Adam(1e-3))


def test_warmup_longer_than_the_run_is_refused():
    with pytest.raises(ValueError, match="longer than the run"):
        _compiled(frozen_warmup=5)
