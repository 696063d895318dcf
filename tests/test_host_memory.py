import os
import platform
import subprocess
import sys

import pytest

from keras_skeletonmae.host_memory import ENVIRONMENT_VARIABLE, retain_freed_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

# In one new process (this one has the setting on: conftest.py), after `import keras_skeletonmae`:
# allocates and fills a 64 MB array six times and prints the page faults of the last five, first
# as imported, then after the call opted out of by the environment variable, then after the call.
REPEATED_ALLOCATIONS = f"""
import os
import resource
import numpy as np
import keras_skeletonmae
from keras_skeletonmae.host_memory import retain_freed_memory


def page_faults():
    np.ones(2**24, "float32")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        np.ones(2**24, "float32")
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


after_import = page_faults()
os.environ[{ENVIRONMENT_VARIABLE!r}] = "0"
assert retain_freed_memory() is False
opted_out = page_faults()
del os.environ[{ENVIRONMENT_VARIABLE!r}]
assert retain_freed_memory() is True
print(after_import, opted_out, page_faults())
"""


@glibc_only
def test_importing_the_package_leaves_malloc_alone_and_the_call_makes_freed_memory_reused():
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENT_VARIABLE}
    out = subprocess.run([sys.executable, "-c", REPEATED_ALLOCATIONS], env=environment,
                         capture_output=True, text=True, check=True).stdout
    faults_after_import, faults_opted_out, faults_retained = map(int, out.split()[-3:])
    assert faults_after_import > 100  # malloc's default: each 64 MB block is a fresh mmap
    assert faults_opted_out > 100
    assert faults_retained < faults_after_import / 10


@glibc_only
def test_retain_freed_memory_says_whether_it_applied(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "0")
    assert retain_freed_memory() is False
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    assert retain_freed_memory() is True


def test_compile_keeps_keras_jit_compile_default_and_xla_is_an_explicit_choice(rng):
    """The package's models resolve `jit_compile="auto"` as a plain Keras model does (Keras
    turns XLA off on a TensorFlow CPU); `xla_jit_compile()` is the explicit opt-in."""
    import keras

    from keras_skeletonmae import SkeletonMAEBackbone, SkeletonMAEPretrainer
    from keras_skeletonmae.models import xla_jit_compile

    x = rng.normal(size=(2, 1, 4, 20, 3)).astype("float32")
    inputs = keras.Input((1, 4, 20, 3))
    plain = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    plain.compile(optimizer="adam", loss="mse")
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=4, num_persons=1,
                                   embed_dim=8, num_layers=1, hidden_dim=8)
    model = SkeletonMAEPretrainer(backbone, seed=0)
    model.fit(x, epochs=1, verbose=0)
    plain.fit(x, x[..., :1], epochs=1, verbose=0)
    assert model.jit_compile == plain.jit_compile
    model.compile(optimizer="adam", jit_compile=xla_jit_compile())
    model.fit(x, epochs=1, verbose=0)
    expected = {"tensorflow": True, "jax": True, "torch": False}[keras.backend.backend()]
    assert model.jit_compile is expected
