import keras
import numpy as np
import pytest

from keras_skeletonmae.host_memory import retain_freed_memory
from real_data import load_split

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
