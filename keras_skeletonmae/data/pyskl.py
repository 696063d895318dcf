"""PYSKL / MMAction2 skeleton annotation pickles, read with a restricted unpickler."""

import pickle
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData

# What numpy arrays, dtypes and scalars need to be rebuilt, plus plain Python values.
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # protocol-2 pickles store numpy's raw bytes through it
    *(("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "int",
                                      "float", "complex", "bool", "str", "bytes", "bytearray")),
})

# meta['num_node'] (or the joint count) -> the built-in layout such files use.
_LAYOUT_BY_NUM_JOINTS = {20: "kinect20", 15: "jhmdb15", 17: "coco17", 25: "ntu25"}


class _RefusedGlobal(ValueError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path):
        super().__init__(file)
        self._path = path

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise _RefusedGlobal(
                f"refusing to unpickle {module}.{name} from {self._path}: annotation pickles "
                "may only hold numpy arrays, dicts, lists, tuples, scalars and strings")
        return super().find_class(module, name)


def safe_load_pickle(path):
    """Unpickle `path` allowing only numpy arrays and plain Python values (no code)."""
    path = Path(path)
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, path).load()
        except _RefusedGlobal:
            raise
        except Exception as error:  # truncated or corrupt files fail in many ways
            raise ValueError(f"cannot read {path}: truncated or corrupt pickle "
                             f"({type(error).__name__}: {error}).") from error


def load_pyskl(path, split=None):
    """Read a PYSKL annotation pickle `{'split', 'annotations', 'meta'?}` as `SkeletonData`.

    Each annotation needs `frame_dir` (the id) and `keypoint` `[M, T, V, C]`; `label`,
    `keypoint_score` `[M, T, V]` and `total_frames` (checked against T) are optional.
    `meta['class_names']` gives class names, `meta['num_node']` (else V) the layout guess:
    20 kinect20, 15 jhmdb15, 17 coco17, 25 ntu25. With `split`, returns only that split.
    """
    path = Path(path)
    content = safe_load_pickle(path)
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        raise ValueError(f"{path} is not a PYSKL annotation file: expected a dict with an "
                         "'annotations' list.")
    annotations = content["annotations"]
    for i, anno in enumerate(annotations):
        if not isinstance(anno, dict) or not {"frame_dir", "keypoint"} <= set(anno):
            raise ValueError(f"{path}: annotation {i} is not a dict with 'frame_dir' and "
                             "'keypoint'.")
    labelled = [("label" in anno) for anno in annotations]
    if any(labelled) and not all(labelled):
        raise ValueError(f"{path}: sample '{annotations[labelled.index(False)]['frame_dir']}' "
                         "has no label while others have one.")
    scored = bool(annotations) and all("keypoint_score" in anno for anno in annotations)
    meta = content.get("meta") or {}
    num_joints = meta.get("num_node")
    if num_joints is None and annotations and np.ndim(annotations[0]["keypoint"]) == 4:
        num_joints = np.shape(annotations[0]["keypoint"])[2]
    data = SkeletonData(
        keypoints=[anno["keypoint"] for anno in annotations],
        scores=[anno["keypoint_score"] for anno in annotations] if scored else None,
        labels=[anno["label"] for anno in annotations] if any(labelled) else None,
        ids=[anno["frame_dir"] for anno in annotations],
        class_names=meta.get("class_names"),
        layout=_LAYOUT_BY_NUM_JOINTS.get(num_joints),
        splits=content.get("split") or {},
        source=path,
    )
    for anno, keypoint in zip(annotations, data.keypoints):
        if anno.get("total_frames", keypoint.shape[1]) != keypoint.shape[1]:
            raise ValueError(f"{path}: sample '{anno['frame_dir']}' has total_frames="
                             f"{anno['total_frames']} but keypoint shape {keypoint.shape} "
                             "[M, T, V, C].")
    return data if split is None else data.split(split)
