"""Does a pre-trainer reconstruct masked joints better than a mean pose?

Loads the last checkpoint of a `skeletonmae pretrain --output RUN` folder, reconstructs
`--samples` sequences of a split (one mask each, drawn by the pre-trainer) and prints its loss
beside the loss of a context-free prior: every masked joint reconstructed as that joint's mean
target over the same sequences (a mean pose, slightly favoured since it is fitted on the data
it is scored on). A pre-trainer above the prior has learnt less than the mean pose.

    KERAS_BACKEND=jax python benchmarks/reconstruction_baseline.py RUN \
        [--data msr_action3d.pkl --split xsub_train --samples 256]
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np

from keras_skeletonmae.data import CenterOnJoint, load_pyskl
from keras_skeletonmae.losses import reweighted_cosine_error
from keras_skeletonmae.training import RunDirectory

DATA = Path(os.environ.get("SKELETONMAE_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a `skeletonmae pretrain --output` folder")
    parser.add_argument("--data", default="msr_action3d.pkl")
    parser.add_argument("--split", default="xsub_train")
    parser.add_argument("--samples", type=int, default=256)
    args = parser.parse_args(argv)
    model, history = RunDirectory(args.run).load_checkpoint()
    data = load_pyskl(DATA / args.data).split(args.split).repair(drop_all_zero=True)[0]
    data = data.select(range(min(args.samples, len(data))))
    x, _ = data.to_arrays(model.backbone.num_frames, model.backbone.num_persons,
                          transform=CenterOnJoint(data.skeleton_layout))
    out = model.predict(x, batch_size=64, verbose=0)
    target, reconstruction, mask = (np.asarray(out[k])
                                    for k in ("target", "reconstruction", "mask"))
    prior = np.broadcast_to(target.mean(axis=(0, 1, 2), keepdims=True), target.shape)
    beta = model.beta
    result = dict(run=str(args.run), epochs=len(history), data=args.data, split=args.split,
                  samples=len(target), masked_fraction=round(float(mask.mean()), 3),
                  model_loss=round(float(reweighted_cosine_error(target, reconstruction, mask,
                                                                 beta)), 4),
                  mean_pose_loss=round(float(reweighted_cosine_error(target, prior, mask, beta)),
                                       4))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
