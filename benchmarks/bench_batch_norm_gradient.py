"""The analytic BatchNorm + PReLU gradient (`layers/batch_norm.py`, JAX) against autodiff.

One process builds the pre-training model of `bench_train.py` twice, once with the package's
analytic gradient and once with autodiff through the same forward pass, and runs their training
steps alternately, so that both see the same machine load; it prints each one's median step time
and the median of the per-pair ratios. On JAX it also prints what XLA's cost analysis counts for
each compiled step (bytes read and written, FLOPs): deterministic, unlike the timings.

    KERAS_BACKEND=jax python benchmarks/bench_batch_norm_gradient.py [--pairs 60]
"""

import argparse
import time

import keras
import numpy as np
from keras import ops

import keras_skeletonmae.layers.batch_norm as batch_norm
from bench_train import CONFIG, batches, train_step_cost
from keras_skeletonmae import SkeletonMAEBackbone, SkeletonMAEPretrainer
from keras_skeletonmae.host_memory import retain_freed_memory


def autodiff_batch_norm_prelu(rows, mean, variance, gamma, beta, alpha, epsilon):
    """The same forward pass as `_batch_norm_prelu`, differentiated by the backend."""
    mean, variance = ops.moments(rows, (0,))
    scale = gamma * ops.rsqrt(variance + epsilon)
    return batch_norm._prelu(rows * scale + (beta - mean * scale), alpha)


def build(gradient, x):
    """A pre-training model whose compiled training step uses `gradient`'s BatchNorm, and XLA's
    cost analysis of that step."""
    analytic = batch_norm._batch_norm_prelu
    batch_norm._batch_norm_prelu = gradient
    try:
        keras.utils.set_random_seed(0)
        model = SkeletonMAEPretrainer(SkeletonMAEBackbone(**CONFIG), seed=0)
        model.compile(optimizer="adam")
        for _ in range(2):  # traces and compiles the step with `gradient`
            float(model.train_on_batch(x))
        cost = train_step_cost(model, (x,))
    finally:
        batch_norm._batch_norm_prelu = analytic
    return model, cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=60, help="alternating steps of each")
    args = parser.parse_args()
    if keras.backend.backend() != "jax":
        parser.error("the analytic gradient is JAX's path: run with KERAS_BACKEND=jax")
    x, _ = batches(1, np.random.default_rng(0))
    built = {"analytic": build(batch_norm._batch_norm_prelu, x),
             "autodiff": build(autodiff_batch_norm_prelu, x)}
    times = {name: [] for name in built}
    for _ in range(args.pairs):
        for name, (model, _) in built.items():
            start = time.perf_counter()
            float(model.train_on_batch(x))
            times[name].append(time.perf_counter() - start)
    for name, (_, cost) in built.items():
        print(f"{name:<9} median step {1e3 * np.median(times[name]):6.1f} ms; XLA cost analysis: "
              f"{cost['bytes accessed'] / 1e6:.0f} MB accessed, {cost['flops'] / 1e9:.2f} GFLOP")
    ratio = np.median(np.array(times["autodiff"]) / np.array(times["analytic"]))
    print(f"autodiff / analytic step time, median over {args.pairs} pairs: {ratio:.3f}")


if __name__ == "__main__":
    retain_freed_memory()
    main()
