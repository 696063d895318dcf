"""A training run's output folder: the config it ran with, per-epoch metrics (JSON and CSV),
checkpoints every epoch, and resuming from the last one.

A checkpoint holds what the next epoch depends on, so a resumed run ends exactly where an
uninterrupted one would: the model and its optimizer state (`model.keras`), the random-seed
state of every layer (masking, dropout; `model.keras` leaves them out) in `state.npz`, and the
metrics so far (`state.json`). The trainer seeds the rest by the epoch: data order and
augmentation (`SkeletonDataset.set_epoch`) and the global generators (`fitting`).
Every file is written whole or not at all, so a run killed at any point leaves only complete
files (and, at worst, hidden `.*.partial` temporaries): each file and folder is written under a
temporary name, then renamed into place. A checkpoint is complete before `checkpoints/LATEST`
is switched to it in one atomic rename, so a run killed while saving keeps its previous one.
"""

import csv
import io
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
    `checkpoints/`, `preset/`, `figures/`).

    Args:
        path: str or `Path`; created when first written to.

    Example:
        model, history = RunDirectory("runs/finetune").load_checkpoint()
    """

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
        table = io.StringIO(newline="")
        writer = csv.DictWriter(table, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
        _write_atomically(self.path / "metrics.csv", table.getvalue())

    def write_preset(self, write):
        """Fill `preset/` by calling `write(folder)` on a temporary folder, then rename it into
        place: a run killed while saving leaves no half-written preset.

        Example:
            run.write_preset(lambda folder: model.save_to_preset(folder))
        """
        _write_folder_atomically(self.preset, write)

    def save_checkpoint(self, model, history):
        """Checkpoint `model` after `len(history)` epochs; older checkpoints are removed."""
        folder = self.checkpoints / f"epoch_{len(history):04d}"

        def write(partial):
            partial.mkdir(parents=True)
            model.save(partial / "model.keras")
            np.savez(partial / "state.npz", **_random_state(model))
            (partial / "state.json").write_text(json.dumps({"history": history}, indent=2))

        _write_folder_atomically(folder, write)
        _write_atomically(self.checkpoints / LATEST_FILE, folder.name)
        # Older checkpoints, and the partial folders of a run killed while saving.
        for old in self.checkpoints.iterdir():
            if old.is_dir() and old.name != folder.name:
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


def _partial(path):
    """The hidden temporary name `path` is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.partial")


def _write_atomically(path, text):
    temporary = _partial(path)
    temporary.write_text(text, newline="")  # as given: the CSV writer ends rows with \r\n
    os.replace(temporary, path)


def _write_folder_atomically(path, write):
    """Call `write(folder)` to fill a new temporary folder, then rename it to `path`. An older
    `path` is moved aside first and removed last: a process killed in between leaves `path`
    missing (the previous one kept as `.NAME.previous`), never half-written."""
    partial, previous = _partial(path), path.with_name(f".{path.name}.previous")
    for stale in (partial, previous):
        if stale.exists():
            shutil.rmtree(stale)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(partial)
    if path.exists():
        os.rename(path, previous)
    os.rename(partial, path)
    if previous.exists():
        shutil.rmtree(previous)
