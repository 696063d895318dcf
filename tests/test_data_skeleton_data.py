"""SkeletonData: splits, selection, validation errors naming the sample, repair, to_arrays."""

import numpy as np
import pytest

from keras_skeletonmae.data import CenterOnJoint, SkeletonData, load_pyskl
from real_data import require


@pytest.fixture(scope="module")
def msr():
    return load_pyskl(require("msr_action3d.pkl"))


@pytest.fixture(scope="module")
def msr_small(msr):
    return msr.split("xsub_val").select(range(8))


def with_sample(data, index, keypoint=None, label=None):
    """A copy of `data` with sample `index` replaced."""
    keypoints = list(data.keypoints)
    labels = data.labels.copy()
    if keypoint is not None:
        keypoints[index] = keypoint
    if label is not None:
        labels[index] = label
    return SkeletonData(keypoints, labels=labels, ids=data.ids, class_names=data.class_names,
                        layout=data.layout, splits=data.splits, source=data.source)


def test_split_select_and_num_classes(msr):
    train = msr.split("xsub_train")
    assert train.ids == msr.splits["xsub_train"] and len(train) == 284
    assert train.source == msr.source and train.layout == "kinect20"
    assert train.splits["xsub_val"] == [] and train.splits["xsub_train"] == train.ids
    picked = train.select([5, 0])
    assert picked.ids == [train.ids[5], train.ids[0]]
    np.testing.assert_array_equal(picked.keypoints[0], train.keypoints[5])
    assert picked.labels.tolist() == [train.labels[5], train.labels[0]]
    assert msr.num_classes == 20
    assert SkeletonData([np.ones((1, 2, 3, 2))], labels=[4]).num_classes == 5
    assert SkeletonData([np.ones((1, 2, 3, 2))]).num_classes is None


def test_unknown_split_lists_splits_and_names_the_file(msr):
    with pytest.raises(ValueError, match=r"msr_action3d\.pkl: unknown split 'train'; available "
                                         r"splits: \['all', 'cvpr12_557', 'xsub_train'"):
        msr.split("train")


def test_duplicate_ids_and_unknown_split_members_are_rejected():
    with pytest.raises(ValueError, match="unique"):
        SkeletonData([np.ones((1, 2, 3, 2))] * 2, ids=["a", "a"])
    with pytest.raises(ValueError, match=r"split 'test' lists 1 ids that are not samples"):
        SkeletonData([np.ones((1, 2, 3, 2))], ids=["a"], splits={"test": ["a", "b"]})


def test_all_zero_msr_sample_is_reported_by_id(msr):
    with pytest.raises(ValueError, match=r"sample 'a13_s09_e02' from .*msr_action3d\.pkl: is all "
                                         "zeros"):
        msr.validate()


def test_wrong_joint_count_names_the_sample(msr_small):
    bad_id = msr_small.ids[3]
    with pytest.raises(ValueError, match=rf"sample '{bad_id}' .*: has 20 joints, but layout "
                                         "'ntu25' has 25"):
        msr_small.select([3]).validate(layout="ntu25")
    with pytest.raises(ValueError, match=rf"sample '{bad_id}' .*: has 15 joints x 3 channels"):
        with_sample(msr_small, 3, msr_small.keypoints[3][:, :, :15])


def test_wrong_channel_count_names_the_sample(msr_small):
    with pytest.raises(ValueError, match=rf"sample '{msr_small.ids[0]}' .*: has 3 channels, "
                                         "expected 2"):
        msr_small.validate(num_channels=2)
    msr_small.validate(layout="kinect20", num_channels=3)


def test_nan_and_inf_name_the_sample(msr_small):
    keypoint = msr_small.keypoints[2].copy()
    keypoint[0, 1, 4, 0] = np.nan
    keypoint[0, 2, 4, 1] = np.inf
    with pytest.raises(ValueError, match=rf"sample '{msr_small.ids[2]}' .*: has 2 NaN/inf"):
        with_sample(msr_small, 2, keypoint).validate()


@pytest.mark.parametrize("shape, message", [((1, 0, 20, 3), "zero frames"),
                                            ((0, 30, 20, 3), "zero persons")])
def test_empty_samples_name_the_sample(msr_small, shape, message):
    data = with_sample(msr_small, 5, np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=rf"sample '{msr_small.ids[5]}' .*: has {message}"):
        data.validate()


def test_to_arrays_names_a_sample_without_frames(msr_small):
    data = with_sample(msr_small, 5, np.zeros((1, 0, 20, 3), "float32"))
    with pytest.raises(ValueError, match=rf"sample '{msr_small.ids[5]}' .*: cannot sample frames"):
        data.to_arrays(8, 1)


def test_label_out_of_range_names_the_sample():
    jhmdb = load_pyskl(require("jhmdb_2d.pkl"), split="test1").select(range(4))
    with pytest.raises(ValueError, match=rf"sample '{jhmdb.ids[1]}' .*: has label 14, outside "
                                         r"\[0, 14\)"):
        with_sample(jhmdb, 1, label=14).validate()
    with pytest.raises(ValueError, match=r"has label -1"):
        with_sample(jhmdb, 0, label=-1).validate()


