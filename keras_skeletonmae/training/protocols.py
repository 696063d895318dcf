"""The protocols of the `skeletonmae` command line as Python functions: pre-train, fine-tune
(full labels or a class-balanced fraction), linear evaluation, evaluate, predict and tune.

Each takes the command's options as keyword arguments, with the command's defaults, writes its
run folder (see `RunDirectory`; `config.json` records every argument) and returns its results.
Everything a run is for (preset, metrics, evaluation, results) is written before its figures,
which are optional: without matplotlib they are skipped with a one-line warning.
"""

import os
import sys

import keras
import numpy as np

from keras_skeletonmae.data import CenterOnJoint, SkeletonDataset, label_subset, training_transform
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.evaluation import (class_names_for, class_probabilities,
                                         classification_metrics, clip_averaged_probabilities,
                                         top_k_classes)
from keras_skeletonmae.layouts import SkeletonLayout
from keras_skeletonmae.models import SkeletonClassifier, SkeletonMAEPretrainer
from keras_skeletonmae.models import presets as preset_io
from keras_skeletonmae.training import figures
from keras_skeletonmae.training.checks import check_split_overlap, usable_split
from keras_skeletonmae.training.fitting import (backbone_overrides, build_task, fit_epochs,
                                                start_run)
from keras_skeletonmae.training.recipes import fine_tuning_optimizer
from keras_skeletonmae.training.run_directory import CONFIG_FILE, RunDirectory
from keras_skeletonmae.training.sources import (pretraining_sources, read_pretraining_data,
                                                recorded_sources)

DEFAULT_FRAMES = 32
HEAD_INITS = ("random", "class_means")


