"""Pose-estimator outputs: an OpenPose output folder and a COCO keypoint-results JSON file
(MMPose, AlphaPose, YOLO-pose), read as `SkeletonData` with their confidences as `scores`.

These tools detect people frame by frame without identities, so the detections of consecutive
frames are linked into persons by `track_persons` (greedy nearest-centre matching).
"""

import json
import re
import warnings
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData, checked_read

# Joints per skeleton -> layout, as each tool writes them.
OPENPOSE_LAYOUTS = {25: "openpose25", 18: "openpose18"}
COCO_RESULT_LAYOUTS = {17: "coco17", 26: "halpe26"}
OPENPOSE_FILE = re.compile(r"^(?P<name>.*?)_?(?P<frame>\d+)_keypoints\.json$")


def _box(keypoints):
    """`(centre, diagonal)` of the detected joints (any non-zero coordinate), or None. NaN/inf
    joints are left out here; the reader's `nonfinite` policy decides about them."""
    present = np.any(keypoints != 0, axis=-1) & np.all(np.isfinite(keypoints), axis=-1)
    if not present.any():
        return None
    points = keypoints[present]
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2, float(np.linalg.norm(high - low))


def track_persons(frames, max_persons=2, where="", max_distance=0.5):
    """Link per-frame detections into persons by greedy nearest-centre matching.

    Frame by frame, every (person, detection) pair is ranked by the distance between the
    person's last detected bounding-box centre and the detection's; pairs are accepted closest
    first, each person and detection once, while the distance is at most `max_distance` times
    the larger of the two boxes' diagonals. A detection left over starts a new person. A person
    missing from some frames is zeros there (not detected) and can be picked up again later.

    Limits: identities can swap when two people cross or overlap, and a person who reappears
    far from where they were last seen becomes a new person; nothing re-identifies them by
    appearance. Detections without any detected joint carry no position and are skipped.

    Args:
        frames: list over frames of lists of detections `(keypoints [V, C], scores [V])`.
        max_persons: int or None; keep the persons present in most frames (ties: the first
            seen), warning how many were left out. None keeps all.
        where: the file the detections come from, for messages.
        max_distance: float, the largest centre distance accepted, in box diagonals.

    Returns:
        `(keypoints [M, T, V, C], scores [M, T, V])`, persons ordered by how many frames they
        appear in.

    Example:
        >>> one = (np.array([[1.0, 1.0], [2.0, 3.0]]), np.ones(2))
        >>> track_persons([[one], [], [one]])[0].shape
        (1, 3, 2, 2)
    """
    tracks = []  # each: {"frames": {t: (keypoints, scores)}, "box": (centre, diagonal), "first"}
    shape = None
    for t, detections in enumerate(frames):
        boxes = []
        for keypoints, scores in detections:
            shape = shape or (keypoints.shape, scores.shape)
            boxes.append(_box(keypoints))
        pairs = sorted((float(np.linalg.norm(track["box"][0] - box[0])), i, j)
                       for i, track in enumerate(tracks) for j, box in enumerate(boxes)
                       if box is not None
                       and np.linalg.norm(track["box"][0] - box[0])
                       <= max_distance * max(track["box"][1], box[1]))
        taken_tracks, taken_detections = set(), set()
        for _, i, j in pairs:
            if i in taken_tracks or j in taken_detections:
                continue
            taken_tracks.add(i)
            taken_detections.add(j)
            tracks[i]["frames"][t] = detections[j]
            tracks[i]["box"] = boxes[j]
        for j, box in enumerate(boxes):
            if box is not None and j not in taken_detections:
                tracks.append({"frames": {t: detections[j]}, "box": box, "first": t})
    if not tracks:
        raise ValueError(f"{where}: no person detected in any of its {len(frames)} frames.")
    tracks.sort(key=lambda track: (-len(track["frames"]), track["first"]))
    if max_persons is not None and len(tracks) > max_persons:
        left_out = tracks[max_persons:]
        warnings.warn(
            f"{where}: tracked {len(tracks)} persons; kept the {max_persons} present in most "
            f"frames ({[len(t['frames']) for t in tracks[:max_persons]]} of {len(frames)}), left "
            f"out {len(left_out)} present in {[len(t['frames']) for t in left_out]} frames "
            "(max_persons sets how many are kept).", stacklevel=3)
        tracks = tracks[:max_persons]
    (joints, channels), _ = shape
    keypoints = np.zeros((len(tracks), len(frames), joints, channels), dtype="float32")
    scores = np.zeros((len(tracks), len(frames), joints), dtype="float32")
    for m, track in enumerate(tracks):
        for t, (k, s) in track["frames"].items():
            keypoints[m, t], scores[m, t] = k, s
    return keypoints, scores


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a JSON file ({error}).") from None


