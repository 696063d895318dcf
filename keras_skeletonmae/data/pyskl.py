"""PYSKL / MMAction2 skeleton annotation pickles, read with a restricted unpickler."""

import pickle
import re
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData, checked_read
from keras_skeletonmae.layouts import guess_layout
from keras_skeletonmae.layouts import get_layout, list_layouts

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
    """Unpickle `path` allowing only numpy arrays and plain Python values (no code).

    Args:
        path: str or `pathlib.Path`. The pickle file.

    Returns:
        The unpickled object.

    Example:
        >>> import os, pickle, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "values.pkl")
        >>> pickle.dump({"a": np.zeros(2)}, open(path, "wb"))
        >>> safe_load_pickle(path)["a"].tolist()
        [0.0, 0.0]
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, path).load()
        except _RefusedGlobal:
            raise
        except Exception as error:  # truncated or corrupt files fail in many ways
            raise ValueError(f"cannot read {path}: truncated or corrupt pickle "
                             f"({type(error).__name__}: {error}).") from error


def _meta_joint_names(meta, path):
    """The joint names `meta` lists (`joint_names`, else the `joint_order` text), or None."""
    names = meta.get("joint_names")
    if names is None and isinstance(meta.get("joint_order"), str):
        # e.g. "MSR: 1 L-shoulder,2 R-shoulder,...,20 head (1-based)": drop the prefix,
        # the trailing remark and the numbers.
        text = re.sub(r"\([^)]*\)\s*$", "", meta["joint_order"])
        names = [re.sub(r"^\d+\s+", "", n.strip()) for n in text.split(":")[-1].split(",")]
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: meta['joint_names'] must be a list of strings, got "
                         f"{names!r:.80}.")
    return list(names)


def _meta_edges(meta, path):
    """The bones `meta` lists (`edges` or `inward_0based`, either orientation), or None."""
    for key in ("edges", "inward_0based"):
        edges = meta.get(key)
        if edges is None:
            continue
        try:
            edges = [tuple(int(j) for j in edge) for edge in edges]
        except (TypeError, ValueError):
            edges = None
        if edges is None or any(len(edge) != 2 for edge in edges):
            raise ValueError(f"{path}: meta['{key}'] must be a list of (joint, joint) index "
                             f"pairs, got {meta[key]!r:.80}.")
        return edges
    return None


def load_pyskl(path, split=None, nonfinite="raise"):
    """Read a PYSKL annotation pickle `{'split', 'annotations', 'meta'?}` as `SkeletonData`.

    Each annotation needs `frame_dir` (the id) and `keypoint` `[M, T, V, C]`; `label`,
    `keypoint_score` `[M, T, V]` and `total_frames` (checked against T) are optional.
    `meta['class_names']` gives class names. The layout is guessed (see `guess_layout`) from
    V, C and, where `meta` has them, its joint names (`joint_names` or `joint_order`) and
    bones (`edges` or `inward_0based`); when they do not single out a built-in layout it is
    left None, with the reason in `layout_note`. A registered layout named in `meta['layout']`
    (as `save_pyskl` writes) is used as it is. With `split`, returns only that split.

    Args:
        path: str or `pathlib.Path`. The `.pkl` file.
        split: str or `None`. Return only this split.
        nonfinite: str. `"raise"` (default) refuses NaN/inf values naming the sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Returns:
        A `SkeletonData`.

    Example:
        >>> import os, tempfile
        >>> data = SkeletonData([np.ones((1, 4, 17, 2))], labels=[0], layout="coco17")
        >>> path = save_pyskl(data, os.path.join(tempfile.mkdtemp(), "poses.pkl"))
        >>> loaded = load_pyskl(path)
        >>> loaded.layout, loaded.labels.tolist()
        ('coco17', [0])
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
    for key in ("label", "keypoint_score"):
        present = [key in anno for anno in annotations]
        if any(present) and not all(present):
            raise ValueError(f"{path}: sample '{annotations[present.index(False)]['frame_dir']}' "
                             f"has no '{key}' while others have one.")
    labelled = bool(annotations) and "label" in annotations[0]
    scored = bool(annotations) and "keypoint_score" in annotations[0]
    meta = content.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: 'meta' must be a dict, got {type(meta).__name__}.")
    class_names = meta.get("class_names")
    if class_names is not None and (isinstance(class_names, (str, bytes))
                                    or not all(isinstance(c, str) for c in class_names)):
        raise ValueError(f"{path}: meta['class_names'] must be a list of strings, got "
                         f"{class_names!r:.80}.")
    data = SkeletonData(
        keypoints=[anno["keypoint"] for anno in annotations],
        scores=[anno["keypoint_score"] for anno in annotations] if scored else None,
        labels=[anno["label"] for anno in annotations] if labelled else None,
        ids=[anno["frame_dir"] for anno in annotations],
        class_names=class_names,
        splits=content.get("split") or {},
        source=path,
    )
    for anno, keypoint in zip(annotations, data.keypoints):
        if anno.get("total_frames", keypoint.shape[1]) != keypoint.shape[1]:
            raise ValueError(f"{path}: sample '{anno['frame_dir']}' has total_frames="
                             f"{anno['total_frames']!r} but keypoint shape {keypoint.shape} "
                             "[M, T, V, C].")
    data = checked_read(data, nonfinite)
    joints, channels = data.keypoints[0].shape[2:]
    if meta.get("num_node", joints) != joints:
        raise ValueError(f"{path}: meta['num_node'] is {meta['num_node']!r}, but the keypoints "
                         f"have {joints} joints.")
    if isinstance(meta.get("layout"), str) and meta["layout"] in list_layouts():
        # A name `save_pyskl` wrote: layouts that take 2D or 3D cannot be guessed by shape.
        layout = get_layout(meta["layout"])
        if layout.num_joints != joints:
            raise ValueError(f"{path}: meta['layout'] is '{layout.name}' with "
                             f"{layout.num_joints} joints, but the keypoints have {joints}.")
        data.layout = layout.name
    else:
        data.layout, data.layout_note = guess_layout(joints, channels,
                                                     _meta_joint_names(meta, path),
                                                     _meta_edges(meta, path))
    return data if split is None else data.split(split)