def test_repair_drops_all_zero_and_reports(msr):
    kept, report = msr.repair()
    assert len(kept) == 567
    assert report["all_zero"] == {"count": 1, "ids": ["a13_s09_e02"], "action": "kept"}
    repaired, report = msr.repair(drop_all_zero=True)
    assert report["all_zero"]["action"] == "dropped" and report["num_samples_out"] == 566
    assert "a13_s09_e02" not in repaired.ids and "a13_s09_e02" not in repaired.splits["all"]
    assert len(repaired.splits["xsub_train"]) == 284
    repaired.validate()


def test_repair_interpolates_nonfinite(msr_small):
    keypoint = msr_small.keypoints[1].copy()
    expected = keypoint[0, 1:4, 7, 2].copy()
    keypoint[0, 2, 7, 2] = np.nan  # between two finite frames
    keypoint[0, :, 3, 0] = np.inf  # a whole series: becomes 0
    data = with_sample(msr_small, 1, keypoint)
    unchanged, report = data.repair()
    assert report["nonfinite"]["action"] == "kept" and not np.isfinite(unchanged.keypoints[1]).all()
    repaired, report = data.repair(interpolate_nonfinite=True)
    assert report["nonfinite"] == {"count": 1, "ids": [msr_small.ids[1]],
                                   "values": 1 + keypoint.shape[1], "action": "interpolated"}
    fixed = repaired.keypoints[1]
    np.testing.assert_allclose(fixed[0, 2, 7, 2], (expected[0] + expected[2]) / 2, rtol=1e-6)
    assert not np.any(fixed[0, :, 3, 0])
    repaired.validate()


def test_to_arrays_shapes_and_centring(msr):
    data = msr.split("xsub_train").select(range(10))
    x, y = data.to_arrays(32, 2, transform=CenterOnJoint("kinect20"))
    assert x.shape == (10, 2, 32, 20, 3) and x.dtype == np.float32
    assert y.dtype == np.int32 and y.tolist() == data.labels.tolist()
    np.testing.assert_allclose(x[:, 0, 0, 6], 0.0, atol=1e-6)
    assert not np.any(x[:, 1])
    x_plain, _ = data.to_arrays(32, 1)
    bounds = np.arange(33) * data.keypoints[0].shape[1] // 32
    np.testing.assert_array_equal(x_plain[0], data.keypoints[0][:, (bounds[:-1] + bounds[1:]) // 2])
    unlabeled = SkeletonData(data.keypoints)
    assert unlabeled.to_arrays(4, 1)[1] is None


def test_to_clips_first_clip_is_to_arrays_and_others_sample_each_segment(msr):
    data = msr.split("xsub_val").select(range(6))
    clips = data.to_clips(16, 1, 4, transform=CenterOnJoint("kinect20"), seed=3)
    assert clips.shape == (4, 6, 1, 16, 20, 3) and clips.dtype == np.float32
    np.testing.assert_array_equal(clips[0], data.to_arrays(16, 1, CenterOnJoint("kinect20"))[0])
    np.testing.assert_array_equal(clips, data.to_clips(16, 1, 4, CenterOnJoint("kinect20"), 3))
    assert not np.array_equal(clips[1], clips[2])
    raw = data.to_clips(16, 1, 3)
    sequence = data.keypoints[0][0]  # [T, V, C], T >= 16
    bounds = np.arange(17) * len(sequence) // 16
    for clip in raw[1:, 0, 0]:
        frames = [int(np.flatnonzero(np.all(sequence == frame, axis=(1, 2)))[0]) for frame in clip]
        assert all(low <= f < high for f, low, high in zip(frames, bounds[:-1], bounds[1:]))
    with pytest.raises(ValueError, match="num_clips must be at least 1"):
        data.to_clips(16, 1, 0)


def with_nan(data, index):
    keypoint = data.keypoints[index].copy()
    keypoint[0, 3, 5, 1] = np.nan
    return with_sample(data, index, keypoint)


def test_model_inputs_refuse_a_hand_built_nan_sample_by_name(msr_small):
    data = with_nan(msr_small, 4)
    message = rf"sample '{msr_small.ids[4]}' .*: has 1 NaN/inf coordinates; .*interpolate"
    with pytest.raises(ValueError, match=message):
        data.to_arrays(8, 1)
    with pytest.raises(ValueError, match=message):
        data.to_clips(8, 1, num_clips=2)
    with pytest.raises(ValueError, match=message):
        data.prepare(4, 8, 1)
    x, _ = data.check_finite("interpolate").to_arrays(8, 1)
    assert np.isfinite(x).all()


def test_transform_making_nan_is_refused_by_name(msr_small):
    def broken(sample, rng):
        return sample * np.nan

    with pytest.raises(ValueError, match=rf"sample '{msr_small.ids[0]}' .*: became non-finite"):
        msr_small.prepare(0, 8, 1, transform=broken)


def test_check_finite_refuses_nan_scores_and_interpolates_them_on_request():
    scores = np.ones((1, 3, 2), "float32")
    scores[0, 1, 0] = np.inf
    data = SkeletonData([np.ones((1, 3, 2, 2))], scores=[scores], ids=["only"])
    assert data.check_finite("interpolate").scores[0][0, 1, 0] == 1.0
    with pytest.raises(ValueError, match=r"sample 'only'.*: has 1 NaN/inf scores"):
        data.check_finite()
    with pytest.raises(ValueError, match=r"sample 'only'.*: has 1 NaN/inf scores"):
        data.validate()
    with pytest.raises(ValueError, match="nonfinite must be one of"):
        data.check_finite("ignore")
