"""`benchmarks/recipe_search.py`'s lower backbone rate: `BackboneScaledAdam` moves the scaled
variables by `scale` times the rate and the others at the full rate."""

import keras
import numpy as np
import pytest

from helpers import load_benchmark


def _optimizer_class():
    return load_benchmark("recipe_search").BackboneScaledAdam


def _two_layer_model():
    first, second = keras.layers.Dense(3), keras.layers.Dense(2)
    model = keras.Sequential([keras.Input((4,)), first, second])
    return model, first, second


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="JAX and TensorFlow only")
def test_scaled_variables_move_by_the_scaled_rate():
    optimizer_class = _optimizer_class()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    steps = []
    for scale in (1.0, 0.5, 0.0):
        keras.utils.set_random_seed(0)
        model, first, second = _two_layer_model()
        before = [v.numpy().copy() for v in model.weights]
        model.compile(optimizer=optimizer_class(first.trainable_variables, scale,
                                                learning_rate=0.01), loss="mse")
        model.train_on_batch(x, y)
        steps.append([v.numpy() - b for v, b in zip(model.weights, before)])
    full, half, frozen = steps
    # Adam's first step is lr * sign-like (m / sqrt(v)): exactly proportional to the rate.
    for i in (0, 1):  # the first Dense layer's kernel and bias: scaled
        np.testing.assert_allclose(half[i], 0.5 * full[i], rtol=1e-4, atol=1e-7)
        np.testing.assert_array_equal(frozen[i], 0.0)
        assert np.abs(full[i]).max() > 1e-3
    for i in (2, 3):  # the second layer's: the full rate in every case
        np.testing.assert_allclose(half[i], full[i], rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(frozen[i], full[i], rtol=1e-4, atol=1e-7)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the PyTorch refusal")
def test_scaled_rate_is_refused_on_torch():
    optimizer_class = _optimizer_class()
    _, first, _ = _two_layer_model()
    with pytest.raises(ValueError, match="JAX or TensorFlow"):
        optimizer_class(first.trainable_variables, 0.1, learning_rate=0.01)
