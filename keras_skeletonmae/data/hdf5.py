"""`SkeletonData` in HDF5, read back with h5py or streamed into `tf.data`.

File layout: the samples' frames concatenated in `keypoints` `(sum M_i * T_i, V, C)` with
`shapes` `(N, 2)` holding each `(M_i, T_i)`; optional `scores` `(sum M_i * T_i, V)`, `labels`,
`class_names`; `ids`; splits as `split_names`, `split_lengths` and the concatenated
`split_ids`; the layout name in the `layout` attribute.
"""

import warnings
from pathlib import Path

import h5py
import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData, checked_read
from keras_skeletonmae.data.transforms import prepare_sample

FORMAT = "keras_skeletonmae.SkeletonData"
_STRING = h5py.string_dtype()


def _rows(arrays, trailing):
    """Concatenate `[M, T, ...]` arrays as rows `[M * T, ...]`."""
    if not arrays:
        return np.zeros((0, *trailing), dtype="float32")
    return np.concatenate([a.reshape(-1, *a.shape[2:]) for a in arrays])


def save_hdf5(data, path):
    """Write `data` to an HDF5 file; `load_hdf5` reads it back unchanged.

    Args:
        data: `SkeletonData`. The samples to write.
        path: str or `pathlib.Path`. The `.h5` file.

    Example:
        >>> import os, tempfile
        >>> from keras_skeletonmae.data import SkeletonData
        >>> path = os.path.join(tempfile.mkdtemp(), "poses.h5")
        >>> save_hdf5(SkeletonData([np.ones((1, 4, 20, 3))], layout="kinect20"), path)
        >>> load_hdf5(path).keypoints[0].shape
        (1, 4, 20, 3)
    """
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        if data.layout is not None:
            f.attrs["layout"] = data.layout
        trailing = data.keypoints[0].shape[2:] if len(data) else (0, 0)
        f.create_dataset("keypoints", data=_rows(data.keypoints, trailing))
        f.create_dataset("shapes", data=np.array([k.shape[:2] for k in data.keypoints],
                                                 dtype="int64").reshape(-1, 2))
        f.create_dataset("ids", data=data.ids, dtype=_STRING)
        if data.scores is not None:
            f.create_dataset("scores", data=_rows(data.scores, trailing[:1]))
        if data.labels is not None:
            f.create_dataset("labels", data=data.labels)
        if data.class_names is not None:
            f.create_dataset("class_names", data=data.class_names, dtype=_STRING)
        f.create_dataset("split_names", data=list(data.splits), dtype=_STRING)
        f.create_dataset("split_lengths", data=np.array([len(v) for v in data.splits.values()],
                                                        dtype="int64"))
        f.create_dataset("split_ids", data=[i for v in data.splits.values() for i in v],
                         dtype=_STRING)


def _open(path):
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"cannot read {path}: not an HDF5 file or truncated ({error}).") from error
    try:
        written_here = f.attrs.get("format") == FORMAT
    except OSError as error:
        f.close()
        raise ValueError(f"cannot read {path}: damaged HDF5 attributes ({error}).") from error
    if not written_here:
        f.close()
        raise ValueError(f"{path} is not a SkeletonData HDF5 file (written by save_hdf5).")
    return f


def _strings(f, name):
    return f[name].asstr()[()].tolist() if name in f else None


def _dataset(f, path, name, ndim, kinds="iu"):
    """Dataset `name`, checked to have `ndim` dimensions and a dtype kind in `kinds`."""
    dataset = f.get(name)
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"{path}: the dataset '{name}' is missing.")
    if dataset.ndim != ndim or dataset.dtype.kind not in kinds:
        raise ValueError(f"{path}: '{name}' must be a {ndim}-d array of "
                         f"{'integers' if kinds == 'iu' else 'numbers'}, got shape "
                         f"{dataset.shape} dtype {dataset.dtype}.")
    return dataset


def _sample_shapes(f, path):
    """`(shapes, starts, ends)`: each sample's `(M, T)` and its rows in `keypoints`."""
    shapes = _dataset(f, path, "shapes", 2)[()]
    if shapes.shape[1:] != (2,) or np.any(shapes < 0):
        raise ValueError(f"{path}: 'shapes' must hold one (persons, frames) pair of counts "
                         f"per sample, got shape {shapes.shape} with minimum "
                         f"{shapes.min(initial=0)}.")
    ends = np.cumsum(shapes[:, 0] * shapes[:, 1])
    return shapes, ends - shapes[:, 0] * shapes[:, 1], ends


