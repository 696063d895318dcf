"""Per-sample skeleton transforms (numpy): each maps `[M, T, V, C]` to a new array.

Every transform is called as `transform(sample, rng)` with a `numpy.random.Generator`; the
random ones draw only from `rng`, so a seeded generator makes them reproducible. All-zero
joints mean "not detected" and stay zero unless said otherwise. Transforms given a `layout` keep
a confidence-score channel (the last of `layout.num_dims + 1`, see
`SkeletonLayout.coordinate_channels`) out of geometry; without one, every channel is a coordinate.
"""

import numpy as np

from keras_skeletonmae.layouts import get_layout


def _present(sample, channels=None):
    """`[M, T, V]` mask of detected joints (any non-zero channel among the first `channels`)."""
    return np.any(sample[..., :channels] != 0, axis=-1)


def _coordinates(layout, sample):
    """How many leading channels of `sample` are coordinates (all without a layout)."""
    channels = sample.shape[-1]
    return channels if layout is None else layout.coordinate_channels(channels)


def _require_rng(rng, transform):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{type(transform).__name__} is random: call it as "
                        f"transform(sample, rng) with a numpy Generator, got {rng!r}.")
    return rng


class Transform:
    """Base class of the transforms: `transform(sample, rng)` returns a new array.

    Subclasses implement `__call__(sample, rng=None)`; the constructor arguments are shown in
    `repr`. The arguments of a call:

    Args:
        sample: array `[M, T, V, C]`.
        rng: `numpy.random.Generator` or `None`. Required by the random transforms.

    Example:
        >>> class Flip(Transform):
        ...     def __call__(self, sample, rng=None):
        ...         return -sample
        >>> Flip()(np.ones((1, 2, 3, 2))).shape
        (1, 2, 3, 2)
    """

    def __call__(self, sample, rng=None):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply `transforms` in order, all with the same generator.

    Args:
        transforms: sequence of `Transform` (or callables `f(sample, rng)`).

    Example:
        >>> pipeline = Compose([UniformSample(4), CenterOnJoint("kinect20")])
        >>> pipeline(np.ones((1, 10, 20, 3), "float32")).shape
        (1, 4, 20, 3)
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, sample, rng=None):
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample


class UniformSample(Transform):
    """PYSKL's UniformSampleFrames: one frame from each of `num_frames` equal segments.

    A random frame per segment when `train`, the segment middles otherwise. Clips shorter than
    `num_frames` loop (from a random start when `train`, else from 0).

    Args:
        num_frames: int. Frames of the output.
        train: bool. Random frames (needs `rng`) instead of the segment middles.

    Example:
        >>> sample = np.arange(10, dtype="float32").reshape(1, 10, 1, 1)
        >>> UniformSample(5)(sample)[0, :, 0, 0].tolist()
        [1.0, 3.0, 5.0, 7.0, 9.0]
    """

    def __init__(self, num_frames, train=False):
        if int(num_frames) < 1:
            raise ValueError(f"num_frames must be at least 1, got {num_frames}.")
        self.num_frames = int(num_frames)
        self.train = bool(train)

    def __call__(self, sample, rng=None):
        total, n = sample.shape[1], self.num_frames
        if total == 0:
            raise ValueError("cannot sample frames from a sequence with zero frames.")
        if self.train:
            _require_rng(rng, self)
        if total < n:
            start = rng.integers(total) if self.train else 0
            index = (start + np.arange(n)) % total
        else:
            bounds = np.arange(n + 1) * total // n
            sizes = np.diff(bounds)
            offset = rng.integers(sizes) if self.train else sizes // 2
            index = bounds[:-1] + offset
        return sample[:, index]


