"""What the models derive from their input channels: a confidence score stays out of bones,
motion and the reconstruction target, and pre-training's bones and motion carry nothing of the
masked joints into the encoder."""

import keras
import numpy as np
import pytest
from keras import ops

from helpers import custom_layout_15
from keras_skeletonmae import SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.layers import SkeletonEmbedding
from keras_skeletonmae.layers.embedding import joint_bones, joint_motion
from keras_skeletonmae.layouts import get_layout
from keras_skeletonmae.models.pretrainer import coordinate_target

TINY = dict(num_frames=8, num_persons=2, embed_dim=16, num_layers=1, hidden_dim=32)
COCO17 = get_layout("coco17")


def skeletons(rng, joints=17, channels=2, n=2):
    return rng.normal(size=(n, 2, 8, joints, channels)).astype("float32")


def test_coordinate_channels():
    assert [COCO17.coordinate_channels(c) for c in (2, 3)] == [2, 2]
    assert [get_layout("ntu25").coordinate_channels(c) for c in (3, 4)] == [3, 3]
    assert [custom_layout_15().coordinate_channels(c) for c in (2, 3, 4)] == [2, 3, 3]
    with pytest.raises(ValueError, match="'coco17': data with 4 channels per joint: expected 2 or"):
        COCO17.coordinate_channels(4)
    with pytest.raises(ValueError, match="'ntu25': data with 2 channels .* expected 3 or 4"):
        get_layout("ntu25").coordinate_channels(2)
    with pytest.raises(ValueError, match="5 channels .* expected 2, 3 or 4"):
        custom_layout_15().coordinate_channels(5)
    with pytest.raises(ValueError, match="data with 4 channels"):
        SkeletonMAEBackbone("coco17", num_channels=4, **TINY)


def test_embedding_passes_the_score_through_without_differencing(rng):
    parents = COCO17.parents()
    x = skeletons(rng, channels=3)
    layer = SkeletonEmbedding(8, motion=True, bone_parents=parents, coordinate_channels=2)
    y = ops.convert_to_numpy(layer(x))
    assert tuple(layer.projection.kernel.shape) == (2 * 4 + 1, 8)
    xy = x[..., :2]
    features = np.concatenate([xy, ops.convert_to_numpy(joint_bones(xy, parents))], axis=-1)
    features = np.concatenate([features, ops.convert_to_numpy(joint_motion(features))], axis=-1)
    features = np.concatenate([features, x[..., 2:]], axis=-1)
    np.testing.assert_allclose(y, ops.convert_to_numpy(layer.projection(features)), atol=1e-5)
    backbone = SkeletonMAEBackbone("coco17", num_channels=3, motion=True, bones=True, **TINY)
    assert backbone.embedding.coordinate_channels == 2
    assert tuple(backbone.embedding.projection.kernel.shape) == (9, 16)


def test_pretrainer_target_has_coordinates_only(rng):
    backbone = SkeletonMAEBackbone("coco17", num_channels=3, bones=True, **TINY)
    x = skeletons(rng, channels=3)
    out = SkeletonMAEPretrainer(backbone, target_window=3, seed=0).predict(x, verbose=0)
    assert out["reconstruction"].shape[-1] == out["target"].shape[-1] == 2 * 3
    expected = ops.convert_to_numpy(coordinate_target(x[..., :2], COCO17.center, 3))
    np.testing.assert_allclose(out["target"], expected, atol=1e-6)


def encoder_probe(pretrainer):
    """A model from the pre-trainer's input to what its encoder receives, and the mask."""
    encoder_input = pretrainer.backbone.encoder._inbound_nodes[-1].input_tensors[0]
    return keras.Model(pretrainer.input, [encoder_input, pretrainer.output["mask"]])


