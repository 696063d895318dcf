"""Probe of the pre-training options on MSR Action3D (or `--data utd_mhad.pkl`, or
`--data jhmdb_2d.pkl --splits train1 test1`) at 10% labels, scored on validation sequences held
out of the training split (subjects; for JHMDB a class-stratified quarter; the test split is
never read), or with `--test` once on the test split.

Four arms, the same fine-tuning budget each, `--seeds` seeds:

- `scratch`: the SSL classifier from scratch;
- `gin`: the paper's pre-training (G_E alone, one mask per sequence), then fine-tuning;
- `trunk`: the whole trunk pre-trained (`encoder="trunk"`) with span masking, then
  `SkeletonClassifier.from_pretrainer` (every layer but the head pre-trained) and fine-tuning;
- `run`: a pre-trainer from a `skeletonmae pretrain --output RUN` folder (`--pretrained RUN`,
  its last checkpoint: e.g. pre-trained on several files) or a pre-trainer preset
  (`--pretrained skeletonmae_kinect20_mix`), fine-tuned as `trunk` is. Its frames,
  D and input options are the run's, so `scratch` takes them from it too.

Pre-training sees the training subjects' skeletons (labels unused); fine-tuning sees a
class-balanced `--label-fraction` of their labels (`label_subset`, drawn with the seed), for
`--finetune-epochs` epochs of Adam at `--learning-rate` (constant on fixed arrays; with
`--augment`, cosine on the command line's augmented pipeline; the pre-trained arms'
pre-trained layers at `--backbone-rate-scale` times that and still for
`--frozen-warmup-epochs`, or all frozen with `--freeze-trunk`). With `--class-mean-head`
every arm's head starts as the nearest-class-mean classifier of the labelled sequences
(`SkeletonClassifier.init_head_from_class_means`); with `--finetune-epochs 0` nothing more is
trained. The score is top-1 on the validation sequences (`validation_split`). With `--test` (for
a recipe chosen on them, run once), the whole training split is used and the score is on the
test split.

    KERAS_BACKEND=jax python benchmarks/pretraining_options_probe.py [--seeds 0 1]
        [--pretrain-epochs 20] [--finetune-epochs 60] [--output probe.json]
        [--arms scratch run --pretrained runs/pretrain_mix] [--class-mean-head]
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae import (SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer,
                               training)
from keras_skeletonmae.data import CenterOnJoint, SkeletonDataset, load_pyskl, training_transform
from keras_skeletonmae.data.dataset import label_subset
from keras_skeletonmae.layouts import get_layout
from keras_skeletonmae.training import RunDirectory

DATA = Path(os.environ.get("SKELETONMAE_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
ARMS = ("scratch", "gin", "trunk", "run")


def usable(split, data_file="msr_action3d.pkl"):
    """The `SkeletonData` of `data_file`'s `split`, all-zero sequences dropped."""
    return load_pyskl(DATA / data_file).split(split).repair(drop_all_zero=True)[0]


def validation_split(split, val_subjects, data_file="msr_action3d.pkl", val_fraction=0.25):
    """`(train, val)` `SkeletonData` of `data_file`'s training `split`: by subject where the ids
    name one (`aXX_sYY_...`, MSR Action3D and UTD-MHAD: `val_subjects` held out), else (JHMDB)
    a class-stratified `val_fraction` of each class, drawn once with seed 0 (the same for
    every arm and seed)."""
    data = usable(split, data_file)
    parts = [sample_id.split("_") for sample_id in data.ids]
    if all(len(p) >= 2 and p[1][:1] == "s" and p[1][1:].isdigit() for p in parts):
        held_out = np.isin([int(p[1][1:]) for p in parts], val_subjects)
    else:
        rng = np.random.default_rng(0)
        held_out = np.zeros(len(data), bool)
        for label in np.unique(data.labels):
            members = rng.permutation(np.flatnonzero(data.labels == label))
            held_out[members[:round(val_fraction * len(members))]] = True
    return data.select(np.flatnonzero(~held_out)), data.select(np.flatnonzero(held_out))


