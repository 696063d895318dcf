"""The paper's ablations on MSR Action3D cross-subject, run through the command line.

Every cell changes one thing of the protocol's recipe (`protocols.py`: T = 32, D = 64, 2 GIN
layers of width 128, bones and motion embedded, 2 STRL layers, dropout 0.3, fine-tuning Adam 2e-3,
cosine learning rates, rotation and scale augmentation), pre-trains SkeletonMAE on `xsub_train`'s skeletons and fine-tunes the classifier
on all its labels; the score is test top-1 on `xsub_val`.

- masking policy: 1 to 4 random body parts per sequence (the recipe: 2); the paper's fixed
  right arm + right leg; random joints instead of parts, at the joint count that 2 random parts
  mask on average (`round(2 V / P)`, 7 of 20 on kinect20); parts drawn per frame, not per
  sequence;
- GIN encoder depth 1 to 4 (the recipe: 2);
- STRL depth 1 to 4 (the recipe: 2), fine-tuned from the recipe's pre-training;
- reconstruction target: the fixed coordinates (the recipe) or the paper's embedding target;
- no pre-training, for reference.

    KERAS_BACKEND=tensorflow python benchmarks/ablations.py [--seeds 1] [--pretrain-epochs 40]
        [--finetune-epochs 30] [--cells TEXT ...] [--output runs/ablations]

Writes `results.json` and `results.md` (one row per cell, mean and std over seeds, seconds).
Run folders are reused, so an interrupted run continues where it stopped.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import ARCHITECTURE, CLASSIFIER, DATA_DIR, FINETUNE, PRETRAIN, run_once  # noqa: E402

from keras_skeletonmae.layouts import get_layout  # noqa: E402


def cells():
    """`{name: (group, architecture options, pre-training options or None (no pre-training),
    fine-tuning options)}`; the options replace the recipe's."""
    layout = get_layout("kinect20")
    matched_joints = round(2 * layout.num_joints / layout.num_parts)
    table = {"recipe: 2 random parts, GIN 2, STRL 2, coordinates": ("recipe", [], [], [])}
    for parts in (1, 3, 4):
        name = f"{parts} random part" + ("s" if parts > 1 else "")
        table[name] = ("masking", [], ["--masked-parts", parts], [])
    table["fixed right arm + right leg"] = (
        "masking", [], ["--mask-parts", "right_arm", "right_leg"], [])
    table[f"{matched_joints} random joints, not parts"] = (
        "masking", [], ["--masked-joints", matched_joints], [])
    table["2 random parts per frame"] = ("masking", [], ["--mask-sampling", "frame"], [])
    for depth in (1, 3, 4):
        table[f"GIN depth {depth}"] = ("GIN depth", ["--gin-layers", depth], [], [])
    for depth in (1, 3, 4):
        table[f"STRL depth {depth}"] = ("STRL depth", [], [], ["--strl-layers", depth])
    table["embedding target (the paper's)"] = ("target", [], ["--target", "embedding"], [])
    table["no pre-training"] = ("reference", [], None, [])
    return table


def with_options(argv, options):
    """`argv` with each `--option value` pair of `options` replacing the one in `argv`, or
    added; a multi-valued option (`--mask-parts a b`) is added whole."""
    argv, options = [str(a) for a in argv], [str(o) for o in options]
    flags = [i for i, o in enumerate(options) if o.startswith("--")] + [len(options)]
    for start, end in zip(flags, flags[1:]):
        flag, values = options[start], options[start + 1:end]
        if flag in argv:
            argv[argv.index(flag) + 1:argv.index(flag) + 2] = values
        else:
            argv += [flag, *values]
    return argv


def slug(options):
    return "_".join(str(o).lstrip("-") for o in options) or "recipe"


def finetune_folder(output, architecture, pretrain_options, finetune_options):
    """The fine-tuning run folder of a cell (its seeds below it); `pretrain_options` None is
    no pre-training."""
    started_from = ["scratch"] if pretrain_options is None else pretrain_options
    return output / "finetune" / slug(architecture + started_from + finetune_options)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 .. N-1 (default 1)")
    parser.add_argument("--pretrain-epochs", type=int, default=40)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    parser.add_argument("--cells", nargs="+", metavar="TEXT",
                        help="only the cells whose name contains one of these")
    parser.add_argument("--output", type=Path, default=Path("runs/ablations"))
    args = parser.parse_args(argv)
    data = DATA_DIR / "msr_action3d.pkl"
    if not data.exists():
        sys.exit(f"{data} is absent (set SKELETONMAE_DATA to the shared/data folder).")
    started = time.time()
    rows = []
    for name, (group, architecture, pretrain_options, finetune_options) in cells().items():
        if args.cells and not any(text in name for text in args.cells):
            continue
        scores, seconds = [], 0.0
        model = with_options(ARCHITECTURE, architecture)
        for seed in range(args.seeds):
            log = []
            finetune = with_options(
                ["finetune", "--data", data, "--train-split", "xsub_train", "--val-split",
                 "xsub_val", *model, *CLASSIFIER, *FINETUNE, "--epochs", args.finetune_epochs,
                 "--seed", seed], finetune_options)
            if pretrain_options is not None:
                # One pre-training per distinct architecture and options (the STRL cells share
                # the recipe's).
                pretrained = args.output / "pretrain" / slug(architecture + pretrain_options)
                pretrained = pretrained / f"seed{seed}"
                _, spent = run_once(pretrained, [
                    "pretrain", "--data", data, "--split", "xsub_train", *model, *PRETRAIN,
                    "--epochs", args.pretrain_epochs, "--seed", seed, *pretrain_options], log)
                seconds += spent
                finetune += ["--preset", pretrained / "preset"]
            folder = finetune_folder(args.output, architecture, pretrain_options,
                                     finetune_options)
            results, spent = run_once(folder / f"seed{seed}", finetune, log)
            seconds += spent
            scores.append(100 * results["evaluation"]["top1_accuracy"])
        rows.append({"group": group, "cell": name, "top1": scores,
                     "mean": float(np.mean(scores)),
                     "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else None,
                     "seconds": round(seconds, 1)})
        write(args, rows, time.time() - started)
    print((args.output / "results.md").read_text())


def write(args, rows, elapsed):
    args.output.mkdir(parents=True, exist_ok=True)
    summary = {"seeds": args.seeds, "pretrain_epochs": args.pretrain_epochs,
               "finetune_epochs": args.finetune_epochs, "rows": rows,
               "seconds": round(elapsed, 1)}
    (args.output / "results.json").write_text(json.dumps(summary, indent=2))
    lines = [f"MSR Action3D xsub, fine-tuned top-1 % ({args.seeds} seed(s); "
             f"{args.pretrain_epochs} pre-training / {args.finetune_epochs} fine-tuning epochs)",
             "", "| ablation | cell | top-1 | seconds |", "|---|---|---|---|"]
    for row in rows:
        spread = f" ± {row['std']:.1f}" if row["std"] is not None else ""
        lines.append(f"| {row['group']} | {row['cell']} | {row['mean']:.1f}{spread} | "
                     f"{row['seconds']} |")
    lines += ["", f"Wall-clock of this invocation: {elapsed:.0f} s."]
    (args.output / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
