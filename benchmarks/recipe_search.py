"""One pre-training + fine-tuning run in one process, for searching a recipe quickly.

The loop the command line's recipe was chosen with (docs/results.md, "Recipe search"): the
Python API only (`SkeletonDataset`, `SkeletonMAEPretrainer`, `SkeletonClassifier`), no run
folder, checkpoints or per-epoch validation, so a 60-epoch MSR Action3D fine-tune takes about
100 s here. Test top-1 is measured 5 times along the run. One JSON line per run is printed and
appended to `--log`.

    KERAS_BACKEND=tensorflow python benchmarks/recipe_search.py --finetune-epochs 60 --cosine \\
        --augment rotate [--motion] [--bones] [--learning-rate 2e-3] [--batch-size 8] \\
        [--pretrain-epochs 40 [--masked-parts 2] [--target-window 5] [--pretrain-split all]] \\
        [--frozen-encoder | --frozen-warmup 30 | --backbone-rate-scale 0.1] \\
        [--label-fraction 0.1] [--set jhmdb --split 1] \\
        [--stream bone] [--scores scores.npy] [--test-clips 10]

Architecture: the protocols' (T = 32, D = 64, 2 GIN layers of width 128, 2 STRL layers,
dropout 0.3; `--motion` embeds each joint's motion too, `--bones` its bone vector), fine-tuning
Adam 1e-3 (or `--learning-rate`) in batches of 16 (or `--batch-size`), pre-training Adam 1e-3
in batches of 32 (2 random body parts, coordinate target). `--stream bone` trains on bone
vectors instead of coordinates and `--scores` saves the test scores, for two-stream ensembles.
`--frozen-warmup` and `--backbone-rate-scale` are `keras_skeletonmae.training.fine_tuning_optimizer`
(one Adam and one schedule over the whole fine-tuning, the pre-trained layers' BatchNorm in
training mode during the warm-up); `--frozen-encoder` sets `trainable=False` on them instead.
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.data import (
    Bone,
    CenterOnJoint,
    Compose,
    RandomRotation,
    RandomScale,
    RandomShear,
    SkeletonDataset,
    UniformSample,
    label_subset,
    load_pyskl,
    training_transform,
)
from keras_skeletonmae.evaluation import clip_averaged_probabilities
from keras_skeletonmae.host_memory import retain_freed_memory
from keras_skeletonmae.models import xla_jit_compile
from keras_skeletonmae.training import adam, fine_tuning_optimizer

DATA_DIR = Path(os.environ.get("SKELETONMAE_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))
FRAMES = 32


def transform(name, layout, channels):
    """`none`: random frames only; `rotate`: `training_transform` (rotation up to 15 degrees
    in 3D / 10 in 2D, scale 0.9-1.1); `strong`: twice the angles, scale 0.8-1.2, shear 0.2."""
    if name == "strong":
        return Compose([UniformSample(FRAMES, train=True),
                        RandomRotation(30 if channels >= 3 else 15), RandomScale(0.8, 1.2),
                        RandomShear(0.2), CenterOnJoint(layout)])
    return training_transform(layout, FRAMES, channels, augment=name == "rotate")


def compile_classifier(classifier, args, steps_per_epoch):
    """Compile `classifier` for `args.finetune_epochs` epochs of `steps_per_epoch` batches:
    `--frozen-encoder` freezes the embedding and every GIN encoder (`trainable=False`), while
    `--frozen-warmup` and `--backbone-rate-scale` are `training.fine_tuning_optimizer`'s
    recipes (one optimizer and schedule for the whole run)."""
    if args.frozen_encoder:
        for layer in [classifier.backbone.embedding, classifier.backbone.encoder,
                      *classifier.encoder_copies]:
            layer.trainable = False
    optimizer = fine_tuning_optimizer(
        classifier, args.learning_rate, args.finetune_epochs * steps_per_epoch,
        "cosine" if args.cosine else "constant", backbone_rate_scale=args.backbone_rate_scale,
        frozen_warmup_steps=args.frozen_warmup * steps_per_epoch)
    classifier.compile(optimizer=optimizer, jit_compile=xla_jit_compile())


def with_stream(base, stream, layout):
    """`base`, then the stream's input: `joint` coordinates or `bone` vectors (`Bone`)."""
    return base if stream == "joint" else Compose([base, Bone(layout)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("msr", "jhmdb"), default="msr")
    parser.add_argument("--split", default="1", help="JHMDB split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-fraction", type=float, default=1.0)
    parser.add_argument("--pretrain-epochs", type=int, default=0, help="0: from scratch")
    parser.add_argument("--finetune-epochs", type=int, default=15)
    parser.add_argument("--augment", choices=("none", "rotate", "strong"), default="none")
    parser.add_argument("--cosine", action="store_true", help="cosine decay of the rates")
    parser.add_argument("--strl-layers", type=int, default=2)
    parser.add_argument("--motion", action="store_true", help="embed each joint's motion too")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="fine-tuning rate")
    parser.add_argument("--batch-size", type=int, default=16, help="fine-tuning batch")
    parser.add_argument("--masked-parts", type=int, default=2, help="pre-training's k parts")
    parser.add_argument("--target-window", type=int, default=5,
                        help="frames in pre-training's coordinate target")
    parser.add_argument("--pretrain-split",
                        help="pre-train on this split's skeletons (default: the training split)")
    freezing = parser.add_mutually_exclusive_group()
    freezing.add_argument("--frozen-encoder", action="store_true",
                          help="fine-tune with the embedding and every GIN encoder frozen")
    freezing.add_argument("--frozen-warmup", type=int, default=0,
                          help="epochs at the start of fine-tuning with the embedding's and every "
                               "GIN encoder's weights frozen, then all layers train")
    parser.add_argument("--backbone-rate-scale", type=float, default=1.0,
                        help="the embedding's and GIN encoders' fine-tuning rate, as a fraction "
                             "of the rest's")
    parser.add_argument("--bones", action="store_true", help="embed each joint's bone too")
    parser.add_argument("--stream", choices=("joint", "bone"), default="joint",
                        help="the input: joint coordinates, or bone vectors instead (a bone "
                             "stream, for ensembles with --scores)")
    parser.add_argument("--scores", type=Path,
                        help="save the test set's class scores (.npy) here, for ensembles")
    parser.add_argument("--test-clips", type=int, default=1,
                        help="also report top-1 of multi-clip testing with this many clips "
                             "(probabilities averaged) after the last epoch")
    parser.add_argument("--log", type=Path, default=Path("runs/recipe_search.jsonl"))
    args = parser.parse_args()

    if args.set == "msr":
        data, train_split, test_split = "msr_action3d.pkl", "xsub_train", "xsub_val"
    else:
        data, train_split, test_split = "jhmdb_2d.pkl", f"train{args.split}", f"test{args.split}"
    data, _ = load_pyskl(DATA_DIR / data).repair(drop_all_zero=True)
    train, test = data.split(train_split), data.split(test_split)
    layout, channels = data.skeleton_layout, data.keypoints[0].shape[-1]
    augmentation = with_stream(transform(args.augment, layout, channels), args.stream, layout)
    test_transform = with_stream(CenterOnJoint(layout), args.stream, layout)

    schedule = "cosine" if args.cosine else "constant"

    keras.utils.set_random_seed(args.seed)
    backbone = SkeletonMAEBackbone(layout=layout, num_channels=channels, num_frames=FRAMES,
                                   num_persons=1, embed_dim=64, num_layers=2, hidden_dim=128,
                                   motion=args.motion, bones=args.bones)
    start = time.time()
    pretrain_loss = None
    if args.pretrain_epochs:
        pretrainer = SkeletonMAEPretrainer(backbone, num_masked_parts=args.masked_parts,
                                           target_window=args.target_window, seed=args.seed)
        skeletons = data.split(args.pretrain_split) if args.pretrain_split else train
        unlabeled = SkeletonDataset(skeletons, 32, FRAMES, 1, transform=augmentation,
                                    shuffle=True, seed=args.seed, labeled=False)
        pretrainer.compile(optimizer=adam(1e-3, args.pretrain_epochs * len(unlabeled), schedule),
                           jit_compile=xla_jit_compile())
        history = pretrainer.fit(unlabeled, epochs=args.pretrain_epochs, verbose=0)
        pretrain_loss = history.history["loss"][-1]
    pretrain_seconds = time.time() - start

    if args.label_fraction < 1:
        train = label_subset(train, args.label_fraction, seed=args.seed)
    classifier = SkeletonClassifier(backbone, num_classes=data.num_classes,
                                    num_strl_layers=args.strl_layers, dropout=0.3,
                                    seed=args.seed)
    labeled = SkeletonDataset(train, args.batch_size, FRAMES, 1, transform=augmentation,
                              shuffle=True, seed=args.seed)
    compile_classifier(classifier, args, len(labeled))
    clips_test = test.to_clips(FRAMES, 1, args.test_clips, transform=test_transform)
    x_test = clips_test[0]
    curve = []

    def test_top1(scores):
        return round(100 * float(np.mean(np.argmax(scores, axis=-1) == test.labels)), 1)

    class TestAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            done = epoch + 1
            if done % max(1, args.finetune_epochs // 5) == 0 or done == args.finetune_epochs:
                scores = classifier.predict(x_test, verbose=0)
                if args.scores and done == args.finetune_epochs:
                    args.scores.parent.mkdir(parents=True, exist_ok=True)
                    np.save(args.scores, scores)
                curve.append(test_top1(scores))

    history = classifier.fit(labeled, epochs=args.finetune_epochs, verbose=0,
                             callbacks=[TestAccuracy()])
    clip_top1 = (test_top1(clip_averaged_probabilities(classifier, clips_test))
                 if args.test_clips > 1 else None)
    result = {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "pretrain_loss": pretrain_loss,
              "train_accuracy": round(100 * history.history["accuracy"][-1], 1),
              "test_top1": curve[-1], "test_top1_along_the_run": curve,
              f"test_top1_{args.test_clips}_clips": clip_top1,
              "pretrain_seconds": round(pretrain_seconds),
              "finetune_seconds": round(time.time() - start - pretrain_seconds)}
    print(json.dumps(result))
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("a") as log:
        log.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    retain_freed_memory()
    main()
