"""What the protocols check before training: the usable samples of a split, and that a run
does not train on the samples it is evaluated on."""


def usable_split(data, split=None):
    """The samples of `split`, all-zero ones dropped (and reported).

    Args:
        data: `SkeletonData`, the whole file.
        split: str or None; a split of `data` (None: all samples).

    Returns:
        `SkeletonData` without all-zero samples.

    Raises:
        ValueError: `split` is unknown or holds no usable sample.

    Example:
        train = usable_split(load_skeletons("msr_action3d.pkl"), "xsub_train")
    """
    if split is not None:
        data = data.split(split)
    data, report = data.repair(drop_all_zero=True)
    if report["all_zero"]["count"]:
        print(f"{data.source}: dropped {report['all_zero']['count']} all-zero sample(s): "
              f"{report['all_zero']['ids']}")
    if not len(data):
        raise ValueError(f"{data.source}: split {split!r} holds no usable samples.")
    return data


def check_split_overlap(data, train_split=None, val_split=None, *, pretraining=False,
                        allow_overlap=False):
    """Refuse to train on the samples a run is evaluated on: raise a `ValueError` naming the
    file, its splits and the shared samples, unless `allow_overlap`.

    Fine-tuning and tuning (`pretraining=False`) must not train on any sample (by id) of
    `val_split`. Pre-training on `train_split` None (every sample) is refused when `data`
    defines splits (its evaluation splits among them); data without splits is fine.

    Args:
        data: `SkeletonData`, the whole file (before a split is taken).
        train_split: str or None; the split trained on (None: all samples).
        val_split: str or None; the split evaluated on (None: none).
        pretraining: bool; check a pre-training run (which has no `val_split`).
        allow_overlap: bool; skip the check (train on those samples on purpose).

    Example:
        check_split_overlap(load_skeletons("msr_action3d.pkl"), "xsub_train", "xsub_val")
    """
    if allow_overlap:
        return
    if pretraining:
        if train_split is None and data.splits:
            raise ValueError(
                f"{data.source} defines the splits {sorted(data.splits)}: pre-training on all "
                "samples would include the evaluation ones. Pass --split or FILE:SPLIT (e.g. the "
                "training split; in Python `split=` or a `(path, split)` pair), or "
                "--allow-overlap (`allow_overlap=True`) to pre-train on every sample on purpose.")
        return
    if not val_split:
        return
    train = set(data.split(train_split).ids if train_split else data.ids)
    shared = [i for i in data.split(val_split).ids if i in train]
    if shared:
        trained_on = f"split {train_split!r}" if train_split else "all samples (the default)"
        raise ValueError(
            f"{data.source}: training on {trained_on} would train on {len(shared)} samples of "
            f"the validation split {val_split!r} (e.g. {shared[:3]}). Pass a --train-split "
            f"(`train_split=`) without them (the file's splits: {sorted(data.splits)}), or "
            "--allow-overlap (`allow_overlap=True`) to train on them on purpose.")
