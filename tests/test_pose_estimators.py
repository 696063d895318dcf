"""Readers of pose-estimator outputs (OpenPose folders, COCO keypoint results), their person
tracking, `save_pyskl`, and `load_skeletons` picking them by path."""

import json

import numpy as np
import pytest

from keras_skeletonmae.data import (SkeletonData, load_coco_results, load_openpose_dir,
                                    load_pyskl, save_pyskl, track_persons)
from keras_skeletonmae.data.any_format import load_skeletons


def _person(x, y, joints, score=0.9):
    """A flat `[x, y, c] * joints` list around `(x, y)`, the last joint undetected (0, 0, 0)."""
    values = []
    for j in range(joints):
        values += [x + j, y + 2 * j, score] if j < joints - 1 else [0.0, 0.0, 0.0]
    return values


def _openpose_folder(folder, name="clip", frames=4, joints=25, swap=True):
    """Two people (left at x=100, right at x=500, walking right) whose order in `people`
    swaps every other frame."""
    folder.mkdir(exist_ok=True)
    for t in range(frames):
        people = [{"person_id": [-1], "pose_keypoints_2d": _person(100 + 5 * t, 50, joints),
                   "face_keypoints_2d": []},
                  {"person_id": [-1], "pose_keypoints_2d": _person(500 + 5 * t, 60, joints)}]
        if swap and t % 2:
            people.reverse()
        (folder / f"{name}_{t:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people}))
    return folder


def test_openpose_folder_tracks_two_people_across_order_swaps(tmp_path):
    data = load_openpose_dir(_openpose_folder(tmp_path / "op"))
    assert data.layout == "openpose25" and data.ids == ["clip"]
    keypoints, scores = data.keypoints[0], data.scores[0]
    assert keypoints.shape == (2, 4, 25, 2) and scores.shape == (2, 4, 25)
    # Each person keeps their identity although the file lists them in swapped order.
    np.testing.assert_allclose(keypoints[0, :, 0, 0], [100, 105, 110, 115])
    np.testing.assert_allclose(keypoints[1, :, 0, 0], [500, 505, 510, 515])
    # OpenPose's undetected joint (0, 0, 0) stays 0; confidences are the scores.
    assert not keypoints[:, :, -1].any() and not scores[:, :, -1].any()
    np.testing.assert_allclose(scores[:, :, 0], 0.9)


def test_openpose_coco18_frames_by_number_and_several_videos(tmp_path):
    folder = _openpose_folder(tmp_path / "op", name="b", frames=3, joints=18, swap=False)
    _openpose_folder(folder, name="a", frames=2, joints=18, swap=False)
    # Frame 2 of video "b" missing: a frame without detection; frame numbers, not names, order.
    (folder / "b_000000000002_keypoints.json").unlink()
    (folder / "b_000000000010_keypoints.json").write_text(json.dumps(
        {"version": 1.3, "people": [{"pose_keypoints_2d": _person(112, 50, 18)}]}))
    data = load_skeletons(folder)
    assert data.layout == "openpose18" and sorted(data.ids) == ["a", "b"]
    b = data.keypoints[data.ids.index("b")]
    assert b.shape == (2, 11, 18, 2)
    assert b[:, 2:10].sum() == 0 and b[0, 10, 0, 0] == 112


def test_max_persons_keeps_the_most_present_and_warns(tmp_path):
    frames = []
    for t in range(5):
        detections = [(np.array([[10.0 + t, 10.0], [20.0, 30.0]]), np.ones(2))]
        if t < 3:
            detections.append((np.array([[200.0, 10.0], [210.0, 30.0]]), np.ones(2)))
        if t == 4:
            detections.append((np.array([[900.0, 10.0], [910.0, 30.0]]), np.ones(2)))
        frames.append(detections)
    with pytest.warns(UserWarning, match=r"clip.json: tracked 3 persons; kept the 2 .*"
                                         r"left out 1 present in \[1\] frames"):
        keypoints, _ = track_persons(frames, max_persons=2, where="clip.json")
    assert keypoints.shape == (2, 5, 2, 2)
    assert keypoints[0, :, 0, 0].tolist() == [10, 11, 12, 13, 14]
    assert keypoints[1, :3, 0, 0].tolist() == [200] * 3 and not keypoints[1, 3:].any()
    assert track_persons(frames, max_persons=None)[0].shape[0] == 3


def _coco_results(path, image_ids, joints=17):
    entries = []
    for image_id in image_ids:
        number = int(str(image_id).split(".")[0])
        for x in (100, 600):
            entries.append({"image_id": image_id, "category_id": 1, "score": 0.8,
                            "keypoints": _person(x + number, 40, joints)})
    path.write_text(json.dumps(entries))
    return path


def test_coco_results_with_missing_frames(tmp_path):
    data = load_skeletons(_coco_results(tmp_path / "yolo.json", [3, 0, 1, 5]))
    assert data.layout == "coco17" and data.ids == ["yolo"]
    keypoints = data.keypoints[0]
    assert keypoints.shape == (2, 6, 17, 2)
    # Frames 2 and 4 had no detection: zeros; the others in image_id order, per person.
    assert keypoints[:, [2, 4]].sum() == 0
    np.testing.assert_allclose(keypoints[0, [0, 1, 3, 5], 0, 0], [100, 101, 103, 105])
    np.testing.assert_allclose(keypoints[1, [0, 1, 3, 5], 0, 0], [600, 601, 603, 605])
    # AlphaPose names its images and writes Halpe-26.
    halpe = load_coco_results(_coco_results(tmp_path / "alphapose.json",
                                            ["10.jpg", "2.jpg", "1.jpg"], joints=26))
    assert halpe.layout == "halpe26" and halpe.keypoints[0].shape == (2, 10, 26, 2)
    np.testing.assert_allclose(halpe.keypoints[0][0, [0, 1, 9], 0, 0], [101, 102, 110])


@pytest.mark.parametrize("content, fragments", [
    ({"version": 1.3, "people": []}, ["one OpenPose frame", "pass the folder"]),
    ({"annotations": []}, ["not a COCO keypoint-results file", "got a dict"]),
    ([], ["holds no detections"]),
    ([{"image_id": 0, "keypoints": [1, 2, 1] * 17}, {"image_id": 1}],
     ["detection 1", "'image_id' and 'keypoints'"]),
    ([{"image_id": 0, "keypoints": [1, 2, 1] * 16}],
     ["detection 0 (image_id 0)", "51 (17 joints", "or 78 (26 joints", "got 48"]),
    ([{"image_id": 4, "keypoints": ["a", 2, 1] * 17}], ["image_id 4", "must be numbers"]),
    ([{"image_id": 0, "keypoints": [1, 2, 1] * 17}, {"image_id": 1, "keypoints": [1, 2, 1] * 26}],
     ["mixes skeletons of [17, 26] joints"]),
    ([{"image_id": 0, "keypoints": [0, 0, 0] * 17}], ["no person detected in any of its 1"]),
])
def test_bad_coco_results_are_named(tmp_path, content, fragments):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError) as info:
        load_skeletons(path)
    for fragment in ["bad.json", *fragments]:
        assert fragment in str(info.value)