def pretrain(data, output, *, layout=None, split=None, nonfinite="raise", allow_overlap=False,
             preset=None, frames=None, persons=None, embed_dim=64, gin_layers=3, hidden_dim=256,
             motion=True, bones=True, masked_parts=2, mask_parts=None, masked_joints=None,
             mask_sampling="sample", mask_span=None, target="coordinates", encoder="gin",
             strl_layers=3, remask=True, mask_token="shared", epochs=30, batch_size=32,
             learning_rate=None, lr_schedule="cosine", augment=True, seed=0, resume=False,
             checkpoint_every=1, jit_compile="auto", workers=1):
    """SkeletonMAE pre-training on unlabelled skeletons (`skeletonmae pretrain`).

    Args:
        data: str or `Path`, a skeleton file or folder (any format `load_skeletons` reads); or
            a list of them and `(path, split)` pairs, mixed into one unlabelled stream (same
            layout and channels; sample ids prefixed with each file's name).
        output: str or `Path`, the run folder.
        layout: str or `SkeletonLayout`; None guesses it from the data.
        split: str or None; the split of each file given without its own (None: all samples,
            refused for a file that defines splits unless `allow_overlap`).
        nonfinite: `"raise"` refuses NaN/inf coordinates; `"interpolate"` repairs them.
        allow_overlap: bool; allow pre-training on every sample of a file with splits.
        preset: str or None; start from this preset (name, folder or hub handle).
        frames: int or None; T (default: the preset's, else 32).
        persons: int or None; M (default: the larger of the preset's and the data's).
        embed_dim, gin_layers, hidden_dim: int; a new backbone's D, L_D and GIN MLP width.
        motion, bones: bool; a new backbone embeds joint motion and bone vectors.
        masked_parts: int; body parts masked per draw.
        mask_parts: list of str or None; always mask these parts.
        masked_joints: int or None; mask this many random joints instead of body parts.
        mask_sampling: `"sample"`, `"frame"` or `"span"`; one mask per sequence, per frame or
            per span of `mask_span` consecutive frames.
        mask_span: int or None; frames per span with `mask_sampling="span"`.
        target: `"coordinates"` or `"embedding"`; what is reconstructed.
        encoder: `"gin"` (the paper: the GIN encoder, frame by frame) or `"trunk"` (the
            classifier's whole trunk, STRL layers included, is the masked encoder).
        strl_layers: int; the trunk's STRL layers with `encoder="trunk"` (fine-tune with the
            same number to start every one of them pre-trained).
        remask: bool; set the masked joints' codes to 0 before the decoder (GraphMAE, the
            paper), or give the decoder what the encoder gathered there (`False`), see
            `SkeletonMAEPretrainer`.
        mask_token: `"shared"` (the paper's one mask token) or `"joint"` (one per joint), see
            `SkeletonMAEPretrainer`.
        epochs, batch_size: int.
        learning_rate: float or None; Adam's (default 1.5e-4).
        lr_schedule: `"cosine"` (decay to 0 over the run) or `"constant"`.
        augment: bool; random rotation and scale of the training sequences.
        seed: int.
        resume: bool; continue the interrupted run in `output` from its last checkpoint.
        checkpoint_every: int; checkpoint every this many epochs and after the last.
        jit_compile: `"auto"`, `"true"` or `"false"`.
        workers: int >= 1; threads preparing the batches (`SkeletonDataset`): the batches
            are the same with any number, so a resumed run may change it.

    Returns:
        dict: `command`, `preset` (its folder), `epochs`, `layout`, `final_loss`.

    Example:
        pretrain([("msr_action3d.pkl", "xsub_train"), ("utd_mhad.pkl", "xsub_train")],
                 "runs/pretrain", epochs=30)
    """
    options = _options(locals())
    sources = pretraining_sources(data)
    options["data"] = recorded_sources(sources)
    data = read_pretraining_data(sources, split, layout, nonfinite, allow_overlap)
    options = _with_layout(options, data)
    frames, persons = _input_shape(data, preset, frames, persons)
    task_arguments = dict(num_masked_parts=masked_parts, mask_parts=mask_parts,
                          num_masked_joints=masked_joints, mask_sampling=mask_sampling,
                          mask_span=mask_span, target=target, encoder=encoder,
                          num_strl_layers=strl_layers, remask=remask,
                          mask_token=mask_token, seed=seed)

    def build():
        return build_task(SkeletonMAEPretrainer, options, data, frames, persons, 1.5e-4,
                          **task_arguments)

    run, model, history = start_run(output, options, build)
    dataset = SkeletonDataset(data, batch_size, frames, persons,
                              transform=training_transform(model.backbone.layout, frames,
                                                           model.backbone.num_channels, augment),
                              shuffle=True, seed=seed, labeled=False, workers=workers)
    history = fit_epochs(run, model, history, dataset, epochs, checkpoint_every)
    described = " + ".join(f"{path} split {own or split or 'all'}" for path, own in sources)
    run.write_preset(lambda folder: model.save_to_preset(folder, metadata={
        "training_data": f"{described} ({len(data)} sequences, labels unused)",
        "recipe": _recipe(options),
        "final_loss": history[-1]["loss"] if history else None,
    }))
    results = {"command": "pretrain", "preset": str(run.preset), "epochs": len(history),
               "layout": data.layout, "final_loss": history[-1]["loss"] if history else None}
    run.write_json("results.json", results)
    _draw_figures(lambda: _pretrain_figures(run, model, data, frames, persons, history))
    return results


