"""SkeletonDataset batches, epoch reshuffling, label_subset, and `fit` on every backend."""

import keras
import numpy as np
import pytest

import keras_skeletonmae
from keras_skeletonmae import SkeletonClassifier, SkeletonLayout, SkeletonMAEBackbone
from keras_skeletonmae.data import (
    CenterOnJoint,
    Compose,
    JointNoise,
    PadPersons,
    RandomRotation,
    SkeletonDataset,
    UniformSample,
    label_subset,
    load_ntu_dir,
    load_numpy,
    load_pyskl,
)
from real_data import require


# The readers and the dataset are the same on every backend, and PyTorch runs small models
# without compiling them: the other sources, workers and custom layouts are checked there once
# (every backend fits both models on real MSR Action3D batches here).
ONCE_ON_TORCH = pytest.mark.skipif(keras.backend.backend() != "torch",
                                   reason="backend-independent: checked once, on PyTorch")


@pytest.fixture(scope="module")
def msr_train():
    data, _ = load_pyskl(require("msr_action3d.pkl"), split="xsub_train").repair(
        drop_all_zero=True)
    return data


def train_transform(num_frames, layout="kinect20"):
    return Compose([CenterOnJoint(layout), UniformSample(num_frames, train=True),
                    RandomRotation(10), JointNoise(0.002), PadPersons(1)])


def batches(dataset):
    return [dataset[i] for i in range(len(dataset))]


def test_batches_shapes_and_dtypes(msr_train):
    data = msr_train.select(range(10))
    dataset = SkeletonDataset(data, batch_size=4, num_frames=16, num_persons=2)
    assert len(dataset) == 3
    (x, y), (x_last, y_last) = dataset[0], dataset[2]
    assert x.shape == (4, 2, 16, 20, 3) and x.dtype == np.float32
    assert y.dtype == np.int32 and y.tolist() == data.labels[:4].tolist()
    assert x_last.shape == (2, 2, 16, 20, 3) and y_last.shape == (2,)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches(dataset)]),
                                  data.to_arrays(16, 2)[0])
    unlabeled = SkeletonDataset(data, batch_size=4, num_frames=16, num_persons=1, labeled=False)
    assert isinstance(unlabeled[0], np.ndarray) and unlabeled[0].shape == (4, 1, 16, 20, 3)
    with pytest.raises(ValueError, match="labeled=False"):
        SkeletonDataset(without_labels(data), batch_size=4, num_frames=16, num_persons=1)


def without_labels(data):
    """`data` without labels."""
    return type(data)(data.keypoints, ids=data.ids)


def test_epoch_reshuffle_is_seeded(msr_train):
    data = msr_train.select(range(24))
    make = lambda: SkeletonDataset(data, batch_size=8, num_frames=8, num_persons=1,  # noqa: E731
                                   transform=train_transform(8), shuffle=True, seed=3)
    first, second = make(), make()
    epoch0 = batches(first)
    first.on_epoch_end()
    epoch1 = batches(first)
    assert sorted(np.concatenate([y for _, y in epoch0])) == sorted(data.labels.tolist())
    assert not np.array_equal(first.order, np.arange(24))
    assert not np.array_equal(epoch0[0][0], epoch1[0][0])
    for (x, y), (x2, y2) in zip(epoch0, batches(second)):  # same seed, same batches
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_sample_randomness_does_not_depend_on_batching(msr_train):
    data = msr_train.select(range(12))
    kwargs = dict(num_frames=8, num_persons=1, transform=train_transform(8), seed=1)
    by4 = np.concatenate([b[0] for b in batches(SkeletonDataset(data, 4, **kwargs))])
    by6 = np.concatenate([b[0] for b in batches(SkeletonDataset(data, 6, **kwargs))])
    np.testing.assert_array_equal(by4, by6)


