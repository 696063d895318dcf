"""Readers of keras_skeletonmae.data on the real sets: PYSKL pickles, NTU files, numpy, HDF5."""

import os
import pickle
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from keras_skeletonmae.data import (
    SkeletonData,
    hdf5_tf_dataset,
    load_hdf5,
    load_ntu_dir,
    load_numpy,
    load_pyskl,
    read_ntu_skeleton,
    save_hdf5,
)
from real_data import require


@pytest.fixture(scope="module")
def msr():
    return load_pyskl(require("msr_action3d.pkl"))


@pytest.fixture(scope="module")
def jhmdb():
    return load_pyskl(require("jhmdb_2d.pkl"))


@pytest.fixture(scope="module")
def ntu():
    return load_ntu_dir(require("ntu_samples"))


def assert_same_data(a, b):
    assert a.ids == b.ids and a.splits == b.splits and a.layout == b.layout
    assert a.class_names == b.class_names
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels.dtype == b.labels.dtype == np.int64
    for x, y in zip(a.keypoints, b.keypoints):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(x, y)
    assert (a.scores is None) == (b.scores is None)
    for x, y in zip(a.scores or [], b.scores or []):
        np.testing.assert_array_equal(x, y)


# --- PYSKL pickles ---

def test_load_msr(msr):
    assert len(msr) == 567 and msr.layout == "kinect20" and msr.num_classes == 20
    assert {k.shape[2:] for k in msr.keypoints} == {(20, 3)}
    assert msr.scores is None and msr.labels.dtype == np.int64
    assert not np.any(msr.keypoints[msr.ids.index("a13_s09_e02")])
    assert msr.keypoints[msr.ids.index("a13_s09_e03")].shape[1] == 936
    assert [len(msr.splits[s]) for s in ("xsub_train", "xsub_val")] == [284, 273]


def test_load_jhmdb(jhmdb):
    assert len(jhmdb) == 609 and jhmdb.layout == "jhmdb15" and jhmdb.num_classes == 14
    assert jhmdb.class_names[0] == "catch"
    assert {k.shape[2:] for k in jhmdb.keypoints} == {(15, 2)}
    assert [s.shape for s in jhmdb.scores[:2]] == [k.shape[:3] for k in jhmdb.keypoints[:2]]
    jhmdb.validate()


def test_load_pyskl_split_keeps_split_order(jhmdb):
    test1 = load_pyskl(require("jhmdb_2d.pkl"), split="test1")
    assert test1.ids == jhmdb.splits["test1"] and len(test1) == 176


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"echo pwned > {self.marker}",)


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"annotations": [Exploit(marker)], "split": {}}))
    with pytest.raises(ValueError, match=r"refusing to unpickle (posix|os)\.system from .*evil\.pkl"
                       r": annotation pickles may only hold numpy arrays"):
        load_pyskl(path)
    assert not marker.exists()


def small_annotations(num=3, joints=20):
    rng = np.random.default_rng(0)
    return {"split": {"train": [f"s{i}" for i in range(num)]}, "annotations": [
        {"frame_dir": f"s{i}", "label": i, "total_frames": 4,
         "keypoint": rng.normal(size=(1, 4, joints, 3)).astype("float32")} for i in range(num)]}


def test_truncated_and_corrupt_pickles_name_the_file(tmp_path):
    blob = pickle.dumps(small_annotations())
    (tmp_path / "cut.pkl").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.pkl: truncated or corrupt"):
        load_pyskl(tmp_path / "cut.pkl")
    (tmp_path / "noise.pkl").write_bytes(b"\x80\x04not a pickle at all")
    with pytest.raises(ValueError, match=r"noise\.pkl"):
        load_pyskl(tmp_path / "noise.pkl")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match=r"list\.pkl is not a PYSKL annotation file"):
        load_pyskl(tmp_path / "list.pkl")


def test_pickle_with_a_wrong_joint_count_names_the_sample(tmp_path):
    content = small_annotations()
    content["annotations"][1]["keypoint"] = content["annotations"][1]["keypoint"][:, :, :15]
    (tmp_path / "mixed.pkl").write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError, match=r"sample 's1' from .*mixed\.pkl: has 15 joints"):
        load_pyskl(tmp_path / "mixed.pkl")


