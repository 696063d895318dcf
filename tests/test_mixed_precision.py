"""Mixed precision: pre-training and fine-tuning train, with loss scaling where it is needed."""

import keras
import numpy as np

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer

TINY = dict(num_frames=8, num_persons=2, embed_dim=16, num_layers=1, hidden_dim=32)


def data(rng):
    x = rng.normal(size=(8, 2, 8, 17, 2)).astype("float32")
    return x, np.arange(8) % 3


def fit_losses(model, x, y=None, steps=6):
    # The same batch every step and fixed masked parts: the loss must go down.
    history = model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0)
    return np.array(history.history["loss"])


def assert_trains(losses):
    assert np.isfinite(losses).all(), losses
    assert losses[-1] < losses[0], losses


def test_mixed_bfloat16_pretraining_and_fine_tuning_losses_decrease(rng):
    keras.config.set_dtype_policy("mixed_bfloat16")
    x, y = data(rng)
    backbone = SkeletonMAEBackbone(**TINY)
    assert backbone.encoder.layers[0].hidden_dense.compute_dtype == "bfloat16"
    pretrainer = SkeletonMAEPretrainer(backbone, mask_parts=["right_arm", "right_leg"])
    pretrainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    assert_trains(fit_losses(pretrainer, x))
    classifier = SkeletonClassifier(backbone, num_classes=3, num_strl_layers=1, dropout=0.0)
    classifier.compile(optimizer=keras.optimizers.Adam(3e-3))
    assert_trains(fit_losses(classifier, x, y))
    assert all(w.dtype == "float32" for w in classifier.weights)  # float32 master weights


def test_mixed_float16_pretrainer_uses_loss_scaling(rng):
    """Keras wraps the optimizer in a LossScaleOptimizer; the custom `compute_loss` goes through it
    (the loss is scaled for the gradients and reported unscaled)."""
    keras.config.set_dtype_policy("mixed_float16")
    x, _ = data(rng)
    pretrainer = SkeletonMAEPretrainer(SkeletonMAEBackbone(**TINY), mask_parts=["right_arm"])
    pretrainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    assert isinstance(pretrainer.optimizer, keras.optimizers.LossScaleOptimizer)
    losses = fit_losses(pretrainer, x, steps=3)
    assert_trains(losses)
    assert losses[0] < 2.0  # unscaled: the re-weighted cosine error is at most 4 (beta = 2)