def load_pretrainer(source):
    """The `SkeletonMAEPretrainer` of a run folder (its last checkpoint) or of a preset."""
    run = RunDirectory(source)
    if run.has_checkpoint:
        return run.load_checkpoint()[0]
    return SkeletonMAEPretrainer.from_preset(source)


def new_backbone(layout, channels, args, run):
    """The probe's backbone, untrained: the architecture of `run`'s pre-trainer if given."""
    if run is not None:
        return SkeletonMAEBackbone.from_config(run.backbone.get_config())
    return SkeletonMAEBackbone(layout, num_channels=channels, num_frames=args.frames,
                               num_persons=1, embed_dim=args.embed_dim, num_layers=2,
                               hidden_dim=2 * args.embed_dim, motion=True, bones=True)


def run_arm(arm, seed, train, val, args, run=None):
    """Top-1 on `val` of one arm and seed, with its wall-clock times; `run` is the pre-trainer
    of `--pretrained` (`from_pretrainer` copies it, so every arm and seed starts from it)."""
    keras.utils.set_random_seed(seed)
    layout = get_layout(train.layout)
    channels = train.keypoints[0].shape[-1]
    frames = run.backbone.num_frames if run is not None else args.frames
    arrays = dict(num_frames=frames, num_persons=1, transform=CenterOnJoint(layout))
    trunk = dict(num_strl_layers=2)
    times = {}
    start = time.time()
    if arm == "run":
        classifier = SkeletonClassifier.from_pretrainer(run, num_classes=train.num_classes,
                                                        dropout=0.3, seed=seed, **trunk)
    elif arm == "scratch":
        classifier = SkeletonClassifier(new_backbone(layout, channels, args, run),
                                        num_classes=train.num_classes, dropout=0.3, seed=seed,
                                        **trunk)
    else:
        options = (dict(encoder="trunk", mask_sampling="span", mask_span=args.mask_span, **trunk)
                   if arm == "trunk" else {})
        pretrainer = SkeletonMAEPretrainer(new_backbone(layout, channels, args, run), seed=seed,
                                           **options)
        pretrainer.compile(optimizer=keras.optimizers.Adam(1e-3))
        x_unlabeled, _ = train.to_arrays(**arrays, seed=seed)
        pretrainer.fit(x_unlabeled, batch_size=32, epochs=args.pretrain_epochs, verbose=0)
        times["pretrain_s"] = round(time.time() - start, 1)
        classifier = SkeletonClassifier.from_pretrainer(pretrainer, num_classes=train.num_classes,
                                                        dropout=0.3, seed=seed, **trunk)
    if args.freeze_trunk and arm != "scratch":
        for layer in classifier.layers:  # every layer but the head: BatchNorm in inference mode
            layer.trainable = layer.name == "predictions"
    if args.frozen_statistics and arm != "scratch":
        for layer in classifier._flatten_layers():  # inference mode: the pre-trained statistics
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    labelled = label_subset(train, args.label_fraction, seed=seed)
    x, y = labelled.to_arrays(**arrays, seed=seed)
    steps_per_epoch = math.ceil(len(y) / 16)
    recipe = ({} if arm == "scratch" or args.freeze_trunk else
              dict(backbone_rate_scale=args.backbone_rate_scale,
                   frozen_warmup_steps=args.frozen_warmup_epochs * steps_per_epoch))
    if args.class_mean_head:
        classifier.init_head_from_class_means(x, y)
    steps = max(args.finetune_epochs, 1) * steps_per_epoch
    classifier.compile(optimizer=training.fine_tuning_optimizer(
        classifier, args.learning_rate, steps, "cosine" if args.augment else "constant",
        **recipe))
    start = time.time()
    if args.finetune_epochs and args.augment:  # the command line's pipeline and schedule
        batches = SkeletonDataset(labelled, 16, frames, 1, shuffle=True, seed=seed,
                                  transform=training_transform(layout, frames, channels))
        classifier.fit(batches, epochs=args.finetune_epochs, verbose=0)
    elif args.finetune_epochs:
        classifier.fit(x, y, batch_size=16, epochs=args.finetune_epochs, verbose=0)
    times["finetune_s"] = round(time.time() - start, 1)
    x_val, y_val = val.to_arrays(**arrays)
    predicted = np.argmax(classifier.predict(x_val, verbose=0), axis=-1)
    return dict(arm=arm, seed=seed, labelled=len(y), val=len(y_val),
                top1=round(100 * float(np.mean(predicted == y_val)), 1), **times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=["scratch", "gin", "trunk"])
    parser.add_argument("--data", default="msr_action3d.pkl",
                        help="a labelled set in the shared data folder (MSR Action3D, UTD-MHAD, "
                             "JHMDB with --splits train1 test1)")
    parser.add_argument("--splits", nargs=2, default=["xsub_train", "xsub_val"],
                        metavar=("TRAIN", "TEST"), help="its training and test splits")
    parser.add_argument("--val-subjects", type=int, nargs="+", default=[7, 9],
                        help="held out of TRAIN for validation (ids `aXX_sYY_...`); without "
                             "subjects in the ids, a class-stratified --val-fraction")
    parser.add_argument("--val-fraction", type=float, default=0.25)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--embed-dim", type=int, default=32)
    parser.add_argument("--mask-span", type=int, default=8)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=60)
    parser.add_argument("--pretrained", default=None,
                        help="a `skeletonmae pretrain --output` run folder or a pre-trainer "
                             "preset (name, folder or hub handle), for the `run` arm")
    parser.add_argument("--backbone-rate-scale", type=float, default=1.0,
                        help="pre-trained arms: their pre-trained layers' rate, as a fraction")
    parser.add_argument("--frozen-warmup-epochs", type=int, default=0,
                        help="pre-trained arms: epochs their pre-trained layers stay still")
    parser.add_argument("--freeze-trunk", action="store_true",
                        help="pre-trained arms: train the head only (a linear probe of the "
                             "trunk's pooled features)")
    parser.add_argument("--frozen-statistics", action="store_true",
                        help="pre-trained arms: every BatchNorm in inference mode (its "
                             "pre-trained statistics, scale and shift kept) while the rest trains")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--augment", action="store_true",
                        help="fine-tune as the command line does: a fresh random frame sampling, "
                             "rotation and scale every epoch, and a cosine schedule")
    parser.add_argument("--class-mean-head", action="store_true",
                        help="every arm: the head starts as the nearest-class-mean classifier "
                             "of the labelled sequences' pooled features (`--finetune-epochs 0`: "
                             "and stays so)")
    parser.add_argument("--test", action="store_true",
                        help="train on every training subject, score on the test split (once)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if "run" in args.arms and args.pretrained is None:
        parser.error("the `run` arm needs --pretrained RUN_FOLDER_OR_PRESET")
    train_split, test_split = args.splits
    if args.test:
        train, val = usable(train_split, args.data), usable(test_split, args.data)
        scored_on = f"the test split {test_split}"
    else:
        train, val = validation_split(train_split, args.val_subjects, args.data,
                                      args.val_fraction)
        scored_on = f"validation sequences held out of {train_split}"
    run = load_pretrainer(args.pretrained) if args.pretrained else None
    results = []
    for seed in args.seeds:
        for arm in args.arms:
            results.append(run_arm(arm, seed, train, val, args, run))
            print(json.dumps(results[-1]), flush=True)
    summary = {arm: [r["top1"] for r in results if r["arm"] == arm] for arm in args.arms}
    for arm, scores in summary.items():
        print(f"{arm:8s} top-1 on {scored_on}: {np.mean(scores):.1f} "
              f"+- {np.std(scores, ddof=1):.1f} ({', '.join(map(str, scores))})")
    if args.output:
        args.output.write_text(json.dumps(dict(args={k: str(v) for k, v in vars(args).items()},
                                               results=results, summary=summary), indent=2))
    return results


if __name__ == "__main__":
    main()
