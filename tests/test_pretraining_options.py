"""Pre-training options beyond the paper: span masking (body parts hidden over spans of
consecutive frames) and whole-trunk pre-training (the classifier's STRL layers behind the mask),
with the transfer of every trunk layer to the classifier."""

import keras
import numpy as np
import pytest
from keras import ops

from helpers import assert_config_complete
from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.layers import BodyPartMasking
from keras_skeletonmae.layouts import get_layout
from keras_skeletonmae.training import fine_tuning_optimizer

TINY = dict(embed_dim=16, num_layers=1, hidden_dim=32)
TRUNK = dict(encoder="trunk", num_strl_layers=2, temporal_kernel_size=3, temporal_dilations=(1, 2))
COCO17 = get_layout("coco17")


def to_numpy(tree):
    return keras.tree.map_structure(ops.convert_to_numpy, tree)


def draws(masking, shape, calls=2):
    """`calls` successive masks of `masking` for an input of `shape`."""
    x = ops.zeros(shape)
    return [ops.convert_to_numpy(masking.joint_mask(x)) for _ in range(calls)]


@pytest.mark.parametrize("frames,span", [(8, 3), (9, 3), (8, 8), (8, 1)])
def test_span_masks_whole_parts_constant_within_each_span(frames, span):
    masking = BodyPartMasking("coco17", num_masked_parts=2, sampling="span", span=span, seed=3)
    membership = COCO17.part_membership()  # (parts, joints)
    for mask in draws(masking, (6, 2, frames, 17, 4)):
        np.testing.assert_array_equal(mask[:, 0], mask[:, 1])  # every person alike
        spans = [mask[:, :, start:start + span] for start in range(0, frames, span)]
        for block in spans:
            np.testing.assert_array_equal(block, np.broadcast_to(block[:, :, :1], block.shape))
            parts = block[:, 0, 0] @ membership.T  # masked joints per part
            assert ((parts == 0) | (parts == membership.sum(1))).all()  # parts whole
            np.testing.assert_array_equal((parts > 0).sum(-1), 2)  # k parts per span
        if len(spans) > 1:  # each span draws its own parts
            assert any(not np.array_equal(a[:, 0, 0], b[:, 0, 0]) for a, b in zip(spans, spans[1:]))


def test_span_masks_random_joints_and_are_reproducible_from_the_seed():
    joints = BodyPartMasking("coco17", num_masked_joints=3, sampling="span", span=4, seed=0)
    for mask in draws(joints, (4, 1, 8, 17, 4)):
        np.testing.assert_array_equal(mask.sum(-1), 3)
        np.testing.assert_array_equal(mask[:, :, :4], np.broadcast_to(mask[:, :, :1], (4, 1, 4, 17)))

    def masking(seed):
        return BodyPartMasking("coco17", sampling="span", span=2, seed=seed)

    first, second = draws(masking(7), (4, 2, 8, 17, 4))
    assert not np.array_equal(first, second)  # a fresh mask at every call
    again = draws(masking(7), (4, 2, 8, 17, 4))
    other = draws(masking(8), (4, 2, 8, 17, 4))
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], second)
    assert not np.array_equal(other[0], first)


def test_option_errors():
    with pytest.raises(ValueError, match="span .* is required with sampling='span'"):
        BodyPartMasking("coco17", sampling="span")
    with pytest.raises(ValueError, match="only allowed with it; got sampling='frame', span=4"):
        BodyPartMasking("coco17", sampling="frame", span=4)
    with pytest.raises(ValueError, match="positive whole number"):
        BodyPartMasking("coco17", sampling="span", span=0)
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, **TINY)
    with pytest.raises(ValueError, match="encoder must be one of"):
        SkeletonMAEPretrainer(backbone, encoder="strl")
    with pytest.raises(ValueError, match="num_strl_layers >= 1"):
        SkeletonMAEPretrainer(backbone, encoder="trunk", num_strl_layers=0)
    with pytest.raises(ValueError, match="mask_token must be one of"):
        SkeletonMAEPretrainer(backbone, mask_token="per_part")