def rewinding(pretrainer, probe):
    """`probe`, called always from the masking's present seed state: every call draws the same
    masks."""
    state = pretrainer.masking.seed_generator.state
    saved = ops.convert_to_numpy(state)

    def call(x):
        state.assign(saved)
        return [ops.convert_to_numpy(t) for t in probe(x)]

    return call


OPTIONS = [(motion, bones) for motion in (False, True) for bones in (False, True)]
CASES = [(layout, channels, sampling, motion, bones)
         for layout, channels in (("coco17", 2), ("kinect20", 3))
         for sampling in ("sample", "frame") for motion, bones in OPTIONS]
CASES += [("coco17", 3, sampling, True, True) for sampling in ("sample", "frame")]  # x, y, score


@pytest.mark.parametrize("layout,channels,sampling,motion,bones", CASES)
def test_masked_joints_never_reach_the_encoder(rng, layout, channels, sampling, motion, bones):
    layout = get_layout(layout)
    backbone = SkeletonMAEBackbone(layout, num_channels=channels, motion=motion, bones=bones,
                                   **TINY)
    pretrainer = SkeletonMAEPretrainer(backbone, mask_sampling=sampling, seed=1)
    x = skeletons(rng, layout.num_joints, channels, n=3)
    probe = rewinding(pretrainer, encoder_probe(pretrainer))
    encoder_input, mask = probe(x)
    assert 0 < mask.mean() < 1
    perturbed = x + 5.0 * mask[..., None] * rng.normal(size=x.shape).astype("float32")
    perturbed[:, :, 2][mask[:, :, 2] > 0] = 0.0  # masked joints not detected at all
    changed_input, changed_mask = probe(perturbed)
    np.testing.assert_array_equal(changed_mask, mask)
    np.testing.assert_array_equal(changed_input, encoder_input)
    # The masked joints hold the mask token, the visible ones features of their own.
    token = ops.convert_to_numpy(pretrainer.masking.mask_token)
    np.testing.assert_allclose(encoder_input[mask > 0], np.broadcast_to(token, (
        int(mask.sum()), token.shape[0])), atol=1e-6)


def test_the_old_derived_inputs_leaked_masked_joints(rng):
    """Bones and motion of the full input, as the encoder got them before masking came first:
    a visible child's bone gives away its masked parent, and per-frame masking's motion a
    joint's masked next frame."""
    x = skeletons(rng)
    torso = list(COCO17.parts["torso"])
    parents = np.array(COCO17.parents())
    children = [c for c in range(17) if parents[c] in torso and c not in torso]
    bones = ops.convert_to_numpy(joint_bones(x, COCO17.parents()))
    recovered = x[..., children, :] - bones[..., children, :]
    np.testing.assert_allclose(recovered, x[..., parents[children], :], atol=1e-5)

    mask = np.zeros(x.shape[:-1], "float32")
    mask[..., torso] = 1.0
    mask[:, :, 5, 9] = 1.0  # the left wrist masked in frame 5 only
    perturbed = x + mask[..., None] * rng.normal(size=x.shape).astype("float32")
    old_bones = ops.convert_to_numpy(joint_bones(perturbed, COCO17.parents()))
    assert not np.allclose(old_bones[..., children, :], bones[..., children, :])
    motion = ops.convert_to_numpy(joint_motion(x))
    old_motion = ops.convert_to_numpy(joint_motion(perturbed))
    assert not np.allclose(old_motion[:, :, 4, 9], motion[:, :, 4, 9])  # visible in frame 4

    embedding = SkeletonEmbedding(8, motion=True, bone_parents=COCO17.parents())
    visible = 1.0 - mask[..., None]
    old = ops.convert_to_numpy(embedding(perturbed)) * visible
    assert not np.allclose(old, ops.convert_to_numpy(embedding(x)) * visible)
    new = ops.convert_to_numpy(embedding(perturbed, joint_mask=mask)) * visible
    unperturbed = ops.convert_to_numpy(embedding(x, joint_mask=mask)) * visible
    np.testing.assert_array_equal(new, unperturbed)