def _triplets(values, path, what, sizes):
    """`(xy [V, 2], score [V])` from a flat `[x0, y0, c0, x1, ...]` list of `sizes` joints."""
    expected = " or ".join(f"{3 * v} ({v} joints x (x, y, confidence))" for v in sizes)
    if not isinstance(values, list) or len(values) not in {3 * v for v in sizes}:
        length = len(values) if isinstance(values, list) else type(values).__name__
        raise ValueError(f"{path}, {what}: expected a list of {expected} numbers, got {length}.")
    try:
        array = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(f"{path}, {what}: the keypoints must be numbers, got "
                         f"{values!r:.80}.") from None
    array = array.reshape(-1, 3)
    return array[:, :2], array[:, 2]


def _one_layout(counts, path, names):
    """The single layout of the joint counts seen in a file or folder."""
    if len(counts) > 1:
        raise ValueError(f"{path}: mixes skeletons of {sorted(counts)} joints; expected one "
                         "keypoint format throughout.")
    return names[counts.pop()]


def load_openpose_dir(directory, max_persons=2, nonfinite="raise"):
    """An OpenPose output folder (`--write_json`) as `SkeletonData`: one sample per video.

    OpenPose writes one `<name>_<frame number>_keypoints.json` per frame, holding
    `{"version": ..., "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...], ...}]}`. Frames
    are ordered by the number in the name (numbers missing in between are frames without any
    detection); files with different `<name>`s are different samples (id = name). BODY_25
    (25 joints) reads as layout `openpose25`, COCO-18 (18) as `openpose18`; x, y are the
    coordinates (pixels, as OpenPose wrote them), the confidence goes to `scores`. Undetected
    joints, (0, 0, 0) in OpenPose, stay 0. People are linked across frames by `track_persons`
    (OpenPose's `person_id` is -1 unless its tracking is on, so it is not used).

    Args:
        directory: the folder of `*_keypoints.json` files.
        max_persons: int or None; how many tracked persons to keep (see `track_persons`).
        nonfinite: `"raise"` (default) refuses NaN/inf values naming the sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Example:
        data = load_openpose_dir("output_json/")  # openpose --video v.mp4 --write_json output_json/
    """
    directory = Path(directory)
    files = sorted(directory.glob("*_keypoints.json"))
    if not files:
        raise ValueError(f"no OpenPose *_keypoints.json files in {directory}.")
    videos = {}  # name -> {frame number: path}
    for path in files:
        match = OPENPOSE_FILE.match(path.name)
        if match is None:
            raise ValueError(f"{path}: expected an OpenPose file name <name>_<frame number>"
                             "_keypoints.json.")
        videos.setdefault(match["name"], {})[int(match["frame"])] = path
    keypoints, scores, counts = [], [], set()
    for name, numbered in videos.items():
        first = min(numbered)
        frames = [[] for _ in range(max(numbered) - first + 1)]
        for number, path in numbered.items():
            content = _read_json(path)
            if not isinstance(content, dict) or not isinstance(content.get("people"), list):
                raise ValueError(f"{path}: not an OpenPose keypoint file: expected a dict with a "
                                 "'people' list.")
            for p, person in enumerate(content["people"]):
                if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
                    raise ValueError(f"{path}, person {p}: has no 'pose_keypoints_2d' (run "
                                     "OpenPose with its body model).")
                xy, score = _triplets(person["pose_keypoints_2d"], path, f"person {p}",
                                      sorted(OPENPOSE_LAYOUTS, reverse=True))
                counts.add(len(score))
                frames[number - first].append((xy, score))
        k, s = track_persons(frames, max_persons, f"{directory / name}*_keypoints.json")
        keypoints.append(k)
        scores.append(s)
    layout = _one_layout(counts, directory, OPENPOSE_LAYOUTS)
    return checked_read(SkeletonData(keypoints, scores, ids=list(videos), layout=layout,
                                     source=directory), nonfinite)