def test_config_round_trip():
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, **TINY)
    pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling="span", mask_span=4, seed=2,
                                       person_interaction="none", combine="add", remask=False,
                                       mask_token="joint", **TRUNK)
    assert_config_complete(pretrainer)
    config = pretrainer.get_config()
    assert config["encoder"] == "trunk" and config["mask_span"] == 4
    assert config["remask"] is False and config["mask_token"] == "joint"
    clone = SkeletonMAEPretrainer.from_config(config)
    assert clone.get_config() == config
    assert clone.masking.span == 4 and clone.masking.sampling == "span"
    assert clone.masking.joint_tokens and tuple(clone.masking.mask_token.shape) == (17, 16)
    assert [b.name for b in clone.strl_blocks] == ["strl_0", "strl_1"]
    assert [e.name for e in clone.encoder_copies] == ["strl_1_encoder"]
    assert clone.strl_blocks[0].combine == "add"
    default = SkeletonMAEPretrainer(backbone)  # the paper's recipe stays the default
    assert default.encoder == "gin" and default.strl_blocks == [] and default.mask_span is None
    assert default.remask_masked_joints is True and default.mask_token == "shared"
    assert tuple(default.masking.mask_token.shape) == (16,)


@pytest.mark.parametrize("joint_tokens", [False, True])
def test_joint_tokens_give_each_masked_joint_its_own_token(rng, joint_tokens):
    """Masked joints take the token of their joint (one per joint) or the one shared token;
    visible joints keep their features."""
    masking = BodyPartMasking("coco17", mask_parts=["left_arm", "right_arm"], seed=0,
                              joint_tokens=joint_tokens)
    x = rng.normal(size=(2, 1, 3, 17, 4)).astype("float32")
    masking.build(x.shape)
    tokens = rng.normal(size=tuple(masking.mask_token.shape)).astype("float32")
    masking.mask_token.assign(tokens)
    masked, mask = (ops.convert_to_numpy(t) for t in masking(x))
    hidden = mask[0, 0, 0] > 0
    np.testing.assert_array_equal(masked[..., ~hidden, :], x[..., ~hidden, :])
    expected = tokens[hidden] if joint_tokens else np.broadcast_to(tokens, (hidden.sum(), 4))
    np.testing.assert_allclose(masked[..., hidden, :],
                               np.broadcast_to(expected, (2, 1, 3) + expected.shape), atol=1e-6)
    left_wrist, right_wrist = 9, 10
    assert np.allclose(masked[..., left_wrist, :], masked[..., right_wrist, :]) != joint_tokens


def assert_non_head_weights_equal(model, pretrainer):
    """Every weight of `model` but the head's exists in `pretrainer` with the same value."""
    source = {v.path: ops.convert_to_numpy(v) for v in pretrainer.weights}
    paths = [v.path for v in model.weights if not v.path.startswith("predictions/")]
    assert any(p.startswith("strl_1/temporal/") for p in paths)
    assert any(p.startswith("strl_1_encoder/") for p in paths)
    assert not [p for p in paths if p not in source]
    for variable in model.weights:
        if variable.path in paths:
            np.testing.assert_array_equal(ops.convert_to_numpy(variable), source[variable.path],
                                          err_msg=variable.path)


