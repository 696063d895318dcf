import keras
import numpy as np
import pytest
from keras import ops

from keras_skeletonmae.losses import (
    SparseCategoricalCrossentropyWithLabelSmoothing,
    reweighted_cosine_error,
)


def numpy_error(x, z, mask, beta):
    cos = (x * z).sum(-1) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(z, axis=-1))
    return ((1 - cos) ** beta * mask).sum() / mask.sum()


@pytest.mark.parametrize("beta", [1.0, 2.0, 3.0])
def test_reweighted_cosine_error_matches_formula(rng, beta):
    x, z = rng.normal(size=(2, 3, 4, 17, 6)), rng.normal(size=(2, 3, 4, 17, 6))
    mask = (rng.uniform(size=(2, 3, 4, 17)) < 0.3).astype("float32")
    got = float(ops.convert_to_numpy(reweighted_cosine_error(x, z, mask, beta)))
    assert got == pytest.approx(numpy_error(x, z, mask, beta), rel=1e-5)


def test_loss_ignores_visible_joints(rng):
    x, z = rng.normal(size=(4, 17, 6)), rng.normal(size=(4, 17, 6))
    mask = np.zeros((4, 17), "float32")
    mask[:, [8, 10]] = 1
    base = float(ops.convert_to_numpy(reweighted_cosine_error(x, z, mask)))
    visible = mask[..., None] == 0
    z_visible = np.where(visible, rng.normal(size=z.shape) * 10, z)
    x_visible = np.where(visible, rng.normal(size=x.shape) * 10, x)
    assert float(ops.convert_to_numpy(reweighted_cosine_error(x_visible, z_visible, mask))) == pytest.approx(base)
    z_masked = np.where(visible, z, -z)
    assert float(ops.convert_to_numpy(reweighted_cosine_error(x, z_masked, mask))) != pytest.approx(base)


def test_reweighting_and_empty_mask():
    x = np.array([[1.0, 0.0], [1.0, 0.0]])
    z = np.array([[1.0, 0.1], [-1.0, 0.0]])  # an easy joint and a hard one
    mask = np.ones(2)
    e1 = float(ops.convert_to_numpy(reweighted_cosine_error(x, z, mask, 1.0)))
    e3 = float(ops.convert_to_numpy(reweighted_cosine_error(x, z, mask, 3.0)))
    assert e3 / e1 > 3  # beta > 1 shifts weight to the hard joint (error 2 -> 8)
    assert float(ops.convert_to_numpy(reweighted_cosine_error(x, z, np.zeros(2)))) == 0.0


def test_label_smoothing_loss(rng):
    logits = rng.normal(size=(5, 4)).astype("float32")
    labels = np.array([0, 1, 2, 3, 1])
    loss = SparseCategoricalCrossentropyWithLabelSmoothing(0.1)
    one_hot = np.eye(4)[labels] * 0.9 + 0.1 / 4
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -(one_hot * log_p).sum(-1).mean()
    assert float(ops.convert_to_numpy(loss(labels, logits))) == pytest.approx(expected, rel=1e-5)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert clone.get_config() == loss.get_config()
