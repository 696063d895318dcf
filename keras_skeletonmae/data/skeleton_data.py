"""`SkeletonData`: a labelled set of ragged skeleton sequences, as read from any source."""

from collections import Counter

import numpy as np

from keras_skeletonmae.data.transforms import Compose, UniformSample, prepare_sample
from keras_skeletonmae.layouts import get_layout

NONFINITE_POLICIES = ("raise", "interpolate")


class SkeletonData:
    """Skeleton sequences of varying person count M and length T, with labels, ids and splits.

    Args:
        keypoints: list of arrays `[M_i, T_i, V, C]` (stored as float32); V and C are shared.
        scores: list of arrays `[M_i, T_i, V]` or `None`. Per-joint confidences.
        labels: sequence of ints or `None`. Class ids, one per sample (stored as int64).
        ids: list of str or `None`. Unique sample names; default `sample_0`, `sample_1`, ...
        class_names: list of str or `None`. Class names, index = label.
        layout: str, `SkeletonLayout` or `None`. The skeleton layout, a registered name or a
            layout (`.layout` holds its name).
        splits: dict or `None`. Split name -> list of sample ids (e.g.
            `{"xsub_train": [...]}`).
        source: str or `None`. Where the data came from (a path), used in error messages.

    `layout_note` says why a reader left `layout` unknown (None otherwise).

    Example:
        >>> data = SkeletonData([np.ones((1, 10, 20, 3)), np.ones((2, 5, 20, 3))],
        ...                     labels=[0, 1], layout="kinect20",
        ...                     splits={"train": ["sample_0"]})
        >>> len(data), data.num_classes, len(data.split("train"))
        (2, 2, 1)
        >>> x, y = data.to_arrays(num_frames=8, num_persons=2)
        >>> x.shape
        (2, 2, 8, 20, 3)
    """

    def __init__(self, keypoints, scores=None, labels=None, ids=None, class_names=None,
                 layout=None, splits=None, source=None):
        self.source = None if source is None else str(source)
        keypoints = list(keypoints)
        n = len(keypoints)
        self.ids = [f"sample_{i}" for i in range(n)] if ids is None else [str(i) for i in ids]
        if len(self.ids) != n:
            raise self._error(f"{len(self.ids)} ids for {n} samples.")
        if len(set(self.ids)) != n:
            duplicates = sorted(i for i, count in Counter(self.ids).items() if count > 1)
            raise self._error(f"sample ids must be unique; repeated: {duplicates[:5]}.")
        self.keypoints = [self._numbers(k, "keypoints", i) for i, k in enumerate(keypoints)]
        self.scores = None if scores is None else [self._numbers(s, "scores", i)
                                                   for i, s in enumerate(scores)]
        self.labels = None if labels is None else self._labels(labels)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        # A layout object is kept too, so unregistered (user-defined) layouts resolve.
        self._layout = None if layout is None or isinstance(layout, str) else get_layout(layout)
        self.layout = self._layout.name if self._layout is not None else layout
        self.splits = self._splits(splits or {})
        self.layout_note = None
        self._check_structure()

    def _error(self, message, sample_id=None):
        where = f" from {self.source}" if self.source else ""
        what = f"sample '{sample_id}'" if sample_id is not None else "SkeletonData"
        return ValueError(f"{what}{where}: {message}")

    def _numbers(self, array, what, index):
        """`array` as float32, refusing what is not real numbers (strings, objects, complex)."""
        sample_id = self.ids[index] if index < len(self.ids) else None
        try:
            array = np.asarray(array)
        except ValueError as error:  # ragged nested lists
            raise self._error(f"{what} are not a regular numeric array ({error}).",
                              sample_id) from None
        if array.dtype.kind not in "biuf":
            raise self._error(f"{what} must be real numbers, got dtype {array.dtype}.", sample_id)
        return array.astype("float32", copy=False)

    def _labels(self, labels):
        """`labels` as int64 class ids, refusing fractions, strings and missing values."""
        try:
            array = np.asarray(labels)
        except ValueError as error:
            raise self._error(f"labels are not a flat list of integers ({error}).") from None
        if array.dtype.kind not in "biuf":
            raise self._error(f"labels must be integer class ids, got dtype {array.dtype} "
                              f"(e.g. {array.reshape(-1)[:3].tolist()}).")
        array = array.reshape(-1)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
            bad = int(np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))[0])
            where = self.ids[bad] if bad < len(self.ids) else None
            raise self._error(f"label {array[bad]} is not an integer class id.", where)
        return array.astype("int64")

    def _splits(self, splits):
        if not hasattr(splits, "items"):
            raise self._error(f"splits must map split names to lists of sample ids, got "
                              f"{type(splits).__name__}.")
        for name, members in splits.items():
            if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
                raise self._error(f"split '{name}' must be a list of sample ids, got "
                                  f"{type(members).__name__}.")
        return {str(k): [str(i) for i in v] for k, v in splits.items()}

    def _check_structure(self):
        n = len(self.keypoints)
        if self.labels is not None and len(self.labels) != n:
            raise self._error(f"{len(self.labels)} labels for {n} samples.")
        if self.scores is not None and len(self.scores) != n:
            raise self._error(f"{len(self.scores)} score arrays for {n} samples.")
        for i, k in enumerate(self.keypoints):
            if k.ndim != 4:
                raise self._error(f"keypoints must be [persons, frames, joints, channels], got "
                                  f"shape {k.shape}.", self.ids[i])
            if 0 in k.shape[2:]:
                raise self._error(f"keypoints of shape {k.shape} have no joints or no channels "
                                  "(expected [persons, frames, joints, channels]).", self.ids[i])
            if k.shape[2:] != self.keypoints[0].shape[2:]:
                raise self._error(f"has {k.shape[2]} joints x {k.shape[3]} channels, but "
                                  f"sample '{self.ids[0]}' has {self.keypoints[0].shape[2]} x "
                                  f"{self.keypoints[0].shape[3]}.", self.ids[i])
            if self.scores is not None and self.scores[i].shape != k.shape[:3]:
                raise self._error(f"scores have shape {self.scores[i].shape}, expected "
                                  f"{k.shape[:3]} (persons, frames, joints).", self.ids[i])
        known = set(self.ids)
        for name, members in self.splits.items():
            missing = [i for i in members if i not in known]
            if missing:
                raise self._error(f"split '{name}' lists {len(missing)} ids that are not "
                                  f"samples, e.g. {missing[:5]}.")

    def __len__(self):
        return len(self.keypoints)

    def __repr__(self):
        shape = self.keypoints[0].shape[2:] if self.keypoints else None
        return (f"SkeletonData({len(self)} samples, joints x channels={shape}, "
                f"layout={self.layout!r}, num_classes={self.num_classes}, "
                f"splits={list(self.splits)})")

    @property
    def skeleton_layout(self):
        """The `SkeletonLayout` (also an unregistered one given as an object); None if unknown."""
        if self._layout is None and self.layout is None:
            return None
        return self._layout or get_layout(self.layout)

    @property
    def num_classes(self):
        """`len(class_names)` when known, else `max(label) + 1`; None without labels."""
        if self.class_names is not None:
            return len(self.class_names)
        if self.labels is None or not len(self.labels):
            return None
        return int(self.labels.max()) + 1

    def select(self, indices):
        """A new `SkeletonData` with the samples at `indices`, in that order; splits are kept,
        restricted to the selected samples."""
        indices = [int(i) for i in indices]
        ids = [self.ids[i] for i in indices]
        chosen = set(ids)
        selected = SkeletonData(
            keypoints=[self.keypoints[i] for i in indices],
            scores=None if self.scores is None else [self.scores[i] for i in indices],
            labels=None if self.labels is None else self.labels[indices],
            ids=ids,
            class_names=self.class_names,
            layout=self._layout or self.layout,
            splits={k: [i for i in v if i in chosen] for k, v in self.splits.items()},
            source=self.source,
        )
        selected.layout_note = self.layout_note
        return selected

    def split(self, name):
        """The samples of split `name`, in the split's order."""
        if name not in self.splits:
            raise self._error(f"unknown split {name!r}; available splits: "
                              f"{sorted(self.splits) or 'none'}.")
        position = {sample_id: i for i, sample_id in enumerate(self.ids)}
        return self.select([position[i] for i in self.splits[name]])

    def validate(self, layout=None, num_channels=None):
        """Raise a `ValueError` naming the first bad sample; returns self when all are fine.

        Checks the joint count against `layout` (default: this data's layout, if any), the
        channel count against `num_channels`, non-finite values, empty sequences (no frames or
        no persons), all-zero samples and labels outside `[0, num_classes)`.
        """
        layout = layout or self._layout or self.layout
        layout = None if layout is None else get_layout(layout)
        num_classes = self.num_classes
        for i, k in enumerate(self.keypoints):
            sample_id = self.ids[i]
            if layout is not None and k.shape[2] != layout.num_joints:
                raise self._error(f"has {k.shape[2]} joints, but layout '{layout.name}' has "
                                  f"{layout.num_joints}.", sample_id)
            if num_channels is not None and k.shape[3] != num_channels:
                raise self._error(f"has {k.shape[3]} channels, expected {num_channels}.",
                                  sample_id)
            if k.shape[0] == 0:
                raise self._error("has zero persons.", sample_id)
            if k.shape[1] == 0:
                raise self._error("has zero frames.", sample_id)
            self._check_finite(i)
            if not np.any(k):
                raise self._error("is all zeros (no skeleton detected; see "
                                  "SkeletonData.repair).", sample_id)
            if self.labels is not None and not 0 <= self.labels[i] < num_classes:
                raise self._error(f"has label {self.labels[i]}, outside [0, {num_classes}).",
                                  sample_id)
        return self

    def _nonfinite_counts(self, index):
        """`(coordinates, scores)`: how many NaN/inf values sample `index` holds."""
        scores = 0 if self.scores is None else int(np.sum(~np.isfinite(self.scores[index])))
        return int(np.sum(~np.isfinite(self.keypoints[index]))), scores

    def _check_finite(self, index):
        coordinates, scores = self._nonfinite_counts(index)
        if coordinates or scores:
            what = " and ".join(f"{count} NaN/inf {name}" for count, name in
                                ((coordinates, "coordinates"), (scores, "scores")) if count)
            raise self._error(f"has {what}; fix the data, or interpolate them over time with "
                              "nonfinite='interpolate' (--repair-nonfinite on the command line; "
                              "see SkeletonData.repair).", self.ids[index])

    def check_finite(self, nonfinite="raise"):
        """Refuse or repair NaN/inf coordinates and scores, by explicit policy.

        Args:
            nonfinite: str, `"raise"` (a `ValueError` naming the first bad sample) or
                `"interpolate"` (linear interpolation over time, see `repair`).

        Returns:
            self when every value is finite, else (with `"interpolate"`) a repaired copy.

        Example:
            >>> data = SkeletonData([np.array([[[[0.0]], [[np.nan]], [[2.0]]]])])
            >>> data.check_finite("interpolate").keypoints[0].ravel().tolist()
            [0.0, 1.0, 2.0]
        """
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {nonfinite!r}.")
        bad = [i for i in range(len(self)) if any(self._nonfinite_counts(i))]
        if not bad:
            return self
        if nonfinite == "raise":
            self._check_finite(bad[0])
        return self.repair(interpolate_nonfinite=True)[0]

    def repair(self, drop_all_zero=False, interpolate_nonfinite=False):
        """Fix known defects by explicit policy; returns `(repaired SkeletonData, report)`.

        `interpolate_nonfinite` replaces NaN/inf coordinates (and scores) by linear
        interpolation over time within each person, joint and channel (0 where a series has no
        finite value); then `drop_all_zero` removes samples without any non-zero coordinate
        (empty ones included). Problems found but not fixed are reported with
        `"action": "kept"`.
        """
        nonfinite = {i: sum(self._nonfinite_counts(i)) for i in range(len(self))}
        nonfinite = {i: count for i, count in nonfinite.items() if count}
        keypoints = list(self.keypoints)
        scores = None if self.scores is None else list(self.scores)
        if interpolate_nonfinite:
            for i in nonfinite:
                keypoints[i] = _interpolate_nonfinite(keypoints[i])
                if scores is not None:
                    scores[i] = _interpolate_nonfinite(scores[i][..., None])[..., 0]
        all_zero = [i for i, k in enumerate(keypoints) if not np.any(k)]
        repaired = SkeletonData(keypoints, scores, self.labels, self.ids, self.class_names,
                                self._layout or self.layout, self.splits, self.source)
        repaired.layout_note = self.layout_note
        if drop_all_zero:
            dropped = set(all_zero)
            repaired = repaired.select([i for i in range(len(self)) if i not in dropped])
        report = {
            "num_samples_in": len(self),
            "num_samples_out": len(repaired),
            "all_zero": {"count": len(all_zero), "ids": [self.ids[i] for i in all_zero],
                         "action": "dropped" if drop_all_zero else "kept"},
            "nonfinite": {"count": len(nonfinite), "ids": [self.ids[i] for i in nonfinite],
                          "values": sum(nonfinite.values()),
                          "action": "interpolated" if interpolate_nonfinite else "kept"},
        }
        return repaired, report

    def to_arrays(self, num_frames, num_persons, transform=None, seed=0):
        """Dense `(x, y)`: x float32 `(N, num_persons, num_frames, V, C)`, y int32 or None.

        Each sample first goes through `transform(sample, rng)` (rng seeded by `(seed, index)`),
        then is brought to `num_frames` (test-mode `UniformSample`, a no-op when it already has
        that length) and `num_persons` (`PadPersons`).
        """
        if not len(self):
            raise self._error("has no samples to convert to arrays.")
        x = np.stack([self.prepare(i, num_frames, num_persons, transform,
                                   np.random.default_rng([seed, i])) for i in range(len(self))])
        y = None if self.labels is None else self.labels.astype("int32")
        return x, y

    def to_clips(self, num_frames, num_persons, num_clips, transform=None, seed=0):
        """Multi-clip testing's input (PYSKL's `num_clips`): float32
        `(num_clips, N, num_persons, num_frames, V, C)`.

        Clip 0 is `to_arrays`'s (the segment middles); clip k > 0 takes a random frame from each
        of the `num_frames` segments (train-mode `UniformSample`, rng seeded by
        `(seed, k, index)`, so the clips are the same on every call), then `transform`.
        """
        if int(num_clips) < 1:
            raise ValueError(f"num_clips must be at least 1, got {num_clips}.")
        clips = [self.to_arrays(num_frames, num_persons, transform, seed)[0]]
        sampled = Compose([UniformSample(num_frames, train=True),
                           *([transform] if transform is not None else [])])
        for k in range(1, int(num_clips)):
            clips.append(np.stack([
                self.prepare(i, num_frames, num_persons, sampled,
                             np.random.default_rng([seed, k, i])) for i in range(len(self))]))
        return np.stack(clips)

    def prepare(self, index, num_frames, num_persons, transform=None, rng=None):
        """Sample `index` as a model input `[num_persons, num_frames, V, C]` (see `to_arrays`);
        a transform's `ValueError` is re-raised naming the sample. NaN/inf in the sample, or
        in what the transform makes of it, raise a `ValueError` naming the sample: nothing
        non-finite reaches a batch (repair first, see `check_finite`)."""
        self._check_finite(index)
        try:
            sample = prepare_sample(self.keypoints[index], num_frames, num_persons, transform,
                                    rng)
        except ValueError as error:
            raise self._error(str(error), self.ids[index]) from error
        if not np.all(np.isfinite(sample)):
            raise self._error(f"became non-finite in the transform {transform!r} (e.g. a "
                              "division by a zero scale).", self.ids[index])
        return sample


