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
- peak memory: the accelerator's peak when there is one, else the process's peak RSS;
- a roofline: this machine's memory bandwidth, measured in the same run (`y = a * x + b` over
  256 MB arrays with NumPy, PyTorch and JAX, the highest counting); the bytes each step moves
  (XLA's cost analysis of the compiled JAX step; for TensorFlow the JAX step's figure, as
  TensorFlow exposes no XLA cost analysis; for PyTorch the tensors every ATen operation of one
  step reads and writes) against the least the model needs (`model_bytes`); per phase the bound
  `max(FLOPs / peak, bytes / bandwidth)` with the JAX step's bytes (the model's least without
  JAX), and each runner's fraction of it (bound / step time).

Every figure comes from one run on one machine; compare ratios, not absolute rates, across runs.

`--normalization compare` measures instead the two paths of BatchNorm (+ PReLU) in the package's
layers (`keras_skeletonmae/layers/batch_norm.py`): in each round, per phase and backend, one
step-time median with the fused path and one with the plain Keras layers, one right after the
other (their order alternating between rounds); it prints the median over rounds of the ratio
fused / plain (below 1: the fused path is faster).

    python benchmarks/bench_train.py [--backends jax,tensorflow,torch] [--steps 20] [--rounds 2]
        [--python jax=/path/to/jax/venv/bin/python] [--json out.json]
    python benchmarks/bench_train.py --normalization compare --rounds 3 [--frames 32 --batch 4]
"""

import argparse
import json
import math
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
BANDWIDTH_LIBRARIES = ("numpy", "torch", "jax")
BANDWIDTH_MB = 256  # per array: far beyond any cache
BACKENDS = ("jax", "tensorflow", "torch")


# --- analytic FLOPs and bytes ---------------------------------------------------------------------

def _products(batch=BATCH, strl_layers=0):
    """Matrix products of one step, `(rows, inner, cols, passes, trained)` in forward order: a
    `(rows, inner)` activation times an `(inner, cols)` matrix, the adjacency product written as
    `h^T A^T` per frame graph (rows = graphs x width, inner = cols = V); `passes` = 1 (forward)
    + 1 per backward product: weight gradient (not for the constant adjacency), input gradient
    (not into the data); `trained`: the `(inner, cols)` matrix is a weight (not the adjacency)."""
    c, t, m, d, h = (CONFIG[k] for k in ("num_channels", "num_frames", "num_persons",
                                          "embed_dim", "hidden_dim"))
    graphs = batch * m * t
    rows = graphs * NUM_JOINTS

    def gin(width_in, width_out):
        return [(graphs * width_in, NUM_JOINTS, NUM_JOINTS, 2, False),  # (V, V) adjacency
                (rows, width_in, h, 3, True), (rows, h, width_out, 3, True)]

    encoder = [p for _ in range(CONFIG["num_layers"]) for p in gin(d, d)]
    products = [(rows, c, d, 2, True)]  # embedding
    if not strl_layers:  # pre-training: encoder, re-mask, decoder
        return products + encoder + [(rows, d, d, 3, True)] + gin(d, c * TARGET_WINDOW)
    branch = d // 4  # MultiScaleTemporalConv: 2 dilated, max-pool and 1x1 branches
    strl = [(rows, 2 * d, d, 3, True), (rows, d, d, 3, True)]  # spatial (concat), residual
    strl += [(rows, d, branch, 3, True)] * 4 + [(rows, 5 * branch, branch, 3, True)] * 2
    return products + (encoder + strl) * strl_layers + [(batch, d, NUM_CLASSES, 3, True)]


def step_flops(strl_layers=0):
    """FLOPs of one training step's matrix products, 2mkn per product and pass."""
    return sum(2 * m * k * n * passes
               for m, k, n, passes, _ in _products(BATCH, strl_layers=strl_layers))


def model_bytes(batch, strl_layers=0):
    """The least memory traffic of one training step in float32, counted from `_products`.

    Each pass of a product `(m, k) @ (k, n)` reads one `m x k` and one `k x n` operand and
    writes or reads the `m x n` one (forward: reads the activation and the matrix, writes the
    output; weight gradient: reads the activation and the output's gradient, writes the
    weight's; input gradient: reads the output's gradient and the matrix, writes the
    activation's): `mk + kn + mn` elements per pass, so every activation the backward pass
    needs is written once and read again there. Adam then reads each weight, its gradient and
    its two moments and writes the weight and the moments: `7kn` per trained matrix. Element-wise
    work (BatchNorm, PReLU, the loss) is taken as fused into these reads and writes, and the
    small parameters (biases, BatchNorm, PReLU, position embedding) are left out: a bound that
    no implementation reaches, not an estimate of one.

    Args:
        batch (int): sequences per step.
        strl_layers (int): 0 for the pre-training step, else the classifier's STRL layers.

    Returns:
        int: bytes per step.
    """
    return 4 * sum(passes * (m * k + k * n + m * n) + (7 * k * n if trained else 0)
                   for m, k, n, passes, trained in _products(batch, strl_layers=strl_layers))


