"""Convert skeleton data from one layout to another by a documented joint correspondence.

`CONVERSIONS` holds one table per (source, target) layout pair: each target joint is either a
source joint (copied) or a weighted mean of several (derived), e.g. a Kinect hip centre from the
two hips. `conversion_report` lists which joints a conversion copies and which it derives, and
how; `convert_layout` applies it to a `SkeletonData`.

Joints only, not frames of reference: coordinates keep their units, origin and axis directions
(MediaPipe world landmarks have y down, Kinect v1 skeletons y up; a model sees them after the
centring and normalisation transforms). Derived joints approximate the target's joint from the
source's landmarks; the weights of the Kinect spine and neck joints were measured on MSR
Action3D (Kinect v1) and NTU RGB+D (Kinect v2) skeletons, those of the JHMDB neck and belly on
JHMDB's puppet joints.
"""

import numpy as np

from keras_skeletonmae.layouts.builtin import COCO17
from keras_skeletonmae.layouts.layout import get_layout

_SIDES = ("left", "right")


def _copied(*joints):
    """`{joint: joint}` for the same joint names in source and target; `left_`/`right_` both."""
    return {f"{side}_{joint}": f"{side}_{joint}" for joint in joints for side in _SIDES}


def _mean(*joints):
    return {joint: 1.0 / len(joints) for joint in joints}


def _each_side(weights):
    """`{left_<t>: {left_<s>: w}, right_<t>: {right_<s>: w}}` from `{t: {s: w}}` (or `{t: s}`)."""
    table = {}
    for target, source in weights.items():
        for side in _SIDES:
            table[f"{side}_{target}"] = (f"{side}_{source}" if isinstance(source, str) else
                                         {f"{side}_{s}": w for s, w in source.items()})
    return table


_LIMBS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")

# Kinect spine joints along the hips' and shoulders' midpoints (measured on MSR Action3D and
# NTU RGB+D: the spine/spine_mid sits 0.6 of the way up, the NTU neck 0.35 of the way from the
# shoulders' midpoint to the head); the head is the ears' midpoint, a hand the knuckles' midpoint,
# a foot the toe tip. Means only, no extrapolation: Kinect v1 puts its shoulder centre a little
# above the shoulders' midpoint, which is where it lands here.
_MEDIAPIPE_TRUNK = {
    "hip_mid": _mean("left_hip", "right_hip"),
    "spine": {"left_hip": 0.2, "right_hip": 0.2, "left_shoulder": 0.3, "right_shoulder": 0.3},
    "shoulder_mid": _mean("left_shoulder", "right_shoulder"),
    "head": _mean("left_ear", "right_ear"),
    "neck": {"left_shoulder": 0.325, "right_shoulder": 0.325, "left_ear": 0.175,
             "right_ear": 0.175},
}

# (source, target) -> {target joint: source joint (copied) or {source joint: weight} (derived,
# weights summing to 1)}. Every target joint appears exactly once. A table added here for your
# own layouts' names is used by `convert_layout` like the built-in ones.
CONVERSIONS = {
    ("mediapipe33", "coco17"): {name: name for name in COCO17.joint_names},
    ("mediapipe33", "kinect20"): {
        **_copied(*_LIMBS),
        "shoulder_center": _MEDIAPIPE_TRUNK["shoulder_mid"],
        "spine": _MEDIAPIPE_TRUNK["spine"],
        "hip_center": _MEDIAPIPE_TRUNK["hip_mid"],
        "head": _MEDIAPIPE_TRUNK["head"],
        **_each_side({"hand": _mean("index", "pinky"), "foot": "foot_index"}),
    },
    ("mediapipe33", "ntu25"): {
        **_copied(*_LIMBS),
        "spine_base": _MEDIAPIPE_TRUNK["hip_mid"],
        "spine_mid": _MEDIAPIPE_TRUNK["spine"],
        "spine_shoulder": _MEDIAPIPE_TRUNK["shoulder_mid"],
        "neck": _MEDIAPIPE_TRUNK["neck"],
        "head": _MEDIAPIPE_TRUNK["head"],
        **_each_side({"hand": _mean("index", "pinky"), "hand_tip": "index", "thumb": "thumb",
                      "foot": "foot_index"}),
    },
    # JHMDB's neck and belly as fitted on JHMDB's puppet joints: neck = shoulders' midpoint
    # + 0.384 of the way to the head, belly = hips' midpoint + 0.236 of the way to the
    # shoulders' midpoint; the head taken as the ears' midpoint.
    ("coco17", "jhmdb15"): {
        **_copied(*_LIMBS),
        "neck": {"left_shoulder": 0.308, "right_shoulder": 0.308, "left_ear": 0.192,
                 "right_ear": 0.192},
        "belly": {"left_hip": 0.382, "right_hip": 0.382, "left_shoulder": 0.118,
                  "right_shoulder": 0.118},
        "head": _mean("left_ear", "right_ear"),
    },
    # JHMDB has no face points: the nose, eyes and ears all take the head's position.
    ("jhmdb15", "coco17"): {
        **_copied(*_LIMBS),
        **{face: "head" for face in COCO17.joint_names[:5]},
    },
    ("openpose18", "coco17"): {name: name for name in COCO17.joint_names},
    ("openpose25", "coco17"): {name: name for name in COCO17.joint_names},
    ("halpe26", "coco17"): {name: name for name in COCO17.joint_names},
    # OpenPose's neck is defined as the shoulders' midpoint.
    ("coco17", "openpose18"): {
        **{name: name for name in COCO17.joint_names},
        "neck": _mean("left_shoulder", "right_shoulder"),
    },
    ("openpose25", "openpose18"): {
        **{name: name for name in COCO17.joint_names},
        "neck": "neck",
    },
    ("halpe26", "openpose25"): {
        **{name: name for name in COCO17.joint_names},
        "neck": "neck",
        "mid_hip": "mid_hip",
        **_copied("big_toe", "small_toe", "heel"),
    },
}


