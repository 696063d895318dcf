"""Hyperparameter search with KerasTuner for the SkeletonMAE pre-trainer and the SSL classifier.

Needs the `tuner` extra (`pip install "keras-skeletonmae[tuner]"`); `import keras_skeletonmae`
does not import this module, so the package works without it. Works on every backend; on
TensorFlow, KerasTuner also imports tensorboard. Search spaces and an example: docs/tuning.md.

    hypermodel = SkeletonClassifierHyperModel(20, layout="kinect20", num_channels=3,
                                              num_frames=32, num_persons=1)
    tuner, best_model, best_values = search(hypermodel, x, y, validation_data=(x_val, y_val),
                                            directory="runs/tuning", max_trials=20, epochs=30)
    save_best_preset(best_model, best_values, "runs/best_preset")
"""

import importlib.util
import inspect
import os
import warnings

import keras

try:
    import keras_tuner
except ImportError as error:
    raise ImportError(
        "keras_skeletonmae.tuning needs KerasTuner: install keras-skeletonmae[tuner] "
        '(pip install "keras-skeletonmae[tuner]").'
    ) from error
if keras.backend.backend() == "tensorflow" and importlib.util.find_spec("tensorboard") is None:
    raise ImportError(
        "On the TensorFlow backend KerasTuner imports tensorboard, which TensorFlow 2.21 no "
        "longer installs: install keras-skeletonmae[tuner] "
        '(pip install "keras-skeletonmae[tuner]").'
    )

from keras_skeletonmae.layouts import get_layout
from keras_skeletonmae.models import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.models import presets as preset_io

EMBED_DIMS = (32, 64, 128)
BATCH_SIZES = (16, 32, 64)
BACKBONE_ARGUMENTS = tuple(
    name for name in inspect.signature(SkeletonMAEBackbone.__init__).parameters
    if name not in ("self", "kwargs")
)
PRESET_FIXED = ("embed_dim", "num_layers")


class SkeletonHyperModel(keras_tuner.HyperModel):
    """What both hypermodels share: the data's shape, an optional preset, fixed arguments, the
    backbone's search space, the learning rate and the batch size.

    Subclasses set `task_class`, `searched` (their hyperparameter names), `learning_rates`
    (min, max, default), `default_batch_size` and `objective_metric`, and draw their task's
    arguments in `task_arguments(hp)`.

    Args:
        layout: str, `SkeletonLayout` or `None`. The data's layout.
        num_channels: int or `None`. Channels per joint.
        num_frames: int or `None`. Frames per sample.
        num_persons: int or `None`. Persons per sample.
            These four are required without a preset and taken from the preset when not given.
        preset: str or `None`. A preset (built-in name, directory, `hf://` / `kaggle://`
            handle) to start from with `from_preset`; its `embed_dim` and `num_layers` are then
            fixed, not searched.
        name: str or `None`. The hypermodel's name.
        **fixed: constructor arguments of `SkeletonMAEBackbone` or the task model fixed for
            every trial (e.g. `hidden_dim=128`). A searched name given here (e.g. `embed_dim=32`
            or `batch_size=16`) leaves the search and is recorded as `hp.Fixed`.

    Example:
        hypermodel = SkeletonClassifierHyperModel(20, layout="kinect20", num_channels=3,
                                                  num_frames=32, num_persons=1)
        model = hypermodel.build(keras_tuner.HyperParameters())  # the default trial
    """

    def __init__(self, layout=None, num_channels=None, num_frames=None, num_persons=None,
                 preset=None, name=None, **fixed):
        super().__init__(name=name)
        data = {"layout": layout, "num_channels": num_channels, "num_frames": num_frames,
                "num_persons": num_persons}
        self.preset = preset
        self.data_arguments = {k: v for k, v in data.items() if v is not None}
        self.fixed_hyperparameters = {k: v for k, v in fixed.items() if k in self.searched}
        self.fixed_arguments = {k: v for k, v in fixed.items() if k not in self.searched}
        if preset is None:
            missing = [k for k, v in data.items() if v is None]
            if missing:
                raise ValueError(f"{type(self).__name__} needs {missing} (the data's shape) "
                                 "when no preset is given.")
            self.layout = get_layout(layout)
            return
        saved = preset_io.read_backbone_config(preset)
        clashes = {k: v for k, v in self.fixed_hyperparameters.items()
                   if k in PRESET_FIXED and v != saved[k]}
        if clashes:
            fixed_by_preset = ", ".join(f"{k}={saved[k]}" for k in clashes)
            given = ", ".join(f"{k}={v}" for k, v in clashes.items())
            raise ValueError(f"Preset '{preset}' fixes {fixed_by_preset}; got {given}. Leave "
                             "them out or start from another preset.")
        self.fixed_hyperparameters.update({k: saved[k] for k in PRESET_FIXED})
        self.layout = get_layout(layout if layout is not None else saved["layout"])

    def build(self, hp):
        """A compiled task model from `hp`; its defaults are the model classes' defaults (the
        paper's values where it gives one), with the batch sizes of the README's recipe."""
        for name, value in self.fixed_hyperparameters.items():
            hp.Fixed(name, value)
        backbone_arguments = {
            "embed_dim": hp.Choice("embed_dim", EMBED_DIMS, default=64),
            "num_layers": hp.Int("num_layers", 1, 4, default=3),
        }
        task_arguments = self.task_arguments(hp)
        low, high, default = self.learning_rates
        learning_rate = hp.Float("learning_rate", low, high, sampling="log", default=default)
        if self.preset is None:
            backbone = SkeletonMAEBackbone(
                **self.data_arguments, **backbone_arguments,
                **{k: v for k, v in self.fixed_arguments.items() if k in BACKBONE_ARGUMENTS},
            )
            task_fixed = {k: v for k, v in self.fixed_arguments.items()
                          if k not in BACKBONE_ARGUMENTS}
            model = self.task_class(backbone, **task_fixed, **task_arguments)
        else:
            model = self.task_class.from_preset(
                self.preset, **self.data_arguments, **self.fixed_arguments, **task_arguments
            )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return model

    def task_arguments(self, hp):
        """The task model's searched constructor arguments, drawn from `hp`."""
        raise NotImplementedError

    def fit(self, hp, model, *args, **kwargs):
        """`model.fit(*args, **kwargs)` with the searched `batch_size` (ignored by Keras when the
        data is a dataset that batches itself); the tuner's `callbacks` pass through `kwargs`."""
        batch_size = hp.Choice("batch_size", BATCH_SIZES, default=self.default_batch_size)
        return model.fit(*args, batch_size=batch_size, **kwargs)


