"""Dense numpy files: `.npy` holding `(N, M, T, V, C)`, or `.npz` with arrays and labels."""

import zipfile
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData


def _first_key(archive, keys):
    present = [k for k in keys if k in archive.files]
    if len(present) > 1:
        raise ValueError(f"it holds both {present}; keep one of them.")
    return archive[present[0]] if present else None


def _read(path):
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded, None, None, None
    with loaded:
        x = _first_key(loaded, ("x", "keypoint"))
        if x is None:
            raise ValueError(f"no 'x' (or 'keypoint') array; the file holds {loaded.files}.")
        return (x, _first_key(loaded, ("y", "label")), _first_key(loaded, ("ids",)),
                _first_key(loaded, ("class_names",)))


def load_numpy(path, layout=None):
    """Read `.npy` (an array `(N, M, T, V, C)`, unlabelled) or `.npz` as `SkeletonData`.

    An `.npz` holds `x` (or `keypoint`) `(N, M, T, V, C)` and optionally `y` (or `label`)
    `(N,)`, `ids` `(N,)` strings and `class_names`. Object arrays are refused (no pickles).
    `layout` (a name or a `SkeletonLayout`) is attached to the result.
    """
    path = Path(path)
    try:
        x, y, ids, class_names = _read(path)
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if x.ndim != 5:
        raise ValueError(f"{path}: expected keypoints of shape (N, M, T, V, C), got {x.shape}.")
    if y is not None and y.shape != (len(x),):
        raise ValueError(f"{path}: expected labels of shape ({len(x)},), got {y.shape}.")
    if y is not None and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: labels must be integer class ids, got dtype {y.dtype}.")
    return SkeletonData(
        keypoints=list(x),
        labels=y,
        ids=None if ids is None else ids.tolist(),
        class_names=None if class_names is None else class_names.tolist(),
        layout=layout,
        source=path,
    )
