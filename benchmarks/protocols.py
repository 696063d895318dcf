"""The field's evaluation protocols for SkeletonMAE, run through the command line's functions.

For each selected set (MSR Action3D cross-subject; JHMDB splits 1-3) and seed, every cell is a
`skeletonmae` command run in-process (`keras_skeletonmae.cli.main`), with one recipe and one
budget for all of them (T = 32, D = 64, 2 GIN layers of width 128, joint coordinates embedded
with their bone vectors and the motion of both, 2 STRL layers, dropout 0.3; pre-training Adam
1e-3 batch 32; fine-tuning Adam 2e-3 batch 16; the command line's defaults: cosine decay of the
learning rate, random rotation and scale of the training sequences, for pre-training and
fine-tuning alike):

- `scratch_full`      the SSL classifier from scratch, all training labels;
- `pretrained_full`   SkeletonMAE pre-trained on the training split's skeletons (labels unused),
                      then fine-tuned, all training labels;
- `scratch_10`, `pretrained_10`   the same two with 10% of the labels (`--label-fraction 0.1`:
                      class-balanced, drawn with the cell's seed);
- `linear`            linear evaluation of the frozen pre-trained encoder, all labels;
- `transfer_full`, `transfer_10` (JHMDB only, when both sets are selected) pre-trained on MSR
                      Action3D's skeletons seen as 2D (x and image-down y, scaled to JHMDB's
                      body height; every MSR sequence, labels unused), fine-tuned on JHMDB
                      (`--transfer-splits`, default split 1 only).

One pre-training run per (set, split, seed) serves every cell that needs it. Each cell reports
top-1 (and mean-class) accuracy on the test split after its last epoch (the test split is
also the validation split, evaluated every VALIDATE_EVERY epochs for the training curves,
never used to pick an epoch) as mean and standard deviation (ddof = 1)
over seeds; JHMDB also gets the mean over its splits. Per-run and total wall-clock times are
recorded. A run folder that already holds `results.json` is reused, so an interrupted protocol
continues where it stopped when run again with the same options.

    KERAS_BACKEND=jax python benchmarks/protocols.py [--sets msr jhmdb] [--seeds 3]
        [--jhmdb-splits 1 2 3] [--transfer-splits 1] [--transfer-seeds N] [--transfer-only]
        [--pretrain-epochs N] [--finetune-epochs N] [--low-label-epochs N] [--quick]
        [--jobs 2] [--output runs/protocols]

`--jobs 2` runs two (set, split, seed) groups at once, each in its own spawned process; stopping
the script leaves running workers alive (kill them with `pkill -f multiprocessing.spawn`).

Writes `results.json` (every run, every cell, timings, targets) and `results.md` (tables).
"""

import argparse
import json
import os
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("SKELETONMAE_DATA", REPO.parent / "shared" / "data"))

SETS = {
    "msr": dict(file="msr_action3d.pkl", title="MSR Action3D, cross-subject (3D, kinect20)",
                splits={"xsub": ("xsub_train", "xsub_val")}),
    "jhmdb": dict(file="jhmdb_2d.pkl", title="JHMDB GT 2D poses (jhmdb15, 14 classes)",
                  splits={"1": ("train1", "test1"), "2": ("train2", "test2"),
                          "3": ("train3", "test3")}),
}
PROTOCOLS = {
    "scratch_full": "from scratch, 100% labels",
    "pretrained_full": "pre-trained + fine-tuned, 100% labels",
    "scratch_10": "from scratch, 10% labels",
    "pretrained_10": "pre-trained + fine-tuned, 10% labels",
    "linear": "linear evaluation of the pre-trained encoder, 100% labels",
    "transfer_full": "pre-trained on MSR (as 2D), fine-tuned, 100% labels",
    "transfer_10": "pre-trained on MSR (as 2D), fine-tuned, 10% labels",
}
ARCHITECTURE = ["--frames", "32", "--embed-dim", "64", "--gin-layers", "2", "--hidden-dim", "128",
                "--motion", "--bones"]
