"""Skeleton data: readers (PYSKL pickles, NTU RGB+D files, numpy, HDF5, OpenPose and COCO
keypoint results), transforms, datasets.

Everything reads into `SkeletonData`; `SkeletonDataset` turns it into batches for `fit` on
every backend. TensorFlow is needed only for the `tf.data` paths.
"""

from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.data.dataset import SkeletonDataset, label_subset
from keras_skeletonmae.data.hdf5 import hdf5_tf_dataset, load_hdf5, save_hdf5
from keras_skeletonmae.data.ntu import load_ntu_dir, read_ntu_skeleton
from keras_skeletonmae.data.numpy_io import load_numpy
from keras_skeletonmae.data.pose_estimators import (load_coco_results, load_openpose_dir,
                                                    track_persons)
from keras_skeletonmae.data.pyskl import load_pyskl, safe_load_pickle, save_pyskl
from keras_skeletonmae.data.skeleton_data import SkeletonData
from keras_skeletonmae.data.transforms import (
    Bone,
    CenterOnJoint,
    Compose,
    JointNoise,
    Motion,
    Normalize2D,
    PadPersons,
    RandomRotation,
    RandomScale,
    RandomShear,
    Transform,
    UniformSample,
    prepare_sample,
    training_transform,
)

__all__ = [
    "Bone",
    "CenterOnJoint",
    "Compose",
    "JointNoise",
    "Motion",
    "Normalize2D",
    "PadPersons",
    "RandomRotation",
    "RandomScale",
    "RandomShear",
    "SkeletonData",
    "SkeletonDataset",
    "Transform",
    "UniformSample",
    "hdf5_tf_dataset",
    "label_subset",
    "load_coco_results",
    "load_hdf5",
    "load_ntu_dir",
    "load_numpy",
    "load_openpose_dir",
    "load_pyskl",
    "load_skeletons",
    "prepare_sample",
    "training_transform",
    "read_ntu_skeleton",
    "safe_load_pickle",
    "save_hdf5",
    "save_pyskl",
    "track_persons",
]
