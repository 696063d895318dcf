import json
import os
import re
import sys
import types

import h5py
import keras
import numpy as np
import pytest
from keras import ops

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.models import presets as preset_io

SMALL = dict(num_frames=8, num_persons=1, embed_dim=16, num_layers=2, hidden_dim=32)


def kinect_backbone(**kwargs):
    return SkeletonMAEBackbone(layout="kinect20", num_channels=3, **{**SMALL, **kwargs})


def x_batch(rng, joints=20, channels=3, frames=8):
    return rng.normal(size=(3, 1, frames, joints, channels)).astype("float32")


def weights_of(model):
    return {v.path: ops.convert_to_numpy(v) for v in model.weights}


def test_builtin_catalogue_and_unknown_name():
    names = list(SkeletonMAEBackbone.presets)
    assert {"skeletonmae_coco17_base", "skeletonmae_ntu25_base"} <= set(names)
    assert SkeletonClassifier.presets == SkeletonMAEBackbone.presets
    with pytest.raises(ValueError, match="skeletonmae_coco17_base"):
        SkeletonMAEBackbone.from_preset("no_such_preset")


@pytest.mark.parametrize("name", sorted(preset_io.builtin_presets()))
def test_every_builtin_preset_loads_and_runs(name, rng):
    metadata = preset_io.builtin_presets()[name]
    load = metadata.get("weights", True)
    backbone = SkeletonMAEBackbone.from_preset(name, load_weights=load)
    assert backbone.layout.name == metadata["layout"]
    x = rng.normal(size=(2,) + tuple(backbone.input.shape[1:])).astype("float32")
    assert backbone.predict(x, verbose=0).shape == x.shape[:-1] + (backbone.embed_dim,)
    pretrainer = SkeletonMAEPretrainer.from_preset(name, load_weights=load)
    assert np.isfinite(pretrainer.evaluate(x, verbose=0))
    classifier = SkeletonClassifier.from_preset(name, load_weights=load, num_classes=7)
    assert classifier.predict(x, verbose=0).shape == (2, 7)
    if not load:
        with pytest.raises(ValueError, match="load_weights=False"):
            SkeletonMAEBackbone.from_preset(name)


REFERENCES = os.path.join(os.path.dirname(__file__), "preset_references")
WEIGHTED = sorted(n for n, m in preset_io.builtin_presets().items() if m.get("weights", True))


@pytest.mark.parametrize("name", WEIGHTED)
def test_weighted_presets_predict_the_same_on_every_backend(name):
    """The reference outputs were computed by examples/train_presets.py on one backend."""
    reference = np.load(os.path.join(REFERENCES, f"{name}.npz"))
    backbone = SkeletonMAEBackbone.from_preset(name)
    got = backbone.predict(reference["x"], verbose=0)
    np.testing.assert_allclose(got, reference["backbone"], rtol=1e-4, atol=1e-4)
    if "predictions" in reference:
        classifier = SkeletonClassifier.from_preset(name)
        got = classifier.predict(reference["x"], verbose=0)
        np.testing.assert_allclose(got, reference["predictions"], rtol=1e-4, atol=1e-4)


def make_model(make, backbone):
    return {
        "backbone": lambda: backbone,
        "pretrainer": lambda: SkeletonMAEPretrainer(backbone, target_window=3, seed=4),
        "classifier": lambda: SkeletonClassifier(backbone, num_classes=5, num_strl_layers=2),
        "linear_probe": lambda: SkeletonClassifier(backbone, num_classes=5, freeze_backbone=True),
    }[make]()


def h5_contents(path):
    """Every group and dataset name of an h5 file, and the `path` attributes of its datasets."""
    names, paths = [], []

    def visit(name, item):
        names.append(name)
        if isinstance(item, h5py.Dataset) and "path" in item.attrs:
            paths.append(item.attrs["path"])

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return names, paths


