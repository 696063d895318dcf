import keras
import numpy as np
import pytest

from real_data import load_split

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
