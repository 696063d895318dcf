"""Penn Action's 2D joints in JHMDB's units, so that the two can be mixed for pre-training.

`penn_action_2d.pkl` (shared data) is in pixels; `jhmdb_2d.pkl` is in DD-Net's normalised units
(torso, neck to belly, 0.24-0.34 for 80% of its clips, median 0.30). Pre-training centres each
sequence but rescales nothing (`training.read_pretraining_data`), so this script scales each
Penn Action clip by `s = median JHMDB torso / median torso of the clip` (neck = joint 0, belly
= joint 1 of `jhmdb15`) and writes it as a PYSKL pickle with Penn Action's splits. JHMDB itself
is left as it is, so a preset pre-trained on the mix fine-tunes on JHMDB files unchanged.

Penn Action places joints outside the image at the pixel (0.75, 0.75) (339 of its 2,326 clips
have some: e.g. `penn_0345`'s right shoulder, left wrist and ankles in every frame). Those
become missing joints (0, score 0), and the neck and belly, which the shared file estimated from
head, shoulders and hips (its `meta['mapping']` coefficients), are estimated again from the
joints present: missing where a joint they need is. A clip left with no frame holding both
is not written, and is named in the output (268 clips, mostly close-ups with a shoulder or a hip
outside the image in every frame; 2,058 are written: 1,121 `train`, 937 `test`).

    python benchmarks/penn_action_in_jhmdb_units.py OUT.pkl [--data-dir ../shared/data]
"""

import argparse
import os
from pathlib import Path

import numpy as np

from keras_skeletonmae.data import SkeletonData, load_pyskl, save_pyskl

DATA = Path(os.environ.get("SKELETONMAE_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
NECK, BELLY, HEAD, SHOULDERS, HIPS = 0, 1, 2, [3, 4], [5, 6]
OUTSIDE_IMAGE = 0.75  # Penn Action's coordinate (x and y) of a joint outside the image


def median_torso(keypoints):
    """Median neck-to-belly length over the frames of the first person of `[M, T, 15, C]`
    where both joints are present; NaN if none is."""
    neck, belly = keypoints[0, :, NECK, :2], keypoints[0, :, BELLY, :2]
    present = np.any(neck != 0, axis=-1) & np.any(belly != 0, axis=-1)
    if not present.any():
        return float("nan")
    return float(np.median(np.linalg.norm(neck[present] - belly[present], axis=-1)))


def with_neck_and_belly(keypoints, scores):
    """`(keypoints, scores)` of a `jhmdb15` clip `[M, T, 15, 2]` with the neck and belly
    estimated from the head, shoulders and hips as the shared Penn Action file does (its
    `meta['mapping']`): neck = shoulder centre + 0.384 (head - shoulder centre), belly = hip
    centre + 0.236 (shoulder centre - hip centre); missing (0, score 0) where a joint they need
    is missing (all-zero coordinates)."""
    keypoints, scores = keypoints.copy(), scores.copy()
    present = np.any(keypoints != 0, axis=-1)
    shoulder_mid = keypoints[..., SHOULDERS, :].mean(axis=-2)
    hip_mid = keypoints[..., HIPS, :].mean(axis=-2)
    estimates = {
        NECK: (shoulder_mid + 0.384 * (keypoints[..., HEAD, :] - shoulder_mid),
               present[..., [HEAD, *SHOULDERS]].all(axis=-1)),
        BELLY: (hip_mid + 0.236 * (shoulder_mid - hip_mid),
                present[..., SHOULDERS + HIPS].all(axis=-1)),
    }
    for joint, (estimate, known) in estimates.items():
        keypoints[..., joint, :] = np.where(known[..., None], estimate, 0.0)
        scores[..., joint] = np.where(known, scores[..., joint], 0.0)
    return keypoints, scores


def without_placeholders(keypoints, scores):
    """`(keypoints, scores)` of one clip `[M, T, 15, 2]` with the outside-image joints missing
    and the neck and belly estimated again from the joints present (`with_neck_and_belly`)."""
    keypoints, scores = keypoints.copy(), scores.copy()
    outside = np.all(keypoints == OUTSIDE_IMAGE, axis=-1)
    keypoints[outside], scores[outside] = 0.0, 0.0
    return with_neck_and_belly(keypoints, scores)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    args = parser.parse_args(argv)
    jhmdb = load_pyskl(args.data_dir / "jhmdb_2d.pkl")
    penn = load_pyskl(args.data_dir / "penn_action_2d.pkl")
    target = float(np.median([median_torso(k) for k in jhmdb.keypoints]))
    kept, keypoints, scores, left_out, outside = [], [], [], [], 0
    for i, sample_id in enumerate(penn.ids):
        clip, clip_scores = without_placeholders(penn.keypoints[i], penn.scores[i])
        outside += int(np.all(penn.keypoints[i] == OUTSIDE_IMAGE, axis=-1).sum())
        torso = median_torso(clip)
        if not torso > 0:
            left_out.append(sample_id)
            continue
        kept.append(i)
        keypoints.append((clip * (target / torso)).astype("float32"))
        scores.append(clip_scores)
    ids = [penn.ids[i] for i in kept]
    dropped = set(left_out)
    splits = {name: [i for i in members if i not in dropped]
              for name, members in penn.splits.items()}
    scaled = SkeletonData(keypoints, scores=scores, labels=penn.labels[kept], ids=ids,
                          class_names=penn.class_names, splits=splits, layout=penn.layout)
    save_pyskl(scaled, args.output)
    print(f"{len(scaled)} Penn Action clips scaled to JHMDB's median torso {target:.3f}, "
          f"{outside} outside-image joint positions made missing -> {args.output}")
    if left_out:
        print(f"left out (no frame with both neck and belly): {', '.join(left_out)}")


if __name__ == "__main__":
    main()