def finetune(data, output, *, layout=None, train_split=None, val_split=None, nonfinite="raise",
             allow_overlap=False, label_fraction=1.0, preset=None, frames=None, persons=None,
             embed_dim=64, gin_layers=3, hidden_dim=256, motion=True, bones=True, strl_layers=3,
             dropout=0.5, epochs=40, batch_size=16, learning_rate=None, lr_schedule="cosine",
             augment=True, seed=0, resume=False, checkpoint_every=1, jit_compile="auto",
             validate_every=1, backbone_rate_scale=1.0, frozen_warmup_epochs=0,
             head_init="random", workers=1):
    """Fine-tune the SSL classifier, from a preset or from scratch, on the labels of
    `train_split` (a class-balanced `label_fraction` of them) and evaluate it on `val_split`
    (`skeletonmae finetune`).

    Args:
        data: str or `Path`, a labelled skeleton file or folder.
        output: str or `Path`, the run folder.
        layout: str or `SkeletonLayout`; None guesses it from the data.
        train_split: str or None; the split trained on (None: all samples); it may share no
            sample with `val_split` unless `allow_overlap`.
        val_split: str or None; the split validated and evaluated on.
        nonfinite: `"raise"` refuses NaN/inf coordinates; `"interpolate"` repairs them.
        allow_overlap: bool; allow training on samples of `val_split`.
        label_fraction: float in (0, 1]; class-balanced fraction of the training labels.
        preset: str or None; start from this preset (name, folder or hub handle).
        frames: int or None; T (default: the preset's, else 32).
        persons: int or None; M (default: the larger of the preset's and the data's).
        embed_dim, gin_layers, hidden_dim: int; a new backbone's D, L_D and GIN MLP width.
        motion, bones: bool; a new backbone embeds joint motion and bone vectors.
        strl_layers: int; STRL layers of the classifier.
        dropout: float.
        epochs, batch_size: int.
        learning_rate: float or None; Adam's (default 1e-3).
        lr_schedule: `"cosine"` (decay to 0 over the run) or `"constant"`.
        augment: bool; random rotation and scale of the training sequences.
        seed: int.
        resume: bool; continue the interrupted run in `output` from its last checkpoint.
        checkpoint_every: int; checkpoint every this many epochs and after the last.
        jit_compile: `"auto"`, `"true"` or `"false"`.
        validate_every: int; validation metrics every this many epochs and after the last.
        backbone_rate_scale: float >= 0; the pre-trained layers' learning rate as a fraction of
            the new layers' (`recipes.fine_tuning_optimizer`).
        frozen_warmup_epochs: int; epochs during which the pre-trained layers' weights stay
            still while the new layers train.
        head_init: `"random"` or `"class_means"`: the head starts as the nearest-class-mean
            classifier of the labelled training sequences' pooled features
            (`SkeletonClassifier.init_head_from_class_means`); with `epochs=0` it stays so,
            the pre-trained trunk untouched (the few-label recipe of docs/results.md).
        workers: int >= 1; threads preparing the batches (`SkeletonDataset`): the batches
            are the same with any number, so a resumed run may change it.

    Returns:
        dict: `command`, `preset`, `epochs`, `layout`, `train_sequences`, and with `val_split`
        its `evaluation` (top-1, top-5 and mean-class accuracy).

    Example:
        finetune("msr_action3d.pkl", "runs/finetune", preset="runs/pretrain/preset",
                 train_split="xsub_train", val_split="xsub_val", label_fraction=0.1)
    """
    return _fit_classifier(locals(), linear=False)


def linear_evaluation(data, output, *, preset, layout=None, train_split=None, val_split=None,
                      nonfinite="raise", allow_overlap=False, label_fraction=1.0, frames=None,
                      persons=None, embed_dim=64, gin_layers=3, hidden_dim=256, motion=True,
                      bones=True, strl_layers=3, dropout=0.5, epochs=40, batch_size=16,
                      learning_rate=None, lr_schedule="cosine", augment=True, seed=0,
                      resume=False, checkpoint_every=1, jit_compile="auto", validate_every=1,
                      workers=1):
    """Linear evaluation of a pre-trained encoder (`skeletonmae linear`): the encoder of
    `preset` frozen, a linear head trained on `train_split` and evaluated on `val_split`.

    Args: as `finetune`'s, with `preset` required and no fine-tuning recipe (the encoder is
        frozen; the model options other than `dropout` do not apply: the encoder is the
        preset's and the head is linear).

    Returns:
        dict: as `finetune`'s, with `command` `"linear"`.

    Example:
        linear_evaluation("msr_action3d.pkl", "runs/linear", preset="runs/pretrain/preset",
                          train_split="xsub_train", val_split="xsub_val")
    """
    return _fit_classifier(locals(), linear=True)