def _interpolate_nonfinite(sample):
    """A copy of `sample` with non-finite values interpolated linearly over time."""
    sample = sample.copy()
    bad = ~np.isfinite(sample)
    frames = np.arange(sample.shape[1])
    for m, v, c in zip(*np.nonzero(bad.any(axis=1))):
        series, missing = sample[m, :, v, c], bad[m, :, v, c]
        if missing.all():
            series[:] = 0.0
        else:
            series[missing] = np.interp(frames[missing], frames[~missing], series[~missing])
    return sample


def checked_read(data, nonfinite="raise"):
    """What a reader returns: `data` after the checks every reader makes.

    Refuses (with a `ValueError` naming the file and the sample) a file without samples,
    empty sequences (no frames or no persons), labels outside `[0, len(class_names))` and,
    unless `nonfinite="interpolate"`, NaN/inf coordinates or scores (see
    `SkeletonData.check_finite`).

    Args:
        data: `SkeletonData`. What the reader read.
        nonfinite: str. `"raise"` or `"interpolate"`, as in `SkeletonData.check_finite`.

    Returns:
        The checked `SkeletonData`.

    Example:
        >>> len(checked_read(SkeletonData([np.ones((1, 4, 20, 3))])))
        1
    """
    if not len(data):
        raise data._error("holds no samples.")
    for i, k in enumerate(data.keypoints):
        if 0 in k.shape[:2]:
            raise data._error(f"is an empty sequence: keypoints of shape {k.shape} have no "
                              "persons or no frames (expected [persons, frames, joints, "
                              "channels] with at least one of each).", data.ids[i])
    if data.labels is not None:
        limit = None if data.class_names is None else len(data.class_names)
        bad = np.flatnonzero((data.labels < 0) | (data.labels >= (limit or np.inf)))
        if len(bad):
            expected = f"[0, {limit})" if limit else "a class id >= 0"
            raise data._error(f"has label {data.labels[bad[0]]}, expected {expected}.",
                              data.ids[bad[0]])
    return data.check_finite(nonfinite)