def _strings_checked(f, path, name):
    if name not in f:
        return None
    try:
        values = _strings(f, name)
    except (TypeError, ValueError, OSError) as error:
        raise ValueError(f"{path}: '{name}' must be a 1-d array of strings ({error}).") from None
    if not isinstance(values, list):
        raise ValueError(f"{path}: '{name}' must be a 1-d array of strings.")
    return values


def _read_hdf5(f, path):
    shapes, starts, ends = _sample_shapes(f, path)

    def samples(name, ndim):
        rows = _dataset(f, path, name, ndim, "biuf")[()]
        if len(rows) != (ends[-1] if len(ends) else 0):
            raise ValueError(f"{path}: '{name}' has {len(rows)} rows, but 'shapes' adds up to "
                             f"{ends[-1] if len(ends) else 0} (sum of persons x frames).")
        return [rows[s:e].reshape(*shape, *rows.shape[1:])
                for s, e, shape in zip(starts, ends, shapes)]

    names = _strings_checked(f, path, "split_names") or []
    split_ids = _strings_checked(f, path, "split_ids") or []
    lengths = (_dataset(f, path, "split_lengths", 1)[()] if "split_lengths" in f
               else np.zeros(0, int))
    if len(lengths) != len(names) or np.any(lengths < 0) or lengths.sum() != len(split_ids):
        raise ValueError(f"{path}: 'split_lengths' {lengths.tolist()[:5]} must give one "
                         f"non-negative length per split name ({len(names)}) adding up to the "
                         f"{len(split_ids)} 'split_ids'.")
    members = np.split(np.array(split_ids, dtype=object), np.cumsum(lengths)[:-1])
    layout = f.attrs.get("layout")
    return SkeletonData(
        keypoints=samples("keypoints", 3),
        scores=samples("scores", 2) if "scores" in f else None,
        labels=_dataset(f, path, "labels", 1)[()] if "labels" in f else None,
        ids=_strings_checked(f, path, "ids"),
        class_names=_strings_checked(f, path, "class_names"),
        layout=None if layout is None else str(layout),
        splits={n: list(v) for n, v in zip(names, members)} if names else {},
        source=path,
    )


def load_hdf5(path, nonfinite="raise"):
    """Read a file written by `save_hdf5` as `SkeletonData`.

    Args:
        path: str or `pathlib.Path`. The `.h5` file.
        nonfinite: str. `"raise"` (default) refuses NaN/inf values naming the sample;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Returns:
        A `SkeletonData`.

    Example:
        >>> data = load_hdf5("poses.h5")  # doctest: +SKIP
    """
    path = Path(path)
    with _open(path) as f:
        try:
            data = _read_hdf5(f, path)
        except OSError as error:  # a truncated or damaged dataset
            raise ValueError(f"cannot read {path}: truncated or corrupt HDF5 data "
                             f"({error}).") from error
    if data.layout is None:
        data.layout_note = "the file has no 'layout' attribute"
    return checked_read(data, nonfinite)


def _check_finite_rows(f, path, ids, ends, block=1 << 18):
    """Raise a `ValueError` naming the first sample with NaN/inf keypoints or scores, reading
    block by block (the file may not fit in memory)."""
    for name in ("keypoints", "scores"):
        if name not in f:
            continue
        rows = f[name]
        for start in range(0, len(rows), block):
            bad = ~np.isfinite(rows[start:start + block])
            if bad.any():
                row = start + int(np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))[0])
                sample = int(np.searchsorted(ends, row, side="right"))
                raise ValueError(f"{path}: sample '{ids[sample]}' has NaN/inf {name}; "
                                 "hdf5_tf_dataset streams the file as it is: repair it first "
                                 "(load_hdf5(path, nonfinite='interpolate') and save_hdf5).")


def _tfio_rows(path):
    """`keypoints` rows through tensorflow-io, or the reason it cannot be used."""
    import tensorflow as tf

    try:
        with warnings.catch_warnings():  # on TF >= 2.18 its import only warns, reads fail
            warnings.simplefilter("ignore")
            import tensorflow_io as tfio

            rows = tfio.IODataset.from_hdf5(str(path), dataset="/keypoints", spec=tf.float32)
            next(iter(rows.take(1)))
        return rows, None
    except Exception as error:  # ImportError, or a native-op failure of any kind
        return None, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def _samples_from_rows(rows, shapes):
    """Regroup a `tf.data` stream of rows `[V, C]` into samples `[M_i, T_i, V, C]`, in order."""
    import tensorflow as tf

    counts = shapes[:, 0] * shapes[:, 1]
    owner = tf.data.Dataset.from_tensor_slices(np.repeat(np.arange(len(shapes)), counts))
    shapes_t, counts_t = tf.constant(shapes, tf.int64), tf.constant(counts, tf.int64)

    def reduce(key, window):
        block = window.map(lambda _, row: row).batch(int(counts.max()))
        return block.map(lambda b: tf.reshape(b, tf.concat(
            [shapes_t[key], tf.shape(b, out_type=tf.int64)[1:]], axis=0)))

    return tf.data.Dataset.zip((owner, rows)).group_by_window(
        key_func=lambda key, _: key, reduce_func=reduce,
        window_size_func=lambda key: counts_t[key])


