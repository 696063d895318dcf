"""The command line's protocols as Python functions: pre-train, fine-tune (full labels or a
class-balanced fraction), linear evaluation, evaluate and predict. Each writes its results to a
run folder (see `training_run.RunDirectory`) and returns them.

Training runs one `fit` call per epoch, on a `SkeletonDataset` positioned at that epoch, and
checkpoints after every `checkpoint_every`-th epoch and the last: a run resumed from its last
checkpoint draws the same batches, masks and dropout as an uninterrupted run, so it ends with
the same weights and metrics.

Everything a run is for (preset, metrics, evaluation, results) is written before its figures,
which are optional: without matplotlib they are skipped with a one-line warning.
"""

import math
import sys
import time

import keras
import numpy as np

from keras_skeletonmae import figures
from keras_skeletonmae.data import CenterOnJoint, SkeletonDataset, label_subset, training_transform
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.evaluation import (class_names_for, classification_metrics,
                                         class_probabilities, clip_averaged_probabilities,
                                         top_k_classes)
from keras_skeletonmae.models import (SkeletonClassifier, SkeletonMAEBackbone,
                                      SkeletonMAEPretrainer, xla_jit_compile)
from keras_skeletonmae.models import presets as preset_io
from keras_skeletonmae.training_run import CONFIG_FILE, RunDirectory
from keras_skeletonmae.version import __version__

DEFAULT_FRAMES = 32

# Options a checkpoint holds (its model, optimizer and compile settings; the backbone's layout):
# a run resumed from it keeps them whatever they are set to, so a run made before one of them
# existed resumes. Every other option decides what the run trains on (data, splits, labels,
# augmentation, batches, seed) and must have been saved with the run to resume it.
CHECKPOINT_OPTIONS = frozenset({
    "embed_dim", "gin_layers", "hidden_dim", "motion", "bones", "strl_layers", "dropout",
    "masked_parts", "mask_parts", "masked_joints", "mask_sampling", "target", "learning_rate",
    "lr_schedule", "jit_compile", "skeleton_layout"})
# Options that change neither the weights nor the data, so a resumed run may change them.
RESUME_FREE_OPTIONS = frozenset({
    "resume", "traceback", "verbose", "config", "validate_every", "checkpoint_every",
    "allow_overlap"})


def usable_split(data, split=None):
    """The samples of `split` (all when None), all-zero ones dropped (and reported)."""
    if split is not None:
        data = data.split(split)
    data, report = data.repair(drop_all_zero=True)
    if report["all_zero"]["count"]:
        print(f"{data.source}: dropped {report['all_zero']['count']} all-zero sample(s): "
              f"{report['all_zero']['ids']}")
    if not len(data):
        raise ValueError(f"{data.source}: split {split!r} holds no usable samples.")
    return data


def check_split_overlap(data, config):
    """Refuse to train on the samples a run is evaluated on: raise a `ValueError` naming the
    file, its splits and the shared samples, unless `config["allow_overlap"]` is true.

    A fine-tuning or tuning config (`train_split`, `val_split`; None is all samples) must
    not train on any sample (by id) of `val_split`. A pre-training config (`split`, no
    `train_split`) with `split` None pre-trains on every sample: refused when `data` defines
    splits (its evaluation splits among them); data without splits is fine.

    Args:
        data: `SkeletonData`, the whole file (before a split is taken).
        config: dict, the workflow's options.

    Example:
        check_split_overlap(load_skeletons("msr_action3d.pkl"),
                            {"train_split": "xsub_train", "val_split": "xsub_val"})
    """
    if config.get("allow_overlap"):
        return
    if "train_split" not in config:  # pre-training
        if config.get("split") is None and data.splits:
            raise ValueError(
                f"{data.source} defines the splits {sorted(data.splits)}: pre-training on all "
                "samples would include the evaluation ones. Pass --split (e.g. the training "
                "split), or --allow-overlap to pre-train on every sample on purpose.")
        return
    train_split, val_split = config.get("train_split"), config.get("val_split")
    if not val_split:
        return
    train = set(data.split(train_split).ids if train_split else data.ids)
    shared = [i for i in data.split(val_split).ids if i in train]
    if shared:
        trained_on = f"split {train_split!r}" if train_split else "all samples (the default)"
        raise ValueError(
            f"{data.source}: training on {trained_on} would train on {len(shared)} samples of "
            f"the validation split {val_split!r} (e.g. {shared[:3]}). Pass a --train-split "
            f"without them (the file's splits: {sorted(data.splits)}), or --allow-overlap to "
            "train on them on purpose.")


