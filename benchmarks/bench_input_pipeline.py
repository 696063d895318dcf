"""Does the input pipeline keep up with training? SkeletonDataset vs SkeletonClassifier samples/s.

Both on MSR Action3D (xsub_train, kinect20, T=32, one person), in one run on this machine:
- pipeline: every batch of `SkeletonDataset` with train-mode transforms (centre, uniform
  sampling, rotation, scale, joint noise), read in order as `fit` reads them, prepared by 1
  and 2 of its worker threads;
- training: `SkeletonClassifier.fit` on ready arrays, timed per epoch after a warm-up epoch.
A ratio above 1 means the pipeline produces samples faster than the model consumes them.

    KERAS_BACKEND=jax python benchmarks/bench_input_pipeline.py [--data DIR]
"""

import argparse
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
from keras_skeletonmae.host_memory import retain_freed_memory
from keras_skeletonmae.models import xla_jit_compile
from keras_skeletonmae.data import (
    CenterOnJoint,
    Compose,
    JointNoise,
    PadPersons,
    RandomRotation,
    RandomScale,
    SkeletonDataset,
    UniformSample,
    load_pyskl,
)

NUM_FRAMES = 32
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pipeline_rate(data, batch_size, workers, epochs):
    transform = Compose([CenterOnJoint("kinect20"), UniformSample(NUM_FRAMES, train=True),
                         RandomRotation(15), RandomScale(0.9, 1.1), JointNoise(0.002),
                         PadPersons(1)])
    dataset = SkeletonDataset(data, batch_size, NUM_FRAMES, 1, transform=transform,
                              shuffle=True, workers=workers)
    start = time.perf_counter()
    for _ in range(epochs):
        for index in range(len(dataset)):
            x, _ = dataset[index]
            assert x.shape[1:] == (1, NUM_FRAMES, 20, 3)
        dataset.on_epoch_end()
    return epochs * len(data) / (time.perf_counter() - start)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.times = []


def training_rate(data, batch_size, epochs):
    x, y = data.to_arrays(NUM_FRAMES, 1, transform=CenterOnJoint("kinect20"))
    keras.utils.set_random_seed(0)
    backbone = SkeletonMAEBackbone(layout="kinect20", num_channels=3, num_frames=NUM_FRAMES,
                                   num_persons=1, embed_dim=32, num_layers=2, hidden_dim=64)
    model = SkeletonClassifier(backbone, num_classes=20, num_strl_layers=2)
    model.compile(jit_compile=xla_jit_compile())
    timer = EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=epochs + 1, verbose=0, callbacks=[timer])
    return len(x) / np.median(timer.times[1:])  # the first epoch compiles


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("SKELETONMAE_DATA", DEFAULT_DATA)))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    data, report = load_pyskl(args.data / "msr_action3d.pkl", split="xsub_train").repair(
        drop_all_zero=True)
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, {len(data)} samples "
          f"(MSR xsub_train), T={NUM_FRAMES}, batch {args.batch_size}, "
          f"{args.epochs} timed epochs each; dropped {report['all_zero']['ids']}")
    rates = {f"SkeletonDataset, train transforms, workers={w}":
             pipeline_rate(data, args.batch_size, w, args.epochs) for w in (1, 2)}
    model_rate = training_rate(data, args.batch_size, args.epochs)
    rates["SkeletonClassifier.fit (embed 32, 2 GIN, 2 STRL)"] = model_rate
    width = max(map(len, rates))
    print(f"\n{'what':<{width}}  samples/s  pipeline/model")
    for name, rate in rates.items():
        ratio = f"{rate / model_rate:14.1f}" if name.startswith("SkeletonDataset") else ""
        print(f"{name:<{width}}  {rate:9.0f}  {ratio}")


if __name__ == "__main__":
    retain_freed_memory()
    main()
