import keras
import numpy as np
import pytest
from keras import ops

from helpers import assert_config_complete, assert_layer_round_trip
from keras_skeletonmae.layers import (
    BodyPartMasking,
    GINConv,
    MultiScaleTemporalConv,
    SkeletonEmbedding,
    STRLBlock,
)
from keras_skeletonmae.layers.embedding import joint_bones, joint_motion
from keras_skeletonmae.layouts import SkeletonLayout, get_layout


def skeletons(rng, batch=2, persons=2, frames=8, joints=17, channels=2):
    return rng.normal(size=(batch, persons, frames, joints, channels)).astype("float32")


# --- SkeletonEmbedding -------------------------------------------------------------------------

def test_embedding_shapes_position_and_config(rng):
    x = skeletons(rng)
    layer = SkeletonEmbedding(16, num_frames=8)
    y = ops.convert_to_numpy(layer(x))
    assert y.shape == (2, 2, 8, 17, 16)
    plain = ops.convert_to_numpy(layer.projection(x))
    position = ops.convert_to_numpy(layer.position_embedding)  # (T, 1, D)
    np.testing.assert_allclose(y - plain, np.broadcast_to(position, y.shape), atol=1e-6)
    assert layer.compute_output_shape(x.shape) == y.shape
    assert_config_complete(layer)
    assert_layer_round_trip(layer, x)


def test_embedding_with_motion_embeds_coordinates_and_their_frame_differences(rng):
    x = skeletons(rng, frames=5, joints=4, channels=3)
    x[0, 1] = 0.0  # an absent person
    x[1, 0, 2, 3] = 0.0  # a joint not detected in frame 2
    expected = np.zeros_like(x)
    expected[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    expected[0, 1] = 0.0
    expected[1, 0, [1, 2], 3] = 0.0  # no jump into or out of the undetected joint
    np.testing.assert_allclose(ops.convert_to_numpy(joint_motion(x)), expected, atol=1e-6)

    layer = SkeletonEmbedding(8, num_frames=5, motion=True)
    y = ops.convert_to_numpy(layer(x))
    assert ops.convert_to_numpy(layer.projection.kernel).shape == (6, 8)
    plain = ops.convert_to_numpy(layer.projection(np.concatenate([x, expected], axis=-1)))
    position = ops.convert_to_numpy(layer.position_embedding)
    np.testing.assert_allclose(y, plain + position, atol=1e-5)
    assert_config_complete(layer)
    assert_layer_round_trip(layer, x)


def test_embedding_with_bones_and_motion(rng):
    parents = (0, 0, 1, 1)  # joint 0 the root; 1 hangs from 0, 2 and 3 from 1
    x = skeletons(rng, frames=5, joints=4, channels=3)
    x[0, 1] = 0.0  # an absent person
    x[1, 0, 2, 1] = 0.0  # joint 1 (the parent of 2 and 3) not detected in frame 2
    bones = x - x[..., parents, :]
    bones[0, 1] = 0.0
    bones[1, 0, 2, 1:] = 0.0  # no bone into an undetected joint or out of it
    np.testing.assert_allclose(ops.convert_to_numpy(joint_bones(x, parents)), bones, atol=1e-6)
    assert not np.any(bones[..., 0, :])  # the root's bone

    layer = SkeletonEmbedding(8, motion=True, bone_parents=parents)
    y = ops.convert_to_numpy(layer(x))
    assert ops.convert_to_numpy(layer.projection.kernel).shape == (12, 8)
    features = np.concatenate([x, bones], axis=-1)
    features = np.concatenate([features, ops.convert_to_numpy(joint_motion(features))], axis=-1)
    np.testing.assert_allclose(y, ops.convert_to_numpy(layer.projection(features)), atol=1e-5)
    assert_config_complete(layer)
    assert_layer_round_trip(layer, x)
    with pytest.raises(ValueError, match="5 joints on axis -2 but bone_parents names 4"):
        SkeletonEmbedding(8, bone_parents=parents)(skeletons(rng, joints=5))


def test_embedding_without_frames_has_no_position(rng):
    layer = SkeletonEmbedding(8)
    layer(skeletons(rng))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]