def test_label_subset_is_class_balanced(msr_train):
    ten = label_subset(msr_train, 0.1, seed=0)
    counts = np.bincount(msr_train.labels)
    kept = np.bincount(ten.labels, minlength=len(counts))
    np.testing.assert_array_equal(kept, np.maximum(1, np.round(0.1 * counts)))
    one = label_subset(msr_train, 0.01, seed=0)
    assert np.bincount(one.labels).tolist() == [1] * len(counts)
    assert set(one.ids) <= set(msr_train.ids)
    assert label_subset(msr_train, 0.1, seed=0).ids == ten.ids
    assert label_subset(msr_train, 0.1, seed=1).ids != ten.ids


def small_backbone(layout="kinect20", num_channels=3):
    return SkeletonMAEBackbone(layout=layout, num_channels=num_channels, num_frames=16,
                               num_persons=1, embed_dim=16, num_layers=1, hidden_dim=16)


def test_pretrainer_fits_on_a_skeleton_dataset(msr_train):
    keras.utils.set_random_seed(0)
    pretrainer = keras_skeletonmae.SkeletonMAEPretrainer(small_backbone())
    dataset = SkeletonDataset(msr_train.select(range(32)), batch_size=16, num_frames=16,
                              num_persons=1, transform=train_transform(16), shuffle=True,
                              labeled=False)
    history = pretrainer.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert dataset.epoch >= 1  # fit also calls on_epoch_end once before training starts


def test_workers_prepare_the_batches_one_worker_would(msr_train):
    """Threads prepare batches ahead; when the epoch changes under batches prepared for the
    old one (as when `fit` peeks at a batch, then starts its epoch), they are not served."""
    data = msr_train.select(range(40))
    kwargs = dict(batch_size=8, num_frames=8, num_persons=1, transform=train_transform(8),
                  shuffle=True, seed=5)
    serial, threaded = SkeletonDataset(data, **kwargs), SkeletonDataset(data, workers=3, **kwargs)
    threaded[0]  # prepares batches 1-3 of epoch 0 ahead
    threaded.on_epoch_end()
    serial.on_epoch_end()
    for epoch in range(2):
        for (x, y), (x_ref, y_ref) in zip(batches(threaded), batches(serial)):
            np.testing.assert_array_equal(x, x_ref)
            np.testing.assert_array_equal(y, y_ref)
        threaded.set_epoch(epoch + 2)
        serial.set_epoch(epoch + 2)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        SkeletonDataset(data, workers=0, **kwargs)


@ONCE_ON_TORCH
def test_classifier_fits_on_labeled_batches_with_two_workers(msr_train):
    keras.utils.set_random_seed(0)
    classifier = SkeletonClassifier(small_backbone(), num_classes=20, num_strl_layers=1)
    data = label_subset(msr_train, 0.2, seed=0)
    dataset = SkeletonDataset(data, batch_size=16, num_frames=16, num_persons=1,
                              transform=train_transform(16), shuffle=True, workers=2)
    history = classifier.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    x, _ = data.to_arrays(16, 1, transform=CenterOnJoint("kinect20"))
    assert classifier.predict(x, verbose=0).shape == (len(data), 20)


