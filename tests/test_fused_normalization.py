"""The fused BatchNorm (+ PReLU) path computes what the Keras layers compute, in both modes."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_skeletonmae.layers.batch_norm import batch_norm, dense_normalize, normalize


def to_numpy(values):
    return [ops.convert_to_numpy(v) for v in values]


@pytest.mark.parametrize("training", [True, False])
def test_normalize_matches_dense_batch_norm_prelu_layers(rng, training):
    x = (rng.normal(size=(2, 50, 7)) * 3 + 2).astype("float32")  # any rank, channels last
    dense = keras.layers.Dense(5)
    dense.build(x.shape)
    dense.bias.assign(rng.normal(size=5))
    prelu = keras.layers.PReLU(keras.initializers.Constant(0.25), shared_axes=[1])
    prelu.build((2, 50, 5))
    prelu.alpha.assign(rng.uniform(0, 0.5, size=prelu.alpha.shape))
    reference, fused = batch_norm("reference"), batch_norm("fused")
    for norm in (reference, fused):
        norm.build((2, 50, 5))
    reference.set_weights([rng.uniform(0.5, 2, 5), rng.normal(size=5), rng.normal(size=5),
                           rng.uniform(0.5, 2, 5)])
    fused.set_weights(reference.get_weights())

    expected = prelu(reference(dense(x), training=training))
    got = dense_normalize(dense, fused, x, training, prelu)
    np.testing.assert_allclose(*to_numpy([got, expected]), rtol=1e-5, atol=1e-5)
    # Moving statistics: updated the same way in training, untouched in inference.
    for a, b in zip(to_numpy(fused.weights), to_numpy(reference.weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    plain = x[..., :5]  # no bias, no PReLU
    np.testing.assert_allclose(*to_numpy([normalize(fused, plain), reference(plain)]),
                               rtol=1e-5, atol=1e-5)
