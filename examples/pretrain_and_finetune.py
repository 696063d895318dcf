"""The main job: SkeletonMAE pre-training on unlabelled Kinect skeletons, then few labels.

1. Pre-train on the Kinect v1 mix, without labels: UTD-MHAD, MSRC-12 and Kinder-Gator (all of
   each) and MSR Action3D's training subjects (8,530 sequences; MSR Action3D's test subjects
   never enter it). The recipe chosen on validation subjects (docs/results.md, "Pre-training on
   the Kinect mix"): the classifier's whole trunk is the masked encoder, body parts masked over
   spans of 8 frames, one mask token per joint, no re-mask, 15 epochs. It checkpoints every
   epoch; run the job again and it resumes.
2. On MSR Action3D cross-subject with 10% of the training labels (33 sequences), for each seed:
   - the pre-trained trunk with a nearest-class-mean head (`head_init="class_means"`, no
     training: the few-label recipe chosen on validation subjects);
   - the same classifier trained from scratch (60 epochs, the command line's recipe);
   - the pre-trained trunk fine-tuned with that same recipe.
3. Evaluate each on the test split and print the table (also written as JSON).

Everything is a `keras_skeletonmae.training` call, as the command line makes them.

    KERAS_BACKEND=jax python examples/pretrain_and_finetune.py [--quick] [--output DIR]

Data: the PYSKL files in `--data-dir`, `$SKELETONMAE_DATA` or `../shared/data`.
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae import training

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
MIX = ["utd_mhad.pkl", "msrc12_gestures.pkl", "kinder_gator.pkl", "msr_action3d.pkl:xsub_train"]
ARCHITECTURE = dict(embed_dim=32, gin_layers=2, hidden_dim=64)
STRL_LAYERS = 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pretrain-data", nargs="+", default=MIX, metavar="FILE[:SPLIT]",
                        help="files in --data-dir to pre-train on (default: the Kinect mix)")
    parser.add_argument("--quick", action="store_true",
                        help="MSR Action3D's training subjects only, a few epochs, one seed: a "
                             "smoke run of minutes")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--finetune-epochs", type=int, default=60)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=Path("runs/main"))
    args = parser.parse_args(argv)
    if args.quick:
        args.pretrain_data, args.pretrain_epochs = ["msr_action3d.pkl:xsub_train"], 2
        args.finetune_epochs, args.seeds = 4, [0]
    return args


def source(data_dir, item):
    """`(path, split)` of a `FILE[:SPLIT]` item in `data_dir`."""
    name, _, split = item.partition(":")
    path = data_dir / name
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data-dir or set SKELETONMAE_DATA "
                         "(../shared/data/README.md lists the files).")
    return str(path), split or None


def run_once(protocol, folder, *args, **options):
    """`protocol(*args, folder, **options)`'s results: read from `folder` (a `Path`) when a run
    finished there, resumed from its last checkpoint when one was interrupted, else a new run."""
    if (folder / "results.json").is_file():
        return json.loads((folder / "results.json").read_text())
    resume = training.RunDirectory(folder).has_checkpoint
    return protocol(*args, folder, **options, resume=resume)


def main(argv=None):
    args = parse_args(argv)
    msr = source(args.data_dir, "msr_action3d.pkl")[0]
    pretrain_dir = args.output / "pretrain"
    start = time.time()
    sources = [source(args.data_dir, item) for item in args.pretrain_data]
    pretrained = run_once(
        training.pretrain, pretrain_dir, sources, allow_overlap=True, frames=args.frames,
        **ARCHITECTURE, strl_layers=STRL_LAYERS, encoder="trunk", mask_sampling="span",
        mask_span=8, remask=False, mask_token="joint", epochs=args.pretrain_epochs,
        batch_size=64, learning_rate=1e-3, seed=0)
    pretrain_seconds = round(time.time() - start, 1)
    common = dict(train_split="xsub_train", val_split="xsub_val",
                  label_fraction=args.label_fraction, strl_layers=STRL_LAYERS, dropout=0.3)
    arms = [  # (folder name, label, finetune options)
        ("class_mean_head", "pre-trained, class-mean head",
         dict(preset=pretrained["preset"], epochs=0, head_init="class_means")),
        ("scratch", "from scratch, fine-tuned",
         dict(frames=args.frames, **ARCHITECTURE, epochs=args.finetune_epochs)),
        ("pretrained_finetuned", "pre-trained, fine-tuned",
         dict(preset=pretrained["preset"], epochs=args.finetune_epochs)),
    ]
    results = []
    for seed in args.seeds:
        for name, label, options in arms:
            folder = args.output / f"{name}_seed{seed}"
            start = time.time()
            done = run_once(training.finetune, folder, msr, **common, **options, seed=seed)
            results.append(dict(arm=label, seed=seed, top1=done["evaluation"]["top1_accuracy"],
                                seconds=round(time.time() - start, 1)))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(
        {"backend": keras.backend.backend(), "args": {k: str(v) for k, v in vars(args).items()},
         "pretrain": {**pretrained, "seconds": pretrain_seconds}, "results": results}, indent=2))
    print(f"\nMSR Action3D cross-subject test split, {args.label_fraction:.0%} of the training "
          f"labels; pre-trained on {len(args.pretrain_data)} file(s), "
          f"{pretrained['epochs']} epochs ({keras.backend.backend()} backend)")
    print(f"{'model':<32}{'test top-1 %':>16}  seeds")
    for _, arm, _ in arms:
        scores = [100 * r["top1"] for r in results if r["arm"] == arm]
        spread = f" +- {np.std(scores, ddof=1):.1f}" if len(scores) > 1 else ""
        print(f"{arm:<32}{np.mean(scores):>10.1f}{spread:<6}  "
              f"{', '.join(f'{s:.1f}' for s in scores)}")
    print(f"Results written to {args.output / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
