"""Data parallelism on two virtual CPU devices computes what one device computes.

JAX: `keras.distribution.DataParallel`; TensorFlow: `tf.distribute.MirroredStrategy`. Each runs in
a subprocess, since the devices must be configured before the engine starts. PyTorch has no Keras
distribution engine.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

SCRIPT = r"""
import contextlib, json, sys
import numpy as np

engine = sys.argv[1]
if engine == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer


def data_parallel():
    if engine == "jax":
        devices = keras.distribution.list_devices()
        assert len(devices) == 2, devices
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return contextlib.nullcontext()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    return strategy.scope()


def loss_curves(weights=None):
    # Fixed masked parts and no dropout: the only difference left is the data split.
    keras.utils.set_random_seed(0)
    backbone = SkeletonMAEBackbone(num_frames=8, embed_dim=16, num_layers=2, hidden_dim=32)
    pretrainer = SkeletonMAEPretrainer(backbone, mask_parts=["right_arm", "right_leg"])
    classifier = SkeletonClassifier(backbone, num_classes=3, num_strl_layers=1, dropout=0.0)
    if weights is not None:
        pretrainer.set_weights(weights["pretrainer"])
        classifier.set_weights(weights["classifier"])
    initial = {"pretrainer": pretrainer.get_weights(), "classifier": classifier.get_weights()}
    pretrainer.compile(optimizer=keras.optimizers.SGD(0.01))
    classifier.compile(optimizer=keras.optimizers.SGD(0.01))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2, 8, 17, 2)).astype("float32")
    y = np.arange(16) % 3
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)
    curves = [pretrainer.fit(x, **fit).history["loss"],
              classifier.fit(x, y, **fit).history["loss"]]
    return curves, initial


single, weights = loss_curves()
with data_parallel():
    parallel, _ = loss_curves(weights)
print(json.dumps({"single": single, "parallel": parallel}))
"""


def run_on_two_devices(engine):
    env = dict(os.environ, KERAS_BACKEND=engine, TF_CPP_MIN_LOG_LEVEL="3")
    if engine == "jax":  # must be set before JAX starts
        env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    done = subprocess.run([sys.executable, "-c", SCRIPT, engine], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="PyTorch has no Keras distribution engine (see docs/performance.md)")
def test_data_parallel_on_two_devices_matches_one_device():
    curves = run_on_two_devices(keras.backend.backend())
    for single, parallel in zip(curves["single"], curves["parallel"]):
        assert np.all(np.isfinite(single)) and single[-1] < single[0]
        np.testing.assert_allclose(parallel, single, rtol=1e-4, atol=1e-5)