def evaluate(data, output, *, preset, layout=None, split=None, nonfinite="raise", clips=1):
    """Top-1, top-5, mean-class accuracy and the confusion matrix of a classifier preset on
    `split` (`skeletonmae evaluate`), written to `evaluation.json` and a figure.

    Args:
        data: str or `Path`, a labelled skeleton file or folder.
        output: str or `Path`, the run folder.
        preset: str; a classifier preset (name, folder or hub handle).
        layout: str or `SkeletonLayout`; None guesses it from the data.
        split: str or None; the split evaluated (None: all samples).
        nonfinite: `"raise"` refuses NaN/inf coordinates; `"interpolate"` repairs them.
        clips: int; multi-clip testing: average the class probabilities of this many frame
            samplings per sequence (`SkeletonData.to_clips`).

    Returns:
        dict: the metrics (`top1_accuracy`, `top5_accuracy`, `mean_class_accuracy`, ...),
        without the confusion matrix.

    Example:
        evaluate("msr_action3d.pkl", "runs/evaluate", split="xsub_val",
                 preset="runs/finetune/preset")
    """
    options = _options(locals())
    data = usable_split(load_skeletons(data, layout, nonfinite), split)
    options = _with_layout(options, data)
    if data.labels is None:
        raise ValueError(f"{options['data']} has no labels to evaluate against.")
    model = load_classifier(preset, data)
    if data.labels.max() >= model.num_classes:
        raise ValueError(f"preset '{preset}' predicts {model.num_classes} classes, but "
                         f"{options['data']} has label {int(data.labels.max())}.")
    clip_batches = data.to_clips(model.backbone.num_frames, model.backbone.num_persons, clips,
                                 transform=CenterOnJoint(data.skeleton_layout))
    evaluation = {"num_clips": len(clip_batches),
                  **classification_metrics(clip_averaged_probabilities(model, clip_batches),
                                           data.labels, model.num_classes)}
    class_names = class_names_for(model.num_classes, preset_metadata(preset).get("class_names"),
                                  data.class_names)
    run = RunDirectory(output)
    run.write_json(CONFIG_FILE, options)
    split = split or "all"
    _write_evaluation(run, evaluation, class_names, split, data.layout)
    _draw_figures(lambda: _confusion_figure(run, evaluation, class_names, split))
    return {k: v for k, v in evaluation.items() if k != "confusion_matrix"}


def predict(data, output, *, preset, layout=None, split=None, nonfinite="raise", top_k=5):
    """The `top_k` classes of every sequence, and of each person alone, by a classifier preset
    (`skeletonmae predict`), written to `predictions.json`.

    Args:
        data: str or `Path`, a skeleton file or folder (labels not needed).
        output: str or `Path`, the run folder.
        preset: str; a classifier preset (name, folder or hub handle).
        layout: str or `SkeletonLayout`; None guesses it from the data.
        split: str or None; the split predicted (None: all samples).
        nonfinite: `"raise"` refuses NaN/inf coordinates; `"interpolate"` repairs them.
        top_k: int; classes listed per sequence and person.

    Returns:
        list of dict, one per sequence: `id`, `top_k` (`class`, `probability`) and `persons`
        (`person`, `top_k`).

    Example:
        predict("poses.skeleton", "runs/predict", preset="skeletonmae_ntu25_ntu60_classifier")
    """
    options = _options(locals())
    data = usable_split(load_skeletons(data, layout, nonfinite), split)
    options = _with_layout(options, data)
    model = load_classifier(preset, data)
    frames, persons = model.backbone.num_frames, model.backbone.num_persons
    class_names = class_names_for(model.num_classes, preset_metadata(preset).get("class_names"),
                                  data.class_names)
    x, _ = _arrays(data, frames, persons)
    # Each present person alone, in the first person slot.
    owners = [(i, p) for i in range(len(x)) for p in range(persons) if np.any(x[i, p])]
    alone = np.zeros((len(owners),) + x.shape[1:], dtype=x.dtype)
    for row, (i, p) in enumerate(owners):
        alone[row, 0] = x[i, p]
    per_sequence = top_k_classes(class_probabilities(model, x), class_names, top_k)
    per_person = top_k_classes(class_probabilities(model, alone), class_names, top_k)
    predictions = [{"id": sample_id, "top_k": per_sequence[i], "persons": []}
                   for i, sample_id in enumerate(data.ids)]
    for (i, p), top in zip(owners, per_person):
        predictions[i]["persons"].append({"person": p, "top_k": top})
    run = RunDirectory(output)
    run.write_json(CONFIG_FILE, options)
    run.write_json("predictions.json", predictions)
    return predictions


