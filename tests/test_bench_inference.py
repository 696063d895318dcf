"""benchmarks/bench_inference.py measures a tiny classifier on the current backend and reports
every runner's figures and the target checks."""

import json

import keras

from helpers import load_benchmark

TINY = dict(layout="kinect20", num_channels=3, num_frames=16, num_persons=1, embed_dim=16,
            num_layers=1, hidden_dim=32, motion=True, bones=True)


def test_bench_inference_times_each_runner_and_reports_the_targets():
    bench = load_benchmark("bench_inference")
    rows, flops = bench.measure(config=TINY, strl_layers=1, batches=(1, 2), steps=2, warmup=1,
                                max_seconds=1.0)
    timed = [r for r in rows if "latency_s" in r]
    assert {(r["runner"], r["batch"]) for r in timed} == {
        (runner, batch) for runner in ("predict_on_batch", "compiled call") for batch in (1, 2)}
    for row in timed:
        assert row["latency_s"] > 0 and row["calls"] >= 2
        assert abs(row["windows_per_s"] - row["batch"] / row["latency_s"]) < 1e-9
    assert {"runner": "onnxruntime", "skipped": "not requested"} in rows
    # XLA's cost analysis on JAX only: a forward pass of at least its matrix products.
    assert (flops > 1e5) if keras.backend.backend() == "jax" else flops is None

    backend = keras.backend.backend()
    text, targets = bench.report({backend: rows}, flops or 1e6, 1e10, (1.0, 1.5))
    assert "predict_on_batch" in text and "compiled call" in text and "skipped" in text
    assert "target >= 100 windows/s at batch 1" in text and "% of the matmul peak" in text
    best = max(r["windows_per_s"] for r in timed if r["batch"] == 1)
    assert targets["batch1_per_backend_best"] == {backend: best}
    assert targets["slowest_backend_vs_fastest_batch1"] == 1.0
    assert targets["fastest"]["peak_fraction"] > 0 and targets["load"] == [1.0, 1.5]
    json.dumps(targets)  # written to --json as it is


def test_bench_inference_times_a_classifier_preset_at_its_own_input_shape():
    bench = load_benchmark("bench_inference")
    rows, _ = bench.measure(batches=(1,), steps=2, warmup=1, max_seconds=1.0,
                            preset="skeletonmae_kinect20_msr_classifier")
    timed = [r for r in rows if "latency_s" in r]
    assert {r["runner"] for r in timed} == {"predict_on_batch", "compiled call"}
    model = bench.build_classifier(preset="skeletonmae_kinect20_msr_classifier")
    # The preset's own window (32 frames, 20 MSR classes), not the default classifier's 64.
    assert tuple(model.inputs[0].shape[1:3]) == (1, 32) and model.num_classes == 20
    longer = bench.build_classifier(preset="skeletonmae_kinect20_msr_classifier", frames=64)
    assert tuple(longer.inputs[0].shape[1:3]) == (1, 64)
