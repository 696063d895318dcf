"""The semi-supervised protocol on MSR Action3D: pre-train on all, fine-tune on a few labels.

1. Pre-train SkeletonMAE once on every `xsub_train` skeleton, without labels, and save the
   pre-trained backbone as a preset.
2. For each label fraction in `--fractions`, keep a class-balanced subset of the labelled
   training sequences (`label_subset(train, fraction, seed)`: `round(fraction * n_c)` of each
   class c, at least one) and train the SSL classifier on it twice with the same budget (the same
   number of epochs and batch size): from scratch, and around a fresh copy of the pre-trained
   encoder (`SkeletonClassifier.from_preset`).
3. Evaluate both on `xsub_val` and print the table (also written as `results.json`).

    KERAS_BACKEND=jax python examples/semi_supervised.py [--quick] [--fractions F ...] [--output DIR]

Default fractions: 0.1 and 1.0. MSR Action3D has only 9 to 15 training sequences per class, so
1% is one sequence per class (20 of 284), 10% one or two (33 sequences), and 1.0 is the fully
supervised reference. The budget is the same number of epochs for every fraction, so smaller
fractions take fewer optimiser steps. `--quick` (2 pre-training and 3 fine-tuning epochs of 16
frames) runs only the fraction 0.1 unless `--fractions` is given: each extra fraction adds two
model compilations (about 20 s each on a 2-core CPU).

Recipe (as examples/pretrain_and_finetune.py): kinect20, T = 32 frames, one person, D = 64,
2 GIN layers of hidden width 128, 2 STRL layers, dropout 0.3; Adam 1e-3 and batch 32 for
pre-training, the classifier's default Adam 1e-3 and batch 16 for fine-tuning.

Data: `msr_action3d.pkl` (PYSKL layout) from `--data`, `$SKELETONMAE_DATA` or `../shared/data`.
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras

import keras_skeletonmae as ksm
from keras_skeletonmae.data import CenterOnJoint, label_subset, load_skeletons
from keras_skeletonmae.training import usable_split

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
LAYOUT = "kinect20"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "msr_action3d.pkl")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--fractions", type=float, nargs="+",
                        help="label fractions in (0, 1]; default 0.1 1.0 (0.1 with --quick)")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="seeds the subsets and the models")
    parser.add_argument("--output", type=Path, default=Path("runs/semi_supervised"))
    args = parser.parse_args()
    if args.quick:
        args.frames, args.pretrain_epochs, args.finetune_epochs = 16, 2, 3
    if args.fractions is None:
        args.fractions = [0.1] if args.quick else [0.1, 1.0]
    if not all(0 < f <= 1 for f in args.fractions):
        parser.error(f"--fractions must lie in (0, 1], got {args.fractions}")
    return args


def new_backbone(frames):
    return ksm.SkeletonMAEBackbone(layout=LAYOUT, num_channels=3, num_frames=frames,
                                   num_persons=1, embed_dim=64, num_layers=2, hidden_dim=128)


def classifier_arguments(data, args):
    return dict(num_classes=data.num_classes, num_strl_layers=2, dropout=0.3, seed=args.seed)


def pretrain(x, args):
    """Pre-train on `x` (no labels) and save the backbone as a preset; returns its directory."""
    keras.utils.set_random_seed(args.seed)
    pretrainer = ksm.SkeletonMAEPretrainer(new_backbone(args.frames), num_masked_parts=2,
                                           seed=args.seed)
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    losses = pretrainer.fit(x, epochs=args.pretrain_epochs, batch_size=32,
                            verbose=2).history["loss"]
    preset = args.output / "pretrained_backbone"
    pretrainer.backbone.save_to_preset(preset, metadata={
        "training_data": f"{args.data.name} xsub_train ({len(x)} sequences, labels unused)"})
    return preset, [float(losses[0]), float(losses[-1])]


def finetune(preset, train, test, args):
    """Top-1 on `test` of a classifier trained on `train`, from `preset` (None: from scratch)."""
    keras.utils.set_random_seed(args.seed)
    arguments = classifier_arguments(train, args)
    if preset is None:
        classifier = ksm.SkeletonClassifier(new_backbone(args.frames), **arguments)
    else:  # a fresh copy of the pre-trained weights for every fraction
        classifier = ksm.SkeletonClassifier.from_preset(preset, **arguments)
    (x, y), (x_test, y_test) = train_arrays(train, args), test
    classifier.fit(x, y, epochs=args.finetune_epochs, batch_size=16, verbose=2)
    return float(classifier.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])


def train_arrays(data, args):
    return data.to_arrays(args.frames, num_persons=1, transform=CenterOnJoint(LAYOUT))


def main():
    args = parse_args()
    if not args.data.is_file():
        raise SystemExit(f"MSR Action3D not found at {args.data}: pass --data or set "
                         "SKELETONMAE_DATA.")
    data = load_skeletons(args.data, LAYOUT)
    train, test = usable_split(data, "xsub_train"), usable_split(data, "xsub_val")
    test_arrays = train_arrays(test, args)
    args.output.mkdir(parents=True, exist_ok=True)

    start = time.time()
    x_all, _ = train_arrays(train, args)
    preset, pretrain_loss = pretrain(x_all, args)
    print(f"Pre-trained on {len(x_all)} unlabelled sequences in {time.time() - start:.0f} s; "
          f"loss {pretrain_loss[0]:.4f} -> {pretrain_loss[1]:.4f}")

    rows = []
    for fraction in args.fractions:
        labelled = label_subset(train, fraction, seed=args.seed)
        print(f"\n--- {fraction:g} of the labels: {len(labelled)} sequences ---")
        start = time.time()
        scratch = finetune(None, labelled, test_arrays, args)
        pretrained = finetune(preset, labelled, test_arrays, args)
        rows.append({"fraction": fraction, "labelled_sequences": len(labelled),
                     "scratch_top1": round(scratch, 4), "pretrained_top1": round(pretrained, 4),
                     "seconds": round(time.time() - start, 1)})

    (args.output / "results.json").write_text(json.dumps({
        "backend": keras.backend.backend(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "train_sequences": len(train), "test_sequences": len(test),
        "pretrain_loss_first_last": pretrain_loss, "pretrained_preset": str(preset),
        "results": rows,
    }, indent=2))
    print(f"\nMSR Action3D cross-subject, test top-1 on {len(test)} sequences; pre-training "
          f"{args.pretrain_epochs} epochs on {len(train)} unlabelled, fine-tuning "
          f"{args.finetune_epochs} epochs ({keras.backend.backend()} backend)")
    print(f"{'fraction':>9}{'labelled':>10}{'scratch top-1':>15}{'pre-trained top-1':>19}")
    for r in rows:
        print(f"{r['fraction']:>9g}{r['labelled_sequences']:>10}{r['scratch_top1']:>15.4f}"
              f"{r['pretrained_top1']:>19.4f}")
    print(f"Results written to {args.output / 'results.json'}")


if __name__ == "__main__":
    main()
