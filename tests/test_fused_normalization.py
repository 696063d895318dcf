"""The fused BatchNorm (+ PReLU) path computes what the Keras layers compute, in both modes.

The plain path (the Keras layers called as they are) is the reference: the package's layers and
models give the same outputs, gradients and moving statistics with either path.
"""

from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.layers import (
    GINConv,
    MultiScaleTemporalConv,
    STRLBlock,
    use_fused_normalization,
)
from keras_skeletonmae.layers.batch_norm import (
    FUSED_BY_DEFAULT,
    batch_norm,
    dense_normalize,
    fused_normalization,
    normalize,
)

POSES = Path(__file__).parent / "preset_references" / "skeletonmae_kinect20_msr_classifier.npz"


@pytest.fixture
def fused():
    """The fused path for this test, the setting restored after it."""
    previous = use_fused_normalization(True)
    yield
    use_fused_normalization(previous)


def to_numpy(values):
    return [ops.convert_to_numpy(v) for v in values]


@pytest.mark.parametrize("training", [True, False])
def test_normalize_matches_dense_batch_norm_prelu_layers(fused, rng, training):
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


class DenseNormalizePReLU(keras.layers.Layer):
    """`dense_normalize` as a layer (with or without its PReLU), to train it like the Keras
    layers it replaces."""

    def __init__(self, with_prelu=True, **kwargs):
        super().__init__(**kwargs)
        self.with_prelu = with_prelu

    def build(self, input_shape):
        self.dense = keras.layers.Dense(5)
        self.dense.build(input_shape)
        self.norm = batch_norm("norm")
        self.norm.build(input_shape[:-1] + (5,))
        self.prelu = None
        if self.with_prelu:
            self.prelu = keras.layers.PReLU(keras.initializers.Constant(0.25), shared_axes=[1])
            self.prelu.build(input_shape[:-1] + (5,))

    def call(self, x, training=None):
        return dense_normalize(self.dense, self.norm, x, training, self.prelu)


@pytest.mark.parametrize("with_prelu", [True, False])
@pytest.mark.parametrize("offset", [2.0, 40.0])
def test_a_training_step_through_the_fused_path_matches_the_keras_layers(fused, rng, offset,
                                                                        with_prelu):
    """Same gradients (one SGD step) and moving statistics as the Keras layers, for inputs near
    zero mean and far from it, with and without the PReLU (each backend's analytic gradient)."""
    x = (rng.normal(size=(4, 50, 7)) * 2 + offset).astype("float32")
    y = rng.normal(size=(4, 50, 5)).astype("float32")
    layers = [keras.Input((50, 7)), keras.layers.Dense(5), batch_norm("norm")]
    if with_prelu:
        layers.append(keras.layers.PReLU(keras.initializers.Constant(0.25), shared_axes=[1]))
    reference = keras.Sequential(layers)
    fused = keras.Sequential([keras.Input((50, 7)), DenseNormalizePReLU(with_prelu)])
    reference.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                           for w in reference.get_weights()])
    fused.set_weights(reference.get_weights())
    for model in (reference, fused):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.train_on_batch(x, y)
    for got, expected in zip(fused.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_the_gradients_match_autodiff_of_the_keras_layers(fused, rng):
    """The analytic gradient itself (not diluted by a small step): every input and weight."""
    x = (rng.normal(size=(4, 16, 6)) * 3 + 5).astype("float32")
    dense = DenseNormalizePReLU()
    dense.build(x.shape)
    reference = keras.Sequential([keras.Input((16, 6)), keras.layers.Dense(5), batch_norm("norm"),
                                  keras.layers.PReLU(keras.initializers.Constant(0.25),
                                                     shared_axes=[1])])
    reference.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 + 0.5
                           for w in reference.get_weights()])
    dense.set_weights(reference.get_weights())
    weights = rng.normal(size=(4, 16, 5)).astype("float32")  # a loss that weighs every output
    for got, expected in zip(_gradients(dense, x, weights), _gradients(reference, x, weights)):
        np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-5)


