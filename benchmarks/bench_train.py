"""Training speed: SkeletonMAE pre-training and SSL fine-tuning steps on every backend.

The paper's configuration: COCO-17, C = 2, T = 64, 2 persons, D = 64, 3 GIN layers (MLP width
256), batch of 8 sequences = 1024 frame graphs per step; fine-tuning adds 3 STRL layers and a
60-class head. For each Keras backend (one subprocess each, as one process has one
KERAS_BACKEND) and for a plain PyTorch eager implementation of the pre-training step
(`torch_eager_baseline.py`, the code a user would otherwise write), it prints:

- frame graphs per second: the median over timed `fit` steps after warm-up steps (compilation);
- the ratio to the PyTorch eager baseline (pre-training);
- FLOPs per step, counted analytically (matrix products of the forward and backward pass;
  element-wise work is not counted), and the achieved fraction of this machine's float32
  matrix-multiply peak, measured in the same run with every installed library (NumPy, PyTorch,
  JAX, TensorFlow) on a large square product and on the model's own skinny products, the
  highest rate counting;
- peak memory: the accelerator's peak when there is one, else the process's peak RSS.

Every figure comes from one run on one machine; compare ratios, not absolute rates, across runs.

`--normalization compare` measures instead the two paths of BatchNorm (+ PReLU) in the package's
layers (`keras_skeletonmae/layers/batch_norm.py`): in each round, per phase and backend, one
step-time median with the fused path and one with the plain Keras layers, one right after the
other (their order alternating between rounds); it prints the median over rounds of the ratio
fused / plain (below 1: the fused path is faster).

    python benchmarks/bench_train.py [--backends jax,tensorflow,torch] [--steps 20] [--rounds 2]
    python benchmarks/bench_train.py --normalization compare --rounds 3 [--frames 32 --batch 4]
"""

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CONFIG = dict(layout="coco17", num_channels=2, num_frames=64, num_persons=2, embed_dim=64,
              num_layers=3, hidden_dim=256)
BATCH = 8
NUM_CLASSES = 60
NUM_JOINTS = 17
TARGET_WINDOW = 5  # SkeletonMAEPretrainer's default coordinate target
LIBRARIES = ("numpy", "torch", "jax", "tensorflow")
BACKENDS = ("jax", "tensorflow", "torch")


# --- analytic FLOPs ------------------------------------------------------------------------------

def _products(batch=BATCH, strl_layers=0):
    """Matrix products of one step, `(rows, inner, cols, passes)` in forward order; `passes` =
    1 (forward) + 1 per backward product: weight gradient (not for the constant adjacency),
    input gradient (not into the data)."""
    c, t, m, d, h = (CONFIG[k] for k in ("num_channels", "num_frames", "num_persons",
                                          "embed_dim", "hidden_dim"))
    graphs = batch * m * t
    rows = graphs * NUM_JOINTS

    def gin(width_in, width_out):
        return [(graphs * NUM_JOINTS, NUM_JOINTS, width_in, 2),  # (V, V) adjacency product
                (rows, width_in, h, 3), (rows, h, width_out, 3)]

    encoder = [p for _ in range(CONFIG["num_layers"]) for p in gin(d, d)]
    products = [(rows, c, d, 2)]  # embedding
    if not strl_layers:  # pre-training: encoder, re-mask, decoder
        return products + encoder + [(rows, d, d, 3)] + gin(d, c * TARGET_WINDOW)
    branch = d // 4  # MultiScaleTemporalConv: 2 dilated, max-pool and 1x1 branches
    strl = [(rows, 2 * d, d, 3), (rows, d, d, 3)]  # spatial (concat) and residual Dense
    strl += [(rows, d, branch, 3)] * 4 + [(rows, 5 * branch, branch, 3)] * 2
    return products + (encoder + strl) * strl_layers + [(batch, d, NUM_CLASSES, 3)]


def step_flops(strl_layers=0):
    """FLOPs of one training step's matrix products, 2mkn per product and pass."""
    return sum(2 * m * k * n * passes
               for m, k, n, passes in _products(BATCH, strl_layers=strl_layers))


# --- workers (one subprocess each) ----------------------------------------------------------------