def _frame_order(image_ids):
    """`{image_id: frame index}`: integer ids (or names whose last digits are a number, as
    `"000012.jpg"`) by number, the frames missing in between kept as empty frames; other
    ids in sorted text order."""
    numbers = {}
    for image_id in image_ids:
        if isinstance(image_id, int) and not isinstance(image_id, bool):
            numbers[image_id] = image_id
        else:
            digits = re.findall(r"\d+", str(image_id))
            numbers[image_id] = int(digits[-1]) if digits else None
    values = list(numbers.values())
    if None in values or len(set(values)) != len(values):
        return {image_id: t for t, image_id in enumerate(sorted(image_ids, key=str))}
    first = min(values)
    return {image_id: number - first for image_id, number in numbers.items()}


def load_coco_results(path, max_persons=2, nonfinite="raise"):
    """A COCO keypoint-results JSON file (one video) as a one-sample `SkeletonData`.

    The file is a list of detections `{"image_id", "category_id", "keypoints": [x, y, v] * V,
    "score"}`, as MMPose, AlphaPose and YOLO-pose write them: V = 17 reads as layout `coco17`,
    V = 26 (AlphaPose Halpe-26) as `halpe26`; v goes to `scores`. Frames are the image ids in
    order: numerically when they are numbers (or file names ending in one, as AlphaPose's
    `"12.jpg"`), with frames missing in between kept as frames without detection (these tools
    write nothing for them); else in sorted text order. Detections are linked across frames by
    `track_persons`. The id is the file stem.

    Args:
        path: the `.json` file.
        max_persons: int or None; how many tracked persons to keep (see `track_persons`).
        nonfinite: `"raise"` (default) refuses NaN/inf values naming the sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Example:
        data = load_coco_results("work_dirs/results.json")
    """
    path = Path(path)
    content = _read_json(path)
    if isinstance(content, dict) and "people" in content:
        raise ValueError(f"{path} is one OpenPose frame; pass the folder holding all of the "
                         "video's *_keypoints.json files.")
    if not isinstance(content, list):
        raise ValueError(f"{path}: not a COCO keypoint-results file: expected a list of "
                         "{'image_id', 'keypoints', ...} detections, got a "
                         f"{type(content).__name__}.")
    if not content:
        raise ValueError(f"{path}: holds no detections.")
    detections, counts = [], set()
    for i, entry in enumerate(content):
        if not isinstance(entry, dict) or not {"image_id", "keypoints"} <= set(entry):
            raise ValueError(f"{path}, detection {i}: expected a dict with 'image_id' and "
                             f"'keypoints', got {entry!r:.80}.")
        if not isinstance(entry["image_id"], (int, str)) or isinstance(entry["image_id"], bool):
            raise ValueError(f"{path}, detection {i}: image_id must be a number or a name, got "
                             f"{entry['image_id']!r:.40}.")
        xy, score = _triplets(entry["keypoints"], path,
                              f"detection {i} (image_id {entry['image_id']!r})",
                              sorted(COCO_RESULT_LAYOUTS))
        counts.add(len(score))
        detections.append((entry["image_id"], xy, score))
    order = _frame_order({image_id for image_id, _, _ in detections})
    frames = [[] for _ in range(max(order.values()) + 1)]
    for image_id, xy, score in detections:
        frames[order[image_id]].append((xy, score))
    layout = _one_layout(counts, path, COCO_RESULT_LAYOUTS)
    keypoints, scores = track_persons(frames, max_persons, str(path))
    return checked_read(SkeletonData([keypoints], [scores], ids=[path.stem], layout=layout,
                                     source=path), nonfinite)