def test_trunk_pretrainer_trains_saves_and_transfers_every_trunk_layer(msr_train, tmp_path):
    x = msr_train[0][:4, :, ::4]  # 8 frames
    backbone = SkeletonMAEBackbone("kinect20", num_channels=3, num_frames=x.shape[2],
                                   num_persons=1, motion=True, bones=True, **TINY)
    pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling="span", mask_span=4, seed=0,
                                       **TRUNK)
    # G_E's copies start from G_E, as in the classifier.
    for a, b in zip(pretrainer.encoder_copies[0].get_weights(), backbone.encoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    trained = [pretrainer.strl_blocks[1].spatial_dense.kernel,
               pretrainer.strl_blocks[1].temporal.trainable_weights[0],
               pretrainer.encoder_copies[0].trainable_weights[0]]
    before = to_numpy(trained)
    # TensorFlow compiles the trunk's training step in a minute on a CPU, JAX faster than it
    # runs it eagerly.
    pretrainer.compile(run_eagerly=keras.backend.backend() == "tensorflow")
    history = pretrainer.fit(x, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for old, new in zip(before, to_numpy(trained)):
        assert not np.array_equal(old, new)

    pretrainer.save(tmp_path / "trunk.keras")
    pretrainer.save_to_preset(tmp_path / "preset")
    loaded = keras.saving.load_model(tmp_path / "trunk.keras")
    restored = SkeletonMAEPretrainer.from_preset(str(tmp_path / "preset"))
    for model in (loaded, restored):
        assert model.get_config() == pretrainer.get_config()
        assert_non_head_weights_equal(model, pretrainer)

    built = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=5, dropout=0.2)
    from_preset = SkeletonClassifier.from_preset(str(tmp_path / "preset"), num_classes=5)
    for classifier in (built, from_preset):
        assert classifier.num_strl_layers == 2 and classifier.temporal_kernel_size == 3
        assert_non_head_weights_equal(classifier, pretrainer)
    assert built.dropout == 0.2
    assert built.backbone is not pretrainer.backbone  # fine-tuning leaves the pre-trainer as is
    # Every layer but the head counts as pre-trained: the fine-tuning recipes' lower rate and
    # frozen warm-up reach the STRL layers, and survive a save (the config records them).
    for classifier in (built, from_preset, keras.saving.load_model(_saved(built, tmp_path))):
        assert classifier.pretrained_strl_layers == 2
        scaled = set(fine_tuning_optimizer(classifier, 1e-3, 10,
                                           backbone_rate_scale=0.1).scaled_paths)
        trainable = {v.path for v in classifier.trainable_variables}
        assert scaled == {p for p in trainable if not p.startswith("predictions/")}
    deeper = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=5, num_strl_layers=3)
    assert [layer.name for layer in deeper.pretrained_layers[-2:]] == ["strl_0", "strl_1"]
    linear = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=5, freeze_backbone=True)
    assert linear.pretrained_strl_layers == 0
    with pytest.raises(ValueError, match="holds a pre-trainer, no classifier: pass num_classes"):
        SkeletonClassifier.from_preset(str(tmp_path / "preset"))
    with pytest.raises(ValueError, match="do not fit this classifier .*strl_0/spatial_dense"):
        SkeletonClassifier.from_pretrainer(pretrainer, num_classes=5, combine="add")


def _saved(model, tmp_path):
    model.save(tmp_path / "model.keras")
    return tmp_path / "model.keras"


def test_paper_pretrainer_transfers_its_backbone_to_a_classifier():
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, **TINY)
    pretrainer = SkeletonMAEPretrainer(backbone)
    classifier = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=3, num_strl_layers=2)
    # Its STRL layers are new: they keep the full rate under the fine-tuning recipes.
    assert classifier.pretrained_strl_layers == 0
    assert not [path for path in fine_tuning_optimizer(classifier, 1e-3, 10,
                                                       backbone_rate_scale=0.1).scaled_paths
                if path.startswith("strl_0/")]
    for a, b in zip(classifier.backbone.get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(classifier.encoder_copies[0].get_weights(), backbone.encoder.get_weights()):
        np.testing.assert_array_equal(a, b)


def rewound(pretrainer, training):
    """The pre-trainer's outputs, always from the masking's present seed state (same masks)."""
    state = pretrainer.masking.seed_generator.state
    saved = ops.convert_to_numpy(state)

    def call(x):
        state.assign(saved)
        return to_numpy(pretrainer(ops.convert_to_tensor(x), training=training))

    return call


@pytest.mark.parametrize("encoder,sampling", [("gin", "span"), ("trunk", "sample"),
                                              ("trunk", "frame"), ("trunk", "span")])
def test_masked_coordinates_leave_the_whole_reconstruction_unchanged(rng, encoder, sampling):
    """Frames and persons mix in the trunk, so a masked joint's coordinates, had they entered
    anywhere, would change visible positions too: the whole reconstruction must not move."""
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, motion=True, bones=True, **TINY)
    options = TRUNK if encoder == "trunk" else {}
    pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling=sampling, seed=1,
                                       mask_span=3 if sampling == "span" else None, **options)
    x = rng.normal(size=(3, 2, 8, 17, 2)).astype("float32")
    call = rewound(pretrainer, training=True)  # BatchNorm's batch statistics mix samples too
    out = call(x)
    mask = out["mask"]
    assert 0 < mask.mean() < 1
    perturbed = x + 5.0 * mask[..., None] * rng.normal(size=x.shape).astype("float32")
    changed = call(perturbed)
    np.testing.assert_array_equal(changed["mask"], mask)
    np.testing.assert_array_equal(changed["reconstruction"], out["reconstruction"])
    # The test can fail: a visible joint's coordinates do reach the masked joints.
    visible = x + (1.0 - mask[..., None]) * rng.normal(size=x.shape).astype("float32")
    moved = call(visible)["reconstruction"]
    assert not np.allclose(moved[mask > 0], out["reconstruction"][mask > 0])