def peak_memory_mib(backend):
    """The accelerator's peak bytes in use when there is one, else the process's peak RSS."""
    try:
        if backend == "jax":
            import jax
            device = jax.devices()[0]
            if device.platform != "cpu":
                return device.memory_stats()["peak_bytes_in_use"] / 2**20
        elif backend == "torch":
            import torch
            if torch.cuda.is_available():
                return torch.cuda.max_memory_allocated() / 2**20
        elif backend == "tensorflow":
            import tensorflow as tf
            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except (ImportError, KeyError, RuntimeError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batches(steps, rng):
    x = rng.normal(size=(steps * BATCH, CONFIG["num_persons"], CONFIG["num_frames"], NUM_JOINTS,
                         CONFIG["num_channels"])).astype("float32")
    return x, rng.integers(0, NUM_CLASSES, size=len(x))


def keras_worker(phase, steps, warmup, policy, normalization="default"):
    import keras

    from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone, SkeletonMAEPretrainer
    from keras_skeletonmae.host_memory import retain_freed_memory
    from keras_skeletonmae.layers import use_fused_normalization
    from keras_skeletonmae.models import xla_jit_compile

    retain_freed_memory()
    if normalization != "default":
        use_fused_normalization(normalization == "fused")

    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    x, y = batches(steps + warmup, np.random.default_rng(0))
    backbone = SkeletonMAEBackbone(**CONFIG)
    if phase == "pretrain":
        model, y = SkeletonMAEPretrainer(backbone, seed=0), None
    else:
        model = SkeletonClassifier(backbone, num_classes=NUM_CLASSES)
    model.compile(jit_compile=xla_jit_compile())

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            float(logs["loss"])  # waits for the step (asynchronous dispatch)
            ends.append(time.perf_counter())

    ends = []
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
              callbacks=[StepTimer()])
    return {"step_s": float(np.median(np.diff(ends[max(warmup - 1, 0):]))),
            "jit": str(model.jit_compile), "memory_mib": peak_memory_mib(keras.backend.backend())}


def torch_eager_worker(steps, warmup):
    import torch

    sys.path.insert(0, str(HERE))
    from torch_eager_baseline import SkeletonMAE, make_step

    torch.manual_seed(0)
    step = make_step(SkeletonMAE(**{k: CONFIG[k] for k in ("layout", "num_channels",
                                                            "num_frames", "embed_dim",
                                                            "num_layers", "hidden_dim")}))
    x, _ = batches(steps + warmup, np.random.default_rng(0))
    ends = [time.perf_counter()]
    for batch in np.split(x, steps + warmup):
        step(torch.from_numpy(batch))
        ends.append(time.perf_counter())
    return {"step_s": float(np.median(np.diff(ends[warmup:]))), "jit": "eager",
            "memory_mib": peak_memory_mib("torch")}


def peak_worker(library, repeats=5):
    """Best float32 matmul rate (FLOP/s) of `library`: a large square and the model's shapes."""
    rows = BATCH * CONFIG["num_persons"] * CONFIG["num_frames"] * NUM_JOINTS
    d, h = CONFIG["embed_dim"], CONFIG["hidden_dim"]
    shapes = [(4096, 4096, 4096), (rows, d, h), (rows, h, d), (d, rows, h), (h, rows, d)]
    rng = np.random.default_rng(0)
    if library == "jax":
        import jax
        matmul = jax.jit(lambda a, b: a @ b)
        convert, run = jax.numpy.asarray, lambda a, b: matmul(a, b).block_until_ready()
    elif library == "tensorflow":
        import tensorflow as tf
        matmul = tf.function(lambda a, b: tf.matmul(a, b), jit_compile=True)
        convert, run = tf.convert_to_tensor, lambda a, b: matmul(a, b).numpy()
    elif library == "torch":
        import torch
        convert, run = torch.from_numpy, torch.matmul
    else:
        convert, run = (lambda a: a), np.matmul
    best = {}
    for m, k, n in shapes:
        a = convert(rng.standard_normal((m, k), dtype="float32"))
        b = convert(rng.standard_normal((k, n), dtype="float32"))
        run(a, b)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(a, b)
            times.append(time.perf_counter() - start)
        best[f"{m}x{k}x{n}"] = 2 * m * k * n / min(times)
    return best


def worker(spec, args):
    kind, _, name = spec.partition(":")
    if kind == "peak":
        return peak_worker(name)
    if kind == "torch-eager":
        return torch_eager_worker(args.steps, args.warmup)
    return keras_worker(name, args.steps, args.warmup, args.policy, args.normalization)


# --- orchestration ------------------------------------------------------------------------------

