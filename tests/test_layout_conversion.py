"""convert_layout: joint correspondence tables, geometry, scores, missing joints (numpy only)."""

import numpy as np
import pytest

import keras_skeletonmae
from keras_skeletonmae.data import SkeletonData, load_pyskl
from keras_skeletonmae.layouts import (
    CONVERSIONS,
    conversion_report,
    convert_layout,
    get_layout,
    list_layouts,
    supported_targets,
)
from real_data import require

REQUIRED_PAIRS = [("mediapipe33", "kinect20"), ("mediapipe33", "ntu25"),
                  ("mediapipe33", "coco17"), ("coco17", "jhmdb15"), ("jhmdb15", "coco17"),
                  ("openpose18", "coco17"), ("openpose25", "coco17"), ("halpe26", "coco17")]


def skeleton(layout, channels, persons=2, frames=5, seed=0):
    """Random non-zero joints `[M, T, V, C]` of `layout`."""
    v = get_layout(layout).num_joints
    return np.random.default_rng(seed).uniform(0.5, 2.0, (persons, frames, v, channels)) \
        .astype("float32")


def joint(data, name, sample=0):
    """The `[M, T, C]` track of joint `name` in sample `sample` of `data`."""
    return data.keypoints[sample][:, :, data.skeleton_layout.joint_names.index(name)]


def test_required_pairs_are_supported():
    for source, target in REQUIRED_PAIRS:
        assert (source, target) in CONVERSIONS
        assert target in supported_targets(source)
    assert keras_skeletonmae.convert_layout is convert_layout


@pytest.mark.parametrize("pair", sorted(CONVERSIONS))
def test_every_table_covers_each_target_joint_once_from_existing_source_joints(pair):
    source, target = (get_layout(name) for name in pair)
    assert {source.name, target.name} <= set(list_layouts())
    report = conversion_report(*pair)
    assert report["source"] == source.name and report["target"] == target.name
    copied, derived = report["copied"], report["derived"]
    assert not set(copied) & set(derived)
    assert set(copied) | set(derived) == set(target.joint_names)
    assert len(copied) + len(derived) == target.num_joints
    assert set(copied.values()) <= set(source.joint_names)
    for name, weights in derived.items():
        assert len(weights) > 1 and set(weights) <= set(source.joint_names), name
        assert min(weights.values()) > 0 and sum(weights.values()) == pytest.approx(1.0), name
    # left stays left: a target joint of one side comes from joints of that side or the middle
    for name, sources in [*copied.items(), *((n, list(w)) for n, w in derived.items())]:
        sources = [sources] if isinstance(sources, str) else sources
        for side, other in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(side):
                assert not any(s.startswith(other) for s in sources), (pair, name, sources)