class PadPersons(Transform):
    """Exactly `num_persons` persons: extra ones dropped, missing ones all-zero.

    The persons kept are the most active by motion energy (squared frame-to-frame displacement
    of joints detected in both frames, summed), in their original order.

    Args:
        num_persons: int. Persons of the output.

    Example:
        >>> PadPersons(2)(np.ones((1, 4, 20, 3))).shape
        (2, 4, 20, 3)
    """

    def __init__(self, num_persons):
        if int(num_persons) < 1:
            raise ValueError(f"num_persons must be at least 1, got {num_persons}.")
        self.num_persons = int(num_persons)

    def __call__(self, sample, rng=None):
        m, n = sample.shape[0], self.num_persons
        if m > n:
            present = _present(sample)
            steps = np.sum(np.diff(sample, axis=1) ** 2, axis=-1)  # [M, T - 1, V]
            energy = np.sum(steps * (present[:, 1:] & present[:, :-1]), axis=(1, 2))
            sample = sample[np.sort(np.argsort(-energy, kind="stable")[:n])]
        elif m < n:
            padding = np.zeros((n - m, *sample.shape[1:]), dtype=sample.dtype)
            sample = np.concatenate([sample, padding])
        return sample


class Normalize2D(Transform):
    """x and y (channels 0, 1) to [-1, 1]; undetected joints stay 0.

    Args:
        image_size: pair of numbers `(width, height)` or `None`. With it, `2 * x / width - 1`;
            without, the sample's own bounding box (its centre to 0, its longer side to
            [-1, 1], aspect kept).

    Example:
        >>> sample = np.array([[[[10.0, 20.0], [30.0, 60.0]]]])  # M = T = 1, V = 2
        >>> Normalize2D((40, 80))(sample)[0, 0].tolist()
        [[-0.5, -0.5], [0.5, 0.5]]
    """

    def __init__(self, image_size=None):
        self.image_size = None if image_size is None else tuple(float(s) for s in image_size)

    def __call__(self, sample, rng=None):
        present = _present(sample[..., :2])
        if not present.any():
            return sample
        if self.image_size is not None:
            half = np.asarray(self.image_size, dtype="float32") / 2
            center = half
        else:
            points = sample[..., :2][present]
            low, high = points.min(axis=0), points.max(axis=0)
            center = (low + high) / 2
            half = max(float(np.max(high - low)) / 2, 1e-6)
        out = sample.copy()
        out[..., :2] = np.where(present[..., None], (sample[..., :2] - center) / half, 0.0)
        return out


class CenterOnJoint(Transform):
    """Subtract the layout's centre joint from every detected joint of every person.

    The centre is taken in the first frame where it is detected (first such person).

    Args:
        layout: str or `SkeletonLayout`. Gives the centre joint and a score channel.

    Example:
        >>> sample = np.ones((1, 2, 20, 3), "float32")
        >>> float(np.abs(CenterOnJoint("kinect20")(sample)).max())
        0.0
    """

    def __init__(self, layout):
        self.layout = get_layout(layout)

    def __call__(self, sample, rng=None):
        k = _coordinates(self.layout, sample)
        center = sample[:, :, self.layout.center, :k]  # [M, T, k]
        detected = np.argwhere(np.any(center != 0, axis=-1).T)  # (frame, person), frame-major
        if not len(detected):
            return sample
        frame, person = detected[0]
        present = _present(sample, k)[..., None]
        out = sample.copy()
        out[..., :k] = np.where(present, sample[..., :k] - center[person, frame], 0.0)
        return out


def _rotation(angles):
    """3x3 rotation `Rz @ Ry @ Rx` for angles (x, y, z) in radians."""
    (cx, cy, cz), (sx, sy, sz) = np.cos(angles), np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _apply_linear(sample, matrix):
    """`matrix` (k x k) applied to the first k channels of every joint."""
    k = matrix.shape[0]
    out = sample.copy()
    out[..., :k] = sample[..., :k] @ matrix.T.astype(sample.dtype)
    return out