def save_pyskl(data, path, img_shapes=None):
    """Write `data` as a PYSKL annotation pickle that `load_pyskl` (and PYSKL) reads.

    Each sample becomes `{"frame_dir": id, "keypoint": [M, T, V, C], "total_frames": T}`, with
    `keypoint_score` `[M, T, V]` and `label` when `data` has them and, when given,
    `img_shape` and `original_shape` `(height, width)`. `meta` holds the layout's name and
    joint names, and the class names. Label a file by setting each annotation's `label` (an
    int) and `meta["class_names"]`, or by building the `SkeletonData` with labels.

    Args:
        data: `SkeletonData`. The samples to write.
        path: str or `pathlib.Path`. The `.pkl` file to write.
        img_shapes: dict or `None`. `{sample id: (height, width)}` of the videos.

    Returns:
        The path written.

    Example:
        >>> import tempfile, os
        >>> data = SkeletonData([np.ones((1, 4, 17, 2))], ids=["clip"], layout="coco17")
        >>> path = os.path.join(tempfile.mkdtemp(), "poses.pkl")
        >>> load_pyskl(save_pyskl(data, path)).ids
        ['clip']
    """
    path = Path(path)
    annotations = []
    for i, sample_id in enumerate(data.ids):
        annotation = {"frame_dir": sample_id, "keypoint": data.keypoints[i],
                      "total_frames": int(data.keypoints[i].shape[1])}
        if data.scores is not None:
            annotation["keypoint_score"] = data.scores[i]
        if data.labels is not None:
            annotation["label"] = int(data.labels[i])
        if img_shapes and sample_id in img_shapes:
            annotation["img_shape"] = annotation["original_shape"] = tuple(
                int(s) for s in img_shapes[sample_id])
        annotations.append(annotation)
    meta = {}
    layout = data.skeleton_layout
    if layout is not None:
        meta.update(layout=layout.name, joint_names=list(layout.joint_names))
    if data.class_names is not None:
        meta["class_names"] = list(data.class_names)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"split": data.splits, "annotations": annotations, "meta": meta}, f)
    return path
