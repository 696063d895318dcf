"""Bad input for every reader: each case must raise one `ValueError` naming the file (and the
sample, where there is one) and what was expected; never a crash deeper down, never silence.

The test ids count the bad inputs tried per reader (`pkl-...`, `h5-...`, `npz-...`, `npy-...`,
`skeleton-...`, `folder-...`).
"""

import copy
import pickle

import h5py
import numpy as np
import pytest

from keras_skeletonmae.data import SkeletonData, load_hdf5, save_hdf5
from keras_skeletonmae.data.any_format import load_skeletons

V, C = 17, 2  # coco17-shaped synthetic samples


@pytest.fixture(autouse=True)
def _fresh_state():
    """The readers touch no Keras state: skip conftest's per-test session reset (most of the
    time of ~150 tiny cases)."""
    yield


def _rng(*seed):
    return np.random.default_rng([2024, *seed])


def _truncations(blob, count=4):
    """`count` seeded cut points inside `blob` (never 0, never the whole file)."""
    return sorted({int(i) for i in _rng(len(blob)).integers(1, len(blob) - 1, size=count)})


def _random_bytes(seed, size=300):
    return _rng(seed).integers(0, 256, size=size, dtype=np.uint8).tobytes()


def _check(read, path, fragments):
    """`read(path)` raises a `ValueError` (nothing else) naming the file and `fragments`."""
    with pytest.raises(ValueError) as info:
        read(path)
    message = str(info.value)
    assert path.name in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# --- PYSKL pickles ---

def _pyskl():
    rng = _rng(1)
    annotations = [{"frame_dir": f"s{i}", "label": i % 2, "total_frames": 6,
                    "keypoint": rng.normal(size=(1, 6, V, C)).astype("float32"),
                    "keypoint_score": np.ones((1, 6, V), "float32")} for i in range(3)]
    return {"split": {"train": ["s0", "s1"], "test": ["s2"]}, "annotations": annotations,
            "meta": {"class_names": ["a", "b"]}}


def _set(index, key, value):
    def edit(content):
        content["annotations"][index][key] = value
    return edit


def _drop(index, key):
    def edit(content):
        del content["annotations"][index][key]
    return edit


def _top(key, value):
    def edit(content):
        content[key] = value
    return edit


def _meta(key, value):
    def edit(content):
        content["meta"][key] = value
    return edit


def _empty(index, persons_frames):
    def edit(content):
        anno = content["annotations"][index]
        anno.update(keypoint=np.zeros((*persons_frames, V, C)), total_frames=persons_frames[1],
                    keypoint_score=np.zeros((*persons_frames, V)))
    return edit


def _keypoint_at(index, value, where=(0, 2, 3, 1)):
    def edit(content):
        content["annotations"][index]["keypoint"][where] = value
    return edit


def _score_at(index, value):
    def edit(content):
        content["annotations"][index]["keypoint_score"][0, 1, 2] = value
    return edit


