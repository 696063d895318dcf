import os

import keras
import numpy as np
import pytest
from keras import ops

from helpers import assert_config_complete, custom_layout_15
from keras_skeletonmae import (
    SkeletonClassifier,
    SkeletonMAEBackbone,
    SkeletonMAEPretrainer,
)
from keras_skeletonmae.models.pretrainer import coordinate_target

# One GIN layer: the behaviours tested here do not depend on depth, and each layer adds to every
# compile (on TensorFlow, tracing a `fit` of these models takes most of a test's time).
SMALL = dict(num_frames=8, num_persons=2, embed_dim=16, num_layers=1, hidden_dim=32)


def small_backbone(layout="coco17", channels=2, **kwargs):
    return SkeletonMAEBackbone(layout=layout, num_channels=channels, **{**SMALL, **kwargs})


def batch(rng, n=4, joints=17, channels=2, frames=8, persons=2):
    return rng.normal(size=(n, persons, frames, joints, channels)).astype("float32")


def to_numpy(tree):
    return keras.tree.map_structure(ops.convert_to_numpy, tree)


def test_paper_defaults_for_coco17(rng):
    backbone = SkeletonMAEBackbone()
    assert backbone.input.shape == (None, 2, 64, 17, 2)
    assert (backbone.embed_dim, backbone.num_layers, backbone.hidden_dim) == (64, 3, 256)
    pretrainer = SkeletonMAEPretrainer(backbone)
    assert pretrainer.beta == 2.0 and pretrainer.decoder.output_activation is False
    assert float(pretrainer.optimizer.learning_rate) == pytest.approx(1.5e-4)
    classifier = SkeletonClassifier(backbone, num_classes=99)
    assert len(classifier.strl_blocks) == 3
    x = batch(rng, n=2, frames=64)
    assert backbone.predict(x, verbose=0).shape == (2, 2, 64, 17, 64)
    assert classifier.predict(x, verbose=0).shape == (2, 99)
    out = pretrainer.predict(x, verbose=0)
    assert out["reconstruction"].shape == out["target"].shape == (2, 2, 64, 17, 10)


def test_custom_15_joint_layout(rng):
    backbone = small_backbone(custom_layout_15(), channels=3)
    x = batch(rng, joints=15, channels=3)
    pretrainer = SkeletonMAEPretrainer(backbone, num_masked_parts=1, target="embedding")
    assert pretrainer.predict(x, verbose=0)["reconstruction"].shape == (4, 2, 8, 15, 16)
    classifier = SkeletonClassifier(backbone, num_classes=5, num_strl_layers=1)
    assert classifier.predict(x, verbose=0).shape == (4, 5)
    assert isinstance(backbone.get_config()["layout"], dict)  # unregistered: stored in full


def test_classifier_fine_tunes_backbone_and_initialises_encoder_copies(rng):
    backbone = small_backbone()
    classifier = SkeletonClassifier(backbone, num_classes=3, num_strl_layers=3)
    own = {id(v) for v in classifier.trainable_weights}
    assert all(id(v) in own for v in backbone.trainable_weights)  # fine-tuned, not copied
    assert len(classifier.encoder_copies) == 2
    pretrained = backbone.encoder.get_weights()
    for copy in classifier.encoder_copies:
        assert not {id(v) for v in copy.weights} & {id(v) for v in backbone.weights}
        for a, b in zip(copy.get_weights(), pretrained):
            np.testing.assert_array_equal(a, b)
    classifier.fit(batch(rng, n=8), np.arange(8) % 3, epochs=1, verbose=0)
    after = classifier.encoder_copies[0].get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(after, backbone.encoder.get_weights()))


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch.nn.Module registration")
def test_torch_zero_grad_reaches_every_variable(rng):
    classifier = SkeletonClassifier(small_backbone(), num_classes=3, num_strl_layers=2)
    registered = {id(p) for _, p in classifier.named_parameters()}
    assert all(id(v.value) in registered for v in classifier.trainable_variables)
    pretrainer = SkeletonMAEPretrainer(small_backbone())
    registered = {id(p) for _, p in pretrainer.named_parameters()}
    assert all(id(v.value) in registered for v in pretrainer.trainable_variables)


def test_freeze_backbone_is_linear_evaluation(rng):
    backbone = small_backbone()
    classifier = SkeletonClassifier(backbone, num_classes=3, freeze_backbone=True)
    assert classifier.strl_blocks == []
    assert [v.path for v in classifier.trainable_weights] == ["predictions/kernel", "predictions/bias"]
    before = to_numpy(backbone.weights)
    x, y = batch(rng, n=8), np.arange(8) % 3
    classifier.fit(x, y, epochs=2, verbose=0)
    for old, new in zip(before, backbone.weights):
        np.testing.assert_array_equal(old, ops.convert_to_numpy(new))


