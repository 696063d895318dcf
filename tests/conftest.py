import os

# A test-run setting, not the package's (which changes nothing process-wide on import): PyTorch's
# OpenMP threads otherwise spin-wait between operations, and with the three backends' suites
# sharing two cores (.ci/run) the spinning threads take the cores from the work, about 10x slower
# (benchmarks/README.md, "Inference"). OpenMP reads it when PyTorch loads, so it is set before
# Keras imports the backend; subprocesses the tests start inherit it. Set it to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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


@pytest.fixture(scope="session")
def msr_train():
    return load_split("msr_action3d.pkl", "xsub_train", MSR_FRAMES)


@pytest.fixture(scope="session")
def msr_val():
    return load_split("msr_action3d.pkl", "xsub_val", MSR_FRAMES)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