CLASSIFIER = ["--strl-layers", "2", "--dropout", "0.3"]
PRETRAIN = ["--learning-rate", "1e-3", "--batch-size", "32"]
FINETUNE = ["--learning-rate", "2e-3", "--batch-size", "16"]
# Fine-tuning at 2e-3 rather than the command line's 1e-3: at 40 epochs the classifier underfits
# (train accuracy 77% at 1e-3), and 2e-3 gave 79.9 / 76.9 vs 74.0 / 78.0 (seeds 0 / 1, MSR from
# scratch, docs/results.md).
# Sized for the 90 minutes allowed for the full protocol (both sets, all splits, 3 seeds,
# transfer on JHMDB split 1 with 3 seeds) on a 2-core CPU with `--jobs 2`: on a Zen 3 without
# AVX-512 (JAX, compilation cache) it took 89.9 min (docs/results.md, protocol v5); v4's 40 / 40
# / 150 would take about 2 hours there. The 10% cells see a tenth of the sequences per epoch,
# so they get more epochs (the same for scratch and pre-trained).
# Validation runs every VALIDATE_EVERY epochs (and after the last, which is the reported
# evaluation): on the 10% cells, validating every epoch cost more than training.
DEFAULT_PRETRAIN_EPOCHS = 30
DEFAULT_FINETUNE_EPOCHS = 30
DEFAULT_LOW_LABEL_EPOCHS = 100
VALIDATE_EVERY = 10
# The protocol restarts an interrupted cell (it does not resume one), so a checkpoint every 10
# epochs is plenty; each costs about 0.1 s, a fifth of a 10%-cell epoch.
CHECKPOINT_EVERY = 10
QUICK_EPOCHS = 1


def skeletonmae(argv):
    """One `skeletonmae` command, in this process; its wall-clock seconds."""
    from keras_skeletonmae import cli

    import keras

    keras.backend.clear_session()
    start = time.time()
    status = cli.main([str(a) for a in argv])
    if status:
        raise RuntimeError(f"skeletonmae {' '.join(map(str, argv))} exited with {status}")
    return time.time() - start


def run_once(folder, argv, log):
    """Run `argv` with `--output folder` unless `folder` already holds its results; returns
    `(results, seconds)` and logs the command."""
    folder = Path(folder)
    argv = [*argv, "--output", folder]
    timing = folder / "protocol_timing.json"
    command = "skeletonmae " + " ".join(map(str, argv))
    if (folder / "results.json").exists() and timing.exists():
        saved = json.loads(timing.read_text())
        if saved["command"] != command:
            raise SystemExit(f"{folder} holds a run of another command ({saved['command']}); "
                             "use another --output for another budget.")
        seconds = saved["seconds"]
        log.append({"command": command, "seconds": seconds, "reused": True})
    else:
        if folder.exists():  # an interrupted run: start it again
            import shutil

            shutil.rmtree(folder)
        print(f"\n>>> {command}", flush=True)
        seconds = skeletonmae(argv)
        timing.write_text(json.dumps({"seconds": round(seconds, 2), "command": command}))
        log.append({"command": command, "seconds": round(seconds, 2), "reused": False})
    return json.loads((folder / "results.json").read_text()), seconds


def msr_as_2d(output):
    """MSR Action3D as 2D poses like JHMDB's: (x, -y) (JHMDB's y points down), scaled so the
    median body height matches JHMDB's; a PYSKL pickle under `output`."""
    path = Path(output) / "msr_action3d_xy.pkl"
    if path.exists():
        return path
    with open(DATA_DIR / "msr_action3d.pkl", "rb") as f:
        msr = pickle.load(f)
    with open(DATA_DIR / "jhmdb_2d.pkl", "rb") as f:
        jhmdb = pickle.load(f)

    def median_height(annotations, up):
        heights = [np.median(np.ptp(a["keypoint"][0, :, :, 1], axis=1)) for a in annotations
                   if np.any(a["keypoint"])]
        return float(np.median(heights))

    scale = median_height(jhmdb["annotations"], 1) / median_height(msr["annotations"], 1)
    annotations = []
    for a in msr["annotations"]:
        xy = a["keypoint"][..., :2] * np.array([scale, -scale], dtype="float32")
        annotations.append({**a, "keypoint": xy.astype("float32"),
                            "keypoint_score": np.ones(xy.shape[:-1], dtype="float32")})
    meta = {k: v for k, v in msr["meta"].items()}
    meta["note"] = (f"MSR Action3D (x, -y) * {scale:.4f}, written by benchmarks/protocols.py "
                    "for the MSR -> JHMDB transfer protocol")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"split": msr["split"], "annotations": annotations, "meta": meta}, f)
    return path


