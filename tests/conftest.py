import os

# A test-run setting, not the package's (which changes nothing process-wide on import): PyTorch's
# OpenMP threads otherwise spin-wait between operations, and with the three backends' suites
# sharing two cores (.ci/run) the spinning threads take the cores from the work, about 10x slower
# (benchmarks/README.md, "Inference"). OpenMP reads it when PyTorch loads, so it is set before
# Keras imports the backend; subprocesses the tests start inherit it. Set it to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# XLA's CPU compiler at LLVM optimisation level 0, also a test-run setting: the tests compile many
# small models and run each for a few steps, so compiling is most of their time (a fit, evaluate
# and predict of a small classifier and pre-trainer on JAX: 44-51 s at the default level, 25-28 s
# at level 0; two runs each, loaded machine). Set XLA_FLAGS to override.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_skeletonmae.host_memory import retain_freed_memory  # noqa: E402
from real_data import load_split  # noqa: E402

# The package leaves malloc alone on import; the tests turn its reuse of freed memory on, as the
# command line does, since without it every compiled XLA step faults its scratch block in anew.
retain_freed_memory()

MSR_FRAMES = 32


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with the float32 policy and a cleared Keras session."""
    keras.config.set_dtype_policy("float32")
    keras.utils.clear_session()
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(autouse=True)
def _tensorflow_eager_unless_marked(request):
    """On TensorFlow, tests run `tf.function`s eagerly unless marked `tf_graph`.

    TensorFlow traces each model's train, test and predict functions anew, and for these small
    models tracing is nearly all of a test's time: a 2-epoch fit, evaluate and predict of a
    3-STRL-layer classifier took 86 s traced against 11 s eager (one run, loaded machine).
    Graph mode and XLA keep their own tests, marked `tf_graph`: the real-data fits of both
    models, the masks under XLA, the ONNX export and tensorflow-io's tf.data; tests that start
    a subprocess (the command line, examples, distribution) and module-scoped fixtures (the
    protocols' shared runs) trace as a user's run does.
    """
    if keras.backend.backend() != "tensorflow" or request.node.get_closest_marker("tf_graph"):
        yield
        return
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="session")
def msr_train():
    return load_split("msr_action3d.pkl", "xsub_train", MSR_FRAMES)


@pytest.fixture(scope="session")
def msr_val():
    return load_split("msr_action3d.pkl", "xsub_val", MSR_FRAMES)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
