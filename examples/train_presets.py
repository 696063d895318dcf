"""Train the weighted presets of the catalogue on the real sets in ../shared/data.

For each set: pre-train SkeletonMAE on the training split's skeletons (no labels) and save it as
a preset; measure a linear probe (frozen encoder) and a fine-tune from it, and a from-scratch
classifier with the same fine-tuning budget; save the fine-tuned classifier as a second preset.
Every figure in the presets' metadata.json and README.md is written by this script from what it
measured. It also writes the fixed-batch reference predictions the cross-backend test compares
against (tests/preset_references/<preset>.npz).

    KERAS_BACKEND=jax python examples/train_presets.py [--sets msr jhmdb] [--seed 0]
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

import keras_skeletonmae as ksm
from keras_skeletonmae.data import CenterOnJoint, SkeletonDataset, load_pyskl, training_transform
from keras_skeletonmae.training import adam

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SKELETONMAE_DATA", ROOT.parent / "shared" / "data"))
FRAMES = 32
ARCHITECTURE = dict(num_frames=FRAMES, num_persons=1, embed_dim=64, num_layers=2, hidden_dim=128)
CLASSIFIER = dict(num_strl_layers=2, dropout=0.3)
PRETRAIN_EPOCHS, FINETUNE_EPOCHS = 40, 60
RECIPE = dict(
    pretrain="SkeletonMAE, 2 random body parts per sequence, coordinate target (window 5), "
             f"beta 2, Adam 1e-3 with cosine decay to 0, batch 32, {PRETRAIN_EPOCHS} epochs",
    finetune="SSL classifier (2 STRL layers, dropout 0.3), Adam 1e-3 with cosine decay to 0, "
             f"label smoothing 0.1, batch 16, {FINETUNE_EPOCHS} epochs; from scratch: the same",
    linear_probe="frozen backbone, linear head on pooled encoder features, the fine-tuning "
                 "optimizer and budget",
    preprocessing=f"training: `training_transform` (one random frame in each of {FRAMES} "
                  "segments, random rotation and scale, centred on the layout's centre joint of "
                  f"the first frame); test: the {FRAMES} segment middles, centred; first person; "
                  "all-zero sequences dropped",
)
SETS = {
    "msr": dict(file="msr_action3d.pkl", layout="kinect20", channels=3, train="xsub_train",
                test="xsub_val", preset="skeletonmae_kinect20_msr",
                title="MSR Action3D (Kinect v1, 3D), cross-subject"),
    "jhmdb": dict(file="jhmdb_2d.pkl", layout="jhmdb15", channels=2, train="train1",
                  test="test1", preset="skeletonmae_jhmdb15_jhmdb",
                  title="JHMDB ground-truth 2D poses, split 1"),
}


def load(spec):
    """`(train, test arrays, all data, ids of the dropped all-zero sequences)`."""
    data, report = load_pyskl(DATA / spec["file"]).repair(drop_all_zero=True)
    test = data.split(spec["test"]).to_arrays(FRAMES, 1, transform=CenterOnJoint(spec["layout"]))
    return data.split(spec["train"]), test, data, report["all_zero"]["ids"]


def batches(train, spec, batch_size, seed, labeled=True):
    transform = training_transform(spec["layout"], FRAMES, spec["channels"])
    return SkeletonDataset(train, batch_size, FRAMES, 1, transform=transform, shuffle=True,
                           seed=seed, labeled=labeled)


def accuracy(model, test):
    return round(float(model.evaluate(*test, verbose=0, return_dict=True)["accuracy"]), 4)


def train_set(name, spec, seed):
    train, test, data, dropped = load(spec)
    num_classes = data.num_classes
    preset_dir = ROOT / "presets" / spec["preset"]
    results = {}

    keras.utils.set_random_seed(seed)
    backbone = ksm.SkeletonMAEBackbone(layout=spec["layout"], num_channels=spec["channels"], **ARCHITECTURE)
    pretrainer = ksm.SkeletonMAEPretrainer(backbone, num_masked_parts=2, seed=seed)
    unlabeled = batches(train, spec, 32, seed, labeled=False)
    pretrainer.compile(optimizer=adam(1e-3, PRETRAIN_EPOCHS * len(unlabeled)))
    start = time.time()
    losses = pretrainer.fit(unlabeled, epochs=PRETRAIN_EPOCHS, verbose=2).history["loss"]
    results["pretrain_seconds"] = round(time.time() - start, 1)
    results["pretrain_loss_first_last"] = [round(losses[0], 4), round(losses[-1], 4)]
    pretrainer.save_to_preset(preset_dir)

    def fit_classifier(model):
        labeled = batches(train, spec, 16, seed)
        model.compile(optimizer=adam(1e-3, FINETUNE_EPOCHS * len(labeled)))
        start = time.time()
        model.fit(labeled, epochs=FINETUNE_EPOCHS, verbose=2)
        return accuracy(model, test), round(time.time() - start, 1)

    keras.utils.set_random_seed(seed)
    probe = ksm.SkeletonClassifier.from_preset(preset_dir, num_classes=num_classes, freeze_backbone=True)
    results["linear_probe_accuracy"], _ = fit_classifier(probe)
    keras.utils.set_random_seed(seed)
    finetuned = ksm.SkeletonClassifier.from_preset(preset_dir, num_classes=num_classes, **CLASSIFIER)
    results["finetune_accuracy"], results["finetune_seconds"] = fit_classifier(finetuned)
    keras.utils.set_random_seed(seed)
    scratch_backbone = ksm.SkeletonMAEBackbone(layout=spec["layout"], num_channels=spec["channels"], **ARCHITECTURE)
    scratch = ksm.SkeletonClassifier(scratch_backbone, num_classes=num_classes, **CLASSIFIER)
    results["scratch_accuracy"], _ = fit_classifier(scratch)

    common = {
        "data": f"{spec['title']}: {spec['file']} from shared/data, trained on split "
                f"'{spec['train']}' ({len(train)} sequences), tested on '{spec['test']}' ({len(test[1])})",
        "dropped_all_zero": dropped,
        "recipe": RECIPE,
        "seed": seed,
        "machine": f"{os.cpu_count()} CPU cores, no GPU",
        "results": results,
        "weights": True,
    }
    pretrainer.save_to_preset(preset_dir, metadata={**common, "description": f"SkeletonMAE pre-trained on {spec['title']}"})
    classifier_dir = ROOT / "presets" / f"{spec['preset']}_classifier"
    finetuned.save_to_preset(classifier_dir, metadata={**common, "description": f"SSL classifier fine-tuned from {spec['preset']} on {spec['title']}", "class_names": data.class_names})
    for directory in (preset_dir, classifier_dir):
        write_card(directory, spec, results, classifier=directory == classifier_dir)
        write_reference(directory, spec)
    return results


def write_card(directory, spec, results, classifier):
    metadata = json.loads((directory / "metadata.json").read_text())
    what = ("the SSL classifier fine-tuned from `" + spec["preset"] + "`" if classifier
            else "SkeletonMAE pre-trained without labels")
    lines = [
        f"# {directory.name}",
        "",
        f"{what} on {spec['title']}. Layout `{spec['layout']}`, {spec['channels']} channels, "
        f"input `(batch, 1, {FRAMES}, joints, {spec['channels']})`; backbone D = 64, 2 GIN layers "
        f"(hidden 128); {metadata['parameter_count']} backbone parameters.",
        "",
        f"- Data: {metadata['data']}.",
        *[f"- {k.replace('_', ' ').capitalize()}: {v}." for k, v in RECIPE.items()],
        f"- Trained with `examples/train_presets.py` (seed {metadata['seed']}, Keras "
        f"{metadata['keras_version']}, {metadata['backend']} backend, {metadata['machine']}).",
        "",
        "Measured on the test split (top-1 accuracy, one seed):",
        "",
        "| model | test top-1 |",
        "|---|---|",
        f"| linear probe on the pre-trained encoder | {results['linear_probe_accuracy']:.4f} |",
        f"| fine-tuned from the pre-trained encoder | {results['finetune_accuracy']:.4f} |",
        f"| same classifier from scratch, same budget | {results['scratch_accuracy']:.4f} |",
        "",
        f"Pre-training took {results['pretrain_seconds']} s (loss {results['pretrain_loss_first_last'][0]} -> "
        f"{results['pretrain_loss_first_last'][1]}); fine-tuning {results['finetune_seconds']} s.",
    ]
    (directory / "README.md").write_text("\n".join(lines) + "\n")


def write_reference(directory, spec):
    """A fixed batch and this backend's outputs on it (backbone features; class scores for a
    classifier preset), for the cross-backend test."""
    rng = np.random.default_rng(0)
    x = rng.normal(scale=0.3, size=(2, 1, FRAMES, ksm.get_layout(spec["layout"]).num_joints, spec["channels"])).astype("float32")
    outputs = {"backbone": ksm.SkeletonMAEBackbone.from_preset(directory).predict(x, verbose=0)}
    if (directory / "task.json").is_file() and "Classifier" in (directory / "task.json").read_text():
        outputs["predictions"] = ksm.SkeletonClassifier.from_preset(directory).predict(x, verbose=0)
    reference = ROOT / "tests" / "preset_references"
    reference.mkdir(exist_ok=True)
    np.savez(reference / f"{directory.name}.npz", x=x, **outputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--references-only", action="store_true",
                        help="only rewrite the cross-backend references of the existing presets")
    args = parser.parse_args()
    for name in args.sets:
        spec = SETS[name]
        if args.references_only:
            for suffix in ("", "_classifier"):
                write_reference(ROOT / "presets" / f"{spec['preset']}{suffix}", spec)
        else:
            print(name, json.dumps(train_set(name, spec, args.seed)))


if __name__ == "__main__":
    main()