def _with_layout(config, data):
    """`config` with `skeleton_layout`, the layout `data` is read with (printed too)."""
    how = "as given" if config.get("layout") else "guessed from the data; --layout sets it"
    print(f"Skeleton layout: {data.layout} ({how}).")
    return {**config, "skeleton_layout": data.layout}


def _draw_figures(*drawings):
    """Call each of `drawings` (functions writing a figure); without matplotlib, print one
    warning saying what to install instead (figures are extras: the run is kept)."""
    try:
        for draw in drawings:
            draw()
    except ImportError as error:
        print(f"Warning: figures not written. {error}", file=sys.stderr)


def preset_metadata(preset):
    """The `metadata.json` of a preset (name, folder or hub handle)."""
    return preset_io.read_json(preset_io.resolve_preset(preset) / preset_io.METADATA_FILE)


def _input_shape(data, preset, frames, persons):
    """`(frames, persons)`: given values, else the preset's frames (32 without a preset) and
    the larger of the preset's and the data's person counts (no person is dropped)."""
    saved = preset_io.read_backbone_config(preset) if preset else {}
    frames = frames or saved.get("num_frames") or DEFAULT_FRAMES
    persons = persons or max([k.shape[0] for k in data.keypoints] + [saved.get("num_persons", 1)])
    return int(frames), int(persons)


def _backbone_overrides(data, frames, persons):
    return dict(layout=data.skeleton_layout, num_channels=data.keypoints[0].shape[-1],
                num_frames=frames, num_persons=persons)


def adam(learning_rate, steps, schedule="cosine"):
    """Adam at `learning_rate`, decayed to 0 along a cosine over `steps` updates when
    `schedule` is `"cosine"` (the command line's default), constant when `"constant"`."""
    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1))
    return keras.optimizers.Adam(learning_rate)


def _arrays(data, frames, persons):
    return data.to_arrays(frames, persons, transform=CenterOnJoint(data.skeleton_layout))