@pytest.mark.parametrize("make", ["backbone", "pretrainer", "classifier", "linear_probe"])
def test_save_to_preset_round_trip(tmp_path, rng, make):
    backbone = kinect_backbone()
    model = make_model(make, backbone)
    x = x_batch(rng)
    if make == "backbone":  # a compiled model with optimizer state, which is not saved
        model.compile(optimizer="adam", loss="mse")
        model.optimizer.build(model.trainable_variables)
    elif make != "pretrainer":
        model.fit(x, np.arange(3), epochs=1, verbose=0)  # weights that are not the initial ones
    model.save_to_preset(tmp_path, metadata={"data": "test"})
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["data"] == "test" and metadata["layout"] == "kinect20"
    assert metadata["parameter_count"] == backbone.count_params()
    for weights_file in tmp_path.glob("*.h5"):
        assert not any("optimizer" in name for name in h5_contents(weights_file)[0])
    loaded = type(model).from_preset(str(tmp_path))
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    expected, got = weights_of(model), weights_of(loaded)
    assert expected.keys() == got.keys()
    for path in expected:
        np.testing.assert_array_equal(expected[path], got[path], err_msg=path)
    expected = keras.tree.flatten(model.predict(x, verbose=0))  # the pre-trainer's: a dict
    for want, have in zip(expected, keras.tree.flatten(loaded.predict(x, verbose=0))):
        np.testing.assert_array_equal(have, want)
    unweighted = type(model).from_preset(str(tmp_path), load_weights=False)
    assert unweighted.get_config() == model.get_config()


@pytest.mark.parametrize("make", ["pretrainer", "classifier", "linear_probe"])
def test_task_weights_hold_only_the_task_layers_one_group_each(tmp_path, make):
    model = make_model(make, kinect_backbone())
    model.save_to_preset(tmp_path)
    names, paths = h5_contents(tmp_path / "task.weights.h5")
    backbone_paths = {v.path for v in model.backbone.weights}
    assert paths and not backbone_paths & set(paths)
    assert len(paths) == len(model.weights) - len(model.backbone.weights)
    groups = {name for name in names if "/" not in name}
    assert groups == {
        "pretrainer": {"masking", "remask", "decoder"},
        "classifier": {"strl_0", "strl_1_encoder", "strl_1", "predictions"},
        "linear_probe": {"predictions"},
    }[make]
    saved = preset_io.read_task_weights(tmp_path / "task.weights.h5")
    for name in groups:
        assert len(saved[name]) == len(model.get_layer(name).weights)


def test_package_uses_no_private_keras_api():
    package = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "keras_skeletonmae")
    users = []
    for directory, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(directory, name)) as f:
                    if re.search(r"keras\.src\b|from keras import src\b", f.read()):
                        users.append(os.path.join(directory, name))
    assert not users


def test_a_keras_weights_file_of_the_whole_task_still_loads(tmp_path):
    """`task.weights.h5` written by `Model.save_weights` (the whole task, backbone included)."""
    classifier = SkeletonClassifier(kinect_backbone(), num_classes=5, num_strl_layers=2)
    classifier.save_to_preset(tmp_path)
    classifier.save_weights(str(tmp_path / "task.weights.h5"))
    loaded = SkeletonClassifier.from_preset(str(tmp_path))
    expected = weights_of(classifier)
    for path, value in weights_of(loaded).items():
        np.testing.assert_array_equal(value, expected[path], err_msg=path)
    backbone = kinect_backbone()
    backbone.load_weights(str(tmp_path / "model.weights.h5"))  # a plain Keras weights file
    np.testing.assert_array_equal(weights_of(backbone)["embedding/projection/kernel"],
                                  expected["embedding/projection/kernel"])


def test_num_classes_reinitialises_only_the_head(tmp_path, rng):
    classifier = SkeletonClassifier(kinect_backbone(), num_classes=5, num_strl_layers=2)
    classifier.fit(x_batch(rng), np.arange(3), epochs=1, verbose=0)
    classifier.save_to_preset(tmp_path)
    same = SkeletonClassifier.from_preset(str(tmp_path))
    assert same.num_classes == 5
    new = SkeletonClassifier.from_preset(str(tmp_path), num_classes=9, dropout=0.1)
    assert new.num_classes == 9 and new.dropout == 0.1
    old = weights_of(classifier)
    for path, value in weights_of(new).items():
        if path.startswith("predictions/"):
            assert value.shape[-1] == 9
        else:
            np.testing.assert_array_equal(value, old[path], err_msg=path)
    with pytest.raises(ValueError, match=r"task.weights.h5 give layer 'strl_0' weights of shapes"):
        SkeletonClassifier.from_preset(str(tmp_path), temporal_kernel_size=3)


