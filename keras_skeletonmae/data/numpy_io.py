"""Dense numpy files: `.npy` holding `(N, M, T, V, C)`, or `.npz` with arrays and labels."""

import zipfile
import zlib
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData, checked_read


class _BadContent(ValueError):
    """A readable file that does not hold what `load_numpy` expects."""


def _first_key(archive, keys):
    present = [k for k in keys if k in archive.files]
    if len(present) > 1:
        raise _BadContent(f"it holds both {present}; keep one of them.")
    return archive[present[0]] if present else None


def _read(path):
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded, None, None, None
    with loaded:
        x = _first_key(loaded, ("x", "keypoint"))
        if x is None:
            raise _BadContent(f"no 'x' (or 'keypoint') array; the file holds {loaded.files}.")
        return (x, _first_key(loaded, ("y", "label")), _first_key(loaded, ("ids",)),
                _first_key(loaded, ("class_names",)))


def _vector(path, name, array, length):
    """`array` (ids or class names) as a list of `length` strings, or None."""
    if array is None:
        return None
    if array.ndim != 1 or (length is not None and len(array) != length):
        expected = f"({length},)" if length is not None else "(K,)"
        raise ValueError(f"{path}: expected {name} of shape {expected}, got {array.shape}.")
    return array.tolist()


def load_numpy(path, layout=None, nonfinite="raise"):
    """Read `.npy` (an array `(N, M, T, V, C)`, unlabelled) or `.npz` as `SkeletonData`.

    An `.npz` holds `x` (or `keypoint`) `(N, M, T, V, C)` and optionally `y` (or `label`)
    `(N,)`, `ids` `(N,)` strings and `class_names`. Object arrays are refused (no pickles).

    Args:
        path: str or `pathlib.Path`. The `.npy` or `.npz` file.
        layout: str, `SkeletonLayout` or `None`. Attached to the result (numpy files name
            none).
        nonfinite: str. `"raise"` (default) refuses NaN/inf values naming the sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Returns:
        A `SkeletonData`.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "poses.npz")
        >>> np.savez(path, x=np.ones((2, 1, 4, 20, 3)), y=np.array([0, 1]))
        >>> data = load_numpy(path, layout="kinect20")
        >>> len(data), data.labels.tolist()
        (2, [0, 1])
    """
    path = Path(path)
    try:
        x, y, ids, class_names = _read(path)
    except _BadContent as error:
        raise ValueError(f"{path}: {error}") from None
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"cannot read {path}: not a numpy file, or truncated or corrupt "
                         f"({type(error).__name__}: {error})") from error
    if x.ndim != 5:
        raise ValueError(f"{path}: expected keypoints of shape (N, M, T, V, C), got {x.shape}.")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{path}: keypoints must be real numbers, got dtype {x.dtype}.")
    if y is not None and y.shape != (len(x),):
        raise ValueError(f"{path}: expected labels of shape ({len(x)},), got {y.shape}.")
    if y is not None and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: labels must be integer class ids, got dtype {y.dtype}.")
    data = SkeletonData(
        keypoints=list(x),
        labels=y,
        ids=_vector(path, "ids", ids, len(x)),
        class_names=_vector(path, "class_names", class_names, None),
        layout=layout,
        source=path,
    )
    if layout is None:
        data.layout_note = "a numpy file names no layout"
    return checked_read(data, nonfinite)
