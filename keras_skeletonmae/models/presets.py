"""Preset directories: find them (built-in name, local directory, hub handle), save and load them.

A preset directory holds `config.json` (the backbone), `metadata.json`, and optionally
`model.weights.h5` (backbone weights), `task.json` (a pre-trainer or classifier around that
backbone) and `task.weights.h5` (all of the task's weights). Built-in presets are the
sub-directories of the top-level `presets/` folder, shipped in the wheel as
`keras_skeletonmae.presets`.
"""

import importlib
import importlib.resources
import inspect
import json
import os
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae.version import __version__

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"
HUB_CLIENTS = {  # scheme -> (module, pip package, download function)
    "hf://": ("huggingface_hub", "huggingface_hub", lambda m, h: m.snapshot_download(repo_id=h)),
    "kaggle://": ("kagglehub", "kagglehub", lambda m, h: m.model_download(h)),
}


def builtin_presets_dir():
    """The folder of built-in presets: the installed package data, else the source checkout's."""
    try:
        return Path(str(importlib.resources.files("keras_skeletonmae.presets")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "presets"


class PresetListing:
    """`Class.presets`: name -> metadata of the built-in presets `Class.from_preset` accepts."""

    def __get__(self, instance, owner):
        return builtin_presets()


def builtin_presets():
    """Name -> metadata of every built-in preset, sorted by name."""
    root = builtin_presets_dir()
    names = sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file())
    return {name: read_json(root / name / METADATA_FILE) for name in names}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"Preset file {path} is missing.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"Preset file {path} is not valid JSON: {e}") from None


def resolve_preset(preset):
    """The local directory of `preset`: a built-in name, a directory, or `hf://` / `kaggle://`."""
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
    """The `SkeletonMAEBackbone` constructor arguments saved in `preset` (name, directory or
    hub handle)."""
    directory = resolve_preset(preset)
    return read_json(require_file(directory, CONFIG_FILE))["config"]


def require_file(directory, name):
    path = Path(directory) / name
    if not path.is_file():
        raise ValueError(f"Preset directory {directory} is incomplete: {name} is missing.")
    return path


def load_weights(model, path):
    """Load preset weights (no optimizer state), with an error naming the file if they do not fit."""
    from keras.src.saving import saving_lib

    try:
        saving_lib.load_weights_only(model, str(path), objects_to_skip=optimizer_of(model))
    except Exception as e:
        raise ValueError(f"Preset weights {path} could not be loaded into "
                         f"{type(model).__name__}: {e}") from e


def transfer_weights(source, target, skip=()):
    """Copy variables from `source` to `target` by path, except paths starting with `skip`.

    Shapes must agree, except the temporal position embedding `(T, 1, D)`, which is linearly
    resampled when the frame count differs.
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
    """Linear interpolation of a `(T, 1, D)` position embedding to `num_frames` frames."""
    old = np.linspace(0.0, 1.0, position_embedding.shape[0])
    new = np.linspace(0.0, 1.0, num_frames)
    flat = position_embedding.reshape(position_embedding.shape[0], -1)
    resampled = np.stack([np.interp(new, old, column) for column in flat.T], axis=-1)
    return resampled.reshape((num_frames,) + position_embedding.shape[1:])


def check_embedding_inputs(saved_config, overrides, preset):
    """The embedding's weights fit only the inputs they were trained on: the same channel count,
    and coordinates with or without their bones and motion as saved."""
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
    """A `SkeletonMAEBackbone` from `preset`; `overrides` change constructor arguments.

    The layout may change (GIN weights do not depend on the joint count), and so may
    `num_frames` (the position embedding is resampled); the channel count, `motion` and `bones`
    may not.
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
    """A `cls` task model from `preset`: the saved task when the preset holds a `cls`, else a new
    one around the preset's backbone. `kwargs` are task or backbone constructor arguments.

    `skip_when_changed` maps a task argument to variable-path prefixes that are left freshly
    initialised when `kwargs` changes that argument (a classifier's head for `num_classes`).
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
        source = cls.from_config({**saved["config"], "backbone": load_backbone(directory, False)})
        load_weights(source, require_file(directory, TASK_WEIGHTS_FILE))
        skip = [
            prefix
            for argument, prefixes in (skip_when_changed or {}).items()
            if argument in kwargs and kwargs[argument] != saved["config"].get(argument)
            for prefix in prefixes
        ]
        transfer_weights(source, model, skip)
    return model


def save_preset(model, directory, metadata=None):
    """Write `model` (a backbone or a task holding `.backbone`) as a preset directory."""
    from keras_skeletonmae.models.backbone import SkeletonMAEBackbone

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    backbone = model if isinstance(model, SkeletonMAEBackbone) else model.backbone
    write_json(directory / CONFIG_FILE, keras.saving.serialize_keras_object(backbone))
    save_model_weights(backbone, directory / WEIGHTS_FILE)
    info = {
        "keras_skeletonmae_version": __version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "parameter_count": int(backbone.count_params()),
        "layout": backbone.layout.name,
        "num_channels": backbone.num_channels,
        "num_frames": backbone.num_frames,
    }
    if model is not backbone:
        task = keras.saving.serialize_keras_object(model)
        task["config"].pop("backbone")
        write_json(directory / TASK_CONFIG_FILE, task)
        save_model_weights(model, directory / TASK_WEIGHTS_FILE)
        info["task"] = type(model).__name__
        info["task_parameter_count"] = int(model.count_params())
    info.update(metadata or {})
    write_json(directory / METADATA_FILE, info)


def save_model_weights(model, path):
    """`model.save_weights(path)` without the optimizer's state, which a preset does not carry.

    `Model.save_weights` / `load_weights` have no option for that; Keras's implementations of
    them, `saving_lib.save_weights_only` / `load_weights_only`, do.
    """
    from keras.src.saving import saving_lib

    saving_lib.save_weights_only(model, str(path), objects_to_skip=optimizer_of(model))


def optimizer_of(model):
    """`[model.optimizer]` when compiled, else `None` (the `objects_to_skip` of a preset)."""
    optimizer = getattr(model, "optimizer", None)
    return [optimizer] if optimizer is not None else None


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
