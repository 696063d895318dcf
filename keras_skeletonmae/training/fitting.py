"""Compiling a task, starting or resuming its run, and fitting it epoch by epoch.

Training runs one `fit` call per epoch, on a `SkeletonDataset` positioned at that epoch, and
checkpoints after every `checkpoint_every`-th epoch and the last: a run resumed from its last
checkpoint draws the same batches, masks and dropout as an uninterrupted run, so it ends with
the same weights and metrics.
"""

import math
import sys
import time

import keras

from keras_skeletonmae.models import SkeletonMAEBackbone, xla_jit_compile
from keras_skeletonmae.training.run_directory import CONFIG_FILE, RunDirectory

# Options a checkpoint holds (its model, optimizer and compile settings; the backbone's layout):
# a run resumed from it keeps them whatever they are set to, so a run made before one of them
# existed resumes. Every other option decides what the run trains on (data, splits, labels,
# augmentation, batches, seed) and must have been saved with the run to resume it.
CHECKPOINT_OPTIONS = frozenset({
    "embed_dim", "gin_layers", "hidden_dim", "motion", "bones", "strl_layers", "dropout",
    "masked_parts", "mask_parts", "masked_joints", "mask_sampling", "mask_span", "encoder",
    "remask", "mask_token", "target", "learning_rate", "lr_schedule", "jit_compile",
    "skeleton_layout", "backbone_rate_scale", "frozen_warmup_epochs", "head_init"})
# Options that change neither the weights nor the data, so a resumed run may change them
# ("traceback", "verbose" and "config" are the command line's, saved by older versions).
RESUME_FREE_OPTIONS = frozenset({
    "resume", "traceback", "verbose", "config", "validate_every", "checkpoint_every",
    "allow_overlap", "workers"})


def adam(learning_rate, steps, schedule="cosine"):
    """Adam at `learning_rate`, decayed to 0 along a cosine over `steps` updates when
    `schedule` is `"cosine"` (the command line's default), constant when `"constant"`.

    Args:
        learning_rate: float, the initial rate.
        steps: int, the updates the cosine spans (the run's epochs x batches per epoch).
        schedule: `"cosine"` or `"constant"`.

    Returns:
        A `keras.optimizers.Adam`.

    Example:
        model.compile(optimizer=adam(1e-3, epochs * len(dataset)))
    """
    if schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1))
    return keras.optimizers.Adam(learning_rate)


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, numbering epochs out of the whole run (fit runs one at a time)."""

    def __init__(self, epochs):
        super().__init__()
        self.total_epochs = epochs

    def set_params(self, params):
        super().set_params({**params, "epochs": self.total_epochs})


def build_task(task_class, options, data, frames, persons, learning_rate, optimizer=None,
               **task_arguments):
    """A compiled `task_class` for `data`: around `options["preset"]` (its layout, frames and
    persons adapted to the data) or a new backbone; `adam` at `options["learning_rate"]` (else
    `learning_rate`), its schedule spanning `options["epochs"]` epochs of `data` in batches of
    `options["batch_size"]`, or `optimizer(model, rate, steps, steps_per_epoch)` when given."""
    keras.utils.set_random_seed(options["seed"])
    overrides = backbone_overrides(data, frames, persons)
    if options["preset"]:
        model = task_class.from_preset(options["preset"], **overrides, **task_arguments)
    else:
        backbone = SkeletonMAEBackbone(**overrides, embed_dim=options["embed_dim"],
                                       num_layers=options["gin_layers"],
                                       hidden_dim=options["hidden_dim"],
                                       motion=options["motion"], bones=options["bones"])
        model = task_class(backbone, **task_arguments)
    steps_per_epoch = math.ceil(len(data) / options["batch_size"])
    steps = options["epochs"] * steps_per_epoch
    rate = options["learning_rate"] or learning_rate
    optimizer = (adam(rate, steps, options["lr_schedule"]) if optimizer is None
                 else optimizer(model, rate, steps, steps_per_epoch))
    # "auto": XLA wherever Keras can, TensorFlow CPUs included (Keras's own "auto" is off there).
    jit_compile = {"auto": xla_jit_compile(), "true": True, "false": False}[options["jit_compile"]]
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    return model


def backbone_overrides(data, frames, persons):
    """The backbone arguments that fit it to `data`: layout, channels, frames, persons."""
    return dict(layout=data.skeleton_layout, num_channels=data.keypoints[0].shape[-1],
                num_frames=frames, num_persons=persons)


def start_run(output, options, build):
    """`(run, model, history)`: a new run in `output` from `build()`, or, when
    `options["resume"]`, the checkpoint of an earlier run there with the same options."""
    run = RunDirectory(output)
    if not options["resume"]:
        if run.has_checkpoint:
            raise ValueError(f"{run.path} already holds a run: pass --resume (`resume=True`) "
                             "to continue it or choose another --output.")
        run.write_json(CONFIG_FILE, options)
        return run, build(), []
    saved = run.read_config()
    # Only the number of epochs may change, to extend a run, and only at a constant learning
    # rate: a cosine schedule is fixed by the epochs it was built for. How often to validate
    # and checkpoint do not change the weights, so they may change too.
    ignored = set(RESUME_FREE_OPTIONS)
    if options.get("lr_schedule") == "constant":
        ignored.add("epochs")
    # A run made by an older version lacks the options added since. Those its checkpoint holds
    # (e.g. `bones`) cannot change it; any other would silently change what it trains on.
    newer = sorted(set(options) - set(saved) - ignored)
    unheld = [k for k in newer if k not in CHECKPOINT_OPTIONS]
    if unheld:
        raise ValueError(f"cannot resume {run.path}: it was made before the options {unheld} "
                         "existed, and they decide what it trains on (its checkpoint does not "
                         "hold them); start a new run with another --output.")
    if newer:
        print(f"Resuming a run made before the options {newer} existed: its checkpoint "
              "decides the model.")
    changed = sorted(k for k in saved if k not in ignored and saved[k] != options.get(k))
    if changed:
        raise ValueError(f"cannot resume {run.path}: options {changed} differ from the "
                         f"interrupted run's ({ {k: saved.get(k) for k in changed} }).")
    model, history = run.load_checkpoint()
    print(f"Resuming {run.path} after epoch {len(history)}.")
    return run, model, history


def fit_epochs(run, model, history, dataset, epochs, checkpoint_every=1, validation_data=None,
               validate_every=1):
    """Fit the remaining epochs one at a time, saving metrics after each and a checkpoint after
    every `checkpoint_every`-th and the last; `validation_data` is evaluated after every
    `validate_every`-th epoch and the last. Returns the history, one dict per epoch."""
    progress = EpochProgress(epochs)
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