class RandomRotation(Transform):
    """Rotate by random angles: about x, y and z in 3D, in the image plane in 2D.

    Args:
        max_degrees: float. Angles are uniform in `[-max_degrees, max_degrees]`.
        layout: str, `SkeletonLayout` or `None`. Tells a score channel, which is kept.

    Example:
        >>> sample = np.ones((1, 4, 20, 3), "float32")
        >>> RandomRotation(15)(sample, np.random.default_rng(0)).shape
        (1, 4, 20, 3)
    """

    def __init__(self, max_degrees, layout=None):
        self.max_degrees = float(max_degrees)
        self.layout = None if layout is None else get_layout(layout)

    def __call__(self, sample, rng=None):
        limit = np.deg2rad(self.max_degrees)
        if _coordinates(self.layout, sample) >= 3:
            matrix = _rotation(_require_rng(rng, self).uniform(-limit, limit, size=3))
        else:
            a = _require_rng(rng, self).uniform(-limit, limit)
            matrix = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return _apply_linear(sample, matrix)


class RandomScale(Transform):
    """Multiply all coordinates by one random factor.

    Args:
        low: float. Smallest factor (> 0).
        high: float. Largest factor.
        layout: str, `SkeletonLayout` or `None`. Tells a score channel, which is kept.

    Example:
        >>> scaled = RandomScale(2, 2)(np.ones((1, 1, 1, 3)), np.random.default_rng(0))
        >>> scaled[0, 0, 0].tolist()
        [2.0, 2.0, 2.0]
    """

    def __init__(self, low, high, layout=None):
        if not 0 < low <= high:
            raise ValueError(f"RandomScale needs 0 < low <= high, got {low}, {high}.")
        self.low, self.high = float(low), float(high)
        self.layout = None if layout is None else get_layout(layout)

    def __call__(self, sample, rng=None):
        factor = np.float32(_require_rng(rng, self).uniform(self.low, self.high))
        k = _coordinates(self.layout, sample)
        out = sample.copy()
        out[..., :k] = sample[..., :k] * factor
        return out


class RandomShear(Transform):
    """Shear x, y (and z): off-diagonal terms of the identity uniform in `[-amount, amount]`.

    Args:
        amount: float. Largest off-diagonal term.
        layout: str, `SkeletonLayout` or `None`. Tells a score channel, which is kept.

    Example:
        >>> sample = np.ones((1, 4, 20, 3), "float32")
        >>> RandomShear(0.2)(sample, np.random.default_rng(0)).shape
        (1, 4, 20, 3)
    """

    def __init__(self, amount, layout=None):
        self.amount = float(amount)
        self.layout = None if layout is None else get_layout(layout)

    def __call__(self, sample, rng=None):
        k = min(_coordinates(self.layout, sample), 3)
        matrix = np.eye(k) + _require_rng(rng, self).uniform(-self.amount, self.amount, (k, k))
        np.fill_diagonal(matrix, 1.0)
        return _apply_linear(sample, matrix)


class JointNoise(Transform):
    """Add Gaussian noise to every detected joint's coordinates.

    Args:
        std: float. Standard deviation of the noise.
        layout: str, `SkeletonLayout` or `None`. Tells a score channel, which is kept.

    Example:
        >>> sample = np.zeros((1, 4, 20, 3), "float32")  # nothing detected: nothing changes
        >>> float(np.abs(JointNoise(0.01)(sample, np.random.default_rng(0))).max())
        0.0
    """

    def __init__(self, std, layout=None):
        self.std = float(std)
        self.layout = None if layout is None else get_layout(layout)

    def __call__(self, sample, rng=None):
        k = _coordinates(self.layout, sample)
        noise = _require_rng(rng, self).normal(0.0, self.std, size=sample.shape[:-1] + (k,))
        out = sample.copy()
        out[..., :k] = sample[..., :k] + noise * _present(sample, k)[..., None]
        return out


