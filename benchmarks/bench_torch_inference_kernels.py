"""PyTorch inference: BatchNorm + PReLU as two kernels (`addcmul`, `prelu`) against the
element-wise formula (five kernels in eager PyTorch), in one process.

The model is `bench_inference.py`'s (the command line's default classifier, 64 frames, one
person). Rounds alternate the two paths (order flipped every round); each round's figure is the
median of `--calls` `predict_on_batch` calls after one warm-up call, and the report is the
median over rounds, for batch 1 and 16.

    KERAS_BACKEND=torch OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_torch_inference_kernels.py
        [--rounds 6] [--calls 8]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_inference import BATCHES, build_classifier  # noqa: E402  (a script beside this one)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=8)
    args = parser.parse_args(argv)
    if os.environ.get("KERAS_BACKEND") != "torch":
        parser.error("run with KERAS_BACKEND=torch")
    from keras_skeletonmae.layers import batch_norm

    kernels = batch_norm._torch_scale_shift_prelu
    paths = {"two kernels": kernels,
             "element-wise": lambda x, scale, shift, alpha: batch_norm._prelu(
                 x * scale + shift, alpha)}
    model = build_classifier()
    for batch in BATCHES:
        x = np.random.default_rng(0).normal(size=(batch, 1, 64, 20, 3)).astype("float32")
        seconds = {name: [] for name in paths}
        for round_ in range(args.rounds):
            for name in (list(paths) if round_ % 2 == 0 else list(paths)[::-1]):
                batch_norm._torch_scale_shift_prelu = paths[name]
                model.predict_on_batch(x)
                calls = []
                for _ in range(args.calls):
                    start = time.perf_counter()
                    model.predict_on_batch(x)
                    calls.append(time.perf_counter() - start)
                seconds[name].append(float(np.median(calls)))
        batch_norm._torch_scale_shift_prelu = kernels
        median = {name: float(np.median(s)) for name, s in seconds.items()}
        print(f"batch {batch}: " + ", ".join(
            f"{name} {1e3 * s:.1f} ms ({batch / s:.1f} windows/s)" for name, s in median.items())
            + f"; two kernels / element-wise {median['two kernels'] / median['element-wise']:.2f}")


if __name__ == "__main__":
    main()
