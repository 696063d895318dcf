"""Preset directories: find them (built-in name, local directory, hub handle), save and load them.

A preset directory holds:

- `config.json`: the backbone, `keras.saving.serialize_keras_object(backbone)`.
- `metadata.json`: versions, parameter counts, layout, and what the caller adds (data, recipe).
- `model.weights.h5` (optional): the backbone's weights, written by `Model.save_weights`, so
  `backbone.load_weights` reads it too. Never any optimizer state.
- `task.json` (optional): a pre-trainer or classifier around that backbone, its config without
  the backbone.
- `task.weights.h5` (with `task.json`): the weights of the task's own layers only, the backbone's
  being in `model.weights.h5` once. Loading builds the backbone from `model.weights.h5`, the task
  around it, then assigns each task layer its weights.

`task.weights.h5` has one HDF5 group per task-owned top-level layer, named as the layer
(`strl_0`, `strl_1_encoder`, `predictions`, `decoder`, ...; the root attribute `format` is
`TASK_WEIGHTS_FORMAT`). A group holds the layer's `layer.weights` as datasets `"0"`, `"1"`, ...
in that order, each with its variable's `path` as attribute, and the layer's class name as
attribute `class_name`. Weights are thus addressed by layer name, not by a task's structure: a
model holding layers named as another task's (a classifier built around a pre-trainer preset
whose STRL layers are named `strl_0`, ...) takes every saved layer of the same name, the
others staying as built:

    path = directory / TASK_WEIGHTS_FILE
    assign_task_weights(classifier, read_task_weights(path), path, skip=("predictions/",))

A `task.weights.h5` without that `format` attribute is read as Keras's `save_weights` file of
the whole task, backbone included: its task layers' weights are taken from a copy of the saved
task loaded from it. `save_to_preset` always writes the per-layer format, so loading such a
preset and saving it again converts it.

Built-in presets are the sub-directories of the top-level `presets/` folder, shipped in the
wheel as `keras_skeletonmae.presets`.
"""

import importlib
import importlib.resources
import inspect
import json
import os
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np

from keras_skeletonmae.version import __version__

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"
TASK_WEIGHTS_FORMAT = "keras_skeletonmae.task_layers.1"
HUB_CLIENTS = {  # scheme -> (module, pip package, download function)
    "hf://": ("huggingface_hub", "huggingface_hub", lambda m, h: m.snapshot_download(repo_id=h)),
    "kaggle://": ("kagglehub", "kagglehub", lambda m, h: m.model_download(h)),
}


