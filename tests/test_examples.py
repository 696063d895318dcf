"""The README's main job (examples/pretrain_and_finetune.py) runs end to end on real data."""

import json
import os
import subprocess
import sys

import keras
import pytest

from real_data import require

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the script is checked once, on JAX")
def test_main_job_pretrains_finetunes_and_reports(tmp_path):
    data = require("msr_action3d.pkl")
    command = [sys.executable, os.path.join(ROOT, "examples", "pretrain_and_finetune.py"),
               "--data", str(data), "--frames", "8", "--pretrain-epochs", "1",
               "--finetune-epochs", "1", "--output", str(tmp_path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "test top-1" in out
    report = json.loads((tmp_path / "results.json").read_text())
    models = [r["model"] for r in report["results"]]
    assert models == ["from scratch", "SkeletonMAE pre-trained"]
    for result in report["results"]:
        assert 0.0 <= result["test_accuracy"] <= 1.0
    first, last = report["results"][1]["pretrain_loss_first_last"]
    assert first > 0 and last > 0