def run_worker(spec, args, backend=None, normalization=None):
    env = dict(os.environ, KERAS_BACKEND=backend or "torch", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, __file__, "--worker", spec, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--policy", args.policy, "--frames", str(args.frames),
           "--batch", str(args.batch), "--normalization", normalization or args.normalization]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"{spec} on {backend} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_normalization(args, backends):
    """Fused / plain step-time ratios per phase and backend, the median over `args.rounds`."""
    times = {}
    for round_ in range(args.rounds):
        paths = ("fused", "plain") if round_ % 2 == 0 else ("plain", "fused")
        for phase in ("pretrain", "finetune"):
            for backend in backends:
                for path in paths:
                    result = run_worker(f"keras:{phase}", args, backend, path)
                    times.setdefault((phase, backend, path), []).append(
                        result["step_s"] if result else np.nan)
    print(f"{os.cpu_count()} CPUs; policy {args.policy}; batch {BATCH} x "
          f"{CONFIG['num_persons']} persons x {CONFIG['num_frames']} frames; {args.steps} timed "
          f"steps after {args.warmup} warm-up; {args.rounds} round(s)\n")
    header = f"{'phase':<10}{'backend':<12}{'fused ms':>10}{'plain ms':>10}{'fused/plain':>13}"
    print(header + "\n" + "-" * len(header))
    table = []
    for phase in ("pretrain", "finetune"):
        for backend in backends:
            fused, plain = (np.array(times[phase, backend, p]) for p in ("fused", "plain"))
            ratio = float(np.median(fused / plain))
            table.append(dict(phase=phase, backend=backend, fused_s=fused.tolist(),
                              plain_s=plain.tolist(), ratio=ratio))
            print(f"{phase:<10}{backend:<12}{1e3 * np.median(fused):>10.1f}"
                  f"{1e3 * np.median(plain):>10.1f}{ratio:>13.3f}")
    return table


def main():
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compile)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure everything this many times, keep each one's best median")
    parser.add_argument("--policy", default="float32", help="Keras dtype policy")
    parser.add_argument("--frames", type=int, default=CONFIG["num_frames"],
                        help="frames per sequence")
    parser.add_argument("--batch", type=int, default=BATCH, help="sequences per step")
    parser.add_argument("--normalization", default="default",
                        choices=("default", "fused", "plain", "compare"),
                        help="BatchNorm path of the Keras models: the backend's default, fused, "
                             "the plain Keras layers, or compare fused and plain")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    CONFIG["num_frames"], BATCH = args.frames, args.batch
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return

    backends = [b for b in args.backends.split(",") if b]
    if args.normalization == "compare":
        table = compare_normalization(args, backends)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))
        return
    installed = [lib for lib in LIBRARIES if importlib.util.find_spec(lib)]
    load = os.getloadavg()[0]
    peaks = {lib: run_worker(f"peak:{lib}", args) for lib in installed}
    best_lib, rates = max(((lib, r) for lib, r in peaks.items() if r),
                          key=lambda item: max(item[1].values()))
    best_shape = max(rates, key=rates.get)
    peak = rates[best_shape]

    runs = [("pretrain", "torch eager (plain PyTorch)", "torch-eager", "torch")]
    runs += [(phase, f"keras / {b}", f"keras:{phase}", b)
             for phase in ("pretrain", "finetune") for b in backends]
    results = {}
    for _ in range(args.rounds):
        for phase, label, spec, backend in runs:
            result = run_worker(spec, args, backend)
            best = results.get((phase, label))
            if result and (best is None or result["step_s"] < best["step_s"]):
                results[(phase, label)] = result

    flops = {"pretrain": step_flops(), "finetune": step_flops(strl_layers=3)}
    graphs = BATCH * CONFIG["num_persons"] * CONFIG["num_frames"]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} before the run; policy {args.policy}; "
          f"{args.steps} timed steps after {args.warmup} warm-up, best of {args.rounds} round(s)")
    print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s ({best_lib}, {best_shape}); per "
          "library: " + ", ".join(f"{lib} {max(r.values()) / 1e9:.0f}"
                                  for lib, r in peaks.items() if r))
    print(f"batch {BATCH} x {CONFIG['num_persons']} persons x {CONFIG['num_frames']} frames = "
          f"{graphs} frame graphs; FLOPs per step (analytic): pre-training "
          f"{flops['pretrain'] / 1e9:.2f} G, fine-tuning {flops['finetune'] / 1e9:.2f} G\n")
    baseline = results.get(("pretrain", runs[0][1]))
    header = (f"{'phase':<13}{'runner':<30}{'jit':<7}{'step ms':>9}{'graphs/s':>10}"
              f"{'vs eager':>10}{'% peak':>8}{'peak MiB':>10}")
    print(header + "\n" + "-" * len(header))
    table = []
    for (phase, label), r in results.items():
        rate = graphs / r["step_s"]
        ratio = baseline["step_s"] / r["step_s"] if baseline and phase == "pretrain" else None
        fraction = flops[phase] / r["step_s"] / peak
        table.append(dict(phase=phase, runner=label, rate=rate, ratio=ratio,
                          fraction=fraction, **r))
        print(f"{phase:<13}{label:<30}{r['jit']:<7}{1e3 * r['step_s']:>9.1f}{rate:>10.0f}"
              f"{'' if ratio is None else f'{ratio:.2f}x':>10}{100 * fraction:>7.1f}%"
              f"{r['memory_mib']:>10.0f}")
    if args.json:
        args.json.write_text(json.dumps(dict(peak=peak, peaks=peaks, load=load, flops=flops,
                                             results=table), indent=1))


if __name__ == "__main__":
    main()
