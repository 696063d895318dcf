"""KerasTuner search (keras_skeletonmae.tuning): search spaces, defaults, a real search, presets."""

import json
import subprocess
import sys

import keras
import keras_tuner
import numpy as np
import pytest

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
from keras_skeletonmae.tuning import (
    SkeletonClassifierHyperModel,
    SkeletonMAEPretrainerHyperModel,
    save_best_preset,
    search,
)

MSR_SHAPE = {"layout": "kinect20", "num_channels": 3, "num_persons": 1}
TINY = {"embed_dim": 8, "hidden_dim": 16, "num_layers": 1}
MSR_PRESET = "skeletonmae_kinect20_msr"

# A search builds and fits a model per trial: it runs once, on PyTorch, where these small models
# train without compiling (the search loop is KerasTuner's and the same on every backend). The
# hypermodels build on every backend below, and every backend fits on real data elsewhere.
search_once_on_torch = pytest.mark.skipif(keras.backend.backend() != "torch",
                                          reason="a real search runs once, on PyTorch")


def small(x, y, count, frame_step=4):
    """The first `count` samples, every `frame_step`-th frame."""
    return x[:count, :, ::frame_step], y[:count]


def test_default_hyperparameters_are_the_papers():
    classifier = SkeletonClassifierHyperModel(20, num_frames=8, **MSR_SHAPE).build(
        keras_tuner.HyperParameters())
    assert classifier.backbone.embed_dim == 64
    assert classifier.backbone.num_layers == 3
    assert classifier.num_strl_layers == 3
    assert classifier.dropout == 0.5
    assert classifier.freeze_backbone is False
    assert float(classifier.optimizer.learning_rate) == pytest.approx(1e-3)
    pretrainer = SkeletonMAEPretrainerHyperModel(num_frames=8, **MSR_SHAPE).build(
        keras_tuner.HyperParameters())
    assert pretrainer.backbone.embed_dim == 64
    assert pretrainer.backbone.num_layers == 3
    assert pretrainer.num_masked_parts == 2
    assert pretrainer.mask_sampling == "sample"
    assert float(pretrainer.optimizer.learning_rate) == pytest.approx(1.5e-4)


def test_fit_draws_the_batch_size_and_passes_the_callbacks():
    class RecordingModel:
        def fit(self, *args, **kwargs):
            return args, kwargs

    hp = keras_tuner.HyperParameters()
    callbacks = [keras.callbacks.Callback()]
    hypermodel = SkeletonClassifierHyperModel(20, num_frames=8, **MSR_SHAPE)
    args, kwargs = hypermodel.fit(hp, RecordingModel(), "x", "y", callbacks=callbacks)
    assert args == ("x", "y")
    assert kwargs == {"batch_size": 16, "callbacks": callbacks}
    hp = keras_tuner.HyperParameters()
    SkeletonMAEPretrainerHyperModel(num_frames=8, **MSR_SHAPE).fit(hp, RecordingModel(), "x")
    assert hp.get("batch_size") == 32


def test_hypermodel_needs_the_data_shape_or_a_preset():
    with pytest.raises(ValueError, match=r"needs \['num_frames'\]"):
        SkeletonClassifierHyperModel(20, **MSR_SHAPE)
    with pytest.raises(ValueError, match="fixes embed_dim=64; got embed_dim=32"):
        SkeletonMAEPretrainerHyperModel(preset=MSR_PRESET, embed_dim=32)


@search_once_on_torch
def test_classifier_search_on_real_data_and_best_preset_reloads(msr_train, msr_val, tmp_path):
    x, y = small(*msr_train, 32)
    x_val, y_val = small(*msr_val, 16)
    hypermodel = SkeletonClassifierHyperModel(20, num_frames=x.shape[2], num_strl_layers=1,
                                              batch_size=16, **MSR_SHAPE, **TINY)
    tuner, best_model, best_values = search(
        hypermodel, x, y, validation_data=(x_val, y_val), directory=tmp_path / "trials",
        max_trials=2, epochs=1, seed=0, verbose=0,
    )
    assert len(tuner.oracle.trials) == 2
    assert tuner.oracle.objective.name == "val_accuracy"
    assert best_values["embed_dim"] == 8 and best_values["num_strl_layers"] == 1
    assert best_values["batch_size"] == 16
    save_best_preset(best_model, best_values, tmp_path / "best")
    metadata = json.loads((tmp_path / "best" / "metadata.json").read_text())
    assert metadata["tuning"]["hyperparameters"] == best_values
    reloaded = SkeletonClassifier.from_preset(tmp_path / "best")
    np.testing.assert_allclose(reloaded.predict(x_val, verbose=0),
                               best_model.predict(x_val, verbose=0), rtol=1e-5, atol=1e-5)


@search_once_on_torch
def test_pretrainer_search_starts_from_a_preset(msr_train, tmp_path):
    x, _ = small(*msr_train, 32)
    hypermodel = SkeletonMAEPretrainerHyperModel(preset=MSR_PRESET, num_frames=x.shape[2])
    model = hypermodel.build(keras_tuner.HyperParameters())
    preset_backbone = SkeletonMAEBackbone.from_preset(MSR_PRESET)
    for built, saved in zip(model.backbone.encoder.weights, preset_backbone.encoder.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(built),
                                      keras.ops.convert_to_numpy(saved))
    tuner, best_model, best_values = search(
        hypermodel, x, directory=tmp_path, max_trials=1, epochs=1, seed=0, verbose=0,
    )
    assert tuner.oracle.objective.name == "loss"
    assert best_values["embed_dim"] == preset_backbone.embed_dim
    assert best_values["num_layers"] == preset_backbone.num_layers
    assert best_model.backbone.num_frames == x.shape[2]


@pytest.mark.parametrize("missing", [
    "keras_tuner",
    pytest.param("tensorboard", marks=pytest.mark.skipif(
        keras.backend.backend() != "tensorflow", reason="needed on the TensorFlow backend only")),
])
def test_package_imports_without_the_tuner_extra_and_tuning_says_what_to_install(missing):
    script = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "import keras_skeletonmae\n"
        "try:\n"
        "    import keras_skeletonmae.tuning\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert "install keras-skeletonmae[tuner]" in out