class SkeletonClassifierHyperModel(SkeletonHyperModel):
    """Search space of the SSL classifier (`SkeletonClassifier`), fine-tuned with `fit(x, y)`.

    | name            | values                               | default |
    |-----------------|--------------------------------------|---------|
    | embed_dim       | 32, 64, 128                          | 64      |
    | num_layers      | GIN layers, 1-4                      | 3       |
    | num_strl_layers | STRL layers, 1-4 (unused if frozen)  | 3       |
    | dropout         | 0.0-0.5, step 0.1                    | 0.5     |
    | freeze_backbone | True / False (only with a preset)    | False   |
    | learning_rate   | Adam, 1e-4-1e-2, log scale           | 1e-3    |
    | batch_size      | 16, 32, 64                           | 16      |

    Without a preset `freeze_backbone` is fixed to False: a frozen random backbone is not worth
    a trial. With a preset, `embed_dim` and `num_layers` are the preset's. Objective by default
    (`search`): `val_accuracy`, or `accuracy` without validation data.

    Args:
        num_classes: int. Number of action classes.
        layout, num_channels, num_frames, num_persons, preset, name, **fixed: as
            `SkeletonHyperModel`.

    Example:
        hypermodel = SkeletonClassifierHyperModel(20, layout="kinect20", num_channels=3,
                                                  num_frames=32, num_persons=1)
        tuner, best_model, best_values = search(hypermodel, x, y, validation_data=(xv, yv),
                                                directory="runs/tuning", max_trials=10)
    """

    task_class = SkeletonClassifier
    searched = ("embed_dim", "num_layers", "num_strl_layers", "dropout", "freeze_backbone",
                "learning_rate", "batch_size")
    learning_rates = (1e-4, 1e-2, 1e-3)
    default_batch_size = 16
    objective_metric = "accuracy"

    def __init__(self, num_classes, layout=None, num_channels=None, num_frames=None,
                 num_persons=None, preset=None, name=None, **fixed):
        super().__init__(layout, num_channels, num_frames, num_persons, preset, name,
                         num_classes=num_classes, **fixed)
        if preset is None:
            self.fixed_hyperparameters.setdefault("freeze_backbone", False)

    def task_arguments(self, hp):
        return {
            "num_strl_layers": hp.Int("num_strl_layers", 1, 4, default=3),
            "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.5),
            "freeze_backbone": hp.Boolean("freeze_backbone", default=False),
        }


