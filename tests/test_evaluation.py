"""Multi-clip testing: class probabilities averaged over clips (PYSKL's average_clips='prob'),
and a classifier's outputs turned into probabilities by its head's activation."""

from pathlib import Path

import keras
import numpy as np
import pytest

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, training
from keras_skeletonmae.evaluation import (
    class_probabilities,
    clip_averaged_probabilities,
    outputs_are_logits,
    softmax,
)


class LogitsPerClip:
    """A model stand-in whose `predict` returns the next clip's logits (its head has no
    activation)."""

    def __init__(self, logits):
        self.logits = iter(logits)

    def predict(self, x, batch_size=None, verbose=0):
        return next(self.logits)

    def get_layer(self, name):
        return keras.layers.Dense(3, name=name)


def test_clip_averaged_probabilities_average_probabilities_not_logits():
    # class 0: 0.9 in one clip, 0.05 in the other; class 1: 0.1 and 0.5. Averaging the
    # probabilities picks class 0 (0.475 > 0.3), averaging the logits (the geometric mean of
    # the probabilities) would pick class 1 (0.224 > 0.212).
    logits = [np.log([[0.9, 0.1, 1e-6]]), np.log([[0.05, 0.5, 0.45]])]
    clips = np.zeros((2, 1, 4))
    probabilities = clip_averaged_probabilities(LogitsPerClip(logits), clips)
    np.testing.assert_allclose(probabilities, (softmax(logits[0]) + softmax(logits[1])) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-6)
    assert probabilities.argmax(-1).tolist() == [0]
    assert ((logits[0] + logits[1]) / 2).argmax(-1).tolist() == [1]


@pytest.mark.parametrize("activation", [None, "linear", "softmax"])
def test_probabilities_follow_the_head_activation(rng, activation):
    backbone = SkeletonMAEBackbone(layout="coco17", num_frames=8, num_persons=1, embed_dim=16,
                                   num_layers=1, hidden_dim=32)
    model = SkeletonClassifier(backbone, num_classes=4, num_strl_layers=1, activation=activation)
    clips = rng.normal(size=(2, 3, 1, 8, 17, 2)).astype("float32")
    outputs = [model.predict(clip, verbose=0) for clip in clips]
    logits = activation != "softmax"
    assert outputs_are_logits(model) is logits
    expected = [softmax(o) if logits else o for o in outputs]  # a softmax head's are final
    np.testing.assert_allclose(class_probabilities(model, clips[0]), expected[0], rtol=1e-5)
    np.testing.assert_allclose(clip_averaged_probabilities(model, clips), np.mean(expected, 0),
                               rtol=1e-5)


def test_predict_reports_the_same_probabilities_for_a_softmax_head(tmp_path):
    x = np.load(Path(__file__).parent / "preset_references" /
                "skeletonmae_jhmdb15_jhmdb_classifier.npz")["x"]  # real poses, (N, 1, T, 15, 2)
    np.save(tmp_path / "poses.npy", x)
    backbone = SkeletonMAEBackbone(layout="jhmdb15", num_frames=8, num_persons=1, embed_dim=16,
                                   num_layers=1, hidden_dim=32)
    SkeletonClassifier(backbone, num_classes=4, num_strl_layers=1).save_to_preset(tmp_path / "a")
    SkeletonClassifier.from_preset(str(tmp_path / "a"), activation="softmax").save_to_preset(
        tmp_path / "b")
    logits, probabilities = (
        training.predict(tmp_path / "poses.npy", tmp_path / o, preset=tmp_path / p,
                         layout="jhmdb15", top_k=4)
        for p, o in (("a", "run_a"), ("b", "run_b")))
    for a, b in zip(logits, probabilities, strict=True):
        assert [c["class"] for c in a["top_k"]] == [c["class"] for c in b["top_k"]]
        np.testing.assert_allclose([c["probability"] for c in a["top_k"]],
                                   [c["probability"] for c in b["top_k"]], atol=1e-5)