def test_pickle_total_frames_mismatch_names_the_sample(tmp_path):
    content = small_annotations()
    content["annotations"][2]["total_frames"] = 9
    (tmp_path / "frames.pkl").write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError, match=r"frames\.pkl: sample 's2' has total_frames=9"):
        load_pyskl(tmp_path / "frames.pkl")


def test_pickle_nan_is_refused_by_name_unless_interpolation_is_asked(tmp_path):
    content = small_annotations()
    content["annotations"][1]["keypoint"][0, 2, 5, 0] = np.nan
    (tmp_path / "nan.pkl").write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError, match=r"sample 's1' from .*nan\.pkl: has 1 NaN/inf coordinates"):
        load_pyskl(tmp_path / "nan.pkl")
    repaired = load_pyskl(tmp_path / "nan.pkl", nonfinite="interpolate")
    assert all(np.isfinite(k).all() for k in repaired.keypoints)


def test_pickle_layout_is_guessed_only_when_the_evidence_agrees(tmp_path):
    def layout_of(joints, channels, meta=None):
        rng = np.random.default_rng(0)
        content = {"annotations": [{"frame_dir": "s0", "keypoint": rng.normal(
            size=(1, 4, joints, channels)).astype("float32")}], "meta": meta or {}}
        (tmp_path / "g.pkl").write_bytes(pickle.dumps(content))
        data = load_pyskl(tmp_path / "g.pkl")
        return data.layout, data.layout_note

    assert layout_of(15, 2) == ("jhmdb15", None)
    assert layout_of(20, 3) == ("kinect20", None)
    layout, note = layout_of(15, 3)  # a 3D 15-joint set is not JHMDB
    assert layout is None and "'jhmdb15' has 2 coordinates per joint, not 3" in note
    layout, note = layout_of(20, 4)
    assert layout is None and "not 4" in note
    names = "neck,belly,head,R-shoulder,L-shoulder,R-hip,L-hip,R-elbow,L-elbow,R-knee,L-knee"
    assert layout_of(15, 2, {"joint_order": names + ",R-wrist,L-wrist,R-ankle,L-ankle (x)"})[0] \
        == "jhmdb15"
    layout, note = layout_of(15, 2, {"joint_order": names + ",R-hand,L-hand,R-foot,L-foot"})
    assert layout is None and "joint names differ from those of 'jhmdb15'" in note
    chain = [(j, j + 1) for j in range(14)]
    layout, note = layout_of(15, 2, {"edges": chain})
    assert layout is None and "bones differ from those of 'jhmdb15'" in note
    assert layout_of(33, 3)[1].startswith("no built-in layout has 33 joints")


# --- NTU RGB+D ---

def test_load_ntu_samples(ntu):
    assert ntu.ids == sorted(ntu.ids) and len(ntu) == 5 and ntu.layout == "ntu25"
    two = ntu.keypoints[ntu.ids.index("S001C003P008R002A058")]
    assert two.shape == (2, 70, 25, 3)
    np.testing.assert_allclose(two[0, 0, 0], [0.7201789, 0.1647426, 3.561895])
    np.testing.assert_allclose(two[1, 0, 0], [-0.387201, -0.05403496, 2.961099])
    assert [k.shape[0] for k in ntu.keypoints].count(1) == 4
    assert ntu.labels[ntu.ids.index("S001C001P001R001A011")] == 10
    ntu.validate()


def test_read_ntu_keeps_bodies_by_id_and_zero_fills(tmp_path):
    joint = " ".join(["1"] * 12)
    body = lambda body_id: [f"{body_id} 0 1 1 1 1 0 0 0 2", "25"] + [joint] * 25  # noqa: E731
    lines = ["3", "1", *body(7), "2", *body(9), *body(7), "1", *body(9)]
    (tmp_path / "S001C001P001R001A005.skeleton").write_text("\n".join(lines) + "\n")
    data = read_ntu_skeleton(tmp_path / "S001C001P001R001A005.skeleton")
    present = np.any(data.keypoints[0], axis=(2, 3))
    np.testing.assert_array_equal(present, [[1, 1, 0], [0, 1, 1]])
    assert data.labels.tolist() == [4] and data.ids == ["S001C001P001R001A005"]