def cpu_model():
    """The processor's name and its widest vector extension (Linux; else what `platform` says).
    The same "2-core machine" has come with different processors, 3-4x apart in speed."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags", "").split()
    vector = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "no avx2"
    return (f"{fields.get('model name', platform.processor())} "
            f"(family {fields.get('cpu family', '?')}, {vector})")


def summarize(values):
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "n": len(values), "values": values}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=["msr", "jhmdb"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (default 3)")
    parser.add_argument("--jhmdb-splits", nargs="+", choices=["1", "2", "3"],
                        default=["1", "2", "3"])
    parser.add_argument("--pretrain-epochs", type=int)
    parser.add_argument("--finetune-epochs", type=int)
    parser.add_argument("--low-label-epochs", type=int,
                        help=f"epochs of the 10%% cells (default {DEFAULT_LOW_LABEL_EPOCHS})")
    parser.add_argument("--transfer-splits", nargs="+", choices=["1", "2", "3"], default=["1"],
                        help="JHMDB splits the MSR -> JHMDB transfer cells run on (default 1)")
    parser.add_argument("--transfer-seeds", type=int,
                        help="seeds of the transfer cells (default: --seeds)")
    parser.add_argument("--no-transfer", action="store_true",
                        help="skip the MSR -> JHMDB transfer cells")
    parser.add_argument("--transfer-only", action="store_true",
                        help="run only the MSR -> JHMDB transfer cells (needs both sets)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke budget: {QUICK_EPOCHS} epoch(s) everywhere")
    parser.add_argument("--jobs", type=int, default=1,
                        help="(set, split, seed) groups run at once, each in its own process")
    parser.add_argument("--output", type=Path, default=Path("runs/protocols"))
    args = parser.parse_args(argv)
    pretrain_epochs = args.pretrain_epochs or (QUICK_EPOCHS if args.quick
                                               else DEFAULT_PRETRAIN_EPOCHS)
    finetune_epochs = args.finetune_epochs or (QUICK_EPOCHS if args.quick
                                               else DEFAULT_FINETUNE_EPOCHS)
    low_label_epochs = args.low_label_epochs or (QUICK_EPOCHS if args.quick
                                                 else DEFAULT_LOW_LABEL_EPOCHS)
    epoch_budget = (finetune_epochs, low_label_epochs)
    seeds = list(range(args.seeds))
    for name in args.sets:
        if not (DATA_DIR / SETS[name]["file"]).exists():
            sys.exit(f"{DATA_DIR / SETS[name]['file']} is absent (set SKELETONMAE_DATA to the "
                     "shared/data folder).")
    transfer = "msr" in args.sets and "jhmdb" in args.sets and not args.no_transfer
    if args.transfer_only and not transfer:
        parser.error("--transfer-only needs --sets msr jhmdb (and no --no-transfer)")

    output = args.output
    output.mkdir(parents=True, exist_ok=True)
    # Every cell compiles the same few XLA programs; JAX's persistent compilation cache keeps them
    # across commands and worker processes (the first epoch of an MSR fine-tune: 8 s instead of
    # 23 s here). Read by JAX when it is imported, in this process or a spawned worker.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(output.resolve() / "jax_cache"))
    started = time.time()
    runs = []  # one row per command
    accuracy = {}  # (set, split, protocol) -> {seed: evaluation}

    pretrain_common = [*ARCHITECTURE, *PRETRAIN, "--epochs", pretrain_epochs,
                       "--checkpoint-every", CHECKPOINT_EVERY]
    finetune_common = [*ARCHITECTURE, *CLASSIFIER, *FINETUNE, "--validate-every", VALIDATE_EVERY,
                       "--checkpoint-every", CHECKPOINT_EVERY]
    groups = []  # (set, split, seed) groups, each an independent list of commands
    for name in [] if args.transfer_only else args.sets:
        splits = SETS[name]["splits"] if name != "jhmdb" else {
            k: v for k, v in SETS[name]["splits"].items() if k in args.jhmdb_splits}
        groups += [(run_set_group, (output, name, split, seed, pretrain_common, finetune_common,
                                    epoch_budget)) for split in splits for seed in seeds]
    if transfer:
        source = msr_as_2d(output / "transfer")
        groups += [(run_transfer_group, (output, source, args.transfer_splits, seed,
                                         pretrain_common, finetune_common, epoch_budget))
                   for seed in range(args.transfer_seeds or args.seeds)]

    def collect(log):
        runs.extend(log)
        for row in log:
            if "top1" in row:
                accuracy.setdefault((row["set"], row["split"], row["protocol"]), {})[
                    row["seed"]] = row.pop("evaluation")
        write_outputs(output, args, pretrain_epochs, epoch_budget, seeds, runs, accuracy,
                      started, final=False)

    if args.jobs == 1:
        for function, arguments in groups:
            collect(function(*arguments))
    else:
        import concurrent.futures
        import multiprocessing

        # Each group in a fresh process (spawned: no state shared with this one; one group per
        # process, since a process that ran many commands held 3-9 GB): XLA compiles on one
        # core, so two groups at once keep both cores busy. Stopping this script does not stop
        # running workers: kill them too (`pkill -f multiprocessing.spawn`).
        with concurrent.futures.ProcessPoolExecutor(
                args.jobs, mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=1) as pool:
            for future in concurrent.futures.as_completed(
                    [pool.submit(function, *arguments) for function, arguments in groups]):
                collect(future.result())
    summary = write_outputs(output, args, pretrain_epochs, epoch_budget, seeds, runs,
                            accuracy, started, final=True)
    print((output / "results.md").read_text())
    return summary


def _finetune_cell(folder, protocol, argv, key, seed, log):
    """Run one fine-tuning / linear cell and add its row (with its evaluation) to `log`."""
    results, _ = run_once(folder, argv, log)
    evaluation = results["evaluation"]
    log[-1].update(set=key[0], split=key[1], protocol=protocol, seed=seed,
                   top1=evaluation["top1_accuracy"],
                   mean_class=evaluation["mean_class_accuracy"],
                   train_sequences=results["train_sequences"], evaluation=evaluation)


def _epochs(fraction, epoch_budget):
    return ["--epochs", epoch_budget[0] if fraction == 1 else epoch_budget[1]]


def run_set_group(output, name, split, seed, pretrain_common, finetune_common, epoch_budget):
    """Pre-training, then every cell, for one (set, split, seed); returns the log rows."""
    data = DATA_DIR / SETS[name]["file"]
    train, test = SETS[name]["splits"][split]
    folder = output / name / split / f"seed{seed}"
    log = []
    results, _ = run_once(folder / "pretrain", ["pretrain", "--data", data, "--split", train,
                                                *pretrain_common, "--seed", seed], log)
    log[-1].update(set=name, split=split, protocol="pretrain", seed=seed,
                   final_loss=results["final_loss"])
    preset = folder / "pretrain" / "preset"
    cells = [("scratch_full", "finetune", None, 1.0),
             ("pretrained_full", "finetune", preset, 1.0),
             ("scratch_10", "finetune", None, 0.1),
             ("pretrained_10", "finetune", preset, 0.1),
             ("linear", "linear", preset, 1.0)]
    for protocol, command, start, fraction in cells:
        argv = [command, "--data", data, "--train-split", train, "--val-split", test,
                *finetune_common, *_epochs(fraction, epoch_budget), "--seed", seed,
                "--label-fraction", fraction]
        if start is not None:
            argv += ["--preset", start]
        _finetune_cell(folder / protocol, protocol, argv, (name, split), seed, log)
    return log


def run_transfer_group(output, source, splits, seed, pretrain_common, finetune_common,
                       epoch_budget):
    """Pre-training on MSR as 2D, then the transfer cells on JHMDB `splits`, for one seed."""
    folder = output / "transfer" / f"seed{seed}"
    log = []
    results, _ = run_once(folder / "pretrain_msr_xy", [
        "pretrain", "--data", source, "--layout", "kinect20", "--split", "all",
        *pretrain_common, "--seed", seed], log)
    log[-1].update(set="msr_xy", split="all", protocol="pretrain", seed=seed,
                   final_loss=results["final_loss"])
    jhmdb = DATA_DIR / SETS["jhmdb"]["file"]
    for split in splits:
        train, test = SETS["jhmdb"]["splits"][split]
        for protocol, fraction in (("transfer_full", 1.0), ("transfer_10", 0.1)):
            argv = ["finetune", "--data", jhmdb, "--train-split", train, "--val-split", test,
                    *finetune_common, *_epochs(fraction, epoch_budget), "--seed", seed,
                    "--label-fraction", fraction, "--preset", folder / "pretrain_msr_xy" / "preset"]
            _finetune_cell(folder / f"jhmdb{split}_{protocol}", protocol, argv, ("jhmdb", split),
                           seed, log)
    return log


def _cells(accuracy):
    """Mean and std over seeds per (set, split, protocol), and over splits x seeds per set."""
    cells = {}
    for (name, split, protocol), by_seed in sorted(accuracy.items()):
        cells[f"{name}/{split}/{protocol}"] = {
            "set": name, "split": split, "protocol": protocol, "seeds": sorted(by_seed),
            "top1": summarize([by_seed[s]["top1_accuracy"] for s in sorted(by_seed)]),
            "mean_class": summarize([by_seed[s]["mean_class_accuracy"] for s in sorted(by_seed)]),
        }
    for name in sorted({k[0] for k in accuracy}):
        splits = sorted({k[1] for k in accuracy if k[0] == name})
        if len(splits) < 2:
            continue
        for protocol in PROTOCOLS:
            keys = [(name, s, protocol) for s in splits if (name, s, protocol) in accuracy]
            if len(keys) != len(splits):
                continue
            per_split = [float(np.mean([e["top1_accuracy"] for e in accuracy[k].values()]))
                         for k in keys]
            cells[f"{name}/mean/{protocol}"] = {
                "set": name, "split": "mean", "protocol": protocol, "splits": splits,
                # mean over splits of the seed means; std of the per-split means
                "top1": summarize(per_split),
                "top1_all_runs": summarize([e["top1_accuracy"] for k in keys
                                            for e in accuracy[k].values()]),
            }
    return cells


def _targets(cells):
    """The issue's targets, checked on the cells that ran."""
    targets = []
    msr = cells.get("msr/xsub/pretrained_full")
    if msr:
        targets.append({"target": "MSR fine-tuned (pre-trained, 100% labels) top-1 >= 88%",
                        "value": msr["top1"]["mean"], "met": msr["top1"]["mean"] >= 0.88})
    for name, split in (("msr", "xsub"), ("jhmdb", "mean"), ("jhmdb", "1")):
        low = (cells.get(f"{name}/{split}/pretrained_10"), cells.get(f"{name}/{split}/scratch_10"))
        full = (cells.get(f"{name}/{split}/pretrained_full"),
                cells.get(f"{name}/{split}/scratch_full"))
        if name == "jhmdb" and split == "1" and "jhmdb/mean/pretrained_10" in cells:
            continue
        if all(low):
            gap = low[0]["top1"]["mean"] - low[1]["top1"]["mean"]
            spread = max(low[0]["top1"]["std"], low[1]["top1"]["std"])
            targets.append({
                "target": f"{name} ({split}) 10% labels: pre-trained beats scratch by >= 3 points "
                          "beyond one std (gap >= 0.03 + larger std)",
                "value": gap, "std": spread, "met": gap >= 0.03 + spread})
        if all(full):
            gap = full[0]["top1"]["mean"] - full[1]["top1"]["mean"]
            spread = max(full[0]["top1"]["std"], full[1]["top1"]["std"])
            targets.append({
                "target": f"{name} ({split}) 100% labels: pre-trained does not lose to scratch "
                          "(mean gap >= 0)", "value": gap, "std": spread, "met": gap >= 0,
                "within_one_std": gap >= -spread})
    return targets