PYSKL_EDITS = {
    "not-a-dict": (lambda c: [c], ["not a PYSKL annotation file"]),
    "annotations-not-a-list": (_top("annotations", {"s0": 1}), ["'annotations' list"]),
    "no-annotations": (lambda c: {"annotations": [], "meta": c["meta"]}, ["no samples"]),
    "annotation-not-a-dict": (lambda c: c["annotations"].__setitem__(1, "s1"), ["annotation 1"]),
    "no-keypoint": (_drop(1, "keypoint"), ["annotation 1", "'keypoint'"]),
    "keypoint-3d": (_set(1, "keypoint", np.zeros((6, V, C))), ["'s1'", "[persons, frames"]),
    "keypoint-5d": (_set(1, "keypoint", np.zeros((1, 1, 6, V, C))), ["'s1'", "[persons, fr"]),
    "keypoint-string": (_set(1, "keypoint", "abc"), ["'s1'", "real numbers"]),
    "keypoint-ragged": (_set(1, "keypoint", [[1.0, 2.0], [3.0]]), ["'s1'", "regular numeric"]),
    "keypoint-complex": (_set(1, "keypoint", np.zeros((1, 6, V, C), complex)), ["'s1'", "real"]),
    "keypoint-none": (_set(1, "keypoint", None), ["'s1'", "real numbers"]),
    "no-joints": (_set(1, "keypoint", np.zeros((1, 6, 0, C))), ["'s1'", "no joints"]),
    "no-channels": (_set(0, "keypoint", np.zeros((1, 6, V, 0))), ["'s0'", "no joints or no ch"]),
    "zero-frames": (_empty(1, (1, 0)), ["'s1'", "empty sequence"]),
    "zero-persons": (_empty(1, (0, 6)), ["'s1'", "empty sequence"]),
    "joint-count-differs": (_set(2, "keypoint", np.zeros((1, 6, 15, C))), ["'s2'", "15 joints"]),
    "nan-keypoint": (_keypoint_at(1, np.nan), ["'s1'", "1 NaN/inf coordinates"]),
    "inf-keypoint": (_keypoint_at(2, -np.inf), ["'s2'", "1 NaN/inf coordinates"]),
    "nan-score": (_score_at(0, np.nan), ["'s0'", "1 NaN/inf scores"]),
    "score-shape": (_set(1, "keypoint_score", np.ones((1, 6, V - 1))), ["'s1'", "scores have"]),
    "score-missing-in-one": (_drop(2, "keypoint_score"), ["'s2'", "'keypoint_score'"]),
    "score-string": (_set(0, "keypoint_score", "high"), ["'s0'", "scores must be real"]),
    "label-missing-in-one": (_drop(1, "label"), ["'s1'", "'label'"]),
    "label-fraction": (_set(1, "label", 0.5), ["'s1'", "not an integer class id"]),
    "label-string": (_set(1, "label", "b"), ["labels must be integer class ids"]),
    "label-none": (_set(1, "label", None), ["labels must be integer class ids"]),
    "label-negative": (_set(1, "label", -1), ["'s1'", "label -1, expected [0, 2)"]),
    "label-beyond-class-names": (_set(2, "label", 2), ["'s2'", "label 2, expected [0, 2)"]),
    "label-nan": (_set(2, "label", float("nan")), ["'s2'", "not an integer class id"]),
    "total-frames-mismatch": (_set(1, "total_frames", 9), ["'s1'", "total_frames=9"]),
    "total-frames-string": (_set(1, "total_frames", "6"), ["'s1'", "total_frames='6'"]),
    "duplicate-ids": (_set(2, "frame_dir", "s0"), ["unique", "'s0'"]),
    "split-not-a-dict": (_top("split", ["s0"]), ["splits must map"]),
    "split-lists-unknown-id": (_top("split", {"train": ["s0", "s9"]}), ["split 'train'", "s9"]),
    "split-is-a-string": (_top("split", {"train": "s0"}), ["split 'train' must be a list"]),
    "meta-not-a-dict": (_top("meta", ["a", "b"]), ["'meta' must be a dict"]),
    "class-names-string": (_meta("class_names", "ab"), ["class_names'] must be a list"]),
    "num-node-disagrees": (_meta("num_node", 25), ["num_node'] is 25", "17 joints"]),
    "edges-malformed": (_meta("edges", [(0, 1, 2)]), ["meta['edges']", "pairs"]),
    "edges-not-numbers": (_meta("inward_0based", [("a", "b")]), ["meta['inward_0based']"]),
    "joint-names-not-strings": (_meta("joint_names", [1, 2]), ["joint_names'] must be a list"]),
}


def _pyskl_cases():
    blob = pickle.dumps(_pyskl())
    cases = {f"truncated-at-{cut}": (blob[:cut], ["truncated or corrupt"])
             for cut in _truncations(blob)}
    cases.update({f"random-bytes-{seed}": (_random_bytes(seed), []) for seed in range(3)})
    for name, (edit, fragments) in PYSKL_EDITS.items():
        content = copy.deepcopy(_pyskl())
        content = edit(content) or content
        cases[name] = (pickle.dumps(content), fragments)
    return cases


PYSKL_CASES = _pyskl_cases()


@pytest.mark.parametrize("case", sorted(PYSKL_CASES), ids=lambda c: f"pkl-{c}")
def test_bad_pyskl_pickle(case, tmp_path):
    blob, fragments = PYSKL_CASES[case]
    path = tmp_path / "bad.pkl"
    path.write_bytes(blob)
    _check(lambda p: load_skeletons(p, layout="coco17"), path, fragments)


