"""`load_skeletons` picks the reader by file name and checks a given layout."""

import pickle

import numpy as np
import pytest

from keras_skeletonmae.cli import build_parser, main
from keras_skeletonmae.data import load_pyskl, save_hdf5
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.training import protocols, sources
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


@pytest.mark.parametrize("name, layout", [
    ("msr_action3d.pkl", "kinect20"), ("utd_mhad.pkl", "kinect20"),
    ("msrc12_gestures.pkl", "kinect20"), ("kinder_gator.pkl", "kinect20"),
    ("jhmdb_2d.pkl", "jhmdb15"), ("penn_action_2d.pkl", "jhmdb15"), ("ntu_samples", "ntu25")])
def test_every_real_set_loads_by_default_with_its_layout_guessed(name, layout):
    assert load_skeletons(require(name)).layout == layout


def test_a_15_joint_3d_set_asks_for_a_layout(tmp_path):
    rng = np.random.default_rng(0)
    content = {"annotations": [{"frame_dir": "s0", "label": 0, "keypoint": rng.normal(
        size=(1, 6, 15, 3)).astype("float32")}]}
    (tmp_path / "mocap15.pkl").write_bytes(pickle.dumps(content))
    with pytest.raises(ValueError) as info:
        load_skeletons(tmp_path / "mocap15.pkl")
    message = str(info.value)
    for fragment in ("mocap15.pkl", "found 15 joints x 3 channels", "'jhmdb15' has 2 coordinates",
                     "layout= in Python", "--layout"):
        assert fragment in message, message
    assert load_skeletons(tmp_path / "mocap15.pkl", layout="jhmdb15").layout == "jhmdb15"


def test_repair_nonfinite_option_reaches_the_reader(tmp_path, monkeypatch, capsys):
    asked = []

    def fake_load(path, layout=None, nonfinite="raise"):
        asked.append(nonfinite)
        raise ValueError("stop here")

    for module in (protocols, sources):  # pretrain reads through `sources`
        monkeypatch.setattr(module, "load_skeletons", fake_load)
    data = str(require("msr_action3d.pkl"))
    for command in ("pretrain", "finetune"):
        for extra in ([], ["--repair-nonfinite"]):
            assert main([command, "--data", data, "--output", str(tmp_path / command),
                         *extra]) == 2
    assert asked == ["raise", "interpolate"] * 2
    assert "stop here" in capsys.readouterr().err
    assert "interpolat" in build_parser().commands["pretrain"].format_help()