def test_mediapipe_to_kinect20_geometry():
    source = skeleton("mediapipe33", 3)
    data = SkeletonData([source], layout="mediapipe33")
    out = convert_layout(data, "kinect20")
    mp = get_layout("mediapipe33").joint_names
    at = {name: source[:, :, mp.index(name)] for name in mp}
    assert out.layout == "kinect20" and out.keypoints[0].shape == (2, 5, 20, 3)
    np.testing.assert_allclose(joint(out, "hip_center"), (at["left_hip"] + at["right_hip"]) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(joint(out, "shoulder_center"),
                               (at["left_shoulder"] + at["right_shoulder"]) / 2, rtol=1e-6)
    np.testing.assert_allclose(joint(out, "head"), (at["left_ear"] + at["right_ear"]) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(joint(out, "spine"), 0.2 * (at["left_hip"] + at["right_hip"])
                               + 0.3 * (at["left_shoulder"] + at["right_shoulder"]), rtol=1e-6)
    np.testing.assert_allclose(joint(out, "right_hand"),
                               (at["right_index"] + at["right_pinky"]) / 2, rtol=1e-6)
    # copied joints are their sources exactly, side by side
    for name in ("left_shoulder", "right_shoulder", "left_elbow", "right_wrist", "left_hip",
                 "right_knee", "left_ankle"):
        np.testing.assert_array_equal(joint(out, name), at[name])
    np.testing.assert_array_equal(joint(out, "left_foot"), at["left_foot_index"])
    np.testing.assert_array_equal(joint(out, "right_foot"), at["right_foot_index"])


def test_mediapipe_to_ntu25_spine_and_hand_joints():
    source = skeleton("mediapipe33", 3, seed=1)
    out = convert_layout(SkeletonData([source], layout="mediapipe33"), "ntu25")
    mp = get_layout("mediapipe33").joint_names
    at = {name: source[:, :, mp.index(name)] for name in mp}
    assert out.keypoints[0].shape == (2, 5, 25, 3)
    np.testing.assert_allclose(joint(out, "spine_base"), (at["left_hip"] + at["right_hip"]) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(joint(out, "spine_shoulder"),
                               (at["left_shoulder"] + at["right_shoulder"]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(joint(out, "left_thumb"), at["left_thumb"])
    np.testing.assert_array_equal(joint(out, "right_hand_tip"), at["right_index"])
    np.testing.assert_array_equal(joint(out, "left_elbow"), at["left_elbow"])


@pytest.mark.parametrize("source_name", ["openpose18", "openpose25", "halpe26", "mediapipe33"])
def test_copies_to_coco17_follow_the_joint_names(source_name):
    source = skeleton(source_name, 2)
    out = convert_layout(SkeletonData([source], layout=source_name), "coco17")
    names = get_layout(source_name).joint_names
    assert out.keypoints[0].shape == (2, 5, 17, 2)
    for j, name in enumerate(get_layout("coco17").joint_names):
        np.testing.assert_array_equal(out.keypoints[0][:, :, j], source[:, :, names.index(name)])
    assert conversion_report(source_name, "coco17")["derived"] == {}


def test_scores_copied_and_lowest_of_the_sources():
    source = skeleton("mediapipe33", 4)  # x, y, z, visibility
    scores = np.random.default_rng(2).uniform(0.1, 1.0, source.shape[:3]).astype("float32")
    out = convert_layout(SkeletonData([source], scores=[scores], layout="mediapipe33"),
                         "kinect20")
    mp, kinect = get_layout("mediapipe33").joint_names, get_layout("kinect20").joint_names
    assert out.keypoints[0].shape == (2, 5, 20, 4) and out.scores[0].shape == (2, 5, 20)
    hips = [mp.index("left_hip"), mp.index("right_hip")]
    center = kinect.index("hip_center")
    np.testing.assert_array_equal(out.scores[0][..., center], scores[..., hips].min(axis=-1))
    np.testing.assert_array_equal(out.keypoints[0][..., center, 3],
                                  source[..., hips, 3].min(axis=-1))
    elbow = kinect.index("left_elbow")
    np.testing.assert_array_equal(out.scores[0][..., elbow], scores[..., mp.index("left_elbow")])
    np.testing.assert_array_equal(out.keypoints[0][..., elbow, :],
                                  source[..., mp.index("left_elbow"), :])
    # the score channel is not averaged as a coordinate
    np.testing.assert_allclose(out.keypoints[0][..., center, :3],
                               source[..., hips, :3].mean(axis=-2), rtol=1e-6)


def test_a_missing_source_joint_makes_the_derived_joint_missing():
    source = skeleton("mediapipe33", 4)
    scores = np.ones(source.shape[:3], dtype="float32")
    left_hip = get_layout("mediapipe33").joint_names.index("left_hip")
    source[0, 1:3, left_hip] = 0.0  # undetected in frames 1 and 2 of person 0 (score too)
    scores[0, 1:3, left_hip] = 0.3
    out = convert_layout(SkeletonData([source], scores=[scores], layout="mediapipe33"),
                         "kinect20")
    kinect = get_layout("kinect20").joint_names
    for name in ("hip_center", "spine"):
        j = kinect.index(name)
        assert not out.keypoints[0][0, 1:3, j].any() and not out.scores[0][0, 1:3, j].any()
        assert out.keypoints[0][0, [0, 3, 4], j, :3].all() and out.keypoints[0][1, :, j].all()
    # the copied joint stays as it was: zero coordinates, its own score
    j = kinect.index("left_hip")
    assert not out.keypoints[0][0, 1:3, j, :3].any()
    np.testing.assert_array_equal(out.scores[0][0, 1:3, j], np.float32(0.3))


def test_round_trip_coco17_jhmdb15_coco17_keeps_the_shared_joints():
    source = skeleton("coco17", 2)
    scores = np.random.default_rng(3).uniform(0.1, 1.0, source.shape[:3]).astype("float32")
    data = SkeletonData([source, source[:1]], scores=[scores, scores[:1]], labels=[1, 0],
                        ids=["a", "b"], class_names=["x", "y"], layout="coco17",
                        splits={"train": ["a"]}, source="clips.pkl")
    jhmdb = convert_layout(data, "jhmdb15")
    back = convert_layout(jhmdb, "coco17")
    assert jhmdb.keypoints[0].shape == (2, 5, 15, 2) and back.keypoints[0].shape == (2, 5, 17, 2)
    coco = get_layout("coco17").joint_names
    shared = [j for j, name in enumerate(coco) if name in get_layout("jhmdb15").joint_names]
    assert len(shared) == 12
    np.testing.assert_array_equal(back.keypoints[0][:, :, shared], source[:, :, shared])
    np.testing.assert_array_equal(back.scores[0][:, :, shared], scores[:, :, shared])
    # the face collapses to JHMDB's head, the ears' midpoint
    head = (source[:, :, coco.index("left_ear")] + source[:, :, coco.index("right_ear")]) / 2
    for face in range(5):
        np.testing.assert_allclose(back.keypoints[0][:, :, face], head, rtol=1e-6)
    for converted in (jhmdb, back):
        assert converted.ids == ["a", "b"] and converted.labels.tolist() == [1, 0]
        assert converted.class_names == ["x", "y"] and converted.splits == {"train": ["a"]}
        assert converted.source == "clips.pkl" and len(converted) == 2


def test_identity_keeps_everything():
    source = skeleton("ntu25", 3)
    data = SkeletonData([source], labels=[2], layout="ntu25")
    out = convert_layout(data, "ntu25")
    assert out is not data and out.layout == "ntu25"
    np.testing.assert_array_equal(out.keypoints[0], source)
    report = conversion_report("ntu25", "ntu25")
    assert report["derived"] == {} and all(k == v for k, v in report["copied"].items())


def test_unsupported_pair_lists_the_supported_targets():
    data = SkeletonData([skeleton("coco17", 2)], layout="coco17")
    with pytest.raises(ValueError, match=r"No conversion from layout 'coco17' to 'kinect20'; "
                                         r"'coco17' converts to \['coco17', 'jhmdb15'"):
        convert_layout(data, "kinect20")
    with pytest.raises(ValueError, match="No conversion"):
        conversion_report("kinect20", "coco17")


def test_coordinates_must_fit_the_target_layout():
    image = SkeletonData([skeleton("mediapipe33", 2)], layout="mediapipe33", source="pose.npy")
    with pytest.raises(ValueError, match=r"pose.npy: has 2 coordinates per joint .* layout "
                                         r"'kinect20' takes 3"):
        convert_layout(image, "kinect20")
    assert convert_layout(image, "coco17").keypoints[0].shape[-1] == 2
    world = SkeletonData([skeleton("mediapipe33", 3)], layout="mediapipe33")
    assert convert_layout(world, "kinect20").keypoints[0].shape[-1] == 3
    with pytest.raises(ValueError, match=r"3 coordinates .* 'coco17' takes 2.*keep x, y only"):
        convert_layout(world, "coco17")


def test_bad_data_raises_clear_errors():
    with pytest.raises(ValueError, match="has no layout"):
        convert_layout(SkeletonData([skeleton("coco17", 2)]), "jhmdb15")
    wrong = SkeletonData([skeleton("jhmdb15", 2)], ids=["clip7"], layout="coco17",
                         source="f.pkl")
    with pytest.raises(ValueError, match=r"f.pkl: sample 'clip7' has 15 joints, but layout "
                                         r"'coco17' has 17"):
        convert_layout(wrong, "jhmdb15")


def test_report_says_how_joints_are_made():
    report = conversion_report("mediapipe33", "kinect20")
    assert report["derived"]["hip_center"] == {"left_hip": 0.5, "right_hip": 0.5}
    assert report["copied"]["left_foot"] == "left_foot_index"
    assert report["copied"]["right_elbow"] == "right_elbow"
    assert conversion_report("coco17", "openpose18")["derived"] == {
        "neck": {"left_shoulder": 0.5, "right_shoulder": 0.5}}


def test_real_jhmdb_to_coco17_keeps_samples_and_shapes():
    data = load_pyskl(require("jhmdb_2d.pkl"))
    assert data.layout == "jhmdb15"
    out = convert_layout(data, "coco17")
    assert len(out) == len(data) and out.ids == data.ids and out.splits == data.splits
    np.testing.assert_array_equal(out.labels, data.labels)
    jhmdb, coco = get_layout("jhmdb15").joint_names, get_layout("coco17").joint_names
    for before, after, scores in zip(data.keypoints, out.keypoints, out.scores):
        assert after.shape == before.shape[:2] + (17, 2) and scores.shape == after.shape[:3]
        np.testing.assert_array_equal(after[:, :, coco.index("left_wrist")],
                                      before[:, :, jhmdb.index("left_wrist")])
    assert out.validate() is out


def test_a_table_that_does_not_fit_its_layouts_is_refused(monkeypatch):
    table = dict(CONVERSIONS[("coco17", "jhmdb15")])
    monkeypatch.setitem(CONVERSIONS, ("coco17", "jhmdb15"), {**table, "neck": "chin"})
    with pytest.raises(ValueError, match=r"derives 'neck' from \['chin'\], which 'coco17' lacks"):
        conversion_report("coco17", "jhmdb15")
    monkeypatch.setitem(CONVERSIONS, ("coco17", "jhmdb15"),
                        {**table, "neck": {"left_shoulder": 0.5, "right_shoulder": 0.6}})
    with pytest.raises(ValueError, match="must be positive and sum to 1"):
        conversion_report("coco17", "jhmdb15")
    del table["belly"]
    monkeypatch.setitem(CONVERSIONS, ("coco17", "jhmdb15"), table)
    with pytest.raises(ValueError, match=r"lacks \['belly'\]"):
        conversion_report("coco17", "jhmdb15")