def tune(data, output, *, layout=None, train_split=None, val_split=None, nonfinite="raise",
         allow_overlap=False, model="classifier", preset=None, frames=None, persons=None,
         trials=10, epochs=10, seed=0):
    """KerasTuner random search (`keras_skeletonmae.tuning`, needs the tuner extra) over the
    classifier, trained on the labels of `train_split` and scored on `val_split`, or over the
    pre-trainer; the best model is saved as a preset (`skeletonmae tune`).

    Args:
        data: str or `Path`, a skeleton file or folder (labelled for the classifier).
        output: str or `Path`, the run folder (trials in `trials/`).
        layout: str or `SkeletonLayout`; None guesses it from the data.
        train_split: str or None; the split trained on (None: all samples); it may share no
            sample with `val_split` unless `allow_overlap`.
        val_split: str or None; the split the objective is measured on.
        nonfinite: `"raise"` refuses NaN/inf coordinates; `"interpolate"` repairs them.
        allow_overlap: bool; allow training on samples of `val_split`.
        model: `"classifier"` or `"pretrainer"`.
        preset: str or None; start every trial from this preset.
        frames: int or None; T (default: the preset's, else 32).
        persons: int or None; M (default: the larger of the preset's and the data's).
        trials: int; trials of the search.
        epochs: int; epochs per trial.
        seed: int.

    Returns:
        dict: `objective`, `best_score`, `best_trial`, `best_hyperparameters`, `trials`,
        `layout`, `preset`.

    Example:
        tune("jhmdb_2d.pkl", "runs/tune", train_split="train1", val_split="test1", trials=5)
    """
    options = _options(locals())  # first: every argument, and nothing else
    from keras_skeletonmae import tuning

    data = load_skeletons(data, layout, nonfinite)
    check_split_overlap(data, train_split, val_split, allow_overlap=allow_overlap)
    options = _with_layout(options, data)
    train = usable_split(data, train_split)
    frames, persons = _input_shape(train, preset, frames, persons)
    shape = backbone_overrides(train, frames, persons)
    x, y = _arrays(train, frames, persons)
    validation = None
    if val_split:
        validation = _arrays(usable_split(data, val_split), frames, persons)
    if model == "classifier":
        if y is None:
            raise ValueError(f"{options['data']} has no labels to tune a classifier on.")
        hypermodel = tuning.SkeletonClassifierHyperModel(data.num_classes, preset=preset, **shape)
    else:
        hypermodel = tuning.SkeletonMAEPretrainerHyperModel(preset=preset, **shape)
        y, validation = None, None if validation is None else validation[:1]
    run = RunDirectory(output)
    run.write_json(CONFIG_FILE, options)
    tuner, best_model, best_values = tuning.search(
        hypermodel, x, y, directory=run.path / "trials", validation_data=validation,
        max_trials=trials, epochs=epochs, seed=seed, verbose=1 if sys.stdout.isatty() else 2)
    run.write_preset(lambda folder: tuning.save_best_preset(best_model, best_values, folder))
    best_trial = tuner.oracle.get_best_trials(1)[0]
    results = {"command": "tune", "objective": tuner.oracle.objective.name,
               "best_score": best_trial.score, "best_trial": best_trial.trial_id,
               "best_hyperparameters": best_values, "trials": len(tuner.oracle.trials),
               "layout": data.layout, "preset": str(run.preset)}
    run.write_json("results.json", results)
    return results