# --- HDF5 ---

def _good_data():
    rng = _rng(2)
    keypoints = [rng.normal(size=(m, t, V, C)) for m, t in ((1, 5), (2, 4), (1, 3))]
    return SkeletonData(keypoints, scores=[np.ones(k.shape[:3]) for k in keypoints],
                        labels=[0, 1, 1], ids=["s0", "s1", "s2"], class_names=["a", "b"],
                        layout="coco17", splits={"train": ["s0", "s1"], "test": ["s2"]})


def _replace(name, value, **kwargs):
    def edit(f):
        del f[name]
        f.create_dataset(name, data=value, **kwargs)
    return edit


def _delete(name):
    def edit(f):
        del f[name]
    return edit


def _poke(name, index, value):
    def edit(f):
        f[name][index] = value
    return edit


def _attr(name, value):
    def edit(f):
        if value is None:
            del f.attrs[name]
        else:
            f.attrs[name] = value
    return edit


STRING = h5py.string_dtype()
H5_EDITS = {
    "no-format-attribute": (_attr("format", None), ["not a SkeletonData HDF5 file"]),
    "no-shapes": (_delete("shapes"), ["'shapes' is missing"]),
    "no-keypoints": (_delete("keypoints"), ["'keypoints' is missing"]),
    "shapes-1d": (_replace("shapes", np.array([1, 5])), ["'shapes' must be a 2-d"]),
    "shapes-float": (_replace("shapes", np.ones((3, 2))), ["'shapes' must be a 2-d array of int"]),
    "shapes-three-columns": (_replace("shapes", np.ones((3, 3), int)), ["(persons, frames)"]),
    "shapes-negative": (_replace("shapes", np.array([[1, 5], [-2, -4], [1, 3]])), ["minimum -4"]),
    "shapes-sum-too-big": (_replace("shapes", np.array([[1, 5], [2, 4], [1, 9]])),
                           ["16 rows", "adds up to 22"]),
    "shapes-sum-too-small": (_replace("shapes", np.array([[1, 5], [2, 4], [1, 1]])),
                             ["16 rows", "adds up to 14"]),
    "keypoints-2d": (_replace("keypoints", np.zeros((16, V))), ["'keypoints' must be a 3-d"]),
    "keypoints-strings": (_replace("keypoints", np.full((16, V, C), "x").astype("S1")),
                          ["'keypoints' must be a 3-d array of numbers"]),
    "scores-wrong-joints": (_replace("scores", np.ones((16, V - 2))), ["'s0'", "scores have"]),
    "ids-too-few": (_replace("ids", ["s0", "s1"], dtype=STRING), ["2 ids for 3 samples"]),
    "ids-duplicate": (_replace("ids", ["s0", "s1", "s1"], dtype=STRING), ["unique", "'s1'"]),
    "ids-numbers-2d": (_replace("ids", np.zeros((3, 2))), ["'ids' must be a 1-d array of str"]),
    "labels-float": (_replace("labels", np.array([0.5, 1.0, 1.0])), ["'labels' must be a 1-d"]),
    "labels-too-few": (_replace("labels", np.array([0, 1])), ["2 labels for 3 samples"]),
    "label-beyond-class-names": (_poke("labels", 2, 5), ["'s2'", "label 5, expected [0, 2)"]),
    "label-negative": (_poke("labels", 0, -3), ["'s0'", "label -3"]),
    "split-lengths-mismatch": (_replace("split_lengths", np.array([2, 5])), ["'split_lengths'"]),
    "split-lengths-count": (_replace("split_lengths", np.array([3])), ["'split_lengths'"]),
    "split-unknown-id": (_replace("split_ids", ["s0", "s1", "s7"], dtype=STRING), ["s7"]),
    "empty-sample": (lambda f: (_replace("shapes", np.array([[1, 5], [2, 4], [1, 0], [1, 3]]))(f),
                                _replace("ids", ["s0", "s1", "e", "s2"], dtype=STRING)(f),
                                _replace("labels", np.array([0, 1, 1, 1]))(f)),
                     ["'e'", "empty sequence"]),
    "nan-keypoint": (_poke("keypoints", (7, 3, 1), np.nan), ["'s1'", "1 NaN/inf coordinates"]),
    "inf-score": (_poke("scores", (15, 4), np.inf), ["'s2'", "1 NaN/inf scores"]),
    "layout-unknown": (_attr("layout", "nope"), ["Unknown layout 'nope'", "--layout"]),
    "layout-wrong-joints": (_attr("layout", "ntu25"), ["17 joints", "'ntu25' has 25"]),
}