# --- GINConv ----------------------------------------------------------------------------------

TOY = SkeletonLayout(
    name="toy_directed",
    edges=[(1, 0), (2, 1), (3, 1), (4, 0)],
    parts={"upper": [0, 1, 2], "lower": [3, 4]},
    center=0,
)


def numpy_gin(layer, h, epsilon):
    """The formula, written out in numpy with the layer's weights (inference-mode BatchNorm)."""
    a = np.zeros((5, 5), "float32")
    for child, parent in TOY.edges:  # directed: the message goes from child to parent
        a[parent, child] = 1.0
    agg = (1.0 + epsilon) * h + np.einsum("vu,...ud->...vd", a, h)

    def norm(bn, x):
        gamma, beta, mean, var = (ops.convert_to_numpy(w) for w in bn.weights)
        return gamma * (x - mean) / np.sqrt(var + bn.epsilon) + beta

    def prelu(act, x):
        alpha = ops.convert_to_numpy(act.alpha).reshape(-1)
        return np.where(x > 0, x, alpha * x)

    w1, b1 = (ops.convert_to_numpy(w) for w in layer.hidden_dense.weights)
    w2, b2 = (ops.convert_to_numpy(w) for w in layer.output_dense.weights)
    x = prelu(layer.hidden_activation, norm(layer.hidden_norm, agg @ w1 + b1))
    x = x @ w2 + b2
    return prelu(layer.output_prelu, norm(layer.output_norm, x))