def test_bad_openpose_files_are_named(tmp_path):
    folder = _openpose_folder(tmp_path / "op", frames=2)
    bad = folder / "clip_000000000001_keypoints.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"clip_000000000001_keypoints.json: not a JSON file"):
        load_skeletons(folder)
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1, 2, 1]},
                                          {"face_keypoints_2d": []}]}))
    with pytest.raises(ValueError, match=r"000001_keypoints.json, person 0: expected a list of "
                                         r"75 \(25 joints"):
        load_skeletons(folder)
    bad.write_text(json.dumps({"people": [{"face_keypoints_2d": []}]}))
    with pytest.raises(ValueError, match=r"000001_keypoints.json, person 0: has no "
                                         r"'pose_keypoints_2d'"):
        load_skeletons(folder)
    bad.write_text(json.dumps([]))
    with pytest.raises(ValueError, match="000001_keypoints.json: not an OpenPose keypoint file"):
        load_skeletons(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no \\*.skeleton files"):
        load_skeletons(tmp_path / "empty")


def test_nonfinite_openpose_values_are_refused_or_interpolated(tmp_path):
    folder = _openpose_folder(tmp_path / "op", frames=3, swap=False)
    path = folder / "clip_000000000001_keypoints.json"
    content = json.loads(path.read_text())
    content["people"][0]["pose_keypoints_2d"][3] = float("nan")
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="sample 'clip' from .*op: has 1 NaN/inf coordinates"):
        load_skeletons(folder)
    repaired = load_skeletons(folder, nonfinite="interpolate")
    assert np.isfinite(repaired.keypoints[0]).all()


def test_save_pyskl_round_trip_keeps_layout_scores_labels_and_shapes(tmp_path):
    rng = np.random.default_rng(0)
    data = SkeletonData([rng.normal(size=(1, 5, 33, 3)), rng.normal(size=(1, 7, 33, 3))],
                        scores=[rng.uniform(size=(1, 5, 33)), rng.uniform(size=(1, 7, 33))],
                        labels=[1, 0], ids=["drink", "wave"], class_names=["wave", "drink"],
                        layout="mediapipe33", splits={"train": ["drink"]})
    path = save_pyskl(data, tmp_path / "mine.pkl", img_shapes={"drink": (1080, 1920)})
    back = load_pyskl(path)
    assert back.layout == "mediapipe33" and back.ids == data.ids
    assert back.class_names == ["wave", "drink"] and back.labels.tolist() == [1, 0]
    assert back.splits == {"train": ["drink"]}
    for a, b in zip(back.keypoints + back.scores, data.keypoints + data.scores):
        np.testing.assert_array_equal(a, b)
    from keras_skeletonmae.data import safe_load_pickle
    annotations = safe_load_pickle(path)["annotations"]
    assert annotations[0]["img_shape"] == (1080, 1920) and "img_shape" not in annotations[1]
    assert annotations[1]["total_frames"] == 7
