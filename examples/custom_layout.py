"""A skeleton layout of your own: define it, register it, convert data to it, train on it.

The layout `kinect15` is derived from MSR Action3D's 20 Kinect v1 joints (layout `kinect20`):
the hands, feet and spine are dropped (Kinect v1 tracks hands and feet poorly) and the 15 joints
left are re-ordered from the centre outwards. The example

1. defines it with `SkeletonLayout` (joints, bones as (child, parent), centre joint, six body
   parts) and registers it with `register_layout`, so the name works wherever a layout does;
2. converts MSR Action3D to it by selecting the joints' columns of every sequence's keypoints;
3. pre-trains SkeletonMAE on the training split's skeletons (no labels), fine-tunes the SSL
   classifier around the pre-trained encoder and evaluates it on the cross-subject test split;
4. saves the backbone and the classifier with `save_to_preset` and reloads both with
   `from_preset`, checking that they come back with the `kinect15` layout and the same outputs.

    KERAS_BACKEND=jax python examples/custom_layout.py [--quick] [--output DIR]

A preset of a registered layout stores the layout's name: register the layout (run the same
`register_layout` call) before `from_preset` in another process.

Data: `msr_action3d.pkl` (PYSKL layout) from `--data`, `$SKELETONMAE_DATA` or `../shared/data`.
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

import keras_skeletonmae as ksm
from keras_skeletonmae.data import CenterOnJoint, SkeletonData, load_skeletons
from keras_skeletonmae.training import usable_split

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

# The new layout, by joint name (the names are kinect20's, so the conversion can look them up).
JOINTS = [
    "hip_center", "shoulder_center", "head",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_hip", "left_knee", "left_ankle",
    "right_hip", "right_knee", "right_ankle",
]
BONES = [  # (child, parent): the child is the joint farther from the centre
    ("shoulder_center", "hip_center"), ("head", "shoulder_center"),
    ("left_shoulder", "shoulder_center"), ("left_elbow", "left_shoulder"),
    ("left_wrist", "left_elbow"),
    ("right_shoulder", "shoulder_center"), ("right_elbow", "right_shoulder"),
    ("right_wrist", "right_elbow"),
    ("left_hip", "hip_center"), ("left_knee", "left_hip"), ("left_ankle", "left_knee"),
    ("right_hip", "hip_center"), ("right_knee", "right_hip"), ("right_ankle", "right_knee"),
]
PARTS = {  # six parts that partition the joints; SkeletonMAE masks whole parts
    "head": ["shoulder_center", "head"],
    "torso": ["hip_center", "left_shoulder", "right_shoulder", "left_hip", "right_hip"],
    "left_arm": ["left_elbow", "left_wrist"],
    "right_arm": ["right_elbow", "right_wrist"],
    "left_leg": ["left_knee", "left_ankle"],
    "right_leg": ["right_knee", "right_ankle"],
}


def make_layout():
    index = {name: i for i, name in enumerate(JOINTS)}
    return ksm.SkeletonLayout(
        name="kinect15",
        joint_names=JOINTS,
        edges=[(index[child], index[parent]) for child, parent in BONES],
        parts={part: [index[j] for j in joints] for part, joints in PARTS.items()},
        center=index["hip_center"],
    )


def convert(data, layout):
    """`data` (any layout whose joint names include the new layout's) in the new layout: each
    sequence's keypoints `[M, T, V, C]` (and scores) restricted to the new joints, in its order."""
    source = ksm.get_layout(data.layout)
    columns = [source.joint_names.index(name) for name in layout.joint_names]
    return SkeletonData(
        keypoints=[k[:, :, columns] for k in data.keypoints],
        scores=None if data.scores is None else [s[:, :, columns] for s in data.scores],
        labels=data.labels, ids=data.ids, class_names=data.class_names, layout=layout.name,
        splits=data.splits, source=data.source,
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "msr_action3d.pkl")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("runs/custom_layout"))
    args = parser.parse_args()
    if args.quick:
        args.frames, args.pretrain_epochs, args.finetune_epochs = 16, 2, 3
    return args


def max_difference(a, b):
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


