"""`load_skeletons` picks the reader by file name and checks a given layout."""

import numpy as np
import pytest

from keras_skeletonmae.data import load_pyskl, save_hdf5
from keras_skeletonmae.data.any_format import load_skeletons
from real_data import require


def test_each_format_reads_the_same_samples(tmp_path):
    msr = load_pyskl(require("msr_action3d.pkl"))
    save_hdf5(msr, tmp_path / "msr.h5")
    from_hdf5 = load_skeletons(tmp_path / "msr.h5")
    assert from_hdf5.ids == msr.ids and from_hdf5.layout == "kinect20"
    np.testing.assert_array_equal(from_hdf5.keypoints[5], msr.keypoints[5])
    x = np.stack([k[:, :10] for k in msr.keypoints[:4]])
    np.savez(tmp_path / "few.npz", x=x, y=msr.labels[:4])
    from_npz = load_skeletons(tmp_path / "few.npz", layout="kinect20")
    assert from_npz.layout == "kinect20" and list(from_npz.labels) == list(msr.labels[:4])
    ntu = load_skeletons(require("ntu_samples"))
    assert ntu.layout == "ntu25" and len(ntu) == 5
    one = load_skeletons(sorted(require("ntu_samples").glob("*.skeleton"))[0])
    assert len(one) == 1 and one.ids[0] == ntu.ids[0]


def test_bad_paths_and_layouts_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl does not exist"):
        load_skeletons(tmp_path / "nope.pkl")
    (tmp_path / "poses.csv").write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"poses.csv: unknown skeleton file type '\.csv'"):
        load_skeletons(tmp_path / "poses.csv")
    with pytest.raises(ValueError, match="has 20 joints per skeleton, but layout 'coco17' has 17"):
        load_skeletons(require("msr_action3d.pkl"), layout="coco17")
    np.save(tmp_path / "x.npy", np.ones((2, 1, 4, 9, 2), dtype="float32"))
    with pytest.raises(ValueError, match="layout is unknown"):
        load_skeletons(tmp_path / "x.npy")