class Bone(Transform):
    """Bone vectors: `x[child] - x[parent]` for each of the layout's `(child, parent)` edges.

    Joints without a parent (the centre joint of the built-in layouts) become 0. A score
    channel becomes the mean of the two ends' scores (as PYSKL's `JointToBone`).

    Args:
        layout: str or `SkeletonLayout`. Gives the edges; must match the sample's joints.

    Example:
        >>> Bone("kinect20")(np.ones((1, 4, 20, 3), "float32")).shape
        (1, 4, 20, 3)
    """

    def __init__(self, layout):
        self.layout = get_layout(layout)

    def __call__(self, sample, rng=None):
        if sample.shape[2] != self.layout.num_joints:
            raise ValueError(f"Bone: sample has {sample.shape[2]} joints, layout "
                             f"'{self.layout.name}' has {self.layout.num_joints}.")
        k = _coordinates(self.layout, sample)
        child, parent = (np.array(e) for e in zip(*self.layout.edges))
        out = np.zeros_like(sample)
        out[:, :, child, :k] = sample[:, :, child, :k] - sample[:, :, parent, :k]
        out[:, :, child, k:] = (sample[:, :, child, k:] + sample[:, :, parent, k:]) / 2
        return out


class Motion(Transform):
    """Frame differences `x[t + 1] - x[t]`; the last frame is 0.

    Args:
        layout: str, `SkeletonLayout` or `None`. With it, a score channel becomes the mean of
            the two frames' scores (as PYSKL's `ToMotion`).

    Example:
        >>> sample = np.arange(3, dtype="float32").reshape(1, 3, 1, 1)
        >>> Motion()(sample)[0, :, 0, 0].tolist()
        [1.0, 1.0, 0.0]
    """

    def __init__(self, layout=None):
        self.layout = None if layout is None else get_layout(layout)

    def __call__(self, sample, rng=None):
        k = _coordinates(self.layout, sample)
        out = np.zeros_like(sample)
        out[:, :-1, :, :k] = sample[:, 1:, :, :k] - sample[:, :-1, :, :k]
        out[:, :-1, :, k:] = (sample[:, 1:, :, k:] + sample[:, :-1, :, k:]) / 2
        return out


def training_transform(layout, num_frames, num_channels, augment=True):
    """The training pipeline of the command line and the presets.

    Random temporal sampling (one random frame per segment); with `augment`, a random rotation
    (up to 15 degrees about each axis in 3D, 10 in the image plane in 2D) and scale (0.9 to
    1.1); then centring on the layout's centre joint. A confidence score
    (`num_channels = layout.num_dims + 1`) is kept as it is. Its effect on accuracy:
    docs/results.md.

    Args:
        layout: str or `SkeletonLayout`.
        num_frames: int. Frames per sample.
        num_channels: int. Channels of the samples (coordinates, then an optional score).
        augment: bool. Add the random rotation and scale.

    Returns:
        A `Compose` to call as `transform(sample, rng)`.

    Example:
        >>> transform = training_transform("kinect20", 16, 3)
        >>> transform(np.ones((1, 40, 20, 3), "float32"), np.random.default_rng(0)).shape
        (1, 16, 20, 3)
    """
    layout = get_layout(layout)
    coordinates = layout.coordinate_channels(num_channels)
    steps = [UniformSample(num_frames, train=True)]
    if augment:
        steps += [RandomRotation(15 if coordinates >= 3 else 10, layout),
                  RandomScale(0.9, 1.1, layout)]
    return Compose(steps + [CenterOnJoint(layout)])


def prepare_sample(sample, num_frames, num_persons, transform=None, rng=None):
    """`transform(sample, rng)`, then test-mode `UniformSample` and `PadPersons`.

    The last two are no-ops when the transform already gave those sizes.

    Args:
        sample: array `[M, T, V, C]`.
        num_frames: int. Frames of the result.
        num_persons: int. Persons of the result.
        transform: `Transform` or `None`. Applied first.
        rng: `numpy.random.Generator` or `None`. Passed to `transform`.

    Returns:
        A float32 array `[num_persons, num_frames, V, C]`.

    Example:
        >>> prepare_sample(np.ones((1, 40, 20, 3)), 16, 2).shape
        (2, 16, 20, 3)
    """
    if transform is not None:
        sample = transform(sample, rng)
    sample = PadPersons(num_persons)(UniformSample(num_frames)(sample))
    return np.asarray(sample, dtype="float32")
