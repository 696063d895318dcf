"""A training run's output folder: the config it ran with, per-epoch metrics (JSON and CSV),
checkpoints every epoch, and resuming from the last one.

A checkpoint holds what the next epoch depends on, so a resumed run ends exactly where an
uninterrupted one would: the model and its optimizer state (`model.keras`), the random-seed
state of every layer (masking, dropout; `model.keras` leaves them out) in `state.npz`, and the
metrics so far (`state.json`). The trainer seeds the rest by the epoch: data order and
augmentation (`SkeletonDataset.set_epoch`) and the global generators (`workflows`).
Checkpoints are written to a new folder, then `checkpoints/LATEST` is switched to it in one
atomic rename, so a run killed while saving keeps its previous checkpoint.
"""

import csv
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np

CONFIG_FILE = "config.json"
LATEST_FILE = "LATEST"


class RunDirectory:
    """The folder `path` of one run (`config.json`, `metrics.json`, `metrics.csv`,
    `checkpoints/`, `preset/`, `figures/`)."""

    def __init__(self, path):
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.preset = self.path / "preset"
        self.figures = self.path / "figures"

    def write_json(self, name, value):
        self.path.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path / name, json.dumps(value, indent=2) + "\n")

    def read_config(self):
        path = self.path / CONFIG_FILE
        if not path.is_file():
            raise ValueError(f"{self.path} holds no run to resume ({path} is missing).")
        return json.loads(path.read_text())

    def write_metrics(self, history):
        """`history`: one dict of metrics per finished epoch, as `metrics.json` and `.csv`."""
        self.write_json("metrics.json", history)
        columns = list(dict.fromkeys(key for row in history for key in row))
        with open(self.path / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(history)

    def save_checkpoint(self, model, history):
        """Checkpoint `model` after `len(history)` epochs; older checkpoints are removed."""
        folder = self.checkpoints / f"epoch_{len(history):04d}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        model.save(folder / "model.keras")
        np.savez(folder / "state.npz", **_random_state(model))
        (folder / "state.json").write_text(json.dumps({"history": history}, indent=2))
        _write_atomically(self.checkpoints / LATEST_FILE, folder.name)
        for old in self.checkpoints.glob("epoch_*"):
            if old.name != folder.name:
                shutil.rmtree(old)

    @property
    def has_checkpoint(self):
        return (self.checkpoints / LATEST_FILE).is_file()

    def load_checkpoint(self):
        """`(model, history)` of the last checkpoint; `len(history)` epochs are done."""
        latest = self.checkpoints / LATEST_FILE
        if not self.has_checkpoint:
            raise ValueError(f"{self.path} has no checkpoint to resume from ({latest} is "
                             "missing: the run stopped before its first epoch ended).")
        folder = self.checkpoints / latest.read_text().strip()
        model = keras.models.load_model(folder / "model.keras")
        with np.load(folder / "state.npz") as state:
            _restore_random_state(model, dict(state))
        history = json.loads((folder / "state.json").read_text())["history"]
        return model, history


def _seed_states(model):
    """The variables of `model` that are not weights: its layers' random-seed states."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _random_state(model):
    return {f"seed_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_seed_states(model))}


def _restore_random_state(model, state):
    for i, variable in enumerate(_seed_states(model)):
        variable.assign(state[f"seed_{i}"])


def _write_atomically(path, text):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