class SkeletonMAEPretrainerHyperModel(SkeletonHyperModel):
    """Search space of SkeletonMAE pre-training (`SkeletonMAEPretrainer`), `fit(x)` without labels.

    | name             | values                                | default  |
    |------------------|---------------------------------------|----------|
    | embed_dim        | 32, 64, 128                           | 64       |
    | num_layers       | GIN layers, 1-4                       | 3        |
    | num_masked_parts | 1 to the layout's part count - 1      | 2        |
    | mask_sampling    | "sample", "frame"                     | "sample" |
    | learning_rate    | Adam, 3e-5-3e-3, log scale            | 1.5e-4   |
    | batch_size       | 16, 32, 64                            | 32       |

    With a preset, `embed_dim` and `num_layers` are the preset's. Objective by default
    (`search`): `val_loss`, or `loss` without validation data (pass `validation_data=(x_val,)`).

    Args:
        layout, num_channels, num_frames, num_persons, preset, name, **fixed: as
            `SkeletonHyperModel`; `**fixed` may hold e.g. `mask_parts=[...]` or
            `target="embedding"` (with `mask_parts`, the drawn masking policy is unused).

    Example:
        hypermodel = SkeletonMAEPretrainerHyperModel(layout="coco17", num_channels=2,
                                                     num_frames=32, num_persons=2)
        tuner, best_model, best_values = search(hypermodel, x, validation_data=(x_val,),
                                                directory="runs/tuning_mae", max_trials=10)
    """

    task_class = SkeletonMAEPretrainer
    searched = ("embed_dim", "num_layers", "num_masked_parts", "mask_sampling", "learning_rate",
                "batch_size")
    learning_rates = (3e-5, 3e-3, 1.5e-4)
    default_batch_size = 32
    objective_metric = "loss"

    def task_arguments(self, hp):
        most = self.layout.num_parts - 1
        return {
            "num_masked_parts": hp.Int("num_masked_parts", 1, most, default=min(2, most)),
            "mask_sampling": hp.Choice("mask_sampling", ["sample", "frame"], default="sample"),
        }


def search(hypermodel, x, y=None, *, directory, validation_data=None, max_trials=10, epochs=10,
           project_name=None, seed=None, objective=None, hyperparameters=None, overwrite=True,
           **fit_kwargs):
    """Random search over `hypermodel`'s space: `(tuner, best_model, best_hp_values)`.

    Args:
        hypermodel: `SkeletonClassifierHyperModel` or `SkeletonMAEPretrainerHyperModel`.
        x: array or dataset. Training inputs.
        y: array or `None`. Training labels (`None` for the pre-trainer).
        directory: str or `pathlib.Path`. Where the tuner keeps its trials.
        validation_data: tuple or `None`. `(x_val, y_val)`, or `(x_val,)` for the pre-trainer.
        max_trials: int. Number of hyperparameter sets tried.
        epochs: int. Training epochs of each trial.
        project_name: str or `None`. A folder inside `directory`; default: the hypermodel's
            class name.
        seed: int or `None`. Seeds the random search and, with `keras.utils.set_random_seed`,
            the weights.
        objective: str or `None`. The metric to optimise; default
            `"val_" + hypermodel.objective_metric`, or `hypermodel.objective_metric` without
            validation data.
        hyperparameters: `keras_tuner.HyperParameters` or `None`. Entries that override the
            space (e.g. `hp.Fixed("embed_dim", 32)`, or a narrower `hp.Choice`).
        overwrite: bool. Start afresh (True) or resume the trials already in the directory.
        **fit_kwargs: more `fit` arguments, e.g. `callbacks` or `verbose`.

    Returns:
        `(tuner, best_model, best_hp_values)`: `best_model` is rebuilt with the best trial's
        hyperparameters and holds the weights of its best epoch; `best_hp_values` is the dict
        of those hyperparameters.

    Example:
        tuner, best_model, best_values = search(hypermodel, x, y, validation_data=(xv, yv),
                                                directory="runs/tuning", max_trials=20,
                                                epochs=30, seed=0)
    """
    if objective is None:
        prefix = "val_" if validation_data is not None else ""
        objective = prefix + hypermodel.objective_metric
    if seed is not None:
        keras.utils.set_random_seed(seed)
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective=objective,
        max_trials=max_trials,
        seed=seed,
        hyperparameters=hyperparameters,
        directory=os.fspath(directory),
        project_name=project_name or type(hypermodel).__name__,
        overwrite=overwrite,
    )
    tuner.search(x, y, validation_data=validation_data, epochs=epochs, **fit_kwargs)
    with warnings.catch_warnings():
        # The best model is rebuilt with a fresh optimizer; the checkpoint's optimizer state,
        # which Keras warns it skips, is not needed to evaluate or save it.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        best_model = tuner.get_best_models(1)[0]
    return tuner, best_model, tuner.get_best_hyperparameters(1)[0].values


def save_best_preset(best_model, best_hp_values, preset_dir):
    """Write `best_model` as a preset directory; `metadata.json` records `best_hp_values`.

    They are stored under `"tuning"`. Reload the model with
    `SkeletonClassifier.from_preset(preset_dir)` (or the pre-trainer's / backbone's
    `from_preset`).

    Args:
        best_model: `SkeletonClassifier` or `SkeletonMAEPretrainer`. What `search` returned.
        best_hp_values: dict. The best trial's hyperparameters.
        preset_dir: str or `pathlib.Path`. The directory to write.

    Example:
        save_best_preset(best_model, best_values, "runs/tuned_preset")
    """
    best_model.save_to_preset(preset_dir, metadata={"tuning": {"hyperparameters": best_hp_values}})