def main():
    args = parse_args()
    if not args.data.is_file():
        raise SystemExit(f"MSR Action3D not found at {args.data}: pass --data or set "
                         "SKELETONMAE_DATA.")
    layout = ksm.register_layout(make_layout(), overwrite=True)
    print(f"Registered {layout}: centre '{layout.joint_names[layout.center]}', parts "
          f"{list(layout.part_names)}")

    data = convert(load_skeletons(args.data), layout)
    center = CenterOnJoint(layout.name)
    x, y = usable_split(data, "xsub_train").to_arrays(args.frames, 1, transform=center)
    x_test, y_test = usable_split(data, "xsub_val").to_arrays(args.frames, 1, transform=center)
    print(f"Converted {args.data.name} to '{layout.name}': train {x.shape}, test {x_test.shape}")

    keras.utils.set_random_seed(args.seed)
    start = time.time()
    backbone = ksm.SkeletonMAEBackbone(layout=layout.name, num_channels=x.shape[-1],
                                       num_frames=args.frames, num_persons=1,
                                       embed_dim=64, num_layers=2, hidden_dim=128)
    pretrainer = ksm.SkeletonMAEPretrainer(backbone, num_masked_parts=2, seed=args.seed)
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    losses = pretrainer.fit(x, epochs=args.pretrain_epochs, batch_size=32,
                            verbose=2).history["loss"]
    classifier = ksm.SkeletonClassifier(backbone, num_classes=data.num_classes,
                                        num_strl_layers=2, dropout=0.3, seed=args.seed)
    classifier.fit(x, y, epochs=args.finetune_epochs, batch_size=16, verbose=2)
    accuracy = float(classifier.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
    seconds = time.time() - start

    # Save, reload, compare: the presets name the registered layout.
    args.output.mkdir(parents=True, exist_ok=True)
    backbone_dir, classifier_dir = args.output / "backbone", args.output / "classifier"
    backbone.save_to_preset(backbone_dir, metadata={"data": f"{args.data.name} in {layout.name}"})
    classifier.save_to_preset(classifier_dir)
    reloaded_backbone = ksm.SkeletonMAEBackbone.from_preset(backbone_dir)
    reloaded_classifier = ksm.SkeletonClassifier.from_preset(classifier_dir)
    sample = x_test[:8]
    backbone_difference = max_difference(backbone.predict(sample, verbose=0),
                                         reloaded_backbone.predict(sample, verbose=0))
    classifier_difference = max_difference(classifier.predict(sample, verbose=0),
                                           reloaded_classifier.predict(sample, verbose=0))
    if reloaded_backbone.layout != layout or reloaded_classifier.backbone.layout != layout:
        raise SystemExit("The reloaded preset does not have the registered layout.")

    results = {
        "backend": keras.backend.backend(),
        "layout": layout.get_config(),
        "train_shape": list(x.shape), "test_shape": list(x_test.shape),
        "pretrain_loss_first_last": [float(losses[0]), float(losses[-1])],
        "finetune_epochs": args.finetune_epochs,
        "test_accuracy": round(accuracy, 4),
        "seconds": round(seconds, 1),
        "saved_backbone": str(backbone_dir), "saved_classifier": str(classifier_dir),
        "reloaded_layout": reloaded_backbone.layout.name,
        "reload_max_abs_difference": {"backbone": backbone_difference,
                                      "classifier": classifier_difference},
    }
    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nLayout '{layout.name}' ({layout.num_joints} joints) on MSR Action3D cross-subject "
          f"({keras.backend.backend()} backend)")
    print(f"pre-training loss      {losses[0]:.4f} -> {losses[-1]:.4f} "
          f"({args.pretrain_epochs} epochs)")
    print(f"test top-1             {accuracy:.4f} ({args.finetune_epochs} fine-tuning epochs, "
          f"{seconds:.0f} s)")
    print(f"reloaded presets       layout '{reloaded_backbone.layout.name}', max |difference| "
          f"backbone {backbone_difference:.2e}, classifier {classifier_difference:.2e}")
    print(f"Results written to {args.output / 'results.json'}")


if __name__ == "__main__":
    main()
