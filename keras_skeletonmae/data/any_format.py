"""`load_skeletons`: read any supported skeleton file or folder, picking the reader by name."""

from pathlib import Path

from keras_skeletonmae.data.hdf5 import load_hdf5
from keras_skeletonmae.data.ntu import load_ntu_dir, read_ntu_skeleton
from keras_skeletonmae.data.numpy_io import load_numpy
from keras_skeletonmae.data.pose_estimators import load_coco_results, load_openpose_dir
from keras_skeletonmae.data.pyskl import load_pyskl
from keras_skeletonmae.data.skeleton_data import SkeletonData
from keras_skeletonmae.layouts import get_layout, list_layouts

READERS = {
    ".pkl": load_pyskl,
    ".pickle": load_pyskl,
    ".h5": load_hdf5,
    ".hdf5": load_hdf5,
    ".npz": load_numpy,
    ".npy": load_numpy,
    ".skeleton": read_ntu_skeleton,
    ".json": load_coco_results,
}
# Readers of pose-estimator outputs, which track persons and take `max_persons`.
TRACKING_READERS = (load_coco_results, load_openpose_dir)


def load_skeletons(path, layout=None, nonfinite="raise", max_persons=2):
    """`SkeletonData` from a PYSKL pickle, HDF5, `.npz`/`.npy`, one NTU `.skeleton` file or a
    folder of them, an OpenPose output folder (`*_keypoints.json`) or a COCO keypoint-results
    `.json` file (MMPose, AlphaPose, YOLO-pose; see `pose_estimators`).

    Args:
        path: str or `pathlib.Path`. The file or folder.
        layout: str, `SkeletonLayout` or `None`. Replaces what the file says or the reader guessed,
            and is checked against the joint count. Needed when the reader cannot tell the
            layout (then a `ValueError` says what was found and why no built-in fits).
        nonfinite: str. `"raise"` (default) refuses NaN/inf values naming the file and sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).
        max_persons: int or `None`. For pose-estimator outputs, how many tracked persons to
            keep (see `pose_estimators.track_persons`; the others are left out with a warning).

    Returns:
        A `SkeletonData`.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "poses.npy")
        >>> np.save(path, np.ones((2, 1, 4, 20, 3)))
        >>> load_skeletons(path, layout="kinect20").layout
        'kinect20'
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        reader = load_openpose_dir if any(path.glob("*_keypoints.json")) else load_ntu_dir
    else:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise ValueError(f"{path}: unknown skeleton file type '{path.suffix}'; expected one "
                             f"of {sorted(READERS)}, a folder of .skeleton files or an OpenPose "
                             "output folder.")
    extra = {"max_persons": max_persons} if reader in TRACKING_READERS else {}
    data = reader(path, nonfinite=nonfinite, **extra)
    joints, channels = data.keypoints[0].shape[2:]
    if layout is None and data.layout is None:
        raise ValueError(f"{path}: the skeleton layout is unknown: found {joints} joints x "
                         f"{channels} channels, and {data.layout_note}. Pass the layout: "
                         f"layout= in Python, --layout on the command line (built-in: "
                         f"{', '.join(list_layouts())}).")
    chosen = layout if layout is not None else data.layout
    try:
        chosen = get_layout(chosen)
    except ValueError as error:
        raise ValueError(f"{path}: {error} Pass a known layout: layout= in Python, --layout on "
                         "the command line.") from None
    if joints != chosen.num_joints:
        raise ValueError(f"{path} has {joints} joints per skeleton, but layout "
                         f"'{chosen.name}' has {chosen.num_joints}.")
    if layout is not None:
        data = SkeletonData(data.keypoints, data.scores, data.labels, data.ids, data.class_names,
                            chosen, data.splits, data.source)
    return data