def roofline(flops, bytes_moved, peak, bandwidth):
    """The least time of a step: `max(flops / peak, bytes_moved / bandwidth)`.

    Args:
        flops (float): floating-point operations of the step.
        bytes_moved (float): bytes the step reads and writes.
        peak (float): the machine's FLOP/s.
        bandwidth (float): the machine's memory bandwidth, bytes/s.

    Returns:
        float: seconds.
    """
    return max(flops / peak, bytes_moved / bandwidth)


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


def xla_cost(lowered):
    """XLA's cost analysis of a lowered JAX function: a dict with "flops", "bytes accessed"."""
    cost = lowered.compile().cost_analysis()
    return cost[0] if isinstance(cost, (list, tuple)) else cost  # older JAX: a list


def train_step_cost(model, data):
    """XLA's cost analysis of a compiled Keras model's JAX training step on `data` (`(x,)` or
    `(x, y)`), compiled anew with `jax.jit`; the optimizer must be built (by a step or
    `model.optimizer.build`)."""
    import jax

    state = tuple(jax.tree.map(lambda v: v.value, variables) for variables in (
        model.trainable_variables, model.non_trainable_variables,
        model.optimizer.variables, model.metrics_variables))
    return xla_cost(jax.jit(model.train_step).lower(state, data))