def _h5_cases(tmp_path):
    path = tmp_path / "good.h5"
    save_hdf5(_good_data(), path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def good_h5(tmp_path_factory):
    return _h5_cases(tmp_path_factory.mktemp("h5"))


H5_BYTE_CASES = [f"truncated-{i}" for i in range(4)] + [f"random-bytes-{s}" for s in range(3)]


@pytest.mark.parametrize("case", H5_BYTE_CASES + sorted(H5_EDITS), ids=lambda c: f"h5-{c}")
def test_bad_hdf5(case, tmp_path, good_h5):
    path = tmp_path / "bad.h5"
    if case.startswith("truncated"):
        path.write_bytes(good_h5[:_truncations(good_h5)[int(case[-1])]])
        fragments = []
    elif case.startswith("random"):
        path.write_bytes(_random_bytes(int(case[-1])))
        fragments = ["not an HDF5 file"]
    else:
        path.write_bytes(good_h5)
        edit, fragments = H5_EDITS[case]
        with h5py.File(path, "a") as f:
            edit(f)
    _check(load_skeletons, path, fragments)


def test_good_hdf5_and_repaired_nan_load(tmp_path, good_h5):
    """The fuzz's starting file is good, and NaN are only refused by default."""
    path = tmp_path / "good.h5"
    path.write_bytes(good_h5)
    assert len(load_hdf5(path)) == 3
    with h5py.File(path, "a") as f:
        f["keypoints"][7, 3, 1] = np.nan
    assert np.isfinite(load_hdf5(path, nonfinite="interpolate").keypoints[1]).all()


# --- numpy ---

def _x(n=3, t=5):
    return _rng(3).normal(size=(n, 1, t, V, C)).astype("float32")


def _with_nan(value):
    x = _x()
    x[1, 0, 2, 3, 0] = value
    return x


NPZ_CASES = {
    "no-x": ({"data": _x()}, ["no 'x'"]),
    "x-and-keypoint": ({"x": _x(), "keypoint": _x()}, ["both"]),
    "x-4d": ({"x": _x()[:, 0]}, ["(N, M, T, V, C)"]),
    "x-strings": ({"x": np.full((3, 1, 5, V, C), "a")}, ["real numbers"]),
    "x-complex": ({"x": _x().astype(complex)}, ["real numbers"]),
    "x-object": ({"x": np.array([_x()[0], None], dtype=object)}, ["cannot read"]),
    "no-samples": ({"x": _x(n=0)}, ["no samples"]),
    "zero-frames": ({"x": _x(t=0)}, ["'sample_0'", "empty sequence"]),
    "no-joints": ({"x": _x()[..., :0, :]}, ["'sample_0'", "no joints"]),
    "nan": ({"x": _with_nan(np.nan)}, ["'sample_1'", "1 NaN/inf coordinates"]),
    "inf": ({"x": _with_nan(np.inf)}, ["'sample_1'", "1 NaN/inf coordinates"]),
    "y-too-long": ({"x": _x(), "y": np.arange(4)}, ["labels of shape (3,)"]),
    "y-2d": ({"x": _x(), "y": np.zeros((3, 1), int)}, ["labels of shape (3,)"]),
    "y-float": ({"x": _x(), "y": np.zeros(3)}, ["integer class ids"]),
    "y-negative": ({"x": _x(), "y": np.array([0, -1, 0])}, ["'sample_1'", "label -1"]),
    "y-beyond-class-names": ({"x": _x(), "y": np.array([0, 1, 2]),
                              "class_names": np.array(["a", "b"])}, ["'sample_2'", "label 2"]),
    "ids-too-few": ({"x": _x(), "ids": np.array(["a", "b"])}, ["ids of shape (3,)"]),
    "ids-2d": ({"x": _x(), "ids": np.array([["a"], ["b"], ["c"]])}, ["ids of shape (3,)"]),
    "ids-duplicate": ({"x": _x(), "ids": np.array(["a", "b", "a"])}, ["unique", "'a'"]),
    "class-names-2d": ({"x": _x(), "class_names": np.array([["a", "b"]])}, ["class_names"]),
}


@pytest.mark.parametrize("case", [f"truncated-{i}" for i in range(4)]
                         + [f"random-bytes-{s}" for s in range(3)] + sorted(NPZ_CASES),
                         ids=lambda c: f"npz-{c}")
def test_bad_npz(case, tmp_path):
    path = tmp_path / "bad.npz"
    fragments = []
    if case.startswith(("truncated", "random")):
        np.savez(path, x=_x(), y=np.arange(3) % 2)
        blob = path.read_bytes()
        path.write_bytes(blob[:_truncations(blob)[int(case[-1])]] if case[0] == "t"
                         else _random_bytes(int(case[-1])))
    else:
        arrays, fragments = NPZ_CASES[case]
        np.savez(path, **arrays)
    _check(lambda p: load_skeletons(p, layout="coco17"), path, fragments)


NPY_CASES = {
    "x-4d": (_x()[:, 0], ["(N, M, T, V, C)"]),
    "x-0d": (np.array(1.0), ["(N, M, T, V, C)"]),
    "x-strings": (np.full((3, 1, 5, V, C), "a"), ["real numbers"]),
    "x-bool-ok-but-object": (np.array([1, None], dtype=object), ["cannot read"]),
    "no-samples": (_x(n=0), ["no samples"]),
    "zero-persons": (_x()[:, :0], ["'sample_0'", "empty sequence"]),
    "nan": (_with_nan(np.nan), ["'sample_1'", "1 NaN/inf coordinates"]),
    "inf": (_with_nan(-np.inf), ["'sample_1'", "1 NaN/inf coordinates"]),
}


@pytest.mark.parametrize("case", [f"truncated-{i}" for i in range(4)]
                         + [f"random-bytes-{s}" for s in range(3)] + sorted(NPY_CASES),
                         ids=lambda c: f"npy-{c}")
def test_bad_npy(case, tmp_path):
    path = tmp_path / "bad.npy"
    fragments = []
    if case.startswith(("truncated", "random")):
        np.save(path, _x())
        blob = path.read_bytes()
        path.write_bytes(blob[:_truncations(blob)[int(case[-1])]] if case[0] == "t"
                         else _random_bytes(int(case[-1])))
    else:
        array, fragments = NPY_CASES[case]
        np.save(path, array, allow_pickle=True)
    _check(lambda p: load_skeletons(p, layout="coco17"), path, fragments)


# --- NTU .skeleton files and folders ---

def _ntu_lines(frames=3, bodies=(("72057594037931101",),) * 3, value=None):
    """A valid NTU file's lines; `value` replaces the first coordinate of the first joint."""
    rng = _rng(4)
    lines = [str(frames)]
    for frame in range(frames):
        present = bodies[frame] if frame < len(bodies) else ()
        lines.append(str(len(present)))
        for body in present:
            lines += [f"{body} 0 1 1 1 1 0 0.1 0.2 2", "25"]
            for joint in range(25):
                x, y, z = rng.normal(size=3)
                first = value if (frame, joint) == (0, 0) and value is not None else f"{x:.4f}"
                lines.append(f"{first} {y:.4f} {z:.4f} 0.1 0.2 100 200 1 0 0 0 2")
    return lines


def _replace_line(number, text):
    lines = _ntu_lines()
    lines[number] = text
    return lines


NTU_CASES = {
    "frame-count-text": (_replace_line(0, "three"), ["line 1", "the frame count"]),
    "frame-count-negative": (_replace_line(0, "-2"), ["line 1", "non-negative integer"]),
    "frame-count-fraction": (_replace_line(0, "2.5"), ["line 1", "non-negative integer"]),
    "frame-count-too-big": (_replace_line(0, "4"), ["truncated", "body count of frame 4"]),
    "frame-count-too-small": (_replace_line(0, "2"), ["unexpected content"]),
    "body-count-text": (_replace_line(1, "x"), ["line 2", "body count"]),
    "body-info-short": (_replace_line(2, "72057594037931101 0 1"), ["line 3", "body info"]),
    "joint-count-24": (_replace_line(3, "24"), ["line 4", "24 joints"]),
    "joint-line-short": (_replace_line(4, "0.1 0.2 0.3"), ["line 5", "a joint line"]),
    "joint-line-text": (_replace_line(4, "a b c d e f g h i j k l"), ["line 5", "a joint line"]),
    "nan-coordinate": (_ntu_lines(value="nan"), ["'bad'", "1 NaN/inf coordinates"]),
    "inf-coordinate": (_ntu_lines(value="-inf"), ["'bad'", "1 NaN/inf coordinates"]),
    "zero-frames": (["0"], ["no body in any of its 0 frames"]),
    "no-bodies": (_ntu_lines(bodies=((), (), ())), ["no body in any of its 3 frames"]),
    "body-twice-in-a-frame": (_ntu_lines(bodies=(("7", "7"),) * 3), ["body 7 appears twice"]),
    "empty-file": ([], ["truncated", "the frame count"]),
}


def _ntu_bytes_cases():
    blob = "\n".join(_ntu_lines()).encode()
    cases = {f"truncated-{cut}": blob[:cut] for cut in _truncations(blob, 5)}
    cases.update({f"random-bytes-{seed}": _random_bytes(seed) for seed in range(3)})
    return cases


NTU_BYTES = _ntu_bytes_cases()


@pytest.mark.parametrize("case", sorted(NTU_BYTES) + sorted(NTU_CASES),
                         ids=lambda c: f"skeleton-{c}")
def test_bad_ntu_file(case, tmp_path):
    path = tmp_path / "bad.skeleton"
    if case in NTU_BYTES:
        path.write_bytes(NTU_BYTES[case])
        fragments = []
    else:
        lines, fragments = NTU_CASES[case]
        path.write_text("\n".join(lines) + "\n")
    _check(load_skeletons, path, fragments)


FOLDER_CASES = {
    "empty-folder": ({}, ["no *.skeleton files"]),
    "one-bad-file": ({"S001C001P001R001A001": _ntu_lines(),
                      "S001C001P001R001A002": _replace_line(3, "24")},
                     ["S001C001P001R001A002.skeleton", "24 joints"]),
    "nan-in-one-file": ({"S001C001P001R001A001": _ntu_lines(),
                         "S001C001P001R001A002": _ntu_lines(value="nan")},
                        ["'S001C001P001R001A002'", "NaN/inf"]),
    "some-names-without-action": ({"S001C001P001R001A001": _ntu_lines(), "mine": _ntu_lines()},
                                  ["mine.skeleton", "no action code"]),
    "action-code-zero": ({"S001C001P001R001A000": _ntu_lines()}, ["A000", "start at A001"]),
    "no-bodies-in-one-file": ({"S001C001P001R001A001": _ntu_lines(),
                               "S001C001P001R001A003": _ntu_lines(bodies=((), (), ()))},
                              ["S001C001P001R001A003.skeleton", "no body"]),
}


@pytest.mark.parametrize("case", sorted(FOLDER_CASES), ids=lambda c: f"folder-{c}")
def test_bad_ntu_folder(case, tmp_path):
    folder = tmp_path / "bad_folder"
    folder.mkdir()
    files, fragments = FOLDER_CASES[case]
    for stem, lines in files.items():
        (folder / f"{stem}.skeleton").write_text("\n".join(lines) + "\n")
    _check(load_skeletons, folder, fragments)


def test_fuzz_starting_points_are_good(tmp_path):
    """Every fuzz case breaks a file that loads: the cases test the reader, not the base."""
    (tmp_path / "good.pkl").write_bytes(pickle.dumps(_pyskl()))
    np.savez(tmp_path / "good.npz", x=_x(), y=np.arange(3) % 2)
    np.save(tmp_path / "good.npy", _x())
    folder = tmp_path / "ntu"
    folder.mkdir()
    (folder / "S001C001P001R001A001.skeleton").write_text("\n".join(_ntu_lines()) + "\n")
    for path in ("good.pkl", "good.npz", "good.npy"):
        assert len(load_skeletons(tmp_path / path, layout="coco17")) in (3,)
    assert load_skeletons(folder).labels.tolist() == [0]
    single = load_skeletons(folder / "S001C001P001R001A001.skeleton")
    assert single.keypoints[0].shape == (1, 3, 25, 3)
