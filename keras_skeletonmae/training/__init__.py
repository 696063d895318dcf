"""Training protocols as a library: what `skeletonmae pretrain`, `finetune`, `linear`,
`evaluate`, `predict` and `tune` run, as functions taking the commands' options as keyword
arguments (with the same defaults), and the pieces they are made of: run folders with
checkpoints and resuming (`RunDirectory`), the split checks, the optimizers (`adam`, the
fine-tuning recipe) and the figures.

Example:
    from keras_skeletonmae import training

    training.pretrain([("msr_action3d.pkl", "xsub_train"), "utd_mhad.pkl"], "runs/pretrain",
                      allow_overlap=True, epochs=30)
    training.finetune("msr_action3d.pkl", "runs/finetune", preset="runs/pretrain/preset",
                      train_split="xsub_train", val_split="xsub_val")
"""

from keras_skeletonmae.training.checks import check_split_overlap, usable_split
from keras_skeletonmae.training.fitting import CHECKPOINT_OPTIONS, RESUME_FREE_OPTIONS, adam
from keras_skeletonmae.training.protocols import (evaluate, finetune, linear_evaluation,
                                                  load_classifier, predict, preset_metadata,
                                                  pretrain, tune)
from keras_skeletonmae.training.recipes import FineTuningAdam, fine_tuning_optimizer
from keras_skeletonmae.training import figures
from keras_skeletonmae.training.run_directory import RunDirectory
from keras_skeletonmae.training.sources import pretraining_sources, read_pretraining_data

__all__ = [
    "CHECKPOINT_OPTIONS",
    "FineTuningAdam",
    "RESUME_FREE_OPTIONS",
    "RunDirectory",
    "adam",
    "check_split_overlap",
    "evaluate",
    "figures",
    "fine_tuning_optimizer",
    "finetune",
    "linear_evaluation",
    "load_classifier",
    "predict",
    "preset_metadata",
    "pretrain",
    "pretraining_sources",
    "read_pretraining_data",
    "tune",
    "usable_split",
]