def supported_targets(source):
    """The layouts data of layout `source` converts to (itself included), sorted.

    Args:
        source: str or `SkeletonLayout`. The data's layout.

    Returns:
        A sorted list of layout names, `source` included.

    Example:
        >>> supported_targets("jhmdb15")
        ['coco17', 'jhmdb15']
    """
    name = get_layout(source).name
    return sorted({name} | {target for src, target in CONVERSIONS if src == name})


def _plan(source, target):
    """`[(target joint index, (source indices), (weights))]` in target joint order; raises a
    `ValueError` for a pair without a table or a table that does not fit the two layouts."""
    if source == target:
        return [(j, (j,), (1.0,)) for j in range(source.num_joints)]
    table = CONVERSIONS.get((source.name, target.name))
    if table is None:
        raise ValueError(f"No conversion from layout '{source.name}' to '{target.name}'; "
                         f"'{source.name}' converts to {supported_targets(source)}.")
    pair = f"The '{source.name}' -> '{target.name}' conversion table"
    if set(table) != set(target.joint_names):
        missing = sorted(set(target.joint_names) - set(table))
        unknown = sorted(set(table) - set(target.joint_names))
        raise ValueError(f"{pair} must cover every joint of '{target.name}' once; it lacks "
                         f"{missing} and has unknown joints {unknown}.")
    plan = []
    for j, name in enumerate(target.joint_names):
        weights = {table[name]: 1.0} if isinstance(table[name], str) else table[name]
        unknown = sorted(set(weights) - set(source.joint_names))
        if unknown:
            raise ValueError(f"{pair} derives '{name}' from {unknown}, which '{source.name}' "
                             "lacks.")
        if min(weights.values()) <= 0 or not np.isclose(sum(weights.values()), 1.0):
            raise ValueError(f"{pair} weights {weights} for '{name}' must be positive and sum "
                             "to 1.")
        plan.append((j, tuple(source.joint_names.index(s) for s in weights),
                     tuple(float(w) for w in weights.values())))
    return plan


def conversion_report(source, to):
    """How `convert_layout` builds each joint of `to` from layout `source`.

    Args:
        source: str or `SkeletonLayout`. The data's layout.
        to: str or `SkeletonLayout`. The target layout.

    Returns:
        dict with the `"source"` and `"target"` layout names, `"copied"`: target joint -> the
        source joint it copies, and `"derived"`:
        target joint -> `{source joint: weight}` of the weighted mean it is (missing when any of
        those is missing, scored by their lowest score).

    Example:
        >>> conversion_report("coco17", "openpose18")["derived"]
        {'neck': {'left_shoulder': 0.5, 'right_shoulder': 0.5}}
    """
    source, target = get_layout(source), get_layout(to)
    copied, derived = {}, {}
    for j, indices, weights in _plan(source, target):
        name = target.joint_names[j]
        if len(indices) == 1:
            copied[name] = source.joint_names[indices[0]]
        else:
            derived[name] = {source.joint_names[i]: w for i, w in zip(indices, weights)}
    return {"source": source.name, "target": target.name, "copied": copied, "derived": derived}


