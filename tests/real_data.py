"""The real sets in ../shared/data for tests, read with `keras_skeletonmae.data`."""

import os
from pathlib import Path

import pytest

from keras_skeletonmae.data import CenterOnJoint, load_pyskl, save_pyskl
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


def real_subset(name, folder, per_split, splits=("xsub_train", "xsub_val")):
    """`folder/name`: a PYSKL pickle of `per_split` real samples of each of `splits` of the
    shared file `name`, spread evenly over each split (so most classes appear), the file's
    splits restricted to them."""
    path = Path(folder) / name
    if not path.exists():
        data = load_pyskl(require(name))
        chosen = set()
        for split in splits:
            members = data.splits[split]
            chosen.update(members[::max(1, len(members) // per_split)][:per_split])
        path.parent.mkdir(parents=True, exist_ok=True)
        save_pyskl(data.select([i for i, sample in enumerate(data.ids) if sample in chosen]), path)
    return path