def hdf5_tf_dataset(path, num_frames=None, num_persons=None):
    """A `tf.data.Dataset` streaming a `save_hdf5` file sample by sample.

    Elements are `keypoint` `[M_i, T_i, V, C]` float32 (with `label` int32 when labelled);
    with `num_frames` and `num_persons` each sample is brought to `[num_persons, num_frames,
    V, C]` as in `SkeletonData.to_arrays`, ready for `.batch`. Reads through tensorflow-io's
    `IODataset.from_hdf5` where it works (TensorFlow 2.16/2.17), else through h5py with one
    warning. Refuses (`ValueError` naming the sample) NaN/inf keypoints or scores, found by
    one block-wise pass over the file. Requires TensorFlow.

    Args:
        path: str or `pathlib.Path`. The `.h5` file.
        num_frames: int or `None`. Frames per sample; `None` keeps each sample's own.
        num_persons: int or `None`. Persons per sample; `None` keeps each sample's own.

    Returns:
        A `tf.data.Dataset` of `keypoint` or `(keypoint, label)` elements.

    Example:
        >>> dataset = hdf5_tf_dataset("poses.h5", num_frames=32, num_persons=1)  # doctest: +SKIP
        >>> batches = dataset.batch(16)  # doctest: +SKIP
    """
    import tensorflow as tf

    path = Path(path)
    with _open(path) as f:
        try:
            shapes, _, ends = _sample_shapes(f, path)
            labels = _dataset(f, path, "labels", 1)[()].astype("int32") if "labels" in f else None
            keypoints = _dataset(f, path, "keypoints", 3, "biuf")
            trailing = tuple(keypoints.shape[1:])
            if len(keypoints) != (ends[-1] if len(ends) else 0):
                raise ValueError(f"{path}: 'keypoints' has {len(keypoints)} rows, but 'shapes' "
                                 "adds up to a different sum of persons x frames.")
            ids = (_strings_checked(f, path, "ids")
                   or [f"sample_{i}" for i in range(len(shapes))])
            _check_finite_rows(f, path, ids, ends)
        except OSError as error:
            raise ValueError(f"cannot read {path}: truncated or corrupt HDF5 data "
                             f"({error}).") from error
    empty = [ids[i] for i in np.flatnonzero(shapes[:, 0] * shapes[:, 1] == 0)]
    if empty:
        raise ValueError(f"{path}: samples {empty[:5]} have no frames or no persons; remove "
                         "them first (SkeletonData.repair(drop_all_zero=True)).")
    rows, reason = _tfio_rows(path)
    if rows is not None:
        samples = _samples_from_rows(rows, shapes)
    else:
        warnings.warn(f"tensorflow-io cannot read HDF5 here ({reason}); hdf5_tf_dataset reads "
                      f"{path} with h5py in a tf.data generator instead. tensorflow-io 0.37.1 "
                      "works only with TensorFlow 2.16/2.17.", stacklevel=2)
        samples = tf.data.Dataset.from_generator(
            lambda: _h5py_samples(path, shapes),
            output_signature=tf.TensorSpec((None, None, *trailing), tf.float32))
    if num_frames is not None or num_persons is not None:
        if num_frames is None or num_persons is None:
            raise ValueError("pass both num_frames and num_persons, or neither.")

        def fit(sample):
            out = tf.numpy_function(lambda s: prepare_sample(s, num_frames, num_persons),
                                    [sample], tf.float32, stateful=False)
            return tf.ensure_shape(out, (num_persons, num_frames, *trailing))

        samples = samples.map(fit, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if labels is None:
        return samples
    return tf.data.Dataset.zip((samples, tf.data.Dataset.from_tensor_slices(labels)))


def _h5py_samples(path, shapes):
    ends = np.cumsum(shapes[:, 0] * shapes[:, 1])
    with h5py.File(path, "r") as f:
        rows = f["keypoints"]
        for start, end, shape in zip(ends - shapes[:, 0] * shapes[:, 1], ends, shapes):
            yield rows[start:end].reshape(*shape, *rows.shape[1:])