def builtin_presets_dir():
    """The folder of built-in presets: the installed package data, else the source checkout's.

    Returns:
        `pathlib.Path` of the folder.

    Example:
        >>> (builtin_presets_dir() / "skeletonmae_coco17_base").is_dir()
        True
    """
    try:
        return Path(str(importlib.resources.files("keras_skeletonmae.presets")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "presets"


class PresetListing:
    """`Class.presets`: name -> metadata of the built-in presets `Class.from_preset` accepts.

    Example:
        >>> "skeletonmae_coco17_base" in SkeletonMAEBackbone.presets  # doctest: +SKIP
        True
    """

    def __get__(self, instance, owner):
        return builtin_presets()


def builtin_presets():
    """Name -> metadata of every built-in preset, sorted by name.

    Returns:
        dict of preset name -> its `metadata.json` content.

    Example:
        >>> builtin_presets()["skeletonmae_coco17_base"]["layout"]
        'coco17'
    """
    root = builtin_presets_dir()
    names = sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file())
    return {name: read_json(root / name / METADATA_FILE) for name in names}


def read_json(path):
    """The content of a preset's JSON file, with a `ValueError` naming it if missing or invalid.

    Args:
        path: str or `pathlib.Path`, the file.

    Example:
        >>> read_json(builtin_presets_dir() / "skeletonmae_coco17_base" / CONFIG_FILE)["class_name"]
        'SkeletonMAEBackbone'
    """
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"Preset file {path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"Preset file {path} is not valid JSON: {e}") from None


def resolve_preset(preset):
    """The local directory of `preset`, downloading a hub handle first.

    Args:
        preset: str or `os.PathLike`, a built-in preset name, a directory, or an `hf://` /
            `kaggle://` handle (which needs `huggingface_hub` / `kagglehub`).

    Returns:
        `pathlib.Path` of the preset directory.

    Example:
        >>> resolve_preset("skeletonmae_coco17_base").name
        'skeletonmae_coco17_base'
    """
    preset = os.fspath(preset)
    for scheme, (module, package, download) in HUB_CLIENTS.items():
        if preset.startswith(scheme):
            try:
                client = importlib.import_module(module)
            except ImportError:
                raise ImportError(
                    f"Loading '{preset}' needs the {package} package: "
                    f"pip install {package} (or keras-skeletonmae[hub])."
                ) from None
            try:
                return Path(download(client, preset[len(scheme):]))
            except Exception as e:  # network, authentication, offline mode: all end here
                raise ValueError(
                    f"Could not download preset '{preset}' ({type(e).__name__}: {e}). "
                    "Check the handle and your network; offline, pass a local directory."
                ) from e
    if os.path.isdir(preset):
        return Path(preset)
    known = builtin_presets()
    if preset in known:
        return builtin_presets_dir() / preset
    raise ValueError(
        f"Unknown preset '{preset}': not a directory, not an hf:// or kaggle:// handle, and not "
        f"a built-in preset. Built-in presets: {list(known)}."
    )


def read_backbone_config(preset):
    """The `SkeletonMAEBackbone` constructor arguments saved in `preset`.

    Args:
        preset: str or `os.PathLike`, a preset name, directory or hub handle.

    Example:
        >>> read_backbone_config("skeletonmae_ntu25_base")["num_channels"]
        3
    """
    directory = resolve_preset(preset)
    return read_json(require_file(directory, CONFIG_FILE))["config"]


def require_file(directory, name):
    """`directory / name`, with a `ValueError` saying the preset is incomplete if it is missing.

    Args:
        directory: `pathlib.Path`, a preset directory.
        name: str, a file name such as `WEIGHTS_FILE`.

    Example:
        >>> require_file(resolve_preset("skeletonmae_coco17_base"), CONFIG_FILE).name
        'config.json'
    """
    path = Path(directory) / name
    if not path.is_file():
        raise ValueError(f"Preset directory {directory} is incomplete: {name} is missing.")
    return path


def load_weights(model, path):
    """`model.load_weights(path)`, with a `ValueError` naming the file if they do not fit.

    A compiled `model` whose file holds no optimizer state (a preset's never does) keeps its
    optimizer as it is, without Keras's warning about it.

    Args:
        model: a `keras.Model`.
        path: `pathlib.Path` of a `.weights.h5` file written by `Model.save_weights`.

    Example:
        >>> backbone = SkeletonMAEBackbone.from_config(read_backbone_config(directory))  # doctest: +SKIP
        >>> load_weights(backbone, directory / WEIGHTS_FILE)  # doctest: +SKIP
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(str(path))
    except Exception as e:
        raise ValueError(f"Preset weights {path} could not be loaded into "
                         f"{type(model).__name__}: {e}") from e


def transfer_weights(source, target, skip=()):
    """Copy variables from `source` to `target` by variable path.

    Shapes must agree, except the temporal position embedding `(T, 1, D)`, which is linearly
    resampled when the frame count differs. Variables of `target` that `source` lacks are left
    as they are.

    Args:
        source: a `keras.Model` (or layer) to copy from.
        target: a `keras.Model` (or layer) to copy into.
        skip: sequence of str, variable-path prefixes of `target` not to copy.

    Example:
        >>> transfer_weights(pretrainer, classifier, skip=("predictions/",))  # doctest: +SKIP
    """
    sources = {v.path: v for v in source.weights}
    for variable in target.weights:
        if variable.path.startswith(tuple(skip)) or variable.path not in sources:
            continue
        value = keras.ops.convert_to_numpy(sources[variable.path])
        if value.shape != tuple(variable.shape):
            if not variable.path.endswith("position_embedding") or value.shape[1:] != tuple(variable.shape)[1:]:
                raise ValueError(
                    f"Preset variable {variable.path} has shape {value.shape}, the model needs "
                    f"{tuple(variable.shape)}."
                )
            value = resample_frames(value, variable.shape[0])
        variable.assign(value)


def resample_frames(position_embedding, num_frames):
    """Linear interpolation of a `(T, 1, D)` position embedding to `num_frames` frames.

    Args:
        position_embedding: NumPy array `(T, 1, D)`.
        num_frames: int, the new T.

    Example:
        >>> resample_frames(np.zeros((8, 1, 4)), 16).shape
        (16, 1, 4)
    """
    old = np.linspace(0.0, 1.0, position_embedding.shape[0])
    new = np.linspace(0.0, 1.0, num_frames)
    flat = position_embedding.reshape(position_embedding.shape[0], -1)
    resampled = np.stack([np.interp(new, old, column) for column in flat.T], axis=-1)
    return resampled.reshape((num_frames,) + position_embedding.shape[1:])


def check_embedding_inputs(saved_config, overrides, preset):
    """Refuse overrides the embedding's weights cannot serve.

    The embedding's weights fit only the inputs they were trained on: the same channel count,
    and coordinates with or without their bones and motion as saved.

    Args:
        saved_config: dict, the preset's backbone config.
        overrides: dict, the backbone arguments the caller changes.
        preset: the preset as the caller named it (for the error).

    Example:
        >>> check_embedding_inputs({"num_channels": 3}, {"num_channels": 2}, "p")  # doctest: +SKIP
        ValueError: Preset 'p' was trained on 3 channels per joint; ...
    """
    channels = overrides.get("num_channels", saved_config["num_channels"])
    if channels != saved_config["num_channels"]:
        raise ValueError(
            f"Preset '{preset}' was trained on {saved_config['num_channels']} channels per joint; "
            f"num_channels={channels} cannot reuse its embedding. Use data with "
            f"{saved_config['num_channels']} channels or load_weights=False."
        )
    for feature in ("motion", "bones"):
        saved = saved_config.get(feature, False)
        if overrides.get(feature, saved) != saved:
            raise ValueError(
                f"Preset '{preset}' was trained with {feature}={saved}; its embedding cannot be "
                f"reused with {feature}={overrides[feature]}. Keep the preset's setting or pass "
                "load_weights=False."
            )


def load_backbone(preset, load_weights_=True, **overrides):
    """A `SkeletonMAEBackbone` from `preset`.

    The layout may change (GIN weights do not depend on the joint count), and so may
    `num_frames` (the position embedding is resampled); the channel count, `motion` and `bones`
    may not.

    Args:
        preset: str or `os.PathLike`, a preset name, directory or hub handle.
        load_weights_: bool, load `model.weights.h5` (else the architecture, untrained).
        **overrides: backbone constructor arguments to change.

    Example:
        >>> backbone = load_backbone("skeletonmae_kinect20_msr", num_frames=64)  # doctest: +SKIP
    """
    from keras_skeletonmae.models.backbone import SkeletonMAEBackbone

    directory = resolve_preset(preset)
    config = read_json(require_file(directory, CONFIG_FILE))
    if config.get("class_name") != "SkeletonMAEBackbone":
        raise ValueError(f"{directory / CONFIG_FILE} does not describe a SkeletonMAEBackbone.")
    saved = config["config"]
    if not load_weights_:
        return SkeletonMAEBackbone.from_config({**saved, **overrides})
    check_embedding_inputs(saved, overrides, preset)
    if not (directory / WEIGHTS_FILE).is_file():
        raise ValueError(
            f"Preset '{preset}' ships no weights ({directory / WEIGHTS_FILE} is missing): pass "
            "load_weights=False to build its architecture untrained."
        )
    source = SkeletonMAEBackbone.from_config(saved)
    load_weights(source, directory / WEIGHTS_FILE)
    if not overrides:
        return source
    target = SkeletonMAEBackbone.from_config({**saved, **overrides})
    transfer_weights(source, target)
    return target


def load_task(cls, preset, load_weights_=True, skip_when_changed=None, **kwargs):
    """A `cls` task model from `preset`.

    The saved task when the preset holds a `cls` (its backbone from `model.weights.h5`, its own
    layers from `task.weights.h5`), else a new `cls` around the preset's backbone.

    Args:
        cls: the task class, e.g. `SkeletonClassifier`.
        preset: str or `os.PathLike`, a preset name, directory or hub handle.
        load_weights_: bool, load the weights (else the architecture, untrained).
        skip_when_changed: dict mapping a task argument to `"<layer name>/"` prefixes of the
            task layers left new when `kwargs` changes that argument (a classifier's head
            `"predictions/"` for `num_classes`), or `None`.
        **kwargs: task or backbone constructor arguments.

    Example:
        >>> load_task(SkeletonClassifier, "skeletonmae_kinect20_msr_classifier",  # doctest: +SKIP
        ...           skip_when_changed={"num_classes": ("predictions/",)}, num_classes=5)
    """
    from keras_skeletonmae.models.backbone import SkeletonMAEBackbone

    directory = resolve_preset(preset)
    backbone_arguments = set(inspect.signature(SkeletonMAEBackbone.__init__).parameters)
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in backbone_arguments}
    backbone = load_backbone(directory, load_weights_, **overrides)
    path = directory / TASK_CONFIG_FILE
    saved = read_json(path) if path.is_file() else None
    if saved is None or saved.get("class_name") != cls.__name__:
        return cls(backbone, **kwargs)
    model = cls.from_config({**saved["config"], **kwargs, "backbone": backbone})
    if load_weights_:
        path = require_file(directory, TASK_WEIGHTS_FILE)
        weights = read_task_weights(path)
        if weights is None:  # a Keras `save_weights` file of the whole task
            source = cls.from_config({**saved["config"], "backbone": load_backbone(directory, False)})
            load_weights(source, path)
            weights = {layer.name: layer.get_weights() for layer in task_layers(source)}
        skip = [
            prefix
            for argument, prefixes in (skip_when_changed or {}).items()
            if argument in kwargs and kwargs[argument] != saved["config"].get(argument)
            for prefix in prefixes
        ]
        assign_task_weights(model, weights, path, skip)
    return model


def task_layers(model):
    """The top-level layers of a task model that hold weights and are not its backbone's.

    Args:
        model: a task model holding `.backbone`.

    Returns:
        list of `keras.layers.Layer`, in `model.layers` order.

    Example:
        >>> [layer.name for layer in task_layers(classifier)]  # doctest: +SKIP
        ['strl_0', 'strl_1_encoder', 'strl_1', 'predictions']
    """
    backbone = model.backbone
    owned = {id(backbone)} | {id(layer) for layer in backbone.layers}
    return [layer for layer in model.layers if id(layer) not in owned and layer.weights]


def save_task_weights(model, path):
    """Write the weights of `model`'s own layers (`task_layers`) to `path`, one group per layer.

    Args:
        model: a task model holding `.backbone`.
        path: str or `pathlib.Path` of the `.h5` file to write.

    Example:
        >>> save_task_weights(classifier, "task.weights.h5")  # doctest: +SKIP
        >>> sorted(read_task_weights("task.weights.h5"))  # doctest: +SKIP
        ['predictions', 'strl_0', 'strl_1', 'strl_1_encoder']
    """
    with h5py.File(path, "w") as f:
        f.attrs["format"] = TASK_WEIGHTS_FORMAT
        for layer in task_layers(model):
            group = f.create_group(layer.name)
            group.attrs["class_name"] = type(layer).__name__
            for i, (variable, value) in enumerate(zip(layer.weights, layer.get_weights())):
                group.create_dataset(str(i), data=value).attrs["path"] = variable.path


def read_task_weights(path):
    """Layer name -> its weights, from a `task.weights.h5` written by `save_task_weights`.

    Args:
        path: `pathlib.Path` of the file.

    Returns:
        dict of layer name -> list of NumPy arrays in `layer.weights` order, or `None` when the
        file is not in this format (a Keras `save_weights` file).

    Example:
        >>> weights = read_task_weights(directory / TASK_WEIGHTS_FILE)  # doctest: +SKIP
        >>> classifier.get_layer("strl_0").set_weights(weights["strl_0"])  # doctest: +SKIP
    """
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != TASK_WEIGHTS_FORMAT:
                return None
            return {
                name: [group[str(i)][()] for i in range(len(group))] for name, group in f.items()
            }
    except OSError as e:
        raise ValueError(f"Preset weights {path} could not be read: {e}") from e


def assign_task_weights(model, weights, path, skip=()):
    """Give each of `model`'s own layers (`task_layers`) the saved weights of its name.

    Layers `weights` lacks keep the weights they were built with (STRL layers beyond a saved
    classifier's `num_strl_layers` start new, their encoder copies from G_E); saved layers
    `model` lacks are ignored. A layer found under its name must have the saved shapes.

    Args:
        model: a task model holding `.backbone`.
        weights: dict of layer name -> list of arrays, as `read_task_weights` returns.
        path: `pathlib.Path` the weights came from (for errors).
        skip: sequence of str, `"<layer name>/"` prefixes of layers left as they are.

    Example:
        >>> path = directory / TASK_WEIGHTS_FILE  # doctest: +SKIP
        >>> assign_task_weights(classifier, read_task_weights(path), path, ("predictions/",))  # doctest: +SKIP
    """
    for layer in task_layers(model):
        if f"{layer.name}/".startswith(tuple(skip)) or layer.name not in weights:
            continue
        expected = [tuple(v.shape) for v in layer.weights]
        got = [tuple(np.shape(value)) for value in weights[layer.name]]
        if got != expected:
            raise ValueError(
                f"Preset weights {path} give layer '{layer.name}' weights of shapes {got}; "
                f"{type(model).__name__} needs {expected}."
            )
        layer.set_weights(weights[layer.name])


def save_preset(model, directory, metadata=None):
    """Write `model` as a preset directory (see the module docstring for the files).

    Args:
        model: a `SkeletonMAEBackbone`, or a task model holding `.backbone`.
        directory: str or `pathlib.Path`, created if missing.
        metadata: dict added to `metadata.json` (data, recipe, results), or `None`.

    Example:
        >>> save_preset(classifier, "my_preset", metadata={"data": "MSR Action3D"})  # doctest: +SKIP
        >>> SkeletonClassifier.from_preset("my_preset")  # doctest: +SKIP
    """
    from keras_skeletonmae.models.backbone import SkeletonMAEBackbone

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    backbone = model if isinstance(model, SkeletonMAEBackbone) else model.backbone
    write_json(directory / CONFIG_FILE, keras.saving.serialize_keras_object(backbone))
    if getattr(backbone, "optimizer", None) is not None:
        # `save_weights` would store the optimizer's state with the weights; an uncompiled
        # copy has none.
        compiled, backbone = backbone, SkeletonMAEBackbone.from_config(backbone.get_config())
        backbone.set_weights(compiled.get_weights())
    backbone.save_weights(str(directory / WEIGHTS_FILE))
    info = {
        "keras_skeletonmae_version": __version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "parameter_count": int(backbone.count_params()),
        "layout": backbone.layout.name,
        "num_channels": backbone.num_channels,
        "num_frames": backbone.num_frames,
    }
    if not isinstance(model, SkeletonMAEBackbone):
        task = keras.saving.serialize_keras_object(model)
        task["config"].pop("backbone")
        write_json(directory / TASK_CONFIG_FILE, task)
        save_task_weights(model, directory / TASK_WEIGHTS_FILE)
        info["task"] = type(model).__name__
        info["task_parameter_count"] = int(model.count_params())
    info.update(metadata or {})
    write_json(directory / METADATA_FILE, info)


def write_json(path, value):
    """Write `value` as indented, key-sorted JSON (stable diffs of preset files).

    Args:
        path: str or `pathlib.Path`.
        value: a JSON-serialisable object.

    Example:
        >>> write_json("metadata.json", {"layout": "coco17"})  # doctest: +SKIP
    """
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
