"""The unlabelled stream pre-training reads: one or several skeleton files of one layout, each
with its own split.

Sequences of several files are mixed as they are read: the training transform normalises each
sequence the same way whatever its file (`data.training_transform` centres it on the layout's
centre joint, in its first frame), and nothing else is rescaled, so the files should share their
units (the 3D Kinect sets in shared data are all in metres).
"""

import os
from pathlib import Path

from keras_skeletonmae.data import SkeletonData
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.training.checks import check_split_overlap, usable_split


def pretraining_sources(data):
    """`[(path, split), ...]`: the files `data` names, each with its own split (None: none).

    Args:
        data: a path (str or `Path`), or a list of paths and `(path, split)` pairs. A pair
            must be inside the list: a lone tuple is read as a list of paths.

    Returns:
        A list of `(str, str or None)` pairs.

    Example:
        pretraining_sources(["msr_action3d.pkl", ("utd_mhad.pkl", "xsub_train")])
    """
    items = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    if not items:
        raise ValueError("pre-training needs at least one data file.")
    sources = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            sources.append((str(item), None))
        elif (isinstance(item, (tuple, list)) and len(item) == 2
              and isinstance(item[0], (str, os.PathLike))
              and (item[1] is None or isinstance(item[1], str))):
            sources.append((str(item[0]), item[1]))
        else:
            raise ValueError(f"pre-training data must be paths or (path, split) pairs, got "
                             f"{item!r}.")
    return sources


def recorded_sources(sources):
    """`sources` as the run's config records them: a single file without its own split as its
    path (as a run on one file always has), else a list of `[path, split]`."""
    if len(sources) == 1 and sources[0][1] is None:
        return sources[0][0]
    return [[path, split] for path, split in sources]


def read_pretraining_data(sources, split=None, layout=None, nonfinite="raise",
                          allow_overlap=False):
    """The usable samples of every file of `sources`, as one unlabelled `SkeletonData`.

    Each file's samples are those of its own split, else of `split`, else all of them (refused
    for a file that defines splits, unless `allow_overlap`: see `check_split_overlap`);
    all-zero samples are dropped. Several files must share their layout and channels; their
    sample ids are prefixed with the file's name (`msr_action3d/a01_s01_e01`), which must
    differ between files. One file is returned as read (ids, labels and splits kept).

    Args:
        sources: a path, or a list of paths and `(path, split)` pairs (`pretraining_sources`).
        split: str or None; the split of the files given without one.
        layout: layout name or `SkeletonLayout` to read every file with (None: guessed).
        nonfinite: `"raise"` or `"interpolate"`, see `load_skeletons`.
        allow_overlap: bool; allow pre-training on every sample of a file with splits.

    Returns:
        `SkeletonData`.

    Example:
        data = read_pretraining_data([("msr_action3d.pkl", "xsub_train"),
                                      ("utd_mhad.pkl", None)], allow_overlap=True)
    """
    sources = pretraining_sources(sources)
    parts = []
    for path, own_split in sources:
        file_split = own_split if own_split is not None else split
        whole = load_skeletons(path, layout, nonfinite)
        check_split_overlap(whole, file_split, pretraining=True, allow_overlap=allow_overlap)
        parts.append(usable_split(whole, file_split))
    if len(parts) == 1:
        return parts[0]
    return _mix(parts, [path for path, _ in sources])


def _mix(parts, paths):
    """One unlabelled `SkeletonData` of the samples of `parts` (read from `paths`)."""
    kinds = {path: (part.layout, part.keypoints[0].shape[-1]) for path, part in zip(paths, parts)}
    if len(set(kinds.values())) > 1:
        found = ", ".join(f"{path}: layout {name!r}, {channels} channels"
                          for path, (name, channels) in kinds.items())
        raise ValueError(f"pre-training files must share one layout and channel count, got "
                         f"{found}.")
    stems = [Path(path).stem for path in paths]
    if len(set(stems)) < len(stems):
        raise ValueError(f"pre-training files need distinct names (their sample ids are "
                         f"prefixed with them), got {paths}.")
    mixed = SkeletonData(
        keypoints=[k for part in parts for k in part.keypoints],
        # Pre-training reads coordinates only: labels, class names and scores (a separate
        # array; a score channel is part of the keypoints) are left out of the mixed stream.
        ids=[f"{stem}/{i}" for stem, part in zip(stems, parts) for i in part.ids],
        layout=parts[0].skeleton_layout, source=" + ".join(paths))
    print(f"Pre-training on {len(mixed)} sequences: "
          + ", ".join(f"{path} ({len(part)})" for path, part in zip(paths, parts)) + ".")
    return mixed
