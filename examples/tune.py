"""Hyperparameter search for the SSL classifier on MSR Action3D with KerasTuner.

Random search over `SkeletonClassifierHyperModel`'s space (docs/tuning.md), validated on one
training subject held out (the test subjects stay unseen), then the best model is evaluated on
the cross-subject test split and saved as a preset directory.

    KERAS_BACKEND=jax python examples/tune.py [--quick] [--preset PRESET] [--output DIR]

Data: `msr_action3d.pkl` (PYSKL layout) from `--data`, `$SKELETONMAE_DATA` or `../shared/data`.
Needs the tuner extra: pip install "keras-skeletonmae[tuner]".
"""

import argparse
import os
from pathlib import Path

from keras_skeletonmae.data import CenterOnJoint, load_pyskl
from keras_skeletonmae.tuning import SkeletonClassifierHyperModel, save_best_preset, search

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
LAYOUT = "kinect20"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "msr_action3d.pkl")
    parser.add_argument("--quick", action="store_true", help="2 trials of 2 epochs: a smoke run")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--preset", help="start every trial from this preset (e.g. a pre-trained "
                                         "backbone); its embed_dim and num_layers are kept")
    parser.add_argument("--val-subject", default="s09",
                        help="training subject held out for validation (ids are aXX_sYY_eZZ)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--directory", type=Path, default=Path("runs/tuning"),
                        help="the tuner's trial folder")
    parser.add_argument("--output", type=Path, default=Path("runs/tuned_preset"),
                        help="where the best model is saved as a preset")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 2, 2
    return args


def load(path, frames, val_subject):
    """`(train, validation, test)` arrays (the training split minus `val_subject`, that subject,
    the cross-subject test split) and the number of classes."""
    if not path.is_file():
        raise SystemExit(f"MSR Action3D not found at {path}: pass --data or set SKELETONMAE_DATA.")
    data, report = load_pyskl(path).repair(drop_all_zero=True)
    print(f"Loaded {path}: {len(data)} sequences; dropped all-zero: {report['all_zero']['ids']}")
    train = data.split("xsub_train")
    subjects = [sample_id.split("_")[1] for sample_id in train.ids]
    held_out = {i for i, subject in enumerate(subjects) if subject == val_subject}
    if not held_out:
        raise SystemExit(f"No training sample of subject '{val_subject}'; training subjects: "
                         f"{sorted(set(subjects))}.")
    kept = [i for i in range(len(train)) if i not in held_out]
    center = CenterOnJoint(LAYOUT)
    splits = [train.select(kept), train.select(sorted(held_out)), data.split("xsub_val")]
    arrays = [split.to_arrays(frames, num_persons=1, transform=center) for split in splits]
    return arrays, data.num_classes


def main():
    args = parse_args()
    ((x, y), validation, (x_test, y_test)), num_classes = load(args.data, args.frames,
                                                               args.val_subject)
    print(f"train {len(x)}, validation ({args.val_subject}) {len(validation[0])}, "
          f"test {len(x_test)} sequences")
    hypermodel = SkeletonClassifierHyperModel(
        num_classes, layout=LAYOUT, num_channels=3, num_frames=args.frames,
        num_persons=1, preset=args.preset,
    )
    tuner, best_model, best_values = search(
        hypermodel, x, y, validation_data=validation, directory=args.directory,
        max_trials=args.trials, epochs=args.epochs, seed=args.seed, verbose=2,
    )
    tuner.results_summary(num_trials=1)
    test = best_model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"Best trial: {best_values}")
    print(f"Best model's test top-1 (cross-subject): {test['accuracy']:.4f}")
    save_best_preset(best_model, best_values, args.output)
    print(f"Best model saved as a preset in {args.output}")


if __name__ == "__main__":
    main()