def write_outputs(output, args, pretrain_epochs, finetune_epochs, seeds, runs, accuracy,
                  started, final):
    import keras

    cells = _cells(accuracy)
    seconds_by_cell = {}
    for row in runs:
        key = f"{row['set']}/{row['split']}/{row['protocol']}"
        seconds_by_cell[key] = seconds_by_cell.get(key, 0.0) + row["seconds"]
    for key, cell in cells.items():
        cell["seconds"] = round(seconds_by_cell.get(key, 0.0), 1)
    summary = {
        "complete": final,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "budget": {"pretrain_epochs": pretrain_epochs, "finetune_epochs": finetune_epochs[0],
                   "low_label_epochs": finetune_epochs[1],
                   "seeds": seeds, "architecture": ARCHITECTURE, "classifier": CLASSIFIER,
                   "pretrain": PRETRAIN, "finetune": FINETUNE},
        "machine": {"backend": keras.backend.backend(), "keras": keras.__version__,
                    "cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform()},
        "data_dir": str(DATA_DIR),
        "cells": cells,
        "pretraining_seconds": {f"{r['set']}/{r['split']}/seed{r['seed']}": r["seconds"]
                                for r in runs if r["protocol"] == "pretrain"},
        "runs": runs,
        "seconds_run_commands": round(sum(r["seconds"] for r in runs), 1),
        "seconds_this_invocation": round(time.time() - started, 1),
        "targets": _targets(cells),
    }
    (output / "results.json").write_text(json.dumps(summary, indent=2))
    (output / "results.md").write_text(markdown(summary))
    return summary


def markdown(summary):
    budget = summary["budget"]
    lines = [f"# SkeletonMAE protocols ({'complete' if summary['complete'] else 'partial'})", "",
             f"Budget: pre-training {budget['pretrain_epochs']} epochs, fine-tuning / linear "
             f"{budget['finetune_epochs']} epochs (10% cells {budget['low_label_epochs']}), "
             f"seeds {budget['seeds']}; backend "
             f"{summary['machine']['backend']}, {summary['machine']['cpus']} CPUs "
             f"({summary['machine']['cpu']}). "
             "Top-1 accuracy on the test split, mean ± std (ddof 1) over seeds; JHMDB 'mean' = "
             "mean ± std over splits of the per-split seed means.", ""]
    cells = summary["cells"]
    columns = sorted({(c["set"], c["split"]) for c in cells.values()},
                     key=lambda k: (k[0], k[1] == "mean", k[1]))
    lines.append("| protocol | " + " | ".join(f"{s} {p}" for s, p in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    for protocol, description in PROTOCOLS.items():
        row = []
        for name, split in columns:
            cell = cells.get(f"{name}/{split}/{protocol}")
            row.append("" if cell is None else
                       f"{100 * cell['top1']['mean']:.1f} ± {100 * cell['top1']['std']:.1f}")
        if any(row):
            lines.append(f"| {protocol} ({description}) | " + " | ".join(row) + " |")
    lines += ["", "Mean-class accuracy (mean ± std over seeds):", "",
              "| cell | mean-class | seconds (all seeds) |", "|---|---|---|"]
    for key, cell in cells.items():
        if "mean_class" in cell:
            lines.append(f"| {key} | {100 * cell['mean_class']['mean']:.1f} ± "
                         f"{100 * cell['mean_class']['std']:.1f} | {cell['seconds']} |")
    pretraining = summary["pretraining_seconds"]
    if pretraining:
        lines += ["", "Pre-training runs (seconds): " + ", ".join(
            f"{k} {v:.0f}" for k, v in pretraining.items())]
    lines += ["", f"Total wall-clock of the commands: {summary['seconds_run_commands']:.0f} s "
              f"({summary['seconds_run_commands'] / 60:.1f} min); this invocation "
              f"{summary['seconds_this_invocation']:.0f} s.", "", "Targets:", ""]
    for target in summary["targets"]:
        value = target["value"]
        shown = (f"gap {100 * value:+.1f} points (larger std {100 * target['std']:.1f})"
                 if "std" in target else f"{100 * value:.1f}%")
        lines.append(f"- {target['target']}: {shown} -> "
                     f"{'MET' if target['met'] else 'NOT MET'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
