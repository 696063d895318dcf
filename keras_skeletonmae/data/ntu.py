"""NTU RGB+D `.skeleton` files: the raw Kinect v2 text format, 25 joints, x y z in metres."""

import re
from pathlib import Path

import numpy as np

from keras_skeletonmae.data.skeleton_data import SkeletonData, checked_read

NTU_NUM_JOINTS = 25


class _Lines:
    """The file's lines with a cursor; errors name the file and the 1-based line."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, encoding="ascii") as f:
                self.lines = f.read().splitlines()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not an NTU .skeleton text file (byte {error.start} is not "
                             "ASCII text).") from None
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        self.number = 0

    def error(self, message, number=None):
        return ValueError(f"{self.path}, line {number or self.number}: {message}")

    def next_fields(self, what, count):
        """The next line's `count` whitespace-separated fields."""
        if self.number >= len(self.lines):
            raise self.error(f"file is truncated: expected {what}, found the end of the file.",
                             self.number + 1)
        self.number += 1
        fields = self.lines[self.number - 1].split()
        if len(fields) != count:
            raise self.error(f"expected {what} ({count} values), got {len(fields)} values.")
        return fields

    def next(self, what, count):
        """The next line as `count` numbers."""
        fields = self.next_fields(what, count)
        try:
            return [float(v) for v in fields]
        except ValueError:
            raise self.error(f"expected {what}, got {self.lines[self.number - 1]!r}.") from None

    def next_count(self, what):
        value = self.next(what, 1)[0]
        if value < 0 or value != int(value):
            raise self.error(f"expected {what} (a non-negative integer), got {value}.")
        return int(value)


def _read_sample(path):
    """`(keypoint [M, T, 25, 3], label or None)` of one `.skeleton` file."""
    lines = _Lines(path)
    num_frames = lines.next_count("the frame count")
    bodies = {}  # body ID (text) -> {frame: [V, 3]}
    for frame in range(num_frames):
        for _ in range(lines.next_count(f"the body count of frame {frame + 1}")):
            body_id = lines.next_fields("a body info line", 10)[0]  # a 64-bit integer
            num_joints = lines.next_count("the joint count")
            if num_joints != NTU_NUM_JOINTS:
                raise lines.error(f"a body has {num_joints} joints; NTU files have "
                                  f"{NTU_NUM_JOINTS}.")
            joints = [lines.next("a joint line", 12)[:3] for _ in range(num_joints)]
            if frame in bodies.get(body_id, {}):
                raise lines.error(f"body {body_id} appears twice in frame {frame + 1}.")
            bodies.setdefault(body_id, {})[frame] = joints
    if lines.number < len(lines.lines):
        raise lines.error(f"unexpected content after the last of {num_frames} frames.",
                          lines.number + 1)
    if not bodies:
        raise ValueError(f"{path}: no body in any of its {num_frames} frames (an NTU sample "
                         "with missing skeletons); leave the file out.")
    keypoint = np.zeros((len(bodies), num_frames, NTU_NUM_JOINTS, 3), dtype="float32")
    for person, frames in enumerate(bodies.values()):
        for frame, joints in frames.items():
            keypoint[person, frame] = joints
    action = re.search(r"A(\d{3})", path.stem)
    if action is not None and int(action[1]) < 1:
        raise ValueError(f"{path}: action code {action[0]} in the name; NTU action codes "
                         "start at A001.")
    return keypoint, None if action is None else int(action[1]) - 1


def read_ntu_skeleton(path, nonfinite="raise"):
    """One NTU RGB+D `.skeleton` file as a one-sample `SkeletonData` (layout `ntu25`).

    Bodies become persons in order of first appearance of their body ID, all kept; frames in
    which a body is absent are zeros. Keeps x, y, z. The id is the file stem; the label comes
    from its action code (`A011` -> 10) when the name has one.

    Args:
        path: str or `pathlib.Path`. The `.skeleton` file.
        nonfinite: str. `"raise"` (default) refuses NaN/inf coordinates naming the file;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Returns:
        A `SkeletonData` with one sample `[M, T, 25, 3]`.

    Example:
        >>> import os, tempfile
        >>> body = ["1", "72057594037931101 0 1 1 1 1 0 0.02 0.2 2", "25"]  # 1 body, 25 joints
        >>> body += ["0.1 0.2 3 0 0 0 0 0 0 0 0 2"] * 25
        >>> path = os.path.join(tempfile.mkdtemp(), "S001C001P001R001A011.skeleton")
        >>> _ = open(path, "w").write(chr(10).join(["2"] + body * 2))  # 2 frames, one line each
        >>> data = read_ntu_skeleton(path)
        >>> data.keypoints[0].shape, data.labels.tolist()
        ((1, 2, 25, 3), [10])
    """
    path = Path(path)
    keypoint, label = _read_sample(path)
    return checked_read(SkeletonData([keypoint], labels=None if label is None else [label],
                                     ids=[path.stem], layout="ntu25", source=path), nonfinite)


def load_ntu_dir(directory, nonfinite="raise"):
    """All `*.skeleton` files of `directory`, in sorted name order, as one `SkeletonData`.

    Args:
        directory: str or `pathlib.Path`. The folder.
        nonfinite: str. `"raise"` (default) refuses NaN/inf coordinates naming the file;
            `"interpolate"` interpolates them over time (see `SkeletonData.check_finite`).

    Returns:
        A `SkeletonData`, one sample per file (layout `ntu25`).

    Example:
        >>> data = load_ntu_dir("ntu_samples/")  # doctest: +SKIP
        >>> data.layout  # doctest: +SKIP
        'ntu25'
    """
    directory = Path(directory)
    files = sorted(directory.glob("*.skeleton"))
    if not files:
        raise ValueError(f"no *.skeleton files in {directory}.")
    samples = [_read_sample(f) for f in files]
    labelled = [label is not None for _, label in samples]
    if any(labelled) and not all(labelled):
        raise ValueError(f"{files[labelled.index(False)]}: no action code (e.g. A011) in the "
                         f"name, while {files[labelled.index(True)].name} has one; name every "
                         "file of the folder the NTU way, or none.")
    data = SkeletonData(
        keypoints=[keypoint for keypoint, _ in samples],
        labels=[label for _, label in samples] if all(labelled) else None,
        ids=[f.stem for f in files],
        layout="ntu25",
        source=directory,
    )
    return checked_read(data, nonfinite)
