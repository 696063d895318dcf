import importlib.util
import json
import os
import subprocess
import sys

import keras
import pytest

import keras_skeletonmae
from keras_skeletonmae.cli import main


def test_public_api():
    for name in keras_skeletonmae.__all__:
        assert getattr(keras_skeletonmae, name) is not None
    assert keras_skeletonmae.__version__


def test_cli_info_reports_backend(capsys):
    assert main(["info"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == keras.backend.backend()
    assert report["devices"]


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "keras_skeletonmae", "--version"],
                         capture_output=True, text=True, check=True)
    assert keras_skeletonmae.__version__ in out.stdout


@pytest.mark.skipif(os.environ.get("SKELETONMAE_EXPECT_NO_TENSORFLOW") != "1",
                    reason="only in CI's TensorFlow-free environment")
def test_tensorflow_is_absent():
    """CI runs the whole JAX suite in an environment without TensorFlow: this proves it is absent."""
    assert importlib.util.find_spec("tensorflow") is None
    assert "tensorflow" not in sys.modules