def _gradients(layer, x, weights):
    """d sum(weights * layer(x)) / d (x, then each trainable weight), in training mode."""
    backend = keras.backend.backend()
    variables = layer.trainable_variables
    if backend == "jax":
        import jax

        fixed = [v.value for v in layer.non_trainable_variables]

        def loss(values, x):
            outputs, _ = layer.stateless_call(values, fixed, x, training=True)
            return (outputs * weights).sum()

        grads, dx = jax.grad(loss, argnums=(0, 1))([v.value for v in variables], x)
        return to_numpy([dx, *grads])
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * weights)
        return to_numpy(tape.gradient(loss, [x, *variables]))
    import torch

    x = torch.tensor(x, requires_grad=True)
    loss = (layer(x, training=True) * torch.tensor(weights)).sum()
    loss.backward()
    return to_numpy([x.grad, *[v.value.grad for v in variables]])


@pytest.mark.filterwarnings("ignore:.*quantize")  # BatchNormalization and PReLU have no mode
@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_a_quantized_dense_computes_as_its_own_call(fused, rng, mode):
    """`Model.quantize` replaces a Dense's kernel by quantized values and scales: the fused path
    gives what the quantized Keras layers give."""
    x = (rng.normal(size=(4, 50, 8)) * 3 + 2).astype("float32")
    reference = keras.Sequential([keras.Input((50, 8)), keras.layers.Dense(5), batch_norm("norm"),
                                  keras.layers.PReLU(keras.initializers.Constant(0.25),
                                                     shared_axes=[1])])
    fused = keras.Sequential([keras.Input((50, 8)), DenseNormalizePReLU()])
    reference.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype("float32")
                           for w in reference.get_weights()])  # positive variances
    fused.set_weights(reference.get_weights())
    float_outputs = ops.convert_to_numpy(reference(x))
    for model in (reference, fused):
        model.quantize(mode)
    expected = ops.convert_to_numpy(reference(x))
    np.testing.assert_allclose(ops.convert_to_numpy(fused(x)), expected, rtol=1e-5, atol=1e-5)
    assert np.abs(expected - float_outputs).max() < 0.5 * np.abs(float_outputs).max()


@pytest.mark.filterwarnings("ignore:.*quantize")
def test_an_int8_classifier_predicts_as_the_float_one():
    """A classifier on real poses (8-frame windows of MSR Action3D sequences), quantized to
    int8: the same top-1 class for nearly every window and outputs within a few percent."""
    poses = np.load(POSES)["x"]  # (2, 1, 32, 20, 3)
    x = np.concatenate([poses[:, :, start:start + 8] for start in range(0, 25, 4)])
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=8,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    model = SkeletonClassifier(backbone, num_classes=10, num_strl_layers=1)
    expected = ops.convert_to_numpy(model(x))
    model.quantize("int8")
    got = ops.convert_to_numpy(model(x))
    assert np.mean(got.argmax(-1) == expected.argmax(-1)) >= 0.9
    assert np.linalg.norm(got - expected) < 0.05 * np.linalg.norm(expected)


def test_the_setting_is_read_at_call_time_and_restored(monkeypatch):
    """No setting: the backend's default; an explicit one until it is restored."""
    monkeypatch.setattr("keras_skeletonmae.layers.batch_norm._fused", None)
    assert fused_normalization() == FUSED_BY_DEFAULT[keras.backend.backend()]
    previous = use_fused_normalization(False)
    assert previous is None and not fused_normalization()
    assert use_fused_normalization(previous) is False
    assert fused_normalization() == FUSED_BY_DEFAULT[keras.backend.backend()]


# --- the package's layers and models: fused path == plain Keras layers ---------------------------

def _poses(frames=16):
    """Real poses (MSR Action3D, kinect20): `(2, 1, frames, 20, 3)`."""
    return np.load(POSES)["x"][:, :, :frames].astype("float32")


def _backbone():
    return SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=16, num_persons=1,
                               embed_dim=16, num_layers=1, hidden_dim=32)


def _layer_model(layer, *shapes):
    inputs = [keras.Input(shape) for shape in shapes]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    return keras.Model(inputs, layer(inputs))


