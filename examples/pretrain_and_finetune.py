"""The main job: SkeletonMAE pre-training, then SSL fine-tuning, on MSR Action3D cross-subject.

1. Pre-train SkeletonMAE on the training split's skeletons, without labels.
2. Fine-tune the SSL classifier around the pre-trained encoder, and train the same classifier
   from scratch with the same budget.
   The recipe is the command line's (docs/results.md): joint coordinates embedded with their
   bone vectors (`bones=True`) and the frame-to-frame motion of both (`motion=True`), Adam 1e-3
   with cosine decay to 0, random rotation and scale of the training sequences
   (`training_transform`), 40 pre-training and 60 fine-tuning epochs.
3. Evaluate both on the test split (top-1, top-5, mean-class accuracy) and print the results
   table (also written as JSON).

    KERAS_BACKEND=jax python examples/pretrain_and_finetune.py [--quick] [--output DIR]

Data: `msr_action3d.pkl` (PYSKL layout) from `--data`, `$SKELETONMAE_DATA` or `../shared/data`.
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras

import keras_skeletonmae as ksm
from keras_skeletonmae.data import CenterOnJoint, SkeletonDataset, load_pyskl, training_transform
from keras_skeletonmae.evaluation import classification_metrics
from keras_skeletonmae.training import adam

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
LAYOUT = "kinect20"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "msr_action3d.pkl")
    parser.add_argument("--quick", action="store_true", help="a few epochs: a smoke run of minutes")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--pretrain-epochs", type=int, default=40)
    parser.add_argument("--finetune-epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("runs/main"))
    args = parser.parse_args()
    if args.quick:
        args.pretrain_epochs, args.finetune_epochs = 3, 4
    return args


def load(path, frames):
    """`(training split, test arrays)`: the training split as `SkeletonData` (augmented per
    epoch by `SkeletonDataset`), the test split as centred arrays of `frames` segment middles."""
    if not path.is_file():
        raise SystemExit(f"MSR Action3D not found at {path}: pass --data or set SKELETONMAE_DATA.")
    data, report = load_pyskl(path).repair(drop_all_zero=True)
    print(f"Loaded {path}: {len(data)} sequences; dropped all-zero: {report['all_zero']['ids']}")
    test = data.split("xsub_val").to_arrays(frames, num_persons=1, transform=CenterOnJoint(LAYOUT))
    return data.split("xsub_train"), test


def batches(train, batch_size, args, labeled=True):
    """Shuffled batches of `train`, randomly sampled, rotated and scaled anew each epoch."""
    return SkeletonDataset(train, batch_size, args.frames, 1,
                           transform=training_transform(LAYOUT, args.frames, 3), shuffle=True,
                           seed=args.seed, labeled=labeled)


def backbone(frames):
    return ksm.SkeletonMAEBackbone(
        layout=LAYOUT, num_channels=3, num_frames=frames, num_persons=1,
        embed_dim=64, num_layers=2, hidden_dim=128, motion=True, bones=True,
    )


def run(name, pretrain, train, test, args):
    x_test, y_test = test
    keras.utils.set_random_seed(args.seed)
    start = time.time()
    model_backbone = backbone(args.frames)
    pretrain_loss = None
    if pretrain:
        pretrainer = ksm.SkeletonMAEPretrainer(model_backbone, num_masked_parts=2, seed=args.seed)
        unlabeled = batches(train, 32, args, labeled=False)
        pretrainer.compile(optimizer=adam(1e-3, args.pretrain_epochs * len(unlabeled)))
        history = pretrainer.fit(unlabeled, epochs=args.pretrain_epochs, verbose=2)
        pretrain_loss = [history.history["loss"][0], history.history["loss"][-1]]
    classifier = ksm.SkeletonClassifier(model_backbone, num_classes=20, num_strl_layers=2, dropout=0.3)
    labeled = batches(train, args.batch_size, args)
    classifier.compile(optimizer=adam(1e-3, args.finetune_epochs * len(labeled)))
    classifier.fit(labeled, epochs=args.finetune_epochs, verbose=2)
    metrics = classification_metrics(classifier.predict(x_test, verbose=0), y_test, 20)
    return {
        "model": name,
        "test_accuracy": round(metrics["top1_accuracy"], 4),
        "test_top5_accuracy": round(metrics["top5_accuracy"], 4),
        "test_mean_class_accuracy": round(metrics["mean_class_accuracy"], 4),
        "pretrain_loss_first_last": pretrain_loss,
        "seconds": round(time.time() - start, 1),
    }


def main():
    args = parse_args()
    train, test = load(args.data, args.frames)
    results = [
        run("from scratch", False, train, test, args),
        run("SkeletonMAE pre-trained", True, train, test, args),
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(
        {"backend": keras.backend.backend(), "args": {k: str(v) for k, v in vars(args).items()},
         "results": results}, indent=2))
    print(f"\nMSR Action3D cross-subject, {args.finetune_epochs} fine-tuning epochs "
          f"({keras.backend.backend()} backend)")
    print(f"{'model':<26}{'test top-1':>12}{'top-5':>8}{'mean-class':>12}{'seconds':>10}")
    for r in results:
        print(f"{r['model']:<26}{r['test_accuracy']:>12.4f}{r['test_top5_accuracy']:>8.4f}"
              f"{r['test_mean_class_accuracy']:>12.4f}{r['seconds']:>10.0f}")
    print(f"Results written to {args.output / 'results.json'}")


if __name__ == "__main__":
    main()