def convert_layout(data, to):
    """`data` in layout `to`: copied joints as they are, derived joints as weighted means.

    See `conversion_report` for what each pair does. A derived joint is missing (all zeros,
    score 0) when any joint it is derived from is missing (all-zero coordinates), rather than a
    mean pulled towards the origin; its score (in `scores` and in a score channel alike) is the
    lowest of its sources'. Copied joints keep their coordinates and scores exactly. The channel
    count is kept: the target layout must take as many coordinates as the data has.

    Args:
        data: `SkeletonData`. Samples whose `layout` is set.
        to: str or `SkeletonLayout`. The target layout.

    Returns:
        a new `SkeletonData` with layout `to` and the same samples, labels, ids and splits.

    Example:
        >>> import numpy as np
        >>> from keras_skeletonmae.data import SkeletonData
        >>> data = SkeletonData([np.random.rand(1, 8, 17, 2)], layout="coco17")
        >>> convert_layout(data, "jhmdb15").keypoints[0].shape
        (1, 8, 15, 2)
    """
    # Imported here: the data package imports the layouts package.
    from keras_skeletonmae.data.skeleton_data import SkeletonData

    where = f"SkeletonData from {data.source}" if data.source else "SkeletonData"
    source = data.skeleton_layout
    if source is None:
        raise ValueError(f"{where}: has no layout; set one (SkeletonData(..., layout=...)) "
                         "before converting it.")
    target = get_layout(to)
    plan = _plan(source, target)
    indices, weights = _padded(plan)
    keypoints = []
    scores = None if data.scores is None else []
    for n, sample in enumerate(data.keypoints):
        if sample.shape[2] != source.num_joints:
            raise ValueError(f"{where}: sample '{data.ids[n]}' has {sample.shape[2]} joints, but "
                             f"layout '{source.name}' has {source.num_joints}.")
        coordinates = _check_channels(where, source, target, sample.shape[-1])
        present = np.any(sample[..., :coordinates] != 0, axis=-1)[..., indices]  # [M, T, U, L]
        valid = weights > 0
        # A copy keeps its joint as it is; a mean needs every one of its sources.
        keep = np.all(present | ~valid, axis=-1) | (valid.sum(axis=-1) == 1)
        gathered = sample[:, :, indices, :]  # [M, T, U, L, C]
        out = np.empty(sample.shape[:2] + (len(plan), sample.shape[-1]), dtype="float32")
        out[..., :coordinates] = np.sum(gathered[..., :coordinates] * weights[..., None],
                                        axis=-2, where=valid[..., None])
        if sample.shape[-1] > coordinates:  # a score channel
            out[..., coordinates] = _lowest(gathered[..., coordinates], valid)
        keypoints.append(np.where(keep[..., None], out, 0.0).astype("float32"))
        if scores is not None:
            scores.append(np.where(keep, _lowest(data.scores[n][..., indices], valid), 0.0)
                          .astype("float32"))
    return SkeletonData(keypoints, scores=scores, labels=data.labels, ids=data.ids,
                        class_names=data.class_names, layout=target, splits=data.splits,
                        source=data.source)


def _padded(plan):
    """`(indices, weights)`, `[U, L]` each: every target joint's sources, padded with weight 0."""
    width = max(len(indices) for _, indices, _ in plan)
    indices = np.array([list(i) + [i[0]] * (width - len(i)) for _, i, _ in plan])
    weights = np.array([list(w) + [0.0] * (width - len(w)) for _, _, w in plan], dtype="float32")
    return indices, weights


def _lowest(values, valid):
    """The minimum over the last axis of `values` where `valid` (padding excluded)."""
    return np.min(values, axis=-1, where=valid, initial=np.inf)


def _check_channels(where, source, target, channels):
    """The number of coordinate channels, which the target layout must take as they are."""
    coordinates = source.coordinate_channels(channels)
    if target.num_dims is not None and target.num_dims != coordinates:
        hint = ""
        if source.num_dims is None and coordinates == 3:
            hint = (f" For 2D image landmarks keep x, y only (a visibility belongs in `scores`)"
                    f" before converting to '{target.name}'.")
        raise ValueError(f"{where}: has {coordinates} coordinates per joint ({channels} "
                         f"channels), but layout '{target.name}' takes {target.num_dims}; "
                         "convert_layout maps joints and keeps their coordinates as they are."
                         f"{hint}")
    return coordinates