def test_freeze_backbone_leaves_the_callers_backbone_trainable(tmp_path, rng):
    backbone = small_backbone()
    trainable = [v.path for v in backbone.trainable_weights]
    linear = SkeletonClassifier(backbone, num_classes=3, freeze_backbone=True, dropout=0.0)
    assert backbone.trainable and [v.path for v in backbone.trainable_weights] == trainable
    tuned = SkeletonClassifier(backbone, num_classes=3, num_strl_layers=1)
    own = {id(v) for v in tuned.trainable_weights}
    assert trainable and all(id(v) in own for v in backbone.trainable_weights)
    for a, b in zip(linear.backbone.get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(a, b)  # a copy of the backbone as it was

    x, y = batch(rng, n=8), np.arange(8) % 3
    linear.fit(x, y, epochs=1, verbose=0)
    linear.save(tmp_path / "linear.keras")
    linear.save_to_preset(tmp_path / "preset")
    head = ["predictions/kernel", "predictions/bias"]
    for model in (linear, keras.saving.load_model(tmp_path / "linear.keras"),
                  SkeletonClassifier.from_preset(str(tmp_path / "preset"))):
        assert [v.path for v in model.trainable_weights] == head
        frozen = to_numpy(model.backbone.weights)
        # BatchNorm in inference mode: training changes neither the outputs nor the statistics.
        np.testing.assert_allclose(*to_numpy([model(x, training=True), model(x, training=False)]),
                                   rtol=1e-5, atol=1e-5)
        for old, new in zip(frozen, model.backbone.weights):
            np.testing.assert_array_equal(old, ops.convert_to_numpy(new))


def test_class_mean_head_is_the_nearest_class_mean_classifier(rng):
    classifier = SkeletonClassifier(small_backbone(), num_classes=3, num_strl_layers=1)
    x, y = batch(rng, n=12), np.arange(12) % 3
    pooled = keras.Model(classifier.input, classifier.get_layer("dropout").input)
    features = ops.convert_to_numpy(pooled(x, training=False)).astype("float64")
    classifier.init_head_from_class_means(x, y)
    z = (features - features.mean(0)) / np.sqrt(features.var(0) + 1e-6)  # as the method
    centres = np.stack([z[y == k].mean(0) for k in range(3)])
    distances = ((z[:, None] - centres[None]) ** 2).sum(-1)
    logits = ops.convert_to_numpy(classifier(x, training=False))
    np.testing.assert_array_equal(np.argmax(logits, -1), np.argmin(distances, -1))
    # logits = -distance / 2 + the same constant for every class
    np.testing.assert_allclose(logits + distances / 2, np.broadcast_to(
        (logits + distances / 2)[:, :1], logits.shape), rtol=1e-4, atol=1e-3)
    with pytest.warns(UserWarning, match=r"no sequence of class ids \[2\]"):
        classifier.init_head_from_class_means(x[:8], np.arange(8) % 2)
    assert (np.argmax(ops.convert_to_numpy(classifier(x, training=False)), -1) != 2).all()
    with pytest.raises(ValueError, match=r"class ids must lie in 0-2, got \[0, 3\]"):
        classifier.init_head_from_class_means(x[:2], np.array([0, 3]))
    with pytest.raises(ValueError, match="one integer class id per sequence"):
        classifier.init_head_from_class_means(x, y[:5])


def test_default_loss_follows_the_head_activation():
    backbone = small_backbone()
    for activation, from_logits in ((None, True), ("linear", True), ("softmax", False)):
        classifier = SkeletonClassifier(backbone, num_classes=3, num_strl_layers=1,
                                        activation=activation)
        assert classifier.loss.from_logits is from_logits, activation


def test_coordinate_target_window():
    x = np.arange(4 * 3 * 2, dtype="float32").reshape(1, 1, 4, 3, 2)
    target = ops.convert_to_numpy(coordinate_target(ops.convert_to_tensor(x), center=1, window=3))
    assert target.shape == (1, 1, 4, 3, 6)
    # frame 0: previous frame clamped to frame 0, then frames 0 and 1; all minus frame 0's centre.
    frames = x[0, 0, [0, 0, 1], 2]  # joint 2 at frames -1 (clamped), 0, 1
    expected = (frames - x[0, 0, 0, 1]).reshape(-1)
    np.testing.assert_allclose(target[0, 0, 0, 2], expected)


@pytest.mark.parametrize("make", ["backbone", "pretrainer", "classifier"])
def test_config_round_trip_and_keras_file(tmp_path, rng, make):
    backbone = small_backbone(learnable_epsilon=True, motion=True, bones=True)
    model = {
        "backbone": lambda: backbone,
        "pretrainer": lambda: SkeletonMAEPretrainer(
            backbone, mask_parts=["right_arm", "right_leg"], target_window=3, seed=1),
        "classifier": lambda: SkeletonClassifier(
            backbone, num_classes=4, num_strl_layers=2, combine="add", dropout=0.1),
    }[make]()
    assert_config_complete(model)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    x = batch(rng)
    if make == "pretrainer":
        model.fit(x, epochs=1, verbose=0)
    elif make == "classifier":
        model.fit(x, np.arange(4) % 4, epochs=1, verbose=0)
    expected = to_numpy(model.predict(x, verbose=0))
    path = os.path.join(tmp_path, f"{make}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    if make != "backbone":
        assert type(loaded.optimizer) is type(model.optimizer)
        assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
        for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
            np.testing.assert_allclose(to_numpy(a), to_numpy(b))
    keras.tree.map_structure(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5),
        expected, to_numpy(loaded.predict(x, verbose=0)),
    )


def test_pretrainer_loss_ignores_visible_joints_and_padding(rng):
    pretrainer = SkeletonMAEPretrainer(small_backbone(), mask_parts=["left_arm"])
    x = batch(rng)
    x[:, 1] = 0.0  # second person absent
    y_pred = pretrainer(x, training=False)
    mask = ops.convert_to_numpy(y_pred["mask"])
    assert mask[:, 1].sum() == 0 and mask[:, 0, :, [7, 9]].all() and mask.sum() == 4 * 8 * 2
    loss = float(ops.convert_to_numpy(pretrainer.compute_loss(x, None, y_pred)))
    recon = ops.convert_to_numpy(y_pred["reconstruction"])
    noisy = np.where(mask[..., None] > 0, recon, recon + rng.normal(size=recon.shape) * 5)
    perturbed = dict(y_pred, reconstruction=ops.convert_to_tensor(noisy))
    assert float(ops.convert_to_numpy(pretrainer.compute_loss(x, None, perturbed))) == pytest.approx(loss, rel=1e-5)


def test_pretrainer_masks_random_joints_for_the_ablation(rng, tmp_path):
    pretrainer = SkeletonMAEPretrainer(small_backbone(), num_masked_joints=3, seed=0)
    x = batch(rng)
    mask = ops.convert_to_numpy(pretrainer(x, training=False)["mask"])
    np.testing.assert_array_equal(mask.sum(axis=-1), 3)
    pretrainer.save(tmp_path / "joints.keras")
    restored = keras.models.load_model(tmp_path / "joints.keras")
    assert restored.num_masked_joints == 3 and restored.masking.num_masked_joints == 3


def fit_losses(seed, x, weights=None):
    pretrainer = SkeletonMAEPretrainer(small_backbone(), num_masked_parts=2, seed=seed)
    if weights is not None:
        pretrainer.set_weights(weights)
    jit = keras.backend.backend() != "torch"  # XLA on TensorFlow, jit on JAX
    pretrainer.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=jit)
    history = pretrainer.fit(
        x, epochs=5, steps_per_epoch=1, batch_size=len(x), shuffle=False, verbose=0
    )
    return pretrainer, history.history["loss"]


@pytest.mark.tf_graph
def test_mask_changes_every_step_under_jit_and_is_reproducible(rng):
    x = batch(rng, n=6)
    first, losses = fit_losses(11, x)
    # Learning rate 0 and the same batch every step: only a new mask can change the loss.
    assert len(set(np.round(losses, 6))) == len(losses)
    weights = [ops.convert_to_numpy(w) for w in first.weights]
    _, again = fit_losses(11, x, weights)
    np.testing.assert_allclose(again, losses, rtol=1e-5)
    _, other = fit_losses(12, x, weights)
    assert not np.allclose(other, losses)


def test_target_and_window_errors():
    backbone = small_backbone()
    with pytest.raises(ValueError, match="target must be"):
        SkeletonMAEPretrainer(backbone, target="pixels")
    with pytest.raises(ValueError, match="odd"):
        SkeletonMAEPretrainer(backbone, target_window=4)
