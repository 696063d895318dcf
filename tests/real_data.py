"""The real sets in ../shared/data for tests, read with `keras_skeletonmae.data`."""

import os
from pathlib import Path

import pytest

from keras_skeletonmae.data import CenterOnJoint, load_pyskl
from keras_skeletonmae.layouts import get_layout

DATA_DIR = Path(os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def require(name):
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"real data {path} is absent (set SKELETONMAE_DATA to the shared/data folder)")
    return path


def load_split(name, split, num_frames, center=None):
    """`(x, y)` of one split: all-zero samples dropped, centred on the layout's centre joint,
    `num_frames` frames (test-mode uniform sampling), one person. `center`, when given, must be
    the layout's centre joint."""
    data, _ = load_pyskl(require(name)).split(split).repair(drop_all_zero=True)
    layout = get_layout(data.layout)
    if center is not None and center != layout.center:
        raise ValueError(f"{name}: center {center} is not the centre joint {layout.center} of "
                         f"layout '{layout.name}'.")
    return data.to_arrays(num_frames, num_persons=1, transform=CenterOnJoint(layout))
