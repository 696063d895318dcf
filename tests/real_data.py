"""A quick numpy loader for the real sets in ../shared/data, for tests (until keras_skeletonmae.data).

Uniform temporal sampling to `num_frames` (fixed positions), centring on the layout's centre joint
of the first frame, one person. MSR's all-zero sequence `a13_s09_e02` is dropped by name.
"""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def require(name):
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"real data {path} is absent (set SKELETONMAE_DATA to the shared/data folder)")
    return path


def load_split(name, split, num_frames, center):
    with open(require(name), "rb") as f:
        data = pickle.load(f)
    wanted = set(data["split"][split])
    xs, ys = [], []
    for anno in data["annotations"]:
        if anno["frame_dir"] not in wanted:
            continue
        keypoint = anno["keypoint"][:1].astype("float32")  # (1, T, V, C)
        if not np.any(keypoint):
            continue
        index = np.linspace(0, keypoint.shape[1] - 1, num_frames).round().astype(int)
        keypoint = keypoint[:, index]
        keypoint = keypoint - keypoint[:, :1, center : center + 1]
        xs.append(keypoint)
        ys.append(anno["label"])
    return np.stack(xs), np.asarray(ys, dtype="int32")