def test_truncated_ntu_file_names_file_and_line(tmp_path):
    source = require("ntu_samples") / "S001C001P001R001A011.skeleton"
    lines = source.read_text().splitlines()[:100]
    (tmp_path / "cut.skeleton").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"cut\.skeleton, line 101: file is truncated"):
        read_ntu_skeleton(tmp_path / "cut.skeleton")
    lines[40] = "0.1 0.2"
    (tmp_path / "bad.skeleton").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad\.skeleton, line 41: expected a joint line"):
        read_ntu_skeleton(tmp_path / "bad.skeleton")


# --- numpy ---

def test_load_npy_and_npz(tmp_path, msr):
    x, y = msr.split("xsub_val").select(range(6)).to_arrays(8, 1)
    np.save(tmp_path / "x.npy", x)
    plain = load_numpy(tmp_path / "x.npy", layout="kinect20")
    assert len(plain) == 6 and plain.labels is None and plain.layout == "kinect20"
    np.testing.assert_array_equal(plain.keypoints[3], x[3])
    np.savez(tmp_path / "xy.npz", keypoint=x, label=y, ids=np.array([f"c{i}" for i in range(6)]),
             class_names=np.array([f"class{i}" for i in range(20)]))
    full = load_numpy(tmp_path / "xy.npz")
    assert full.ids[2] == "c2" and full.num_classes == 20
    np.testing.assert_array_equal(full.labels, y)
    np.save(tmp_path / "flat.npy", x[:, 0])
    with pytest.raises(ValueError, match=r"flat\.npy: expected keypoints of shape"):
        load_numpy(tmp_path / "flat.npy")
    np.savez(tmp_path / "none.npz", data=x)
    with pytest.raises(ValueError, match=r"none\.npz: no 'x'"):
        load_numpy(tmp_path / "none.npz")


# --- HDF5 ---

@pytest.mark.parametrize("name", ["msr", "jhmdb", "ntu"])
def test_hdf5_round_trip_is_exact(tmp_path, request, name):
    data = request.getfixturevalue(name)
    save_hdf5(data, tmp_path / "data.h5")
    loaded = load_hdf5(tmp_path / "data.h5")
    assert_same_data(loaded, data)
    assert loaded.num_classes == data.num_classes


def test_hdf5_round_trip_without_labels_or_splits(tmp_path):
    data = SkeletonData([np.ones((2, 3, 4, 2)), np.ones((1, 5, 4, 2))], ids=["a", "b"])
    save_hdf5(data, tmp_path / "bare.h5")
    loaded = load_hdf5(tmp_path / "bare.h5")
    assert loaded.labels is None and loaded.splits == {} and loaded.layout is None
    assert [k.shape for k in loaded.keypoints] == [(2, 3, 4, 2), (1, 5, 4, 2)]


def test_hdf5_sample_without_frames_is_refused_by_name(tmp_path):
    data = SkeletonData([np.ones((2, 3, 4, 2)), np.ones((1, 0, 4, 2))], ids=["a", "b"])
    save_hdf5(data, tmp_path / "gap.h5")
    with pytest.raises(ValueError, match=r"sample 'b' from .*gap\.h5: is an empty sequence"):
        load_hdf5(tmp_path / "gap.h5")


def test_load_hdf5_rejects_other_files(tmp_path):
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match=r"text\.h5"):
        load_hdf5(tmp_path / "text.h5")


def test_hdf5_tf_dataset_falls_back_to_h5py_with_one_warning(tmp_path, msr):
    tf = pytest.importorskip("tensorflow")
    from keras_skeletonmae.data.hdf5 import _tfio_rows

    data = msr.split("xsub_train").select(range(5))
    save_hdf5(data, tmp_path / "five.h5")
    if _tfio_rows(tmp_path / "five.h5")[0] is not None:
        pytest.skip("tensorflow-io works here: the tensorflow-io test covers this environment")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = hdf5_tf_dataset(tmp_path / "five.h5")
        samples = list(dataset)
    messages = [str(w.message) for w in caught if "tensorflow-io" in str(w.message)]
    assert len(messages) == 1 and "h5py" in messages[0]
    for (x, y), keypoint, label in zip(samples, data.keypoints, data.labels):
        np.testing.assert_array_equal(x.numpy(), keypoint)
        assert y.dtype == tf.int32 and int(y) == label
    with pytest.warns(UserWarning, match="tensorflow-io"):
        batched = hdf5_tf_dataset(tmp_path / "five.h5", num_frames=8, num_persons=2).batch(4)
    x, y = next(iter(batched))
    np.testing.assert_array_equal(x.numpy(), data.select(range(4)).to_arrays(8, 2)[0])


