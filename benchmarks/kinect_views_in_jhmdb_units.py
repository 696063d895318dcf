"""The 3D Kinect v1 sets seen as 2D images in JHMDB-15's joints and units, for 2D pre-training.

Each `kinect20` sequence of the given files becomes a `jhmdb15` one as Penn Action's clips do
(`penn_action_in_jhmdb_units.py`): the head, shoulders, elbows, wrists, hips, knees and ankles
by name (hands, feet, spine and the hip and shoulder centres are dropped), the neck and belly
estimated from them with the shared Penn Action file's coefficients (`with_neck_and_belly`;
JHMDB's neck sits above the shoulder line, Kinect's shoulder centre on it), then each clip
scaled to JHMDB's median height, head to the ankles' centre (`median_height`, 0.84 over
JHMDB's frames that show both). Not to its torso, as Penn Action is: Kinect v1 places the hips
high, so scaled by the torso a Kinect body came out 1.5-1.8x JHMDB's from head to neck and from
belly to ankles (scaled by height: head to neck 0.09, shoulder width 0.19, belly to ankles 0.54
in MSR Action3D's views; JHMDB 0.08, 0.18, 0.47; Penn Action 0.07, 0.18, 0.52). The view is
the sensor's, as an image: `(-x, -y)`, since in these files a person facing the sensor has the
right shoulder at larger x and the head at larger y, and in JHMDB's images at smaller x and
smaller y (`main` checks the first). Scores are 1. Written as one PYSKL pickle with the split
`all`; labels are not kept (pre-training does not read them).

    python benchmarks/kinect_views_in_jhmdb_units.py OUT.pkl \
        [--sets utd_mhad.pkl msrc12_gestures.pkl kinder_gator.pkl msr_action3d.pkl]
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from penn_action_in_jhmdb_units import with_neck_and_belly  # noqa: E402

from keras_skeletonmae.data import SkeletonData, load_pyskl, save_pyskl  # noqa: E402
from keras_skeletonmae.layouts import get_layout  # noqa: E402

DATA = Path(os.environ.get("SKELETONMAE_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
SETS = ("utd_mhad.pkl", "msrc12_gestures.pkl", "kinder_gator.pkl", "msr_action3d.pkl")
JHMDB = get_layout("jhmdb15").joint_names
KINECT = get_layout("kinect20").joint_names
# (jhmdb15 index, kinect20 index) of the joints copied; the neck and belly are estimated.
COPIED = [(j, KINECT.index(name)) for j, name in enumerate(JHMDB)
          if name not in ("neck", "belly")]


def median_height(keypoints):
    """Median distance, over the frames of the first person of a `jhmdb15` clip `[M, T, 15, C]`
    that hold the head and both ankles, from the head to the ankles' centre; NaN if none does."""
    head = keypoints[0, :, JHMDB.index("head"), :2]
    ankles = keypoints[0, :, [JHMDB.index("left_ankle"), JHMDB.index("right_ankle")], :2]
    present = np.any(head != 0, axis=-1) & np.all(np.any(ankles != 0, axis=-1), axis=0)
    if not present.any():
        return float("nan")
    return float(np.median(np.linalg.norm(head[present] - ankles.mean(axis=0)[present],
                                          axis=-1)))


def image_view(keypoints):
    """A `kinect20` clip `[M, T, 20, 3]` as a `jhmdb15` image view `[M, T, 15, 2]`, unscaled:
    the joints both layouts name copied as `(-x, -y)`, the neck and belly estimated."""
    view = np.zeros(keypoints.shape[:2] + (len(JHMDB), 2), dtype="float32")
    for j, k in COPIED:
        view[..., j, :] = -keypoints[..., k, :2]
    view, _ = with_neck_and_belly(view, np.ones(view.shape[:-1], dtype="float32"))
    return view


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--data-dir", type=Path, default=DATA)
    args = parser.parse_args(argv)
    jhmdb = load_pyskl(args.data_dir / "jhmdb_2d.pkl")
    target = float(np.nanmedian([median_height(k) for k in jhmdb.keypoints]))
    right, left = JHMDB.index("right_shoulder"), JHMDB.index("left_shoulder")
    keypoints, ids, left_out = [], [], []
    for name in args.sets:
        data = load_pyskl(args.data_dir / name)
        for sample_id, clip in zip(data.ids, data.keypoints):
            view = image_view(clip)
            length = median_height(view)
            if not length > 0:
                left_out.append(f"{name}:{sample_id}")
                continue
            keypoints.append((view * (target / length)).astype("float32"))
            ids.append(f"{Path(name).stem}/{sample_id}")
    facing = np.median([np.median(k[0, :, right, 0] - k[0, :, left, 0]) for k in keypoints])
    if not facing < 0:
        raise ValueError("the views do not face the camera as JHMDB's do (right shoulder at "
                         f"smaller x): median right - left shoulder x = {facing:.3f}")
    views = SkeletonData(keypoints, scores=[np.ones(k.shape[:-1], "float32") for k in keypoints],
                         ids=ids, splits={"all": list(ids)}, layout="jhmdb15")
    save_pyskl(views, args.output)
    print(f"{len(views)} Kinect sequences as jhmdb15 image views scaled to JHMDB's median "
          f"height {target:.3f} -> {args.output}")
    if left_out:
        print(f"left out (no frame with the head and both ankles): {', '.join(left_out)}")


if __name__ == "__main__":
    main()