@pytest.mark.parametrize("learnable", [False, True])
def test_gin_matches_numpy_on_directed_toy_graph(rng, learnable):
    h = rng.normal(size=(3, 4, 5, 6)).astype("float32")  # (batch, persons*frames..., V=5, D=6)
    layer = GINConv(7, TOY, hidden_units=9, epsilon=0.3, learnable_epsilon=learnable, directed=True)
    layer.build(h.shape)
    # Non-trivial BatchNorm statistics and PReLU slopes, so every term of the formula shows.
    for bn in (layer.hidden_norm, layer.output_norm):
        size = bn.weights[0].shape[0]
        bn.set_weights([rng.uniform(0.5, 2, size), rng.normal(size=size),
                        rng.normal(size=size), rng.uniform(0.5, 2, size)])
    for act in (layer.hidden_activation, layer.output_prelu):
        act.set_weights([rng.uniform(0.05, 0.5, act.alpha.shape)])
    if learnable:
        layer.eps.assign(0.7)
    expected = numpy_gin(layer, h, 0.7 if learnable else 0.3)
    got = ops.convert_to_numpy(layer(h, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert [w.name for w in layer.trainable_weights].count("epsilon") == int(learnable)


def test_gin_undirected_uses_both_directions(rng):
    layout = get_layout("coco17")
    layer = GINConv(4, layout, hidden_units=8)
    h = np.zeros((1, 17, 3), "float32")
    h[0, 9] = 1.0  # left wrist; its only bone goes to the left elbow (7)
    agg = ops.convert_to_numpy(layer.aggregate(ops.convert_to_tensor(h)))
    assert set(np.flatnonzero(agg[0].sum(-1))) == {7, 9}


def test_gin_config_shapes_and_joint_check(rng):
    x = rng.normal(size=(2, 2, 4, 17, 6)).astype("float32")
    layer = GINConv(5, "coco17", hidden_units=12, learnable_epsilon=True, output_activation=False)
    y = layer(x)
    assert tuple(y.shape) == (2, 2, 4, 17, 5)
    assert not hasattr(layer, "output_norm")
    assert_config_complete(layer)
    assert layer.get_config()["layout"] == "coco17"
    assert_layer_round_trip(layer, x)
    with pytest.raises(ValueError, match="17"):
        GINConv(5, "coco17")(x[..., :15, :])


def test_gin_weights_do_not_depend_on_joint_count():
    coco, ntu = GINConv(8, "coco17", hidden_units=16), GINConv(8, "ntu25", hidden_units=16)
    coco.build((None, 17, 3))
    ntu.build((None, 25, 3))
    ntu.set_weights(coco.get_weights())  # raises if any shape differs


# --- BodyPartMasking --------------------------------------------------------------------------

def masked_part_counts(mask, layout):
    """Parts fully covered per (..., V) mask; asserts no part is only partly covered."""
    membership = layout.part_membership()
    covered = mask @ membership.T / membership.sum(axis=1)
    assert np.all(np.isin(np.round(covered, 5), (0.0, 1.0))), "a body part is partly masked"
    return covered.sum(axis=-1)


@pytest.mark.parametrize("sampling", ["sample", "frame"])
def test_masking_masks_whole_parts_with_token(rng, sampling):
    layout = get_layout("coco17")
    x = rng.normal(size=(16, 2, 6, 17, 8)).astype("float32")
    layer = BodyPartMasking("coco17", num_masked_parts=2, sampling=sampling, seed=3)
    layer.build(x.shape)
    layer.mask_token.assign(np.arange(8, dtype="float32"))
    masked, mask = (ops.convert_to_numpy(t) for t in layer(x))
    assert mask.shape == (16, 2, 6, 17)
    np.testing.assert_array_equal(masked_part_counts(mask, layout), 2)
    token = np.broadcast_to(np.arange(8, dtype="float32"), masked.shape)
    np.testing.assert_allclose(np.where(mask[..., None] > 0, token, x), masked, atol=1e-6)
    per_sequence = mask.reshape(16, -1, 17)
    varies_within = np.any(per_sequence != per_sequence[:, :1], axis=(1, 2))
    assert varies_within.any() == (sampling == "frame")
    assert len({tuple(m) for m in per_sequence[:, 0]}) > 1  # different parts across samples


def test_masking_fixed_parts_and_fresh_draws(rng):
    x = rng.normal(size=(4, 1, 3, 17, 4)).astype("float32")
    fixed = BodyPartMasking("coco17", mask_parts=["right_arm", "right_leg"])
    _, mask = fixed(x)
    expected = np.zeros(17)
    expected[[8, 10, 14, 16]] = 1
    np.testing.assert_array_equal(ops.convert_to_numpy(mask), np.broadcast_to(expected, (4, 1, 3, 17)))
    random = BodyPartMasking("coco17", num_masked_parts=1, seed=0)
    draws = [ops.convert_to_numpy(random(x)[1]) for _ in range(4)]
    assert any(not np.array_equal(draws[0], d) for d in draws[1:])
    again = BodyPartMasking("coco17", num_masked_parts=1, seed=0)
    np.testing.assert_array_equal(ops.convert_to_numpy(again(x)[1]), draws[0])


@pytest.mark.parametrize("sampling", ["sample", "frame"])
def test_masking_random_joints_at_a_given_count(rng, sampling):
    x = rng.normal(size=(16, 2, 6, 17, 4)).astype("float32")
    layer = BodyPartMasking("coco17", num_masked_joints=5, sampling=sampling, seed=1)
    assert_config_complete(layer)
    assert BodyPartMasking.from_config(layer.get_config()).get_config() == layer.get_config()
    mask = ops.convert_to_numpy(layer(x)[1])
    np.testing.assert_array_equal(mask.sum(axis=-1), 5)
    per_sequence = mask.reshape(16, -1, 17)
    varies_within = np.any(per_sequence != per_sequence[:, :1], axis=(1, 2))
    assert varies_within.any() == (sampling == "frame")
    # Joints, not parts: some draws cover a body part only partly.
    membership = get_layout("coco17").part_membership()
    covered = np.round(mask @ membership.T / membership.sum(axis=1), 5)
    assert not np.all(np.isin(covered, (0.0, 1.0)))


def test_masking_config_and_errors(rng):
    x = rng.normal(size=(2, 1, 3, 17, 4)).astype("float32")
    layer = BodyPartMasking("coco17", mask_parts=["head"], sampling="frame", seed=5)
    assert_config_complete(layer)
    assert_layer_round_trip(layer, x)
    with pytest.raises(ValueError, match=r"\[1, 5\]"):
        BodyPartMasking("coco17", num_masked_parts=6)
    with pytest.raises(ValueError, match="leave at least one"):
        BodyPartMasking("coco17", mask_parts=list(get_layout("coco17").part_names))
    with pytest.raises(ValueError, match="nose"):
        BodyPartMasking("coco17", mask_parts=["nose"])
    with pytest.raises(ValueError, match="sampling"):
        BodyPartMasking("coco17", sampling="joint")
    with pytest.raises(ValueError, match=r"num_masked_joints must be in \[1, 16\]"):
        BodyPartMasking("coco17", num_masked_joints=17)
    with pytest.raises(ValueError, match="not both"):
        BodyPartMasking("coco17", mask_parts=["head"], num_masked_joints=3)


# --- MultiScaleTemporalConv and STRLBlock -------------------------------------------------------

def test_multiscale_temporal_conv(rng):
    x = rng.normal(size=(2, 2, 10, 17, 8)).astype("float32")
    layer = MultiScaleTemporalConv(12, kernel_size=3, dilations=(1, 2))
    assert tuple(layer(x).shape) == (2, 2, 10, 17, 12)
    assert layer.residual_projection is not None
    assert_config_complete(layer)
    assert_layer_round_trip(layer, x)
    # Temporal only: a change in one joint at one frame stays in that joint.
    y0 = ops.convert_to_numpy(layer(x, training=False))
    x2 = x.copy()
    x2[0, 0, 4, 3] += 5.0
    diff = np.abs(ops.convert_to_numpy(layer(x2, training=False)) - y0).sum(axis=(-1, 2))
    assert np.all(diff[0, 0, np.arange(17) != 3] < 1e-5) and diff[0, 0, 3] > 1e-3
    with pytest.raises(ValueError, match="divisible"):
        MultiScaleTemporalConv(10, dilations=(1, 2))


@pytest.mark.parametrize("interaction", ["add", "none"])
def test_strl_block_person_interaction(rng, interaction):
    h = rng.normal(size=(2, 2, 6, 17, 8)).astype("float32")
    g = rng.normal(size=(2, 2, 6, 17, 8)).astype("float32")
    layer = STRLBlock(8, person_interaction=interaction, temporal_kernel_size=3)
    y0 = ops.convert_to_numpy(layer([h, g], training=False))
    assert y0.shape == (2, 2, 6, 17, 8)
    g2 = g.copy()
    g2[:, 1] += 3.0  # only person 1's encoder output changes
    y1 = ops.convert_to_numpy(layer([h, g2], training=False))
    person0_changed = np.abs(y1[:, 0] - y0[:, 0]).max() > 1e-4
    assert person0_changed == (interaction == "add")
    assert_config_complete(layer)
    assert_layer_round_trip(layer, [h, g])


def test_strl_block_combine_add_and_errors(rng):
    h = rng.normal(size=(1, 2, 4, 17, 8)).astype("float32")
    layer = STRLBlock(8, combine="add", temporal_kernel_size=3)
    assert tuple(layer([h, h]).shape) == h.shape
    with pytest.raises(ValueError, match="equal widths"):
        STRLBlock(8, combine="add")([h, h[..., :4]])
    with pytest.raises(ValueError, match="person_interaction"):
        STRLBlock(8, person_interaction="max")