@ONCE_ON_TORCH
def test_custom_layout_from_npz_trains_with_the_public_api(tmp_path):
    """A user's own 15-joint 2D layout (not registered), data from an .npz file."""
    layout = SkeletonLayout(
        name="my_puppet",
        edges=[(2, 0), (1, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 3), (8, 4), (9, 5),
               (10, 6), (11, 7), (12, 8), (13, 9), (14, 10)],
        parts={"upper": [0, 2, 3, 4, 7, 8, 11, 12], "lower": [1, 5, 6, 9, 10, 13, 14]},
        center=1,
    )
    source = load_pyskl(require("jhmdb_2d.pkl"), split="train1").select(range(24))
    x, y = source.to_arrays(16, 1)
    np.savez(tmp_path / "mine.npz", x=x, y=y, class_names=np.array(source.class_names))
    data = load_numpy(tmp_path / "mine.npz", layout=layout)
    assert data.layout == "my_puppet"
    data.validate(num_channels=2)
    dataset = SkeletonDataset(data, batch_size=8, num_frames=16, num_persons=1,
                              transform=Compose([CenterOnJoint(layout), RandomRotation(10)]))
    keras.utils.set_random_seed(0)
    classifier = SkeletonClassifier(small_backbone(layout, num_channels=2),
                                    num_classes=data.num_classes, num_strl_layers=1)
    history = classifier.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_to_tf_dataset_gives_the_same_batches(msr_train):
    pytest.importorskip("tensorflow")
    data = msr_train.select(range(10))
    kwargs = dict(batch_size=4, num_frames=8, num_persons=1, transform=train_transform(8),
                  shuffle=True, seed=2)
    reference, dataset = SkeletonDataset(data, **kwargs), SkeletonDataset(data, **kwargs)
    tf_dataset = dataset.to_tf_dataset()
    for epoch in range(2):
        for (x, y), (x_ref, y_ref) in zip(tf_dataset, batches(reference)):
            np.testing.assert_array_equal(x.numpy(), x_ref)
            np.testing.assert_array_equal(y.numpy(), y_ref)
        reference.on_epoch_end()
        assert dataset.epoch == epoch + 1
    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(0)
        pretrainer = keras_skeletonmae.SkeletonMAEPretrainer(
            SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=8, num_persons=1,
                                embed_dim=16, num_layers=1, hidden_dim=16))
        unlabeled = SkeletonDataset(data, 4, 8, 1, transform=train_transform(8), labeled=False)
        history = pretrainer.fit(unlabeled.to_tf_dataset(), epochs=1, shuffle=False, verbose=0)
        assert np.isfinite(history.history["loss"][0])


@pytest.mark.tf_graph
@pytest.mark.parametrize("source", ["msr", pytest.param("jhmdb", marks=ONCE_ON_TORCH),
                                    pytest.param("ntu", marks=ONCE_ON_TORCH)])
def test_every_real_source_feeds_pretraining_and_fine_tuning(source):
    data, layout, persons = {
        "msr": lambda: (load_pyskl(require("msr_action3d.pkl"), split="xsub_train"), "kinect20", 1),
        "jhmdb": lambda: (load_pyskl(require("jhmdb_2d.pkl"), split="train1"), "jhmdb15", 1),
        "ntu": lambda: (load_ntu_dir(require("ntu_samples")), "ntu25", 2),
    }[source]()
    num_classes = data.num_classes  # of the whole split: a 12-sample subset may hold one class
    data, _ = data.select(range(min(len(data), 12))).repair(drop_all_zero=True)
    channels = data.keypoints[0].shape[-1]
    backbone = SkeletonMAEBackbone(layout=layout, num_channels=channels, num_frames=8,
                                   num_persons=persons, embed_dim=16, num_layers=1, hidden_dim=16)
    unlabeled = SkeletonDataset(data, 4, 8, persons, transform=CenterOnJoint(layout), labeled=False)
    pretrainer = keras_skeletonmae.SkeletonMAEPretrainer(backbone)
    assert np.isfinite(pretrainer.fit(unlabeled, epochs=1, verbose=0).history["loss"][0])
    labeled = SkeletonDataset(data, 4, 8, persons, transform=CenterOnJoint(layout))
    classifier = SkeletonClassifier(backbone, num_classes=num_classes, num_strl_layers=1)
    assert np.isfinite(classifier.fit(labeled, epochs=1, verbose=0).history["loss"][0])


def test_dataset_refuses_a_nan_sample_by_name_before_training(msr_train):
    data = msr_train.select(range(6))
    keypoints = [k.copy() for k in data.keypoints]
    keypoints[3][0, 0, 0, 0] = np.inf
    broken = keras_skeletonmae.data.SkeletonData(keypoints, labels=data.labels, ids=data.ids,
                                                 layout=data.layout, source="hand-built")
    with pytest.raises(ValueError, match=rf"sample '{data.ids[3]}' from hand-built: has 1 "
                                         "NaN/inf coordinates"):
        SkeletonDataset(broken, batch_size=2, num_frames=8, num_persons=1)
    repaired = broken.check_finite("interpolate")
    x, _ = SkeletonDataset(repaired, batch_size=6, num_frames=8, num_persons=1)[0]
    assert np.isfinite(x).all()