def preset_metadata(preset):
    """The `metadata.json` of a preset.

    Args:
        preset: str or `Path`; a preset name, folder or hub handle.

    Returns:
        dict.

    Example:
        preset_metadata("skeletonmae_kinect20_msr_classifier")["class_names"]
    """
    return preset_io.read_json(preset_io.resolve_preset(preset) / preset_io.METADATA_FILE)


def load_classifier(preset, data):
    """A classifier preset fitted to `data`, whose layout may differ from the preset's (with
    the same channels); the preset's frames and persons are kept.

    Args:
        preset: str or `Path`; a classifier preset name, folder or hub handle.
        data: `SkeletonData` the classifier will read.

    Returns:
        `SkeletonClassifier`.

    Example:
        model = load_classifier("skeletonmae_jhmdb15_jhmdb_classifier", data)
    """
    saved = preset_io.read_backbone_config(preset)
    return SkeletonClassifier.from_preset(
        preset, layout=data.skeleton_layout, num_channels=data.keypoints[0].shape[-1],
        num_frames=saved["num_frames"], num_persons=saved["num_persons"])


def _options(arguments):
    """A protocol's arguments as its run's `config.json` records them (JSON values; a layout
    object by its name), with the Keras backend."""
    def recorded(value):
        if isinstance(value, os.PathLike):
            return str(value)
        if isinstance(value, SkeletonLayout):
            return value.name
        if isinstance(value, tuple):
            return list(value)
        return value

    return {**{k: recorded(v) for k, v in arguments.items()}, "backend": keras.backend.backend()}


def _with_layout(options, data):
    """`options` with `skeleton_layout`, the layout `data` is read with (printed too)."""
    how = "as given" if options.get("layout") else "guessed from the data; --layout sets it"
    print(f"Skeleton layout: {data.layout} ({how}).")
    return {**options, "skeleton_layout": data.layout}


# A new backbone's architecture: unused when a run starts from a preset, whose own config.json
# is the architecture, so a preset's recipe leaves them out rather than record defaults.
NEW_BACKBONE_OPTIONS = ("embed_dim", "gin_layers", "hidden_dim", "motion", "bones")


def _recipe(options):
    """The options a preset's metadata records as its recipe: the run's own bookkeeping left
    out, and the new-backbone options too when the run started from a preset."""
    skip = {"output", "resume", "traceback", "verbose", "config"}
    if options.get("preset"):
        skip.update(NEW_BACKBONE_OPTIONS)
    return {k: v for k, v in options.items() if k not in skip}


def _input_shape(data, preset, frames, persons):
    """`(frames, persons)`: given values, else the preset's frames (32 without a preset) and
    the larger of the preset's and the data's person counts (no person is dropped)."""
    saved = preset_io.read_backbone_config(preset) if preset else {}
    frames = frames or saved.get("num_frames") or DEFAULT_FRAMES
    persons = persons or max([k.shape[0] for k in data.keypoints] + [saved.get("num_persons", 1)])
    return int(frames), int(persons)


def _arrays(data, frames, persons):
    return data.to_arrays(frames, persons, transform=CenterOnJoint(data.skeleton_layout))