MODELS = {
    "GINConv": lambda: _layer_model(GINConv(16, "kinect20", hidden_units=32), (1, 16, 20, 8)),
    "GINConv without output activation": lambda: _layer_model(
        GINConv(9, "kinect20", hidden_units=32, output_activation=False), (1, 16, 20, 8)),
    "STRLBlock": lambda: _layer_model(STRLBlock(12), (1, 16, 20, 8), (1, 16, 20, 6)),
    "MultiScaleTemporalConv": lambda: _layer_model(MultiScaleTemporalConv(8), (1, 16, 20, 6)),
    "SkeletonClassifier": lambda: SkeletonClassifier(_backbone(), num_classes=4,
                                                     num_strl_layers=1, dropout=0.0),
    "SkeletonMAEPretrainer": lambda: SkeletonMAEPretrainer(
        _backbone(), mask_parts=["right_arm", "left_leg"], encoder="trunk", num_strl_layers=1),
}


LOSSES = {"SkeletonClassifier": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
          "SkeletonMAEPretrainer": None}  # its loss is built in


def _inputs(name, rng):
    """Inputs and (but for the pre-trainer) targets, with a mean far from 0 on some channels."""
    if name in ("SkeletonClassifier", "SkeletonMAEPretrainer"):
        x = _poses()
        return x, (None if name == "SkeletonMAEPretrainer" else np.array([1, 3]))
    model = MODELS[name]()
    shapes = [(2,) + tuple(i.shape[1:]) for i in model.inputs]
    x = [(rng.normal(size=s) * 2 + rng.normal(size=s[-1]) * 3).astype("float32") for s in shapes]
    y = rng.normal(size=(2,) + tuple(model.outputs[0].shape[1:])).astype("float32")
    return (x if len(x) > 1 else x[0]), y


def _one_step(name, fused, weights, x, y):
    """With one path: the outputs in inference and in training mode, then the change of every
    weight in one SGD step of rate 1 (trainable weights: minus their gradient; moving
    statistics: their update)."""
    previous = use_fused_normalization(fused)
    try:
        model = MODELS[name]()
        model.set_weights(weights)
        outputs = [model(x, training=False), model(x, training=True)]
        model.set_weights(weights)  # the training-mode call moved the moving statistics
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss=LOSSES.get(name, "mse"))
        model.train_on_batch(x, y)
        changes = [after - before for after, before in zip(model.get_weights(), weights)]
    finally:
        use_fused_normalization(previous)
    return [ops.convert_to_numpy(o) for o in keras.tree.flatten(outputs)], changes


@pytest.mark.parametrize("name", list(MODELS))
def test_the_fused_path_matches_the_plain_keras_layers(name, rng):
    """GINConv, STRLBlock, MultiScaleTemporalConv and whole models: the same outputs (inference
    and training), gradients and moving statistics after a training step with either path."""
    x, y = _inputs(name, rng)
    model = MODELS[name]()
    weights = []
    for variable, value in zip(model.weights, model.get_weights()):
        # Moving statistics and scale-and-shift away from their initial values, so that
        # inference uses them and training updates them visibly.
        kind = variable.path.rsplit("/", 1)[-1]
        if kind in ("moving_variance", "gamma"):
            value = rng.uniform(0.5, 2.0, size=value.shape).astype(value.dtype)
        elif kind in ("moving_mean", "beta"):
            value = rng.normal(size=value.shape).astype(value.dtype)
        weights.append(value)
    fused_outputs, fused_changes = _one_step(name, True, weights, x, y)
    plain_outputs, plain_changes = _one_step(name, False, weights, x, y)
    for got, expected in zip(fused_outputs, plain_outputs):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # A Dense bias before a BatchNorm: gradient 0, exactly (fused) or up to rounding (plain).
    scale = max(np.abs(c).max() for c in plain_changes)
    assert scale > 0
    for variable, got, expected in zip(model.weights, fused_changes, plain_changes):
        np.testing.assert_allclose(got, expected, rtol=1e-3,
                                   atol=1e-5 * scale + 1e-4 * np.abs(expected).max(),
                                   err_msg=variable.path)
