"""The examples run end to end on real data: the README's main job
(examples/pretrain_and_finetune.py), a custom layout, the semi-supervised protocol, export."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_skeletonmae as ksm
from helpers import load_benchmark
from real_data import require

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The example scripts train on real data for an epoch or two: each is checked once, on PyTorch,
# where their small models train without compiling (the same job took about a fifth of JAX's CPU
# time). Every backend fits the models on real data in test_data_dataset.py.
once_on_torch = pytest.mark.skipif(keras.backend.backend() != "torch",
                                   reason="the script is checked once, on PyTorch")


@once_on_torch
def test_main_job_pretrains_finetunes_and_reports(tmp_path):
    data = require("msr_action3d.pkl")
    command = [sys.executable, os.path.join(ROOT, "examples", "pretrain_and_finetune.py"),
               "--data-dir", str(data.parent), "--pretrain-data", "msr_action3d.pkl:xsub_train",
               "--frames", "8", "--pretrain-epochs", "1", "--finetune-epochs", "1",
               "--seeds", "0", "--output", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "test top-1" in out
    report = json.loads((tmp_path / "results.json").read_text())
    assert [r["arm"] for r in report["results"]] == [
        "pre-trained, class-mean head", "from scratch, fine-tuned", "pre-trained, fine-tuned"]
    for result in report["results"]:
        assert 0.0 <= result["top1"] <= 1.0
    assert report["pretrain"]["epochs"] == 1 and report["pretrain"]["final_loss"] > 0
    head = ksm.SkeletonClassifier.from_preset(tmp_path / "class_mean_head_seed0" / "preset")
    assert head.backbone.num_frames == 8 and len(head.strl_blocks) == 2
    # Run again: every run is complete, so the job resumes each and reports the same table.
    again = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert again.splitlines()[-5:] == out.splitlines()[-5:]


def _run_example(name, *arguments, check=True):
    """Run examples/<name> on the current backend; returns the CompletedProcess."""
    command = [sys.executable, os.path.join(ROOT, "examples", name), *map(str, arguments)]
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if check and result.returncode:
        pytest.fail(f"{name} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    return result


@once_on_torch
def test_custom_layout_example_trains_and_reloads_its_layout(tmp_path):
    data = require("msr_action3d.pkl")
    out = _run_example("custom_layout.py", "--data", data, "--frames", "8",
                       "--pretrain-epochs", "1", "--finetune-epochs", "1",
                       "--output", tmp_path).stdout
    assert "Registered SkeletonLayout(name='kinect15', num_joints=15, num_parts=6)" in out
    assert "reloaded presets       layout 'kinect15'" in out
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["layout"]["num_joints"] == 15 and len(report["layout"]["parts"]) == 6
    assert report["train_shape"][1:] == [1, 8, 15, 3]
    assert report["reloaded_layout"] == "kinect15"
    assert 0.0 <= report["test_accuracy"] <= 1.0
    assert report["reload_max_abs_difference"]["backbone"] < 1e-5
    assert report["reload_max_abs_difference"]["classifier"] < 1e-5
    config = json.loads((tmp_path / "backbone" / "config.json").read_text())
    assert config["config"]["layout"] == "kinect15"  # a registered layout is stored by name


@once_on_torch
def test_semi_supervised_example_reports_each_fraction(tmp_path):
    data = require("msr_action3d.pkl")
    out = _run_example("semi_supervised.py", "--data", data, "--fractions", "0.01",
                       "--frames", "8", "--pretrain-epochs", "1", "--finetune-epochs", "1",
                       "--output", tmp_path).stdout
    assert "scratch top-1" in out and "pre-trained top-1" in out
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["train_sequences"] == 284
    [row] = report["results"]
    # 1% of 9-15 sequences per class rounds to the minimum: one per class, 20 classes.
    assert row["fraction"] == 0.01 and row["labelled_sequences"] == 20
    assert 0.0 <= row["scratch_top1"] <= 1.0 and 0.0 <= row["pretrained_top1"] <= 1.0
    assert (tmp_path / "pretrained_backbone" / "model.weights.h5").is_file()


def _saved_model_export_unavailable():
    return importlib.util.find_spec("tensorflow") is None or (
        keras.backend.backend() == "torch" and importlib.util.find_spec("torch_xla") is None)


def _export_example():
    return load_benchmark("export", folder=Path(ROOT) / "examples")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the export is checked once, on TensorFlow")
def test_export_example_serves_what_predict_returns(tmp_path):
    data = require("msr_action3d.pkl")
    out = _run_example("export.py", "--data", data, "--samples", "8", "--output", tmp_path).stdout
    assert "tf_saved_model" in out
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["sequences"] == 8
    saved_model = report["exports"]["tf_saved_model"]
    assert saved_model["max_abs_difference"] < 1e-4
    assert saved_model["top1_agreement"] == 1.0
    assert (tmp_path / "saved_model" / "saved_model.pb").is_file()
    onnx = report["exports"]["onnx"]
    if _export_example().onnx_unavailable("tensorflow"):
        assert "pip install" in onnx["skipped"]
    else:
        assert onnx["max_abs_difference"] < 1e-4 and onnx["top1_agreement"] == 1.0
        assert (tmp_path / "model.onnx").is_file()


@pytest.mark.skipif(not _saved_model_export_unavailable(),
                    reason="a SavedModel can be exported here (checked on TensorFlow)")
def test_export_example_says_what_to_install_where_it_cannot_export(tmp_path):
    data = require("msr_action3d.pkl")
    result = _run_example("export.py", "--data", data, "--samples", "2", "--output", tmp_path,
                          "--no-onnx", check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "pip install" in result.stderr
    assert not (tmp_path / "results.json").exists()


def test_onnx_unavailable_names_what_to_install(monkeypatch):
    export = _export_example()
    monkeypatch.setattr(export, "missing", lambda modules: list(modules))
    for backend, needs in export.ONNX_NEEDS.items():
        reason = export.onnx_unavailable(backend)
        assert f"pip install {' '.join(needs)}" in reason and "\n" not in reason
    monkeypatch.setattr(export, "missing", lambda modules: [])
    assert export.onnx_unavailable(keras.backend.backend()) is None


@pytest.mark.tf_graph
@pytest.mark.xfail(keras.backend.backend() == "jax", strict=False,
                   reason="jax2onnx 0.17 writes a graph onnxruntime 1.32 cannot load (dynamic "
                          "batch reshape, 4-D max-pool); see examples/export.py")
def test_onnx_export_of_a_bones_and_motion_classifier_matches_predict(tmp_path):
    export = _export_example()
    reason = export.onnx_unavailable(keras.backend.backend())
    if reason:
        pytest.skip(reason)
    keras.utils.set_random_seed(0)
    backbone = ksm.SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=16,
                                       num_persons=1, embed_dim=16, num_layers=1,
                                       hidden_dim=32, motion=True, bones=True)
    model = ksm.SkeletonClassifier(backbone, num_classes=5, num_strl_layers=1)
    x = np.random.default_rng(0).normal(size=(3, 1, 16, 20, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    # Bones go through ops.take, whose `ravel` PyTorch's TorchScript exporter lacks.
    session = export.export_onnx(model, tmp_path / "model.onnx", x.shape[1:])
    for batch in (3, 1):  # the batch axis is dynamic
        served = session.run(None, {session.get_inputs()[0].name: x[:batch]})[0]
        np.testing.assert_allclose(served, expected[:batch], atol=1e-4)