class _EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, numbering epochs out of the whole run (fit runs one at a time)."""

    def __init__(self, epochs):
        super().__init__()
        self.total_epochs = epochs

    def set_params(self, params):
        super().set_params({**params, "epochs": self.total_epochs})


def _build_task(task_class, config, data, frames, persons, learning_rate, **task_arguments):
    """A compiled `task_class` for `data`: around `config["preset"]` (its layout, frames and
    persons adapted to the data) or a new backbone; `adam` at `config["learning_rate"]` (else
    `learning_rate`), its schedule spanning `config["epochs"]` epochs of `data` in batches of
    `config["batch_size"]`."""
    keras.utils.set_random_seed(config["seed"])
    overrides = _backbone_overrides(data, frames, persons)
    if config["preset"]:
        model = task_class.from_preset(config["preset"], **overrides, **task_arguments)
    else:
        backbone = SkeletonMAEBackbone(**overrides, embed_dim=config["embed_dim"],
                                       num_layers=config["gin_layers"],
                                       hidden_dim=config["hidden_dim"],
                                       motion=config["motion"], bones=config["bones"])
        model = task_class(backbone, **task_arguments)
    steps = config["epochs"] * math.ceil(len(data) / config["batch_size"])
    # "auto": XLA wherever Keras can, TensorFlow CPUs included (Keras's own "auto" is off there).
    jit_compile = {"auto": xla_jit_compile(), "true": True, "false": False}[config["jit_compile"]]
    model.compile(optimizer=adam(config["learning_rate"] or learning_rate, steps,
                                 config["lr_schedule"]), jit_compile=jit_compile)
    return model


def _start_run(output, config, resume, build):
    """`(run, model, history)`: a new run from `build()`, or the checkpoint of an earlier run
    with the same `config` when `resume`."""
    run = RunDirectory(output)
    if not resume:
        if run.has_checkpoint:
            raise ValueError(f"{run.path} already holds a run: pass --resume to continue it or "
                             "choose another --output.")
        run.write_json(CONFIG_FILE, config)
        return run, build(), []
    saved = run.read_config()
    # Only the number of epochs may change, to extend a run, and only at a constant learning
    # rate: a cosine schedule is fixed by the epochs it was built for. How often to validate
    # and checkpoint do not change the weights, so they may change too.
    ignored = set(RESUME_FREE_OPTIONS)
    if config.get("lr_schedule") == "constant":
        ignored.add("epochs")
    # A run made by an older version lacks the options added since. Those its checkpoint holds
    # (e.g. `bones`) cannot change it; any other would silently change what it trains on.
    newer = sorted(set(config) - set(saved) - ignored)
    unheld = [k for k in newer if k not in CHECKPOINT_OPTIONS]
    if unheld:
        raise ValueError(f"cannot resume {run.path}: it was made before the options {unheld} "
                         "existed, and they decide what it trains on (its checkpoint does not "
                         "hold them); start a new run with another --output.")
    if newer:
        print(f"Resuming a run made before the options {newer} existed: its checkpoint "
              "decides the model.")
    changed = sorted(k for k in saved if k not in ignored and saved[k] != config.get(k))
    if changed:
        raise ValueError(f"cannot resume {run.path}: options {changed} differ from the "
                         f"interrupted run's ({ {k: saved.get(k) for k in changed} }).")
    model, history = run.load_checkpoint()
    print(f"Resuming {run.path} after epoch {len(history)}.")
    return run, model, history


def _train(run, model, history, dataset, epochs, checkpoint_every=1, validation_data=None,
           validate_every=1):
    """Fit the remaining epochs one at a time, saving metrics after each and a checkpoint after
    every `checkpoint_every`-th and the last; `validation_data` is evaluated after every
    `validate_every`-th epoch and the last."""
    progress = _EpochProgress(epochs)
    verbose = 1 if sys.stdout.isatty() else 2
    for epoch in range(len(history), epochs):
        dataset.set_epoch(epoch)
        start = time.time()
        validate = (epoch + 1) % validate_every == 0 or epoch + 1 == epochs
        # shuffle=False: the dataset shuffles itself, seeded by the epoch; Keras would reorder
        # its batches with Python's global generator, which a resumed process does not share.
        logs = model.fit(dataset, validation_data=validation_data if validate else None,
                         initial_epoch=epoch, epochs=epoch + 1, shuffle=False, verbose=verbose,
                         callbacks=[progress]).history
        history.append({"epoch": epoch + 1, **{k: float(v[-1]) for k, v in logs.items()},
                        "seconds": round(time.time() - start, 2)})
        run.write_metrics(history)
        if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs:
            run.save_checkpoint(model, history)
    return history


def _recipe(config):
    skip = ("output", "resume", "traceback", "verbose", "config")
    return {k: v for k, v in config.items() if k not in skip}


def pretrain(config):
    """SkeletonMAE pre-training on the (unlabelled) skeletons of `config["split"]`."""
    data = usable_split(load_skeletons(config["data"], config["layout"],
                                       config.get("nonfinite", "raise")), config["split"])
    check_split_overlap(data, config)
    config = _with_layout(config, data)
    frames, persons = _input_shape(data, config["preset"], config["frames"], config["persons"])
    task_arguments = dict(num_masked_parts=config["masked_parts"],
                          mask_parts=config["mask_parts"],
                          num_masked_joints=config["masked_joints"],
                          mask_sampling=config["mask_sampling"], target=config["target"],
                          seed=config["seed"])

    def build():
        return _build_task(SkeletonMAEPretrainer, config, data, frames, persons, 1.5e-4,
                           **task_arguments)

    run, model, history = _start_run(config["output"], config, config["resume"], build)
    dataset = SkeletonDataset(data, config["batch_size"], frames, persons,
                              transform=training_transform(model.backbone.layout, frames,
                                                        model.backbone.num_channels,
                                                        config["augment"]),
                              shuffle=True, seed=config["seed"], labeled=False)
    history = _train(run, model, history, dataset, config["epochs"], config["checkpoint_every"])
    run.write_preset(lambda folder: model.save_to_preset(folder, metadata={
        "training_data": f"{config['data']} split {config['split'] or 'all'} "
                         f"({len(data)} sequences, labels unused)",
        "recipe": _recipe(config),
        "final_loss": history[-1]["loss"] if history else None,
    }))
    results = {"command": "pretrain", "preset": str(run.preset), "epochs": len(history),
               "layout": data.layout, "final_loss": history[-1]["loss"] if history else None}
    run.write_json("results.json", results)
    _draw_figures(lambda: _pretrain_figures(run, model, data, frames, persons, history))
    return results


def _pretrain_figures(run, model, data, frames, persons, history):
    if history:
        figures.plot_training_curves(history, run.figures / "training_curves.png",
                                     "SkeletonMAE pre-training")
    x, _ = _arrays(data.select([0]), frames, persons)
    outputs = model.predict(x, verbose=0)
    mask = outputs["mask"][0, 0]  # (T, V), person 0
    frame = int(np.argmax(mask.sum(axis=-1)))
    masked = mask[frame] > 0
    reconstruction = None
    if model.target == "coordinates":
        channels, radius = model.backbone.num_channels, (model.target_window - 1) // 2
        target, predicted = outputs["target"][0, 0, frame], outputs["reconstruction"][0, 0, frame]
        # The cosine error fixes each joint's direction, not its length: one least-squares
        # scale for the whole skeleton puts the prediction in the data's units for the drawing.
        scale = np.sum(predicted[masked] * target[masked]) / max(
            np.sum(predicted[masked] ** 2), 1e-12)
        middle = slice(radius * channels, (radius + 1) * channels)
        reconstruction = x[0, 0, frame, model.backbone.layout.center] + scale * predicted[:, middle]
    figures.plot_masked_reconstruction(
        model.backbone.layout, x[0, 0, frame], masked, reconstruction,
        run.figures / "masked_reconstruction.png",
        f"{data.ids[0]}, frame {frame}: masked parts and reconstruction")


def finetune(config, linear=False):
    """Fine-tune the SSL classifier (from `config["preset"]` or from scratch) on the labels of
    `config["train_split"]` (a class-balanced `label_fraction` of them), and evaluate on
    `config["val_split"]`. `linear=True` is linear evaluation: frozen encoder, linear head."""
    data = load_skeletons(config["data"], config["layout"], config.get("nonfinite", "raise"))
    check_split_overlap(data, config)
    config = _with_layout(config, data)
    train = usable_split(data, config["train_split"])
    if train.labels is None:
        raise ValueError(f"{config['data']} has no labels to fine-tune on.")
    if config["label_fraction"] < 1:
        train = label_subset(train, config["label_fraction"], seed=config["seed"])
        print(f"Using {len(train)} labelled sequences ({config['label_fraction']:.0%} per class).")
    num_classes = data.num_classes
    frames, persons = _input_shape(train, config["preset"], config["frames"], config["persons"])
    if linear and not config["preset"]:
        raise ValueError("linear evaluation needs a pre-trained encoder: pass --preset.")

    def build():
        return _build_task(SkeletonClassifier, config, train, frames, persons, 1e-3,
                           num_classes=num_classes, dropout=config["dropout"],
                           num_strl_layers=config["strl_layers"], freeze_backbone=linear,
                           seed=config["seed"])

    run, model, history = _start_run(config["output"], config, config["resume"], build)
    validation = None
    if config["val_split"]:
        val = usable_split(data, config["val_split"])
        validation = _arrays(val, frames, persons)
    dataset = SkeletonDataset(train, config["batch_size"], frames, persons,
                              transform=training_transform(model.backbone.layout, frames,
                                                        model.backbone.num_channels,
                                                        config["augment"]),
                              shuffle=True, seed=config["seed"])
    history = _train(run, model, history, dataset, config["epochs"], config["checkpoint_every"],
                     validation, config["validate_every"])
    class_names = class_names_for(num_classes, data.class_names)
    results = {"command": "linear" if linear else "finetune", "preset": str(run.preset),
               "epochs": len(history), "layout": data.layout, "train_sequences": len(train)}
    drawings = []
    if history:
        drawings.append(lambda: figures.plot_training_curves(
            history, run.figures / "training_curves.png",
            "linear evaluation" if linear else "fine-tuning"))
    if validation is not None:
        evaluation = _evaluate_arrays(model, *validation)
        results["evaluation"] = {"split": config["val_split"],
                                 **{k: v for k, v in evaluation.items() if k != "confusion_matrix"}}
        _write_evaluation(run, evaluation, class_names, config["val_split"], data.layout)
        drawings.append(lambda: _confusion_figure(run, evaluation, class_names,
                                                  config["val_split"]))
    run.write_preset(lambda folder: model.save_to_preset(folder, metadata={
        "training_data": f"{config['data']} split {config['train_split']} ({len(train)} "
                         f"labelled sequences)",
        "recipe": _recipe(config), "class_names": class_names,
        "evaluation": results.get("evaluation"),
    }))
    run.write_json("results.json", results)
    _draw_figures(*drawings)
    return results


def _evaluate_arrays(model, x, y):
    scores = model.predict(x, verbose=0)
    return classification_metrics(scores, y, model.num_classes)


def _write_evaluation(run, evaluation, class_names, split, layout):
    run.write_json("evaluation.json", {"split": split, "layout": layout,
                                       "class_names": class_names, **evaluation})


def _confusion_figure(run, evaluation, class_names, split):
    figures.plot_confusion_matrix(evaluation["confusion_matrix"], class_names,
                                  run.figures / "confusion_matrix.png",
                                  f"{split}: top-1 {evaluation['top1_accuracy']:.1%}")


def load_classifier(preset, data):
    """A classifier preset for `data`, whose layout may differ from the preset's (with the
    same channels)."""
    saved = preset_io.read_backbone_config(preset)
    model = SkeletonClassifier.from_preset(
        preset, layout=data.skeleton_layout,
        num_channels=data.keypoints[0].shape[-1], num_frames=saved["num_frames"],
        num_persons=saved["num_persons"])
    return model


def evaluate(config):
    """Top-1, top-5, mean-class accuracy and the confusion matrix of a classifier preset on
    `config["split"]`, testing `config["clips"]` clips per sequence (`to_clips`; their
    probabilities averaged)."""
    data = usable_split(load_skeletons(config["data"], config["layout"],
                                       config.get("nonfinite", "raise")), config["split"])
    config = _with_layout(config, data)
    if data.labels is None:
        raise ValueError(f"{config['data']} has no labels to evaluate against.")
    model = load_classifier(config["preset"], data)
    if data.labels.max() >= model.num_classes:
        raise ValueError(f"preset '{config['preset']}' predicts {model.num_classes} classes, but "
                         f"{config['data']} has label {int(data.labels.max())}.")
    clips = data.to_clips(model.backbone.num_frames, model.backbone.num_persons,
                          config.get("clips", 1), transform=CenterOnJoint(data.skeleton_layout))
    evaluation = {"num_clips": len(clips),
                  **classification_metrics(clip_averaged_probabilities(model, clips),
                                           data.labels, model.num_classes)}
    class_names = class_names_for(model.num_classes, preset_metadata(config["preset"]).get("class_names"),
                                  data.class_names)
    run = RunDirectory(config["output"])
    run.write_json(CONFIG_FILE, config)
    split = config["split"] or "all"
    _write_evaluation(run, evaluation, class_names, split, data.layout)
    _draw_figures(lambda: _confusion_figure(run, evaluation, class_names, split))
    return {k: v for k, v in evaluation.items() if k != "confusion_matrix"}


def predict(config):
    """Top-k class names per sequence, and per person (each person alone), for every sequence
    of a pose file."""
    data = usable_split(load_skeletons(config["data"], config["layout"],
                                       config.get("nonfinite", "raise")), config["split"])
    config = _with_layout(config, data)
    model = load_classifier(config["preset"], data)
    frames, persons = model.backbone.num_frames, model.backbone.num_persons
    class_names = class_names_for(model.num_classes, preset_metadata(config["preset"]).get("class_names"),
                                  data.class_names)
    x, _ = _arrays(data, frames, persons)
    # Each present person alone, in the first person slot.
    owners = [(i, p) for i in range(len(x)) for p in range(persons) if np.any(x[i, p])]
    alone = np.zeros((len(owners),) + x.shape[1:], dtype=x.dtype)
    for row, (i, p) in enumerate(owners):
        alone[row, 0] = x[i, p]
    k = config["top_k"]
    per_sequence = top_k_classes(class_probabilities(model, x), class_names, k)
    per_person = top_k_classes(class_probabilities(model, alone), class_names, k)
    predictions = [{"id": sample_id, "top_k": per_sequence[i], "persons": []}
                   for i, sample_id in enumerate(data.ids)]
    for (i, p), top in zip(owners, per_person):
        predictions[i]["persons"].append({"person": p, "top_k": top})
    run = RunDirectory(config["output"])
    run.write_json(CONFIG_FILE, config)
    run.write_json("predictions.json", predictions)
    return predictions


def tune(config):
    """KerasTuner random search (`keras_skeletonmae.tuning`) over the classifier, trained on the
    labels of `train_split` and scored on `val_split`, or over the pre-trainer; the best model
    is saved as a preset."""
    from keras_skeletonmae import tuning

    data = load_skeletons(config["data"], config["layout"], config.get("nonfinite", "raise"))
    check_split_overlap(data, config)
    config = _with_layout(config, data)
    train = usable_split(data, config["train_split"])
    frames, persons = _input_shape(train, config["preset"], config["frames"], config["persons"])
    shape = _backbone_overrides(train, frames, persons)
    x, y = _arrays(train, frames, persons)
    validation = None
    if config["val_split"]:
        validation = _arrays(usable_split(data, config["val_split"]), frames, persons)
    if config["model"] == "classifier":
        if y is None:
            raise ValueError(f"{config['data']} has no labels to tune a classifier on.")
        hypermodel = tuning.SkeletonClassifierHyperModel(data.num_classes, preset=config["preset"],
                                                         **shape)
    else:
        hypermodel = tuning.SkeletonMAEPretrainerHyperModel(preset=config["preset"], **shape)
        y, validation = None, None if validation is None else validation[:1]
    run = RunDirectory(config["output"])
    run.write_json(CONFIG_FILE, config)
    tuner, best_model, best_values = tuning.search(
        hypermodel, x, y, directory=run.path / "trials", validation_data=validation,
        max_trials=config["trials"], epochs=config["epochs"], seed=config["seed"],
        verbose=1 if sys.stdout.isatty() else 2)
    run.write_preset(lambda folder: tuning.save_best_preset(best_model, best_values, folder))
    best_trial = tuner.oracle.get_best_trials(1)[0]
    results = {"command": "tune", "objective": tuner.oracle.objective.name,
               "best_score": best_trial.score, "best_trial": best_trial.trial_id,
               "best_hyperparameters": best_values, "trials": len(tuner.oracle.trials),
               "layout": data.layout, "preset": str(run.preset)}
    run.write_json("results.json", results)
    return results


def list_presets():
    """`{name: metadata}` of the built-in presets."""
    return preset_io.builtin_presets()