def test_classifier_around_a_backbone_preset_needs_num_classes(tmp_path):
    kinect_backbone().save_to_preset(tmp_path)
    with pytest.raises(ValueError, match="num_classes"):
        SkeletonClassifier.from_preset(str(tmp_path))
    assert SkeletonClassifier.from_preset(str(tmp_path), num_classes=4).num_classes == 4


def test_other_layout_and_frames_keep_weights_other_channels_fail(tmp_path, rng):
    backbone = kinect_backbone()
    backbone.save_to_preset(tmp_path)
    ntu = SkeletonMAEBackbone.from_preset(str(tmp_path), layout="ntu25", num_frames=16)
    assert ntu.layout.name == "ntu25" and ntu.input.shape[-2] == 25
    old, new = weights_of(backbone), weights_of(ntu)
    for path in old:
        if path.endswith("position_embedding"):
            assert new[path].shape == (16, 1, 16)
            np.testing.assert_allclose(new[path][[0, -1]], old[path][[0, -1]], rtol=1e-6)
        else:
            np.testing.assert_array_equal(new[path], old[path], err_msg=path)
    assert ntu.predict(x_batch(rng, joints=25, frames=16), verbose=0).shape == (3, 1, 16, 25, 16)
    with pytest.raises(ValueError, match="3 channels"):
        SkeletonMAEBackbone.from_preset(str(tmp_path), layout="coco17", num_channels=2)
    with pytest.raises(ValueError, match="motion=False"):
        SkeletonMAEBackbone.from_preset(str(tmp_path), motion=True)
    with pytest.raises(ValueError, match="bones=False"):
        SkeletonMAEBackbone.from_preset(str(tmp_path), bones=True)


def test_bad_preset_directories(tmp_path):
    kinect_backbone().save_to_preset(tmp_path / "ok")
    missing = tmp_path / "missing"
    missing.mkdir()
    with pytest.raises(ValueError, match="config.json is missing"):
        SkeletonMAEBackbone.from_preset(str(missing))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        SkeletonMAEBackbone.from_preset(str(broken))
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "config.json").write_text((tmp_path / "ok" / "config.json").read_text())
    (truncated / "model.weights.h5").write_bytes((tmp_path / "ok" / "model.weights.h5").read_bytes()[:200])
    with pytest.raises(ValueError, match="model.weights.h5"):
        SkeletonMAEBackbone.from_preset(str(truncated))


def test_hub_handles_need_their_client_and_report_failures(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # not installed
    with pytest.raises(ImportError, match="pip install huggingface_hub"):
        SkeletonMAEBackbone.from_preset("hf://someone/skeletonmae")

    def offline(**kwargs):
        raise OSError("offline mode is enabled")

    monkeypatch.setitem(sys.modules, "huggingface_hub", types.SimpleNamespace(snapshot_download=offline))
    with pytest.raises(ValueError, match="Could not download preset 'hf://someone/skeletonmae'.*offline"):
        SkeletonMAEBackbone.from_preset("hf://someone/skeletonmae")
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    with pytest.raises(ImportError, match="pip install kagglehub"):
        SkeletonMAEBackbone.from_preset("kaggle://someone/skeletonmae/keras/base")


def test_hub_handle_downloads_then_loads(tmp_path, monkeypatch):
    kinect_backbone().save_to_preset(tmp_path)
    fake = types.SimpleNamespace(snapshot_download=lambda repo_id: str(tmp_path))
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    assert SkeletonMAEBackbone.from_preset("hf://someone/kinect").layout.name == "kinect20"


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="packaging: checked once, on JAX")
def test_wheel_ships_the_preset_catalogue(tmp_path):
    import subprocess
    import zipfile

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), root],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in preset_io.builtin_presets():
        assert f"keras_skeletonmae/presets/{preset}/config.json" in names
        assert f"keras_skeletonmae/presets/{preset}/metadata.json" in names
