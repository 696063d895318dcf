"""`benchmarks/protocols.py --quick` on MSR Action3D, one seed: every cell has a mean and a
standard deviation in results.json, and the markdown table is written."""

import json
from pathlib import Path

import keras
import pytest

from helpers import load_benchmark
from real_data import require


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="timed for the JAX backend")
def test_quick_protocol_on_msr(tmp_path, monkeypatch):
    data = require("msr_action3d.pkl")
    monkeypatch.setenv("SKELETONMAE_DATA", str(data.parent))
    protocols = load_benchmark("protocols")
    output = tmp_path / "protocols"
    protocols.main(["--quick", "--sets", "msr", "--seeds", "1", "--output", str(output)])

    results = json.loads((output / "results.json").read_text())
    assert results["complete"]
    expected = {f"msr/xsub/{p}" for p in
                ("scratch_full", "pretrained_full", "scratch_10", "pretrained_10", "linear")}
    assert set(results["cells"]) == expected
    for cell in results["cells"].values():
        for metric in ("top1", "mean_class"):
            assert 0 <= cell[metric]["mean"] <= 1
            assert cell[metric]["std"] >= 0
            assert cell[metric]["n"] == 1
        assert cell["seconds"] > 0
    # one pre-training run, shared by the three cells that need it
    pretraining = [r for r in results["runs"] if r["protocol"] == "pretrain"]
    assert len(pretraining) == 1
    assert results["seconds_run_commands"] > 0
    assert {t["target"].split(":")[0] for t in results["targets"]}

    table = (output / "results.md").read_text()
    assert "| protocol |" in table
    for protocol in ("scratch_full", "pretrained_full", "scratch_10", "pretrained_10", "linear"):
        assert f"| {protocol} (" in table


def test_every_ablation_cell_fine_tunes_in_its_own_folder():
    ablations = load_benchmark("ablations")
    folders = {name: ablations.finetune_folder(Path("out"), *options[1:])
               for name, options in ablations.cells().items()}
    assert len(set(folders.values())) == len(folders)
    assert folders["no pre-training"].name == "scratch"
    assert folders["recipe: 2 random parts, GIN 2, STRL 2, coordinates"].name == "recipe"
