"""Inference speed: the command line's default classifier on every backend, and in onnxruntime.

The model: `skeletonmae train`'s classifier from scratch (kinect20, 3 channels, 64 frames,
1 person, bones and motion, D = 64, 3 GIN layers of MLP width 256, 3 STRL layers, 20 classes),
or with `--preset` a classifier preset as `skeletonmae predict` runs it (a window of any length
is resampled to the preset's frame count, so that is the input timed).
For each Keras backend (one subprocess each, as `bench_train.py`; `--python BACKEND=PATH` runs a
backend in another environment, e.g. JAX where TensorFlow is not installed) and batch sizes 1
and 16, it times one call on a batch of windows:

- `predict_on_batch`, the model compiled as the command line compiles it (XLA on TensorFlow and
  JAX, `jit_compile="auto"` on PyTorch);
- a direct compiled call, `keras_skeletonmae.inference.compiled_inference`: `jax.jit` of
  `stateless_call`, `tf.function(jit_compile=True)` of `model(x, training=False)`, and
  `torch.jit.trace` of it under `torch.no_grad()` (TorchScript);
- onnxruntime on the model exported with `model.export(format="onnx")` from that backend
  (`examples/export.py`), where the backend's exporter and the runtime can.

Each figure is the median call after warm-up calls (compilation), the best of `--rounds`
interleaved rounds. FLOPs per window come from XLA's cost analysis of the JAX forward pass (all
operations, not only matrix products); the fraction of this machine's float32 matmul peak uses
the peak `bench_train.py` measures, in the same run.

    python benchmarks/bench_inference.py [--backends jax,tensorflow,torch] [--rounds 2]
        [--python jax=/path/to/jax/venv/bin/python] [--preset NAME [--frames T]]
        [--json out.json]
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_train  # noqa: E402  (a script beside this one, not a package)

CONFIG = dict(layout="kinect20", num_channels=3, num_frames=64, num_persons=1, embed_dim=64,
              num_layers=3, hidden_dim=256, motion=True, bones=True)
NUM_CLASSES = 20
STRL_LAYERS = 3
BATCHES = (1, 16)
BACKENDS = ("jax", "tensorflow", "torch")
RUNNERS = ("predict_on_batch", "compiled call", "onnxruntime")
BACKEND_LIBRARY = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


def build_classifier(config=CONFIG, strl_layers=STRL_LAYERS, num_classes=NUM_CLASSES,
                     preset=None, frames=None):
    """The classifier of `config`, seeded, or of `preset` (a classifier preset, as `skeletonmae
    predict` loads it: its own persons and classes, and its frames unless `frames` is given),
    compiled as the command line compiles it."""
    import keras

    from keras_skeletonmae import SkeletonClassifier, SkeletonMAEBackbone
    from keras_skeletonmae.models import xla_jit_compile

    keras.utils.set_random_seed(0)
    if preset:
        model = SkeletonClassifier.from_preset(preset, **({"num_frames": frames} if frames
                                                          else {}))
    else:
        model = SkeletonClassifier(SkeletonMAEBackbone(**config), num_classes=num_classes,
                                   num_strl_layers=strl_layers)
    model.compile(jit_compile=xla_jit_compile())
    return model


def compiled_call(model):
    """`x -> logits as NumPy`: the package's compiled inference pass
    (`keras_skeletonmae.inference.compiled_inference`), and `flops(x)`, XLA's count for a batch
    like `x` on JAX (None elsewhere)."""
    import keras

    from keras_skeletonmae.inference import compiled_inference

    call = compiled_inference(model)
    if keras.backend.backend() != "jax":
        return call, None
    import jax

    forward = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])

    def flops(x):
        state = ([v.value for v in model.trainable_variables],
                 [v.value for v in model.non_trainable_variables])
        return float(bench_train.xla_cost(forward.lower(*state, x))["flops"])

    return call, flops


def onnx_call(model, path):
    """`(x -> logits, None)` from onnxruntime on `model` exported to `path`, or `(None, why)`."""
    import keras

    spec = importlib.util.spec_from_file_location("export", HERE.parent / "examples" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    reason = export.onnx_unavailable(keras.backend.backend())
    if reason:
        return None, reason
    try:
        if path.exists():  # exported in an earlier round (the weights are seeded: the same)
            import onnxruntime

            session = onnxruntime.InferenceSession(str(path))
        else:
            session = export.export_onnx(model, path, tuple(model.inputs[0].shape[1:]))
        name = session.get_inputs()[0].name
        run = lambda x: session.run(None, {name: x})[0]  # noqa: E731
        run(np.zeros((1, *model.inputs[0].shape[1:]), "float32"))  # it loads; does it run?
    except Exception as error:  # a converter's limitation: report it, keep the other runners
        return None, export.first_line(error)
    return run, None


def time_calls(call, x, steps, warmup, max_seconds):
    """Median seconds of `call(x)` over up to `steps` timed calls (fewer past `max_seconds`,
    never under 3) after `warmup` untimed ones."""
    for _ in range(warmup):
        call(x)
    times, start = [], time.perf_counter()
    while len(times) < steps and (len(times) < 3 or time.perf_counter() - start < max_seconds):
        begin = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - begin)
    return float(np.median(times)), len(times)


def measure(config=CONFIG, strl_layers=STRL_LAYERS, batches=BATCHES, steps=20, warmup=2,
            max_seconds=2.0, onnx_path=None, preset=None, frames=None):
    """Rows `{runner, batch, latency_s, windows_per_s, calls}` (or `{runner, skipped}`) of the
    current backend, and XLA's FLOPs per window (None off JAX).

    Args:
        config: `SkeletonMAEBackbone` arguments.
        strl_layers: STRL layers of the classifier.
        batches: batch sizes to time.
        steps: timed calls per figure (fewer past `max_seconds`).
        warmup: untimed calls first (compilation).
        max_seconds: time budget of one figure's timed calls.
        onnx_path: where to export the ONNX model; None skips onnxruntime.
        preset: a classifier preset timed instead of `config`'s classifier.
        frames: the preset's frame count overridden (None: its own).

    Example:
        >>> rows, flops = measure(batches=(1,), steps=5)  # doctest: +SKIP
    """
    model = build_classifier(config, strl_layers, preset=preset, frames=frames)
    shape = tuple(model.inputs[0].shape[1:])  # (M, T, V, C)
    rng = np.random.default_rng(0)
    call, flops = compiled_call(model)
    runners = {"predict_on_batch": lambda x: np.asarray(model.predict_on_batch(x)),
               "compiled call": call}
    skipped = {}
    if onnx_path is None:
        skipped["onnxruntime"] = "not requested"
    else:
        runners["onnxruntime"], reason = onnx_call(model, onnx_path)
        if reason:
            del runners["onnxruntime"]
            skipped["onnxruntime"] = reason
    rows = [{"runner": name, "skipped": why} for name, why in skipped.items()]
    if "onnxruntime" in runners:  # the exported model computes what the model computes
        x = rng.normal(size=(2, *shape)).astype("float32")
        reference = call(x)
        difference = float(np.max(np.abs(runners["onnxruntime"](x) - reference)))
        rows.append({"runner": "onnxruntime", "max_abs_difference": difference,
                     "max_abs_logit": float(np.max(np.abs(reference)))})
    flops_per_window = None
    for batch in batches:
        x = rng.normal(size=(batch, *shape)).astype("float32")
        for name, run in runners.items():
            latency, calls = time_calls(run, x, steps, warmup, max_seconds)
            rows.append({"runner": name, "batch": batch, "latency_s": latency,
                         "windows_per_s": batch / latency, "calls": calls})
        if flops and flops_per_window is None:
            flops_per_window = flops(x) / batch
    return rows, flops_per_window


def report(results, flops_per_window, peak, load):
    """The table (text) of `results` `{backend: rows}`, and the target checks as a dict.

    Args:
        results: `{backend: rows}`, rows as `measure` returns them.
        flops_per_window: FLOPs of one window's forward pass, or None.
        peak: the machine's float32 matmul peak in FLOP/s, or None.
        load: `(before, after)` load averages of the run.

    Example:
        >>> text, targets = report({"jax": rows}, 3.0e8, 5.0e10, (1.0, 1.2))  # doctest: +SKIP
    """
    timed = [dict(row, backend=b) for b, rows in results.items() for row in rows
             if "latency_s" in row]
    best = {batch: max((r["windows_per_s"] for r in timed if r["batch"] == batch), default=None)
            for batch in {r["batch"] for r in timed}}
    header = (f"{'backend':<12}{'runner':<18}{'batch':>6}{'ms/call':>10}{'windows/s':>11}"
              f"{'% peak':>8}{'vs best':>9}")
    lines = [header, "-" * len(header)]
    for row in timed:
        fraction = (flops_per_window * row["windows_per_s"] / peak
                    if flops_per_window and peak else None)
        row["peak_fraction"] = fraction
        row["vs_best"] = row["windows_per_s"] / best[row["batch"]]
        lines.append(f"{row['backend']:<12}{row['runner']:<18}{row['batch']:>6}"
                     f"{1e3 * row['latency_s']:>10.1f}{row['windows_per_s']:>11.1f}"
                     f"{'' if fraction is None else f'{100 * fraction:.1f}%':>8}"
                     f"{row['vs_best']:>8.2f}x")
    for backend, rows in results.items():
        for row in rows:
            if "skipped" in row:
                lines.append(f"{backend:<12}{row['runner']:<18}  skipped: {row['skipped']}")
            elif "max_abs_difference" in row:
                lines.append(f"{backend:<12}{row['runner']:<18}  max |onnxruntime - compiled "
                             f"call| = {row['max_abs_difference']:.1e} (logits up to "
                             f"{row['max_abs_logit']:.1e})")
    single = [r for r in timed if r["batch"] == 1]
    per_backend = {}
    for r in single:  # each backend's fastest batch-1 path
        per_backend[r["backend"]] = max(per_backend.get(r["backend"], 0), r["windows_per_s"])
    fastest = max(timed, key=lambda r: r["windows_per_s"], default=None)
    targets = {
        "batch1_best_windows_per_s": max(per_backend.values(), default=None),
        "batch1_per_backend_best": per_backend,
        "slowest_backend_vs_fastest_batch1": (min(per_backend.values()) / max(per_backend.values())
                                              if per_backend else None),
        "fastest": fastest and {k: fastest[k] for k in ("backend", "runner", "batch",
                                                        "windows_per_s", "peak_fraction")},
        "load": list(load)}
    lines.append("")
    if per_backend:
        lines.append(f"target >= 100 windows/s at batch 1: best {targets['batch1_best_windows_per_s']:.1f}"
                     f"; every backend within 2x of the fastest: slowest at "
                     f"{targets['slowest_backend_vs_fastest_batch1']:.2f}x of it")
    if fastest and fastest["peak_fraction"] is not None:
        lines.append(f"target >= 40% of the matmul peak: fastest ({fastest['backend']} "
                     f"{fastest['runner']}, batch {fastest['batch']}) at "
                     f"{100 * fastest['peak_fraction']:.1f}%")
    return "\n".join(lines), targets


# --- orchestration (one subprocess per backend, as bench_train.py) -------------------------------

def run_worker(spec, args, python, backend="torch"):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               **dict(item.split("=", 1) for item in args.env))
    cmd = [python, __file__, "--worker", spec, "--steps", str(args.steps), "--warmup",
           str(args.warmup), "--max-seconds", str(args.max_seconds), "--onnx-dir",
           str(args.onnx_dir)] + (["--preset", args.preset] if args.preset else []) + (
               ["--frames", str(args.frames)] if args.frames else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"{spec} on {backend} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(spec, args):
    from keras_skeletonmae.host_memory import retain_freed_memory

    retain_freed_memory()  # as bench_train's workers
    kind, _, name = spec.partition(":")
    if kind == "peak":
        return bench_train.peak_worker(name)
    onnx_path = None if args.onnx_dir in (None, "") else Path(args.onnx_dir) / f"{name}.onnx"
    rows, flops = measure(steps=args.steps, warmup=args.warmup, max_seconds=args.max_seconds,
                          onnx_path=onnx_path, preset=args.preset, frames=args.frames)
    return {"rows": rows, "flops_per_window": flops}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--python", action="append", default=[], metavar="BACKEND=PATH",
                        help="the interpreter of a backend (default: this one)")
    parser.add_argument("--steps", type=int, default=20, help="timed calls per figure at most")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (compile)")
    parser.add_argument("--max-seconds", type=float, default=2.0,
                        help="time budget of one figure's timed calls")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure everything this many times, keep each figure's best")
    parser.add_argument("--no-onnx", action="store_true", help="skip onnxruntime")
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="an environment variable of the measuring subprocesses, e.g. "
                             "OMP_WAIT_POLICY=PASSIVE (default: this process's environment)")
    parser.add_argument("--preset", help="time this classifier preset (as `skeletonmae predict` "
                        "runs it) instead of the command line's default classifier")
    parser.add_argument("--frames", type=int, help="with --preset: windows of this many frames "
                        "instead of the preset's own")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.frames and not args.preset:
        parser.error("--frames needs --preset (the default classifier takes 64 frames)")
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return

    pythons = dict(item.split("=", 1) for item in args.python)
    backends = [b for b in args.backends.split(",") if b]
    load_before = os.getloadavg()[0]
    peaks, flops_per_window = {}, None
    for library in bench_train.LIBRARIES:  # each library's peak, in an interpreter that has it
        found = bench_train.library_interpreter(library, pythons.values())
        if found:
            peaks[library] = run_worker(f"peak:{library}", args, *found)
    rates = {lib: max(r.values()) for lib, r in peaks.items() if r}
    peak_library = max(rates, key=rates.get) if rates else None

    results = {}
    with tempfile.TemporaryDirectory() as onnx_dir:
        args.onnx_dir = "" if args.no_onnx else onnx_dir
        for _ in range(args.rounds):
            for backend in backends:
                python = pythons.get(backend, sys.executable)
                if not bench_train.has_module(python, BACKEND_LIBRARY[backend]):
                    results[backend] = [{"runner": r, "skipped": f"{backend} is not installed "
                                         f"for {python} (pass --python {backend}=PATH)"}
                                        for r in RUNNERS]
                    continue
                result = run_worker(f"keras:{backend}", args, python, backend)
                if not result:
                    continue
                flops_per_window = result["flops_per_window"] or flops_per_window
                kept = {(r["runner"], r.get("batch"), "skipped" in r): r
                        for r in results.get(backend, [])}
                for row in result["rows"]:  # keep each figure's best round
                    key = (row["runner"], row.get("batch"), "skipped" in row)
                    if key not in kept or row.get("latency_s", 1e9) < kept[key].get("latency_s",
                                                                                    1e9):
                        kept[key] = row
                results[backend] = list(kept.values())
    load_after = os.getloadavg()[0]

    peak = rates.get(peak_library)
    print(f"{os.cpu_count()} CPUs, load average {load_before:.2f} before the run and "
          f"{load_after:.2f} after; {args.steps} timed calls at most ({args.max_seconds:g} s) "
          f"after {args.warmup} warm-up, best of {args.rounds} round(s)"
          + (f"; environment {' '.join(args.env)}" if args.env else ""))
    if peak:
        print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s ({peak_library}); per library: "
              + ", ".join(f"{lib} {rate / 1e9:.0f}" for lib, rate in rates.items()))
    model = (f"preset {args.preset}" + (f" at {args.frames} frames" if args.frames else "")
             if args.preset else
             f"{CONFIG}, {STRL_LAYERS} STRL layers, {NUM_CLASSES} classes")
    print(f"model: {model}; FLOPs per window "
          + (f"(XLA, JAX): {flops_per_window / 1e9:.3f} G" if flops_per_window else
             "not counted (needs the JAX backend)") + "\n")
    text, targets = report(results, flops_per_window, peak, (load_before, load_after))
    print(text)
    if args.json:
        args.json.write_text(json.dumps(dict(peak=peak, peaks=peaks, preset=args.preset,
                                             frames=args.frames,
                                             config=None if args.preset else CONFIG,
                                             flops_per_window=flops_per_window, results=results,
                                             targets=targets), indent=1))


if __name__ == "__main__":
    main()