def aten_bytes(step):
    """Bytes PyTorch's ATen operations read and write while `step()` runs, eagerly.

    Every tensor argument of every operation but a view (which moves nothing) counts as read,
    a broadcast one at its stored size; every new result and every argument written in place
    (by the operation's schema) as written. `*_like` and `new_*` constructors read only their
    argument's shape. No cache is assumed, as eager PyTorch runs one operation at a time.

    Args:
        step (callable): runs the PyTorch work to count.

    Returns:
        int: bytes read and written.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    def size(tensors):
        return sum(math.prod(n for n, stride in zip(t.shape, t.stride()) if stride)
                   * t.element_size() for t in tree_leaves(tensors) if isinstance(t, torch.Tensor))

    class Counter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            if not func.is_view:
                schema = func._schema
                named = dict(zip((a.name for a in schema.arguments), args), **kwargs)
                written = [named.get(a.name) for a in schema.arguments
                           if a.alias_info is not None and a.alias_info.is_write]
                results = result if isinstance(result, (tuple, list)) else (result,)
                fresh = [r for r, out in zip(results, schema.returns) if out.alias_info is None]
                name = func.overloadpacket.__name__
                read = () if name.endswith("_like") or name.startswith("new_") else named
                self.total += size(read) + size(written) + size(fresh)
            return result

    with Counter() as counter:
        step()
    return counter.total


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
    backend = keras.backend.backend()
    result = {"step_s": float(np.median(np.diff(ends[max(warmup - 1, 0):]))),
              "jit": str(model.jit_compile), "memory_mib": peak_memory_mib(backend),
              "bytes": None, "bytes_from": None}
    data = (x[:BATCH],) if y is None else (x[:BATCH], y[:BATCH])
    if backend == "jax":
        result.update(bytes=train_step_cost(model, data)["bytes accessed"], bytes_from="XLA")
    elif backend == "torch":
        result.update(bytes=aten_bytes(lambda: model.train_on_batch(*data)),
                      bytes_from="ATen ops")
    return result


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
            "memory_mib": peak_memory_mib("torch"),
            "bytes": aten_bytes(lambda: step(torch.from_numpy(x[:BATCH]))),
            "bytes_from": "ATen ops"}


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


def bandwidth_worker(library, megabytes=BANDWIDTH_MB, repeats=5):
    """Memory bandwidth of `library` (bytes/s): the fastest of `repeats` passes of
    `y = a * x + b` over float32 arrays of `megabytes` MB, counting each pass's bytes read and
    written (NumPy: two passes, `a * x` then `+ b`, in place; PyTorch and JAX: one)."""
    n = megabytes * 2**20 // 4
    x = np.full(n, 2.0, dtype="float32")
    passes = 1
    if library == "jax":
        import jax

        update = jax.jit(lambda v: 0.5 * v + 1.0, donate_argnums=0)  # in place: no allocation
        state = [jax.numpy.asarray(x)]

        def run():
            state[0] = update(state[0]).block_until_ready()
    elif library == "torch":
        import torch

        source, target, shift = torch.from_numpy(x), torch.empty(n), torch.tensor(1.0)

        def run():
            torch.add(shift, source, alpha=0.5, out=target)
    else:
        passes = 2

        def run():
            np.add(np.multiply(x, 0.5, out=x), 1.0, out=x)
    run()  # the pages are touched, the function compiled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return passes * 2 * x.nbytes / min(times)


def worker(spec, args):
    kind, _, name = spec.partition(":")
    if kind == "peak":
        return peak_worker(name)
    if kind == "bandwidth":
        return bandwidth_worker(name)
    if kind == "torch-eager":
        return torch_eager_worker(args.steps, args.warmup)
    return keras_worker(name, args.steps, args.warmup, args.policy, args.normalization)


# --- orchestration ------------------------------------------------------------------------------

def has_module(python, module):
    """Whether the interpreter `python` can import `module`."""
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec('{module}') is None)"
    return subprocess.run([python, "-c", probe]).returncode == 0


def library_interpreter(library, pythons=()):
    """`(python, KERAS_BACKEND)` to measure `library` with: the first interpreter, this one then
    `pythons`, that has it, and a Keras backend it has (workers may import Keras); or None.

    Args:
        library (str): one of `LIBRARIES`.
        pythons (iterable of str): other interpreters.
    """
    python = next((p for p in [sys.executable, *pythons] if has_module(p, library)), None)
    if python is None:
        return None
    backend = library if library in BACKENDS else next(
        (b for b in BACKENDS if has_module(python, b)), "numpy")
    return python, backend


def run_worker(spec, args, python=sys.executable, backend="torch", normalization=None):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [python, __file__, "--worker", spec, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--policy", args.policy, "--frames", str(args.frames),
           "--batch", str(args.batch), "--normalization", normalization or args.normalization]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"{spec} on {backend} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_normalization(args, backends, pythons):
    """Fused / plain step-time ratios per phase and backend, the median over `args.rounds`."""
    times = {}
    for round_ in range(args.rounds):
        paths = ("fused", "plain") if round_ % 2 == 0 else ("plain", "fused")
        for phase in ("pretrain", "finetune"):
            for backend in backends:
                for path in paths:
                    result = run_worker(f"keras:{phase}", args,
                                        pythons.get(backend, sys.executable), backend, path)
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


def phase_bounds(results, peak, bandwidth):
    """Each phase's roofline: `{phase: dict}` with the analytic FLOPs, the bytes (XLA's count of
    the JAX step when `results` has it, else `model_bytes`), both bounds and the model's
    minimum; the TensorFlow runners of `results` take the JAX step's bytes (in place).

    Args:
        results (dict): `{(phase, runner label): worker result}`.
        peak (float): the machine's float32 matmul FLOP/s.
        bandwidth (float): the machine's memory bandwidth, bytes/s.
    """
    bounds = {}
    for phase, strl_layers in (("pretrain", 0), ("finetune", 3)):
        flops, least = step_flops(strl_layers), model_bytes(BATCH, strl_layers)
        jax_bytes = (results.get((phase, "keras / jax")) or {}).get("bytes")
        moved, source = (jax_bytes, "XLA, JAX step") if jax_bytes else (least, "model minimum")
        tensorflow = results.get((phase, "keras / tensorflow"))
        if tensorflow and jax_bytes:
            tensorflow.update(bytes=jax_bytes, bytes_from="XLA, JAX step")
        bounds[phase] = dict(flops=flops, bytes=moved, bytes_from=source, model_bytes=least,
                             compute_s=flops / peak, memory_s=moved / bandwidth,
                             bound_s=roofline(flops, moved, peak, bandwidth),
                             model_bound_s=roofline(flops, least, peak, bandwidth))
    return bounds


def main():
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--python", action="append", default=[], metavar="BACKEND=PATH",
                        help="the interpreter of a backend (default: this one)")
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

    pythons = dict(item.split("=", 1) for item in args.python)
    backends = [b for b in args.backends.split(",") if b]
    if args.normalization == "compare":
        table = compare_normalization(args, backends, pythons)
        if args.json:
            args.json.write_text(json.dumps(table, indent=1))
        return
    load = os.getloadavg()[0]
    peaks, bandwidths = {}, {}
    for library in LIBRARIES:  # each library's figures, in an interpreter that has it
        found = library_interpreter(library, pythons.values())
        if found:
            peaks[library] = run_worker(f"peak:{library}", args, *found)
            if library in BANDWIDTH_LIBRARIES:
                bandwidths[library] = run_worker(f"bandwidth:{library}", args, *found)
    best_lib, rates = max(((lib, r) for lib, r in peaks.items() if r),
                          key=lambda item: max(item[1].values()))
    best_shape = max(rates, key=rates.get)
    peak = rates[best_shape]
    bandwidth_lib = max((lib for lib, rate in bandwidths.items() if rate), key=bandwidths.get)
    bandwidth = bandwidths[bandwidth_lib]

    runs = [("pretrain", "torch eager (plain PyTorch)", "torch-eager", "torch")]
    runs += [(phase, f"keras / {b}", f"keras:{phase}", b)
             for phase in ("pretrain", "finetune") for b in backends]
    results = {}
    for _ in range(args.rounds):
        for phase, label, spec, backend in runs:
            result = run_worker(spec, args, pythons.get(backend, sys.executable), backend)
            best = results.get((phase, label))
            if result and (best is None or result["step_s"] < best["step_s"]):
                results[(phase, label)] = result

    bounds = phase_bounds(results, peak, bandwidth)
    graphs = BATCH * CONFIG["num_persons"] * CONFIG["num_frames"]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} before the run; policy {args.policy}; "
          f"{args.steps} timed steps after {args.warmup} warm-up, best of {args.rounds} round(s)")
    print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s ({best_lib}, {best_shape}); per "
          "library: " + ", ".join(f"{lib} {max(r.values()) / 1e9:.0f}"
                                  for lib, r in peaks.items() if r))
    print(f"memory bandwidth: {bandwidth / 1e9:.1f} GB/s ({bandwidth_lib}, y = a * x + b over "
          f"{BANDWIDTH_MB} MB); per library: " + ", ".join(
              f"{lib} {rate / 1e9:.1f}" for lib, rate in bandwidths.items() if rate))
    print(f"batch {BATCH} x {CONFIG['num_persons']} persons x {CONFIG['num_frames']} frames = "
          f"{graphs} frame graphs; FLOPs per step (analytic): pre-training "
          f"{bounds['pretrain']['flops'] / 1e9:.2f} G, fine-tuning "
          f"{bounds['finetune']['flops'] / 1e9:.2f} G")
    for phase, b in bounds.items():
        print(f"roofline {phase}: {b['flops'] / 1e9:.2f} GFLOP at the peak "
              f"{1e3 * b['compute_s']:.1f} ms, {b['bytes'] / 1e6:.0f} MB ({b['bytes_from']}) at "
              f"the bandwidth {1e3 * b['memory_s']:.1f} ms: bound {1e3 * b['bound_s']:.1f} ms; "
              f"with the model's minimum {b['model_bytes'] / 1e6:.0f} MB: "
              f"{1e3 * b['model_bound_s']:.1f} ms")
    baseline = results.get(("pretrain", runs[0][1]))
    header = (f"{'phase':<13}{'runner':<30}{'jit':<7}{'step ms':>9}{'graphs/s':>10}"
              f"{'vs eager':>10}{'% peak':>8}{'% bound':>9}{'peak MiB':>10}{'MB/step':>9}"
              f"{'x min':>7}  bytes from")
    print(f"\n{header}\n" + "-" * len(header))
    table = []
    for (phase, label), r in results.items():
        rate = graphs / r["step_s"]
        ratio = baseline["step_s"] / r["step_s"] if baseline and phase == "pretrain" else None
        fraction = bounds[phase]["flops"] / r["step_s"] / peak
        bound_fraction = bounds[phase]["bound_s"] / r["step_s"]
        table.append(dict(phase=phase, runner=label, rate=rate, ratio=ratio, fraction=fraction,
                          bound_fraction=bound_fraction, **r))
        moved = (f"{r['bytes'] / 1e6:>9.0f}{r['bytes'] / bounds[phase]['model_bytes']:>6.1f}x"
                 if r["bytes"] else f"{'-':>9}{'-':>7}")
        print(f"{phase:<13}{label:<30}{r['jit']:<7}{1e3 * r['step_s']:>9.1f}{rate:>10.0f}"
              f"{'' if ratio is None else f'{ratio:.2f}x':>10}{100 * fraction:>7.1f}%"
              f"{100 * bound_fraction:>8.1f}%{r['memory_mib']:>10.0f}{moved}"
              f"  {r['bytes_from'] or ''}")
    if args.json:
        args.json.write_text(json.dumps(dict(
            peak=peak, peaks=peaks, bandwidth=bandwidth, bandwidths=bandwidths, load=load,
            flops={phase: b["flops"] for phase, b in bounds.items()}, bounds=bounds,
            results=table), indent=1))


if __name__ == "__main__":
    main()
