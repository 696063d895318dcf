"""`SkeletonDataset`: batches of transformed samples for `fit` on every backend."""

import math
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np


class SkeletonDataset(keras.utils.PyDataset):
    """Batches `x` `(B, num_persons, num_frames, V, C)` float32, with `y` `(B,)` int32 when
    `labeled`, from a `SkeletonData`.

    Each sample goes through `transform(sample, rng)` and is then fitted to `num_frames` and
    `num_persons` (see `SkeletonData.to_arrays`). The generator of sample `i` in epoch `e` is
    seeded by `(seed, e, i)`, so batches do not depend on workers or batch order. With
    `shuffle`, the order is a permutation seeded by `(seed, e)`. Each `on_epoch_end` call
    advances `e` (Keras's `fit` also calls it once before the first epoch).
    `set_epoch(e)` jumps to epoch `e` (to resume a run there). With `workers > 1`, threads
    prepare the next batches while the model trains on this one (batches are asked for
    from one thread at a time, as `fit` does); each is keyed by its epoch and index, so the
    batches are the same as with one worker. (Keras's own enqueuer is not used: it
    keeps batches prepared before `fit`'s first epoch starts and serves them in that epoch, so
    with several workers the first batches of a `fit` came from the previous order.)
    A sample with NaN/inf coordinates or scores raises a `ValueError` naming it (repair it
    first: `SkeletonData.check_finite("interpolate")`).

    Args:
        data: `SkeletonData`. The samples (with labels when `labeled`).
        batch_size: int. Samples per batch (the last batch may be smaller).
        num_frames: int. Frames per sample.
        num_persons: int. Persons per sample (padded with zeros or the most active kept).
        transform: `Transform` or `None`. Applied to each sample first (e.g.
            `training_transform`).
        shuffle: bool. A new seeded order every epoch.
        seed: int. Seeds the order and the transforms' generators.
        labeled: bool. Yield `(x, y)`; `False` yields `x` only (pre-training).
        workers: int >= 1. Threads preparing batches; more than one prepares the next
            `workers` batches ahead.

    Example:
        >>> from keras_skeletonmae.data import SkeletonData
        >>> data = SkeletonData([np.ones((1, 10, 20, 3))] * 3, labels=[0, 1, 0])
        >>> dataset = SkeletonDataset(data, batch_size=2, num_frames=8, num_persons=1)
        >>> x, y = dataset[0]
        >>> x.shape, y.tolist()
        ((2, 1, 8, 20, 3), [0, 1])
    """

    def __init__(self, data, batch_size, num_frames, num_persons, transform=None, shuffle=False,
                 seed=0, labeled=True, workers=1):
        super().__init__(workers=1)
        if labeled and data.labels is None:
            raise ValueError(f"{data!r} has no labels; pass labeled=False for unlabelled "
                             "batches (pre-training).")
        if not len(data):
            raise ValueError("SkeletonDataset needs at least one sample.")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if int(workers) < 1:
            raise ValueError(f"workers must be at least 1, got {workers}.")
        # Refuse NaN/inf before training starts, not at the batch that holds them.
        self.data = data.check_finite("raise")
        self.batch_size = int(batch_size)
        self.num_frames = int(num_frames)
        self.num_persons = int(num_persons)
        self.transform = transform
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.labeled = bool(labeled)
        self.threads = int(workers)
        self.epoch = 0
        self.order = self._order(self.epoch)
        self._pool = None
        self._ahead = {}  # (epoch, index) -> the future of that batch

    def _order(self, epoch):
        if not self.shuffle:
            return np.arange(len(self.data))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.data))

    def __len__(self):
        return math.ceil(len(self.data) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches.")
        if self.threads == 1:
            return self._batch(self.order, self.epoch, index)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="SkeletonDataset")
        # Batches prepared for another epoch (the order changed under them) are dropped.
        for key in [key for key in self._ahead if key[0] != self.epoch]:
            self._ahead.pop(key).cancel()
        for ahead in range(index, min(index + 1 + self.threads, len(self))):
            if (self.epoch, ahead) not in self._ahead:
                self._ahead[self.epoch, ahead] = self._pool.submit(self._batch, self.order,
                                                                   self.epoch, ahead)
        return self._ahead.pop((self.epoch, index)).result()

    def _batch(self, order, epoch, index):
        indices = order[index * self.batch_size:(index + 1) * self.batch_size]
        x = np.stack([
            self.data.prepare(i, self.num_frames, self.num_persons, self.transform,
                              np.random.default_rng([self.seed, epoch, i]))
            for i in indices])
        if not self.labeled:
            return x
        return x, self.data.labels[indices].astype("int32")

    def set_epoch(self, epoch):
        """Draw the order and the augmentations of epoch `epoch` from now on."""
        self.epoch = int(epoch)
        self.order = self._order(self.epoch)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)

    def to_tf_dataset(self):
        """This dataset as a `tf.data.Dataset` of the same batches (TensorFlow only); each
        full pass is one epoch and ends with `on_epoch_end`."""
        import tensorflow as tf

        example = self[0][0] if self.labeled else self[0]
        x = tf.TensorSpec((None, *example.shape[1:]), tf.float32)
        signature = (x, tf.TensorSpec((None,), tf.int32)) if self.labeled else x

        def generate():
            for index in range(len(self)):
                yield self[index]
            self.on_epoch_end()

        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        # A known length lets fit size its epochs (else Keras warns that the input ran out).
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(self)))
        return dataset.prefetch(tf.data.AUTOTUNE)


def label_subset(data, fraction, seed=0):
    """A class-balanced subset of labelled `data` (the 1% / 10% semi-supervised protocol).

    `round(fraction * n_c)` samples of each class `c` present, at least one, drawn with
    `seed`; the original order is kept.

    Args:
        data: `SkeletonData` with labels.
        fraction: float in (0, 1]. Fraction of each class to keep.
        seed: int. Seeds the draw.

    Returns:
        A `SkeletonData` with the chosen samples.

    Example:
        >>> from keras_skeletonmae.data import SkeletonData
        >>> data = SkeletonData([np.ones((1, 4, 20, 3))] * 20, labels=[0] * 10 + [1] * 10)
        >>> label_subset(data, 0.1).labels.tolist()
        [0, 1]
    """
    if data.labels is None:
        raise ValueError(f"label_subset needs labels; {data!r} has none.")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(data.labels):
        members = np.flatnonzero(data.labels == label)
        count = max(1, int(round(fraction * len(members))))
        chosen.extend(rng.choice(members, size=count, replace=False))
    return data.select(np.sort(chosen))