def _fit_classifier(arguments, linear):
    """`finetune` (`linear` False) or `linear_evaluation` (True) with their `arguments`."""
    options = _options(arguments)
    data = load_skeletons(arguments["data"], arguments["layout"], arguments["nonfinite"])
    check_split_overlap(data, options["train_split"], options["val_split"],
                        allow_overlap=options["allow_overlap"])
    options = _with_layout(options, data)
    train = usable_split(data, options["train_split"])
    if train.labels is None:
        raise ValueError(f"{options['data']} has no labels to fine-tune on.")
    fraction = options["label_fraction"]
    if fraction < 1:
        train = label_subset(train, fraction, seed=options["seed"])
        print(f"Using {len(train)} labelled sequences ({fraction:.0%} per class).")
    num_classes = data.num_classes
    frames, persons = _input_shape(train, options["preset"], options["frames"],
                                   options["persons"])
    if linear and not options["preset"]:
        raise ValueError("linear evaluation needs a pre-trained encoder: pass --preset.")

    # The fine-tuning recipe (`finetune` only): the plain Adam unless it is set.
    rate_scale = arguments.get("backbone_rate_scale", 1.0)
    warmup_epochs = arguments.get("frozen_warmup_epochs", 0)
    head_init = arguments.get("head_init", "random")
    if head_init not in HEAD_INITS:
        raise ValueError(f"head_init must be one of {HEAD_INITS}, got {head_init!r}.")

    def fine_tuning(model, rate, steps, steps_per_epoch):
        return fine_tuning_optimizer(model, rate, max(steps, 1), options["lr_schedule"],
                                     rate_scale, warmup_epochs * steps_per_epoch)

    def build():
        model = build_task(SkeletonClassifier, options, train, frames, persons, 1e-3,
                           optimizer=None if (rate_scale, warmup_epochs) == (1, 0) else fine_tuning,
                           num_classes=num_classes, dropout=options["dropout"],
                           num_strl_layers=options["strl_layers"], freeze_backbone=linear,
                           seed=options["seed"])
        if head_init == "class_means":
            model.init_head_from_class_means(*_arrays(train, frames, persons))
        return model

    run, model, history = start_run(options["output"], options, build)
    validation = None
    val_split = options["val_split"]
    if val_split:
        validation = _arrays(usable_split(data, val_split), frames, persons)
    dataset = SkeletonDataset(train, options["batch_size"], frames, persons,
                              transform=training_transform(model.backbone.layout, frames,
                                                           model.backbone.num_channels,
                                                           options["augment"]),
                              shuffle=True, seed=options["seed"], workers=options["workers"])
    history = fit_epochs(run, model, history, dataset, options["epochs"],
                         options["checkpoint_every"], validation, options["validate_every"])
    class_names = class_names_for(num_classes, data.class_names)
    results = {"command": "linear" if linear else "finetune", "preset": str(run.preset),
               "epochs": len(history), "layout": data.layout, "train_sequences": len(train)}
    drawings = []
    if history:
        drawings.append(lambda: figures.plot_training_curves(
            history, run.figures / "training_curves.png",
            "linear evaluation" if linear else "fine-tuning"))
    if validation is not None:
        evaluation = classification_metrics(model.predict(validation[0], verbose=0),
                                            validation[1], model.num_classes)
        results["evaluation"] = {"split": val_split,
                                 **{k: v for k, v in evaluation.items() if k != "confusion_matrix"}}
        _write_evaluation(run, evaluation, class_names, val_split, data.layout)
        drawings.append(lambda: _confusion_figure(run, evaluation, class_names, val_split))
    run.write_preset(lambda folder: model.save_to_preset(folder, metadata={
        "training_data": f"{options['data']} split {options['train_split']} ({len(train)} "
                         f"labelled sequences)",
        "recipe": _recipe(options), "class_names": class_names,
        "evaluation": results.get("evaluation"),
    }))
    run.write_json("results.json", results)
    _draw_figures(*drawings)
    return results


def _draw_figures(*drawings):
    """Call each of `drawings` (functions writing a figure); without matplotlib, print one
    warning saying what to install instead (figures are extras: the run is kept)."""
    try:
        for draw in drawings:
            draw()
    except ImportError as error:
        print(f"Warning: figures not written. {error}", file=sys.stderr)


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


def _write_evaluation(run, evaluation, class_names, split, layout):
    run.write_json("evaluation.json", {"split": split, "layout": layout,
                                       "class_names": class_names, **evaluation})


def _confusion_figure(run, evaluation, class_names, split):
    figures.plot_confusion_matrix(evaluation["confusion_matrix"], class_names,
                                  run.figures / "confusion_matrix.png",
                                  f"{split}: top-1 {evaluation['top1_accuracy']:.1%}")
