"""`load_skeletons`: read any supported skeleton file or folder, picking the reader by name."""

from pathlib import Path

from keras_skeletonmae.data.hdf5 import load_hdf5
from keras_skeletonmae.data.ntu import load_ntu_dir, read_ntu_skeleton
from keras_skeletonmae.data.numpy_io import load_numpy
from keras_skeletonmae.data.pyskl import load_pyskl
from keras_skeletonmae.data.skeleton_data import SkeletonData
from keras_skeletonmae.layouts import get_layout

READERS = {
    ".pkl": load_pyskl,
    ".pickle": load_pyskl,
    ".h5": load_hdf5,
    ".hdf5": load_hdf5,
    ".npz": load_numpy,
    ".npy": load_numpy,
    ".skeleton": read_ntu_skeleton,
}


def load_skeletons(path, layout=None):
    """`SkeletonData` from a PYSKL pickle, HDF5, `.npz`/`.npy`, one NTU `.skeleton` file or a
    folder of them. `layout` (a name or `SkeletonLayout`) replaces the reader's guess and is
    checked against the joint count."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        data = load_ntu_dir(path)
    else:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise ValueError(f"{path}: unknown skeleton file type '{path.suffix}'; expected one "
                             f"of {sorted(READERS)} or a folder of .skeleton files.")
        data = reader(path)
    if layout is not None:
        layout = get_layout(layout)
        joints = data.keypoints[0].shape[2] if len(data) else layout.num_joints
        if joints != layout.num_joints:
            raise ValueError(f"{path} has {joints} joints per skeleton, but layout "
                             f"'{layout.name}' has {layout.num_joints}.")
        data = SkeletonData(data.keypoints, data.scores, data.labels, data.ids, data.class_names,
                            layout, data.splits, data.source)
    if data.layout is None:
        raise ValueError(f"{path}: the skeleton layout is unknown (joints x channels "
                         f"{data.keypoints[0].shape[2:]}); pass a layout.")
    return data
