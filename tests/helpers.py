"""Assertions and loaders shared by the test modules."""

import importlib.util
import inspect
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae.layouts import SkeletonLayout

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name, folder=BENCHMARKS):
    """The module of the script `<folder>/<name>.py`, by default `benchmarks/` (the scripts
    and `examples/` are not packages)."""
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_config_complete(obj, config=None):
    """Every constructor argument of `type(obj)` appears in its config."""
    config = obj.get_config() if config is None else config
    params = inspect.signature(type(obj).__init__).parameters
    names = [n for n, p in params.items() if n != "self" and p.kind is not p.VAR_KEYWORD]
    missing = [n for n in names if n not in config]
    assert not missing, f"{type(obj).__name__}.get_config() lacks {missing}"


def assert_layer_round_trip(layer, inputs):
    """from_config(get_config()) rebuilds an equal config and, with copied weights, equal outputs."""
    outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, layer(inputs))
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(inputs)
    clone.set_weights(layer.get_weights())
    cloned = keras.tree.map_structure(keras.ops.convert_to_numpy, clone(inputs))
    keras.tree.map_structure(np.testing.assert_allclose, outputs, cloned)


def custom_layout_15(name="custom15"):
    """A user-defined 15-joint layout (JHMDB-like), written the way a user would."""
    return SkeletonLayout(
        name=name,
        edges=[(2, 0), (1, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 3), (8, 4), (9, 5), (10, 6),
               (11, 7), (12, 8), (13, 9), (14, 10)],
        parts={"head": [0, 2], "body": [1, 3, 4, 5, 6], "arms": [7, 8, 11, 12],
               "legs": [9, 10, 13, 14]},
        center=1,
    )


def assert_png(path):
    """`path` is a PNG image larger than 100 x 100 pixels."""
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    height, width = matplotlib.image.imread(path).shape[:2]
    assert height > 100 and width > 100, path
