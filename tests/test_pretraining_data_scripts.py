"""The scripts that put other sets in JHMDB's joints and units for 2D pre-training
(`benchmarks/penn_action_in_jhmdb_units.py`, `benchmarks/kinect_views_in_jhmdb_units.py`), on
real data. NumPy only: run once, on PyTorch."""

import keras
import numpy as np
import pytest

from keras_skeletonmae.data import load_pyskl
from keras_skeletonmae.layouts import get_layout
from helpers import load_benchmark
from real_data import require

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch",
                                reason="NumPy data preparation: checked once, on PyTorch")
JOINTS = get_layout("jhmdb15").joint_names


def facing_and_upright(clips):
    """Median over clips of (right - left shoulder x, head - neck y)."""
    right, left = JOINTS.index("right_shoulder"), JOINTS.index("left_shoulder")
    head, neck = JOINTS.index("head"), JOINTS.index("neck")
    return (np.median([np.median(k[0, :, right, 0] - k[0, :, left, 0]) for k in clips]),
            np.median([np.median(k[0, :, head, 1] - k[0, :, neck, 1]) for k in clips]))


def test_kinect_views_face_the_camera_as_jhmdb_in_its_units(tmp_path):
    views = load_benchmark("kinect_views_in_jhmdb_units")
    output = tmp_path / "views.pkl"
    views.main([str(output), "--sets", "msr_action3d.pkl"])
    jhmdb, written = load_pyskl(require("jhmdb_2d.pkl")), load_pyskl(output)
    msr = load_pyskl(require("msr_action3d.pkl"))
    assert written.layout == "jhmdb15" and written.keypoints[0].shape[-1] == 2
    # Every MSR Action3D sequence but the one with no frame holding the head and both ankles.
    assert len(written) == len(msr) - 1 and "msr_action3d/a13_s09_e02" not in written.ids
    (facing, upright), (jhmdb_facing, jhmdb_upright) = (facing_and_upright(d.keypoints)
                                                        for d in (written, jhmdb))
    # JHMDB's people are often side-on (shoulders closer in x), so only signs are compared
    # there; the head sits as far above the neck within a factor of 2.
    assert np.sign(facing) == np.sign(jhmdb_facing) == -1
    assert np.sign(upright) == np.sign(jhmdb_upright) == -1 and 0.5 < upright / jhmdb_upright < 2
    lengths = [views.median_height(k) for k in written.keypoints]
    target = np.nanmedian([views.median_height(k) for k in jhmdb.keypoints])
    np.testing.assert_allclose(lengths, target, rtol=1e-4)
    # Joints both layouts name are copied as (-x, -y); the neck is estimated above the
    # shoulders' centre (the Kinect shoulder centre is on it).
    first = msr.keypoints[0]
    view = views.image_view(first)
    kinect = get_layout("kinect20").joint_names
    np.testing.assert_array_equal(view[..., JOINTS.index("left_elbow"), :],
                                  -first[..., kinect.index("left_elbow"), :2])
    shoulder_centre = -first[..., kinect.index("shoulder_center"), :2]
    assert np.median(view[0, :, JOINTS.index("neck"), 1] - shoulder_centre[0, :, 1]) < 0


def test_penn_action_loses_its_outside_image_placeholders():
    penn_script = load_benchmark("penn_action_in_jhmdb_units")
    penn = load_pyskl(require("penn_action_2d.pkl"))
    index = penn.ids.index("penn_0345")  # right shoulder, left wrist, ankles outside the image
    keypoints, scores = penn_script.without_placeholders(penn.keypoints[index],
                                                         penn.scores[index])
    outside = np.all(penn.keypoints[index] == penn_script.OUTSIDE_IMAGE, axis=-1)
    assert outside[..., JOINTS.index("right_shoulder")].all()
    assert not keypoints[outside].any() and not scores[outside].any()
    # The neck and belly need both shoulders: missing wherever the right one is.
    for joint in ("neck", "belly"):
        assert not keypoints[..., JOINTS.index(joint), :].any()
        assert not scores[..., JOINTS.index(joint)].any()
    assert np.isnan(penn_script.median_torso(keypoints))
