"""`training.recipes`: the pre-trained layers' frozen warm-up and lower rate, in one optimizer
that survives a `.keras` save and load mid-run."""

import keras
import numpy as np
import pytest

from helpers import assert_config_complete
from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
from keras_skeletonmae.training.recipes import FineTuningAdam, fine_tuning_optimizer

FRAMES = 16


def _classifier(channels=3):
    """A tiny classifier with an encoder copy (2 STRL layers), no dropout (no random draws)."""
    keras.utils.set_random_seed(0)
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=channels, num_frames=FRAMES,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    return SkeletonClassifier(backbone, num_classes=20, num_strl_layers=2, dropout=0.0)


def _pretrained(classifier):
    """Indices in `classifier.trainable_variables` of the backbone's and the copies' variables."""
    ids = {id(v) for layer in [classifier.backbone, *classifier.encoder_copies]
           for v in layer.trainable_variables}
    return [i for i, v in enumerate(classifier.trainable_variables) if id(v) in ids]


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def _moving_statistics(classifier):
    return [v for v in classifier.backbone.encoder.non_trainable_variables if "moving" in v.path]


def test_warmup_freezes_pretrained_layers_then_they_move_at_the_scaled_rate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 1, FRAMES, 20, 3)).astype("float32")
    y = rng.integers(0, 20, size=8)
    steps = {}
    for scale in (1.0, 0.25):
        classifier = _classifier()
        pretrained = _pretrained(classifier)
        classifier.compile(optimizer=fine_tuning_optimizer(
            classifier, 1e-2, steps=3, schedule="constant", backbone_rate_scale=scale,
            frozen_warmup_steps=1))
        start, statistics = _values(classifier.trainable_variables), _values(
            _moving_statistics(classifier))
        classifier.train_on_batch(x, y)
        warm = _values(classifier.trainable_variables)
        moved = set()
        for i, (before, after) in enumerate(zip(start, warm)):
            if i in pretrained:
                np.testing.assert_array_equal(after, before)
            elif np.abs(after - before).max() > 1e-4:
                moved.add(classifier.trainable_variables[i].path)
        # (Biases followed by a BatchNorm have no gradient.)
        assert {"strl_0/spatial_dense/kernel", "predictions/kernel"} <= moved
        # BatchNorm keeps training mode: its statistics follow the data during the warm-up.
        assert any(np.abs(a - b).max() > 0 for a, b in
                   zip(_values(_moving_statistics(classifier)), statistics))
        classifier.train_on_batch(x, y)
        steps[scale] = [a - b for a, b in zip(_values(classifier.trainable_variables), warm)]
    assert len(pretrained) > 0
    for i, (full, scaled) in enumerate(zip(steps[1.0], steps[0.25])):
        # The runs are identical up to the first unfrozen step, which differs by the rate only.
        np.testing.assert_allclose(scaled, (0.25 if i in pretrained else 1.0) * full,
                                   rtol=1e-3, atol=1e-7)
        if np.abs(full).max() > 1e-3:
            moved.add(f"after warm-up: {classifier.trainable_variables[i].path}")
    assert {f"after warm-up: {layer}/encoder_gin_0/hidden_dense/kernel"
            for layer in ("encoder", "strl_1_encoder")} <= moved


def test_resumed_from_a_keras_file_mid_warmup_continues_identically(msr_train, tmp_path):
    x, y = msr_train[0][:16, :, :FRAMES], msr_train[1][:16]
    classifier = _classifier()
    classifier.compile(optimizer=fine_tuning_optimizer(
        classifier, 1e-2, steps=4, backbone_rate_scale=0.5, frozen_warmup_steps=3))

    def train(model, batches):
        for batch in batches:
            model.train_on_batch(x[8 * batch:8 * batch + 8], y[8 * batch:8 * batch + 8])

    train(classifier, [0, 1])
    classifier.save(tmp_path / "model.keras")
    resumed = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(resumed.optimizer, FineTuningAdam)
    assert int(resumed.optimizer.iterations) == 2
    assert resumed.optimizer.get_config() == classifier.optimizer.get_config()
    pretrained = _pretrained(resumed)
    frozen = _values(resumed.trainable_variables)
    train(resumed, [0])  # the last warm-up step
    for i in pretrained:
        np.testing.assert_array_equal(_values(resumed.trainable_variables)[i], frozen[i])
    train(resumed, [1])
    train(classifier, [0, 1])  # the uninterrupted run
    for expected, actual in zip(_values(classifier.weights), _values(resumed.weights)):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert any(np.abs(_values(resumed.trainable_variables)[i] - frozen[i]).max() > 1e-4
               for i in pretrained)


def test_optimizer_config_round_trip():
    optimizer = FineTuningAdam(["a/kernel"], backbone_rate_scale=0.1, frozen_warmup_steps=5,
                               learning_rate=1e-3)
    assert_config_complete(optimizer)
    # The backend's own Adam updates (on PyTorch the fused one, which subclasses would lose).
    assert isinstance(optimizer, type(keras.optimizers.Adam(1e-3)))
    clone = FineTuningAdam.from_config(optimizer.get_config())
    assert clone.get_config() == optimizer.get_config()


def test_default_recipe_is_plain_adam():
    optimizer = fine_tuning_optimizer(_classifier(), 1e-3, steps=10)
    assert type(optimizer) is type(keras.optimizers.Adam(1e-3))


@pytest.mark.parametrize("arguments, message", [
    (dict(backbone_rate_scale=-0.1), "backbone_rate_scale must be >= 0"),
    (dict(backbone_rate_scale=float("nan")), "backbone_rate_scale must be >= 0"),
    (dict(frozen_warmup_steps=11), r"frozen_warmup_steps \(11\) is longer than the run"),
    (dict(frozen_warmup_steps=-1), "frozen_warmup_steps must be an integer >= 0"),
    (dict(frozen_warmup_steps=2.5), "frozen_warmup_steps must be an integer >= 0"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(schedule="linear"), "schedule must be 'cosine' or 'constant'"),
])
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        fine_tuning_optimizer(_classifier(), 1e-3, **{"steps": 10, **arguments})


def test_a_classifier_with_a_frozen_backbone_has_nothing_to_scale():
    keras.utils.set_random_seed(0)
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=FRAMES,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    classifier = SkeletonClassifier(backbone, num_classes=20, freeze_backbone=True)
    with pytest.raises(ValueError, match="trains no pre-trained variable"):
        fine_tuning_optimizer(classifier, 1e-3, 10, frozen_warmup_steps=2)


@pytest.mark.parametrize("arguments", [dict(pretrained_strl_layers=3),
                                       dict(pretrained_strl_layers=-1),
                                       dict(pretrained_strl_layers=True),
                                       dict(pretrained_strl_layers=1, freeze_backbone=True)])
def test_pretrained_strl_layers_must_be_built(arguments):
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=FRAMES,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    with pytest.raises(ValueError, match="pretrained_strl_layers must be an integer from 0"):
        SkeletonClassifier(backbone, num_classes=20, num_strl_layers=2, **arguments)


def test_scaled_variables_must_belong_to_the_model():
    classifier = _classifier()
    classifier.compile(optimizer=FineTuningAdam(["elsewhere/kernel"], learning_rate=1e-3))
    with pytest.raises(ValueError, match="are not among the .* it is built on"):
        classifier.optimizer.build(classifier.trainable_variables)
