"""Pre-training on the real 3D mix through the command line's input pipeline, against the same
steps on ready arrays (the synthetic step): does reading and transforming the data cost time?

The mix is the one `skeletonmae_kinect20_mix` was pre-trained on (UTD-MHAD, MSRC-12,
Kinder-Gator, MSR Action3D's training subjects: 8,530 sequences of 13 to 936 frames), read by
`training.read_pretraining_data`; the model is that preset's architecture, untrained, compiled
as `training.pretrain` compiles it (Adam, cosine, XLA where Keras can). One process, one
backend (`KERAS_BACKEND`); in each round (the training arms' order alternating):

- `pipeline`: `SkeletonDataset` with the training transform (`data.training_transform`:
  random frame sampling, rotation, scale, centring), as `training.pretrain` builds it, batches
  produced and thrown away (no model);
- `real`: `fit` over `--steps` batches of that dataset;
- `arrays`: `fit` over the same batches, made beforehand and served from memory by a
  `PyDataset` (`ReadyBatches`: the same Keras adapter and batch shapes as `real`, so only the
  pipeline's work differs; plain arrays would make TensorFlow trace its step again for their
  other input signature).

After a warm-up (compilation) of each, the median over `--rounds` of samples/s (whole `fit`
calls: both training arms go through the same Keras adapter, so they pay the same per-call
costs). `real / arrays` is the pipeline's cost (target: at least 0.9). The epoch's wall-clock
over the whole mix is estimated as `real`'s time per batch times the batches in an epoch (with
`--full-epoch`, one whole epoch is also timed).

    KERAS_BACKEND=jax python benchmarks/bench_pretrain_pipeline.py [--steps 20] [--rounds 3]
        [--workers 1] [--json out.json]
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae import SkeletonMAEPretrainer
from keras_skeletonmae.data import SkeletonDataset, training_transform
from keras_skeletonmae.models import xla_jit_compile
from keras_skeletonmae.training import adam, read_pretraining_data

DATA = Path(os.environ.get("SKELETONMAE_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
MIX = [("utd_mhad.pkl", None), ("msrc12_gestures.pkl", None), ("kinder_gator.pkl", None),
       ("msr_action3d.pkl", "xsub_train")]
PRESET = "skeletonmae_kinect20_mix"


def build(num_batches, epochs=15):
    """The preset's pre-trainer, untrained, compiled as `training.pretrain` compiles it."""
    keras.utils.set_random_seed(0)
    model = SkeletonMAEPretrainer.from_preset(PRESET, load_weights=False)
    model.compile(optimizer=adam(1e-3, epochs * num_batches), jit_compile=xla_jit_compile())
    return model


class ReadyBatches(keras.utils.PyDataset):
    """Batches made beforehand, served as `SkeletonDataset` serves its own (no labels)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1,
                        help="SkeletonDataset's workers (threads), as keras.utils.PyDataset")
    parser.add_argument("--full-epoch", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    data = read_pretraining_data([(str(args.data_dir / path), split) for path, split in MIX],
                                 allow_overlap=True)
    model = build(math.ceil(len(data) / args.batch_size))
    frames, channels = model.backbone.num_frames, model.backbone.num_channels
    dataset = SkeletonDataset(data, args.batch_size, frames, model.backbone.num_persons,
                              transform=training_transform(model.backbone.layout, frames,
                                                           channels),
                              shuffle=True, seed=0, labeled=False, workers=args.workers)
    steps = min(args.steps, len(dataset))
    ready_batches = ReadyBatches([dataset[i] for i in range(steps)])
    samples = steps * args.batch_size

    def pipeline():
        for i in range(steps):
            dataset[i]

    def real():
        model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)

    def ready():
        model.fit(ready_batches, epochs=1, shuffle=False, verbose=0)

    arms = {"pipeline": pipeline, "real": real, "arrays": ready}
    for function in arms.values():  # warm-up: compilation, first reads
        function()
    seconds = {name: [] for name in arms}
    for round_ in range(args.rounds):
        dataset.set_epoch(round_ + 1)
        for name in ["pipeline", *(("real", "arrays") if round_ % 2 == 0 else ("arrays", "real"))]:
            seconds[name].append(timed(arms[name]))
    rates = {name: samples / float(np.median(s)) for name, s in seconds.items()}
    result = {
        "backend": keras.backend.backend(),
        "sequences": len(data),
        "batches_per_epoch": len(dataset),
        "batch_size": args.batch_size,
        "steps": steps,
        "rounds": args.rounds,
        "workers": args.workers,
        "samples_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "real_over_arrays": round(rates["real"] / rates["arrays"], 3),
        "epoch_s_estimated": round(len(dataset) * args.batch_size / rates["real"], 1),
        "seconds": {name: [round(x, 3) for x in s] for name, s in seconds.items()},
    }
    if args.full_epoch:
        dataset.set_epoch(0)
        result["epoch_s_measured"] = round(timed(
            lambda: model.fit(dataset, epochs=1, shuffle=False, verbose=0)), 1)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
