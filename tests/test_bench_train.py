"""benchmarks/bench_train.py's roofline: the model's least bytes per step, the bound, the
measured memory bandwidth, and the bytes a step moves as PyTorch's operations and XLA count
them."""

import math

import keras
import numpy as np
import pytest

from helpers import load_benchmark

TINY = dict(layout="coco17", num_channels=2, num_frames=1, num_persons=1, embed_dim=4,
            num_layers=1, hidden_dim=8)


@pytest.fixture
def bench():
    module = load_benchmark("bench_train")  # a fresh module: its CONFIG is this test's own
    module.CONFIG.update(TINY)
    return module


def test_model_bytes_matches_a_hand_count_and_grows_linearly_with_the_batch(bench):
    # One frame graph of 17 joints: per pass `rows x inner + inner x cols + rows x cols`
    # elements, and Adam's 7 per weight; the adjacency as 4 feature rows times (17, 17).
    v = 17
    embedding = 2 * (v * 2 + 2 * 4 + v * 4) + 7 * 2 * 4
    adjacency = 2 * (4 * v + v * v + 4 * v)
    dense_up = 3 * (v * 4 + 4 * 8 + v * 8) + 7 * 4 * 8
    dense_down = 3 * (v * 8 + 8 * 4 + v * 4) + 7 * 8 * 4
    remask = 3 * (v * 4 + 4 * 4 + v * 4) + 7 * 4 * 4
    decoder_out = 3 * (v * 8 + 8 * 10 + v * 10) + 7 * 8 * 10  # C x 5 frames = 10 targets
    elements = (embedding + adjacency + dense_up + dense_down + remask
                + adjacency + dense_up + decoder_out)
    assert bench.model_bytes(1) == 4 * elements

    for strl_layers in (0, 1):
        sizes = [bench.model_bytes(batch, strl_layers) for batch in (1, 2, 3, 4)]
        steps = {b - a for a, b in zip(sizes, sizes[1:])}
        assert len(steps) == 1 and steps.pop() > 0  # affine: activations per sequence, weights
    assert bench.model_bytes(2, strl_layers=1) > bench.model_bytes(2)


def test_roofline_is_the_slower_of_compute_and_memory(bench):
    assert bench.roofline(2e9, 1e9, 1e11, 1e10) == pytest.approx(0.1)  # memory-bound
    assert bench.roofline(2e10, 1e9, 1e11, 1e10) == pytest.approx(0.2)  # compute-bound


def test_bandwidth_is_a_positive_finite_rate(bench):
    backend = keras.backend.backend()
    for library in {"numpy", backend} & set(bench.BANDWIDTH_LIBRARIES):
        rate = bench.bandwidth_worker(library, megabytes=4, repeats=2)
        assert math.isfinite(rate) and rate > 1e8, library


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch's operations")
def test_aten_bytes_counts_reads_and_writes(bench):
    import torch

    a, b, one = torch.ones(1000), torch.ones(1000), torch.ones(1)
    assert bench.aten_bytes(lambda: a + b) == 3 * 4000  # two read, one written
    assert bench.aten_bytes(lambda: a.add_(b)) == 3 * 4000  # in place: a read and written
    assert bench.aten_bytes(lambda: a + one.expand(1000)) == 2 * 4000 + 4  # broadcast: stored
    assert bench.aten_bytes(lambda: torch.zeros_like(a)) == 4000  # the shape only is read
    assert bench.aten_bytes(lambda: a.reshape(10, 100)) == 0  # a view moves nothing


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="XLA's cost analysis of JAX")
def test_train_step_cost_counts_more_than_the_model_minimum(bench):
    from keras_skeletonmae import SkeletonMAEBackbone, SkeletonMAEPretrainer

    model = SkeletonMAEPretrainer(SkeletonMAEBackbone(**bench.CONFIG), seed=0)
    x = np.random.default_rng(0).normal(size=(bench.BATCH, 1, 1, 17, 2)).astype("float32")
    model.optimizer.build(model.trainable_variables)
    cost = bench.train_step_cost(model, (x,))
    least = bench.model_bytes(bench.BATCH)
    assert least < cost["bytes accessed"] < 100 * least
    assert cost["flops"] > bench.step_flops()
