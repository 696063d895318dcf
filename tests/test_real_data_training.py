"""Real `fit` on MSR Action3D (../shared/data): pre-training lowers its loss, fine-tuning learns.

Several epochs on the whole training split: run on PyTorch only, where these small models train
without compiling. Every backend fits both models on real data in test_data_dataset.py
(`test_every_real_source_feeds_pretraining_and_fine_tuning`); what this module adds is that the
training converges, which depends on the models' maths, not on the backend.
"""

import keras
import numpy as np
import pytest

from conftest import MSR_FRAMES
from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "torch",
                       reason="multi-epoch training on real data runs once, on PyTorch; every "
                              "backend fits on real data in test_data_dataset.py"),
]


def msr_backbone():
    return SkeletonMAEBackbone(
        layout="kinect20", num_channels=3, num_frames=MSR_FRAMES, num_persons=1,
        embed_dim=32, num_layers=2, hidden_dim=64,
    )


def test_pretrainer_fit_lowers_loss_on_msr(msr_train):
    x, _ = msr_train
    keras.utils.set_random_seed(0)
    pretrainer = SkeletonMAEPretrainer(msr_backbone(), num_masked_parts=2, seed=0)
    pretrainer.compile(optimizer=keras.optimizers.Adam(2e-3))
    losses = pretrainer.fit(x, epochs=4, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses


def test_classifier_fit_beats_chance_on_msr_xsub(msr_train, msr_val):
    (x, y), (x_val, y_val) = msr_train, msr_val
    keras.utils.set_random_seed(0)
    classifier = SkeletonClassifier(msr_backbone(), num_classes=20, num_strl_layers=2, dropout=0.2)
    classifier.fit(x, y, epochs=8, batch_size=16, verbose=0)
    accuracy = classifier.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    chance = np.bincount(y_val).max() / len(y_val)  # majority class, about 0.05
    assert accuracy > max(0.25, 3 * chance), accuracy