def test_the_trunk_reconstructs_a_masked_span_from_other_frames(rng):
    """Under span masking, what the trunk predicts for a masked span depends on the same
    sequence's other frames; the paper's frame-by-frame encoder cannot see them."""
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, num_persons=1, **TINY)
    x = rng.normal(size=(2, 1, 8, 17, 2)).astype("float32")
    for encoder, mixes_frames in (("gin", False), ("trunk", True)):
        options = TRUNK if encoder == "trunk" else {}
        pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling="span", mask_span=4, seed=0,
                                           **options)
        call = rewound(pretrainer, False)
        out = call(x)
        first_span = out["reconstruction"][:, :, :4][out["mask"][:, :, :4] > 0]
        later = x.copy()
        later[:, :, 4:] += rng.normal(size=later[:, :, 4:].shape).astype("float32")
        moved = call(later)["reconstruction"][:, :, :4][out["mask"][:, :, :4] > 0]
        assert (not np.allclose(moved, first_span, atol=1e-6)) is mixes_frames, encoder


@pytest.mark.parametrize("remask,mask_token", [(True, "shared"), (False, "shared"),
                                               (False, "joint")])
def test_remask_decides_whether_a_joint_inside_a_masked_part_sees_the_encoded_context(
        rng, remask, mask_token):
    """The wrist (9) is masked with its only neighbour, the elbow (7): coco17's left arm.
    Re-masked, the decoder sees zeros all around the wrist and gives it one reconstruction
    whatever the input (no better than a mean pose); without re-masking the wrist gets what the
    encoder gathered from the visible joints, and still nothing of the masked coordinates (a
    token per joint tells which joints are masked, nothing of where they are)."""
    backbone = SkeletonMAEBackbone("coco17", num_frames=8, num_persons=1, **TINY)
    pretrainer = SkeletonMAEPretrainer(backbone, mask_parts=["left_arm"], seed=0, remask=remask,
                                       mask_token=mask_token, **TRUNK)
    x = rng.normal(size=(3, 1, 8, 17, 2)).astype("float32")
    call = rewound(pretrainer, training=False)
    out = call(x)
    assert out["mask"][..., [7, 9]].all() and not out["mask"][..., 5].any()
    wrist = out["reconstruction"][..., 9, :].reshape(-1, out["reconstruction"].shape[-1])
    spread = float(np.max(np.ptp(wrist, axis=0)))
    assert spread < 1e-5 if remask else spread > 1e-3, spread
    perturbed = x.copy()
    perturbed[..., [7, 9], :] += 5.0 * rng.normal(size=(3, 1, 8, 2, 2)).astype("float32")
    np.testing.assert_array_equal(call(perturbed)["reconstruction"], out["reconstruction"])
