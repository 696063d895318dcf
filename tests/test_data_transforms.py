"""Per-sample transforms: shapes, seeding, and their geometric promises, on real MSR/JHMDB clips."""

import numpy as np
import pytest

from keras_skeletonmae.data import (
    Bone,
    CenterOnJoint,
    Compose,
    JointNoise,
    Motion,
    Normalize2D,
    PadPersons,
    RandomRotation,
    RandomScale,
    RandomShear,
    UniformSample,
    load_pyskl,
    training_transform,
)
from keras_skeletonmae.layouts import get_layout
from real_data import require

KINECT20 = get_layout("kinect20")


@pytest.fixture(scope="module")
def clip():
    """A real 3D MSR clip `[1, T, 20, 3]`."""
    return load_pyskl(require("msr_action3d.pkl")).keypoints[0]


@pytest.fixture(scope="module")
def clip_2d():
    return load_pyskl(require("jhmdb_2d.pkl")).keypoints[0]


def rng(seed=0):
    return np.random.default_rng(seed)


def bone_lengths(sample, layout=KINECT20):
    child, parent = np.array(layout.edges).T
    return np.linalg.norm(sample[:, :, child] - sample[:, :, parent], axis=-1)


def test_uniform_sample_test_mode_takes_segment_middles(clip):
    total = clip.shape[1]
    out = UniformSample(16)(clip)
    bounds = np.arange(17) * total // 16
    np.testing.assert_array_equal(out, clip[:, (bounds[:-1] + bounds[1:]) // 2])


def test_uniform_sample_train_mode_one_frame_per_segment(clip):
    frames = np.arange(clip.shape[1], dtype="float32")
    tagged = np.broadcast_to(frames[None, :, None, None], clip.shape[:3] + (1,))
    bounds = np.arange(17) * clip.shape[1] // 16
    picks = [UniformSample(16, train=True)(tagged, rng(s))[0, :, 0, 0] for s in range(5)]
    for picked in picks:
        assert np.all((picked >= bounds[:-1]) & (picked < bounds[1:]))
    assert len({tuple(p) for p in picks}) > 1
    np.testing.assert_array_equal(UniformSample(16, train=True)(tagged, rng(3))[0, :, 0, 0],
                                  picks[3])


def test_uniform_sample_loops_short_clips(clip):
    short = clip[:, :5]
    np.testing.assert_array_equal(UniformSample(12)(short), short[:, [0, 1, 2, 3, 4] * 2 + [0, 1]])
    frames = np.arange(5, dtype="float32")[None, :, None, None]
    picked = UniformSample(12, train=True)(frames, rng(1))[0, :, 0, 0]
    np.testing.assert_array_equal(picked, (picked[0] + np.arange(12)) % 5)


def test_pad_persons_pads_and_keeps_the_most_active(clip):
    still = np.repeat(clip[:, :1], clip.shape[1], axis=1)  # no motion
    padded = PadPersons(3)(clip)
    assert padded.shape == (3,) + clip.shape[1:] and not np.any(padded[1:])
    three = np.concatenate([still, clip, 2 * clip])
    np.testing.assert_array_equal(PadPersons(2)(three), three[1:])
    np.testing.assert_array_equal(PadPersons(1)(three), three[2:])


def test_center_on_joint_puts_the_centre_at_zero(clip):
    late = np.concatenate([np.zeros_like(clip[:, :3]), clip], axis=1)  # skeleton from frame 3
    shifted = np.where(late != 0, late + 1.0, 0.0)
    two = np.concatenate([late, shifted, np.zeros_like(late)])  # a second and an absent person
    out = CenterOnJoint("kinect20")(two)
    np.testing.assert_allclose(out[0, 3, KINECT20.center], 0.0, atol=1e-6)
    np.testing.assert_allclose(out[1, 3, KINECT20.center], 1.0, atol=1e-6)  # relative offset kept
    assert not np.any(out[:, :3]) and not np.any(out[2])
    np.testing.assert_allclose(bone_lengths(out[:, 3:]), bone_lengths(two[:, 3:]), atol=1e-5)


def test_rotation_preserves_bone_lengths_and_is_seeded(clip, clip_2d):
    rotated = RandomRotation(30)(clip, rng(7))
    assert not np.allclose(rotated, clip)
    np.testing.assert_allclose(bone_lengths(rotated), bone_lengths(clip), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(RandomRotation(30)(clip, rng(7)), rotated)
    assert not np.allclose(RandomRotation(30)(clip, rng(8)), rotated)
    jhmdb = get_layout("jhmdb15")
    flat = RandomRotation(30)(clip_2d, rng(0))
    np.testing.assert_allclose(bone_lengths(flat, jhmdb), bone_lengths(clip_2d, jhmdb),
                               rtol=1e-4, atol=1e-5)


def test_scale_shear_and_noise(clip):
    scaled = RandomScale(0.8, 1.2)(clip, rng(0))
    ratio = scaled[clip != 0] / clip[clip != 0]
    assert np.allclose(ratio, ratio[0]) and 0.8 <= ratio[0] <= 1.2
    sheared = RandomShear(0.3)(clip, rng(0))
    assert sheared.shape == clip.shape and not np.allclose(sheared, clip)
    np.testing.assert_array_equal(RandomShear(0.3)(clip, rng(0)), sheared)
    holes = clip.copy()
    holes[0, :, 4] = 0.0
    noisy = JointNoise(0.01)(holes, rng(0))
    assert not np.any(noisy[0, :, 4])
    assert 0.005 < np.std(noisy - holes) < 0.015
    with pytest.raises(TypeError, match="numpy Generator"):
        JointNoise(0.01)(clip, None)


def test_normalize_2d(clip_2d):
    pixels = (clip_2d + 3.0) * 100.0
    out = Normalize2D(image_size=(640, 480))(pixels)
    np.testing.assert_allclose(out[..., 0], pixels[..., 0] / 320 - 1, rtol=1e-5)
    own = Normalize2D()(pixels)
    assert np.isclose(np.abs(own).max(), 1.0) and np.abs(own).max() <= 1.0 + 1e-6


def test_bone_and_motion(clip):
    bones = Bone("kinect20")(clip)
    assert not np.any(bones[:, :, KINECT20.center])
    child, parent = KINECT20.edges[0]
    np.testing.assert_allclose(bones[:, :, child], clip[:, :, child] - clip[:, :, parent])
    motion = Motion()(clip)
    np.testing.assert_allclose(motion[:, 4], clip[:, 5] - clip[:, 4])
    assert not np.any(motion[:, -1])
    with pytest.raises(ValueError, match="layout 'ntu25' has 25"):
        Bone("ntu25")(clip)


def test_compose_is_deterministic_from_the_seed(clip):
    pipeline = Compose([CenterOnJoint("kinect20"), UniformSample(20, train=True),
                        RandomRotation(15), RandomScale(0.9, 1.1), JointNoise(0.002),
                        PadPersons(2)])
    out = pipeline(clip, rng(4))
    assert out.shape == (2, 20, 20, 3)
    np.testing.assert_array_equal(pipeline(clip, rng(4)), out)
    assert not np.allclose(pipeline(clip, rng(5)), out)


def test_training_transform_samples_then_rotates_scales_and_centres(clip, clip_2d):
    for sample, layout, channels in ((clip, KINECT20, 3), (clip_2d, get_layout("jhmdb15"), 2)):
        plain = training_transform(layout, 16, channels, augment=False)(sample, rng(3))
        augmented = training_transform(layout, 16, channels)(sample, rng(3))
        assert plain.shape == augmented.shape == (1, 16, layout.num_joints, channels)
        # The same frames (drawn first), centred, then one rotation and one scale for the clip:
        # every bone is scaled by the same factor in [0.9, 1.1].
        np.testing.assert_array_equal(augmented[0, 0, layout.center], np.zeros(channels))
        ratio = bone_lengths(augmented, layout) / bone_lengths(plain, layout)
        factor = ratio[np.isfinite(ratio)].mean()
        np.testing.assert_allclose(ratio[np.isfinite(ratio)], factor, rtol=1e-3)
        assert 0.9 <= factor <= 1.1 and not np.allclose(augmented, plain * factor)
        np.testing.assert_array_equal(training_transform(layout, 16, channels)(sample, rng(3)),
                                      augmented)


def with_score(sample, seed=0):
    """`sample` with a confidence score in (0, 1] as its last channel (0 where undetected)."""
    score = rng(seed).uniform(0.1, 1.0, size=sample.shape[:-1] + (1,)).astype(sample.dtype)
    return np.concatenate([sample, score * np.any(sample != 0, axis=-1, keepdims=True)], axis=-1)


@pytest.mark.parametrize("dims", [2, 3])
def test_geometric_transforms_keep_the_score(clip, clip_2d, dims):
    sample, layout = (clip_2d, get_layout("jhmdb15")) if dims == 2 else (clip, KINECT20)
    scored = with_score(sample)
    for transform in (CenterOnJoint(layout), RandomRotation(30, layout),
                      RandomScale(0.8, 1.2, layout), RandomShear(0.3, layout),
                      JointNoise(0.01, layout)):
        out = transform(scored, rng(5))
        np.testing.assert_array_equal(out[..., dims:], scored[..., dims:])
        # The coordinates as without a score: a 2D rotation, not a 3D one of (x, y, score).
        np.testing.assert_allclose(out[..., :dims], transform(sample, rng(5)), atol=1e-6)
    for channels in (dims, dims + 1):
        data = scored[..., :channels]
        out = training_transform(layout, 16, channels)(data, rng(3))
        np.testing.assert_allclose(out[..., :dims],
                                   training_transform(layout, 16, dims)(sample, rng(3)), atol=1e-6)
        sampled = UniformSample(16, train=True)(data, rng(3))
        np.testing.assert_array_equal(out[..., dims:], sampled[..., dims:])
    with pytest.raises(ValueError, match=f"{dims + 2} channels per joint"):
        CenterOnJoint(layout)(np.zeros(sample.shape[:-1] + (dims + 2,), "float32"))


def test_bone_and_motion_average_the_score(clip_2d):
    layout = get_layout("jhmdb15")
    scored = with_score(clip_2d)
    bones = Bone(layout)(scored)
    np.testing.assert_array_equal(bones[..., :2], Bone(layout)(clip_2d))
    child, parent = layout.edges[0]
    np.testing.assert_allclose(bones[:, :, child, 2],
                               (scored[:, :, child, 2] + scored[:, :, parent, 2]) / 2)
    roots = [j for j, p in enumerate(layout.parents()) if p == j]
    assert roots and not np.any(bones[:, :, roots])
    motion = Motion(layout)(scored)
    np.testing.assert_array_equal(motion[..., :2], Motion()(clip_2d))
    np.testing.assert_allclose(motion[:, :-1, :, 2],
                               (scored[:, 1:, :, 2] + scored[:, :-1, :, 2]) / 2)
    assert not np.any(motion[:, -1])
