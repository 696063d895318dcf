import keras
import numpy as np
import pytest

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
from keras_skeletonmae.inference import compiled_inference


def small_classifier():
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=32,
                                   num_persons=1, embed_dim=16, num_layers=1, hidden_dim=32)
    return SkeletonClassifier(backbone, num_classes=20, num_strl_layers=1, seed=0)


@pytest.mark.tf_graph  # the compiled function itself, as a user's process runs it
def test_compiled_inference_matches_predict_per_shape_and_follows_training(msr_train, msr_val):
    model = small_classifier()
    classify = compiled_inference(model)
    x_val = msr_val[0]
    for batch in (x_val[:1], x_val[:5], x_val[1:2]):  # two shapes, then the first again
        np.testing.assert_allclose(classify(batch), model.predict(batch, verbose=0),
                                   rtol=1e-5, atol=1e-5)
    before = classify(x_val[:5])
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(*msr_train, batch_size=32, epochs=1, verbose=0)  # real MSR Action3D labels
    after = classify(x_val[:5])  # the function made before the fit sees the new weights
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, model.predict(x_val[:5], verbose=0), rtol=1e-5, atol=1e-5)


def test_compiled_inference_of_a_backbone_and_a_preset(msr_val):
    backbone = SkeletonMAEBackbone.from_preset("skeletonmae_kinect20_msr")
    features = compiled_inference(backbone)(msr_val[0][:2])
    assert features.shape == (2, 1, 32, 20, backbone.embed_dim)
    np.testing.assert_allclose(features, backbone.predict(msr_val[0][:2], verbose=0),
                               rtol=1e-4, atol=1e-4)