@pytest.mark.tf_graph  # tf.data traces its functions; no eager-mode warning may be raised
def test_hdf5_tf_dataset_reads_through_tensorflow_io(tmp_path, msr):
    """Runs where tensorflow-io loads (TensorFlow 2.16/2.17; CI's tfio environment)."""
    tf = pytest.importorskip("tensorflow")
    from keras_skeletonmae.data.hdf5 import _tfio_rows

    data = msr.split("xsub_train").select(range(5))
    save_hdf5(data, tmp_path / "five.h5")
    rows, reason = _tfio_rows(tmp_path / "five.h5")
    if rows is None:
        assert os.environ.get("SKELETONMAE_EXPECT_TFIO") != "1", f"tensorflow-io failed: {reason}"
        pytest.skip(f"tensorflow-io is not usable here ({reason})")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning on this path
        samples = list(hdf5_tf_dataset(tmp_path / "five.h5"))
    assert len(samples) == 5
    for (x, y), keypoint, label in zip(samples, data.keypoints, data.labels):
        np.testing.assert_array_equal(x.numpy(), keypoint)
        assert y.dtype == tf.int32 and int(y) == label
    batched = hdf5_tf_dataset(tmp_path / "five.h5", num_frames=8, num_persons=2).batch(4)
    x, _ = next(iter(batched))
    np.testing.assert_array_equal(x.numpy(), data.select(range(4)).to_arrays(8, 2)[0])


def test_tfio_rows_regroup_into_samples(ntu):
    """The tensorflow-io path's regrouping of `keypoints` rows, fed by an in-memory stand-in."""
    tf = pytest.importorskip("tensorflow")
    from keras_skeletonmae.data.hdf5 import _samples_from_rows

    rows = np.concatenate([k.reshape(-1, 25, 3) for k in ntu.keypoints])
    shapes = np.array([k.shape[:2] for k in ntu.keypoints])
    samples = list(_samples_from_rows(tf.data.Dataset.from_tensor_slices(rows), shapes))
    assert len(samples) == len(ntu)
    for sample, keypoint in zip(samples, ntu.keypoints):
        np.testing.assert_array_equal(sample.numpy(), keypoint)


def test_data_package_imports_without_tensorflow():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        pytest.skip("blocking TensorFlow needs another backend (the torch and jax runs do this)")
    code = ("import sys; sys.modules['tensorflow'] = None; import keras_skeletonmae.data; "
            "assert sys.modules['tensorflow'] is None")
    env = {**os.environ, "KERAS_BACKEND": backend}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_every_reader_interpolates_nan_only_on_request(tmp_path, ntu):
    x = np.ones((2, 1, 5, 4, 3), "float32")
    x[1, 0, 2, 3, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(ValueError, match=r"sample 'sample_1' from .*x\.npy: has 1 NaN/inf"):
        load_numpy(tmp_path / "x.npy")
    assert load_numpy(tmp_path / "x.npy", nonfinite="interpolate").keypoints[1][0, 2, 3, 0] == 1
    keypoints = [np.ones((1, 5, 4, 3)), x[1]]
    save_hdf5(SkeletonData(keypoints, ids=["a", "b"]), tmp_path / "x.h5")
    with pytest.raises(ValueError, match=r"sample 'b' from .*x\.h5: has 1 NaN/inf"):
        load_hdf5(tmp_path / "x.h5")
    assert np.isfinite(load_hdf5(tmp_path / "x.h5", nonfinite="interpolate").keypoints[1]).all()
    source = sorted(require("ntu_samples").glob("*.skeleton"))[0]
    lines = source.read_text().splitlines()
    lines[4] = "nan " + " ".join(lines[4].split()[1:])  # frame 1, body 1, joint 1: x
    folder = tmp_path / "ntu"
    folder.mkdir()
    (folder / source.name).write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"sample '{source.stem}' from .*{source.stem}"
                                         r"\.skeleton: has 1 NaN/inf"):
        read_ntu_skeleton(folder / source.name)
    with pytest.raises(ValueError, match=rf"sample '{source.stem}' from .*ntu: has 1 NaN/inf"):
        load_ntu_dir(folder)
    fixed = load_ntu_dir(folder, nonfinite="interpolate").keypoints[0]
    np.testing.assert_allclose(fixed[0, 0, 0, 0], ntu.keypoints[0][0, 1, 0, 0])
