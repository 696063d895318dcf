"""Export a classifier for serving as a TensorFlow SavedModel, and check the served outputs.

1. Load a classifier preset (default the built-in `skeletonmae_kinect20_msr_classifier`).
2. `model.export(dir, format="tf_saved_model")`: the forward pass as a standalone SavedModel
   (no Keras or keras_skeletonmae needed to serve it), endpoint `serve`.
3. Reload it with `tf.saved_model.load` and compare `serve(x)` with `model.predict(x)` on real
   MSR Action3D test sequences: the largest absolute difference of the logits, and whether the
   top-1 classes agree.
4. `model.export(path, format="onnx")` with a dynamic batch axis, reloaded in onnxruntime and
   compared with `predict` the same way. The packages: tf2onnx and onnxruntime on TensorFlow,
   onnx, onnxscript and onnxruntime on PyTorch (all in `pip install keras-skeletonmae[onnx]`),
   jax2onnx and onnxruntime on JAX. This example installs nothing.

    KERAS_BACKEND=tensorflow python examples/export.py [--quick] [--preset PRESET] [--output DIR]

Backends (Keras 3.15): TensorFlow exports both formats. PyTorch exports ONNX; a SavedModel needs
torch-xla, which has no CPU wheel here. JAX exports a SavedModel through jax2tf when TensorFlow
is installed; its ONNX (through jax2onnx 0.17) does not run in onnxruntime 1.32 (the temporal
max-pool and the dynamic batch axis are translated into nodes onnxruntime rejects). A format that
cannot run is reported in one sentence (what to install, or why it failed) instead of a
traceback; when no format can run the example exits with status 2.

Data: `msr_action3d.pkl` (PYSKL layout) from `--data`, `$SKELETONMAE_DATA` or `../shared/data`.
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

import keras_skeletonmae as ksm
from keras_skeletonmae.data import CenterOnJoint, load_skeletons
from keras_skeletonmae.training import usable_split

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ONNX_NEEDS = {"tensorflow": ["tf2onnx", "onnxruntime"], "jax": ["jax2onnx", "onnxruntime"],
              "torch": ["onnx", "onnxscript", "onnxruntime"]}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="skeletonmae_kinect20_msr_classifier",
                        help="a classifier preset: built-in name or directory")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "msr_action3d.pkl")
    parser.add_argument("--split", default="xsub_val")
    parser.add_argument("--samples", type=int, default=0,
                        help="compare on the first N sequences of the split (0: all)")
    parser.add_argument("--quick", action="store_true", help="compare on 32 sequences")
    parser.add_argument("--no-onnx", action="store_true", help="do not try the ONNX export")
    parser.add_argument("--output", type=Path, default=Path("runs/export"))
    args = parser.parse_args()
    if args.quick and not args.samples:
        args.samples = 32
    return args


def missing(modules):
    """The modules of `modules` that cannot be imported here."""
    absent = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    return absent


def saved_model_unavailable(backend):
    """Why `format="tf_saved_model"` cannot run here (what to install), or None."""
    if backend not in ("tensorflow", "jax", "torch"):
        return f"Keras cannot export a SavedModel from the '{backend}' backend."
    if missing(["tensorflow"]):
        return ("Exporting a TensorFlow SavedModel needs TensorFlow, which is not installed: "
                "pip install tensorflow-cpu (or keras-skeletonmae[tensorflow]), then run this "
                "example with KERAS_BACKEND=tensorflow or jax.")
    if backend == "torch" and missing(["torch_xla"]):
        return ("Keras exports a SavedModel from the PyTorch backend through torch-xla, which is "
                "not installed (pip install torch-xla, where a wheel exists for your platform). "
                "Or run this example with KERAS_BACKEND=tensorflow or jax.")
    return None


def onnx_unavailable(backend):
    """Why `format="onnx"` cannot run here (what to install), or None."""
    if backend not in ONNX_NEEDS:
        return f"Keras cannot export ONNX from the '{backend}' backend."
    absent = missing(ONNX_NEEDS[backend])
    if absent:
        extra = "" if backend == "jax" else " (or keras-skeletonmae[onnx])"
        return (f"Exporting ONNX from the {backend} backend needs {', '.join(absent)}, not "
                f"installed: pip install {' '.join(absent)}{extra}.")
    return None


def export_onnx(model, path, sample_shape):
    """Write `model`'s forward pass to the ONNX file `path`, its batch axis dynamic.

    Args:
        model: a built Keras model with one input.
        path: str or Path of the `.onnx` file.
        sample_shape: tuple, the input shape of one sample (no batch axis).

    Returns:
        An `onnxruntime.InferenceSession` on the file.

    Example:
        >>> session = export_onnx(model, "model.onnx", (1, 64, 20, 3))
        >>> logits = session.run(None, {session.get_inputs()[0].name: x})[0]
    """
    import logging
    import warnings

    import onnxruntime

    # An explicit signature: Keras refuses to infer one from a model that `predict` ran but
    # that was never called directly (JAX), and it keeps the batch axis dynamic everywhere.
    signature = [keras.InputSpec(shape=(None, *sample_shape), dtype="float32")]
    # tf2onnx's optional einsum optimiser cannot parse "..." equations (the GIN propagation):
    # it logs a traceback and keeps the einsum as it is, which onnxruntime runs.
    logging.getLogger("tf2onnx.optimizer").setLevel(logging.ERROR)
    if keras.backend.backend() == "torch":
        import torch

        # Keras's `ops.take` (bones) flattens its indices with `ravel`, which the TorchScript
        # exporter (the one Keras uses for a dynamic batch axis) cannot translate: a reshape.
        torch.onnx.register_custom_op_symbolic("aten::ravel", _onnx_ravel, 9)
    with warnings.catch_warnings():
        # The PyTorch exporter traces the model; shape checks in Python warn for each layer.
        warnings.simplefilter("ignore")
        model.export(str(path), format="onnx", verbose=False, input_signature=signature)
    return onnxruntime.InferenceSession(str(path))


def _onnx_ravel(graph, x):
    """The ONNX of `torch.ravel(x)`: a reshape to one axis."""
    import torch

    return graph.op("Reshape", x, graph.op("Constant", value_t=torch.tensor([-1])))


def check_saved_model(model, x, expected, path):
    import tensorflow as tf

    model.export(str(path), format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(path))  # keep a reference: it owns the variables
    served = reloaded.serve(tf.constant(x)).numpy()
    return compare(served, expected)


def check_onnx(model, x, expected, path):
    session = export_onnx(model, path, x.shape[1:])
    served = session.run(None, {session.get_inputs()[0].name: x})[0]
    return compare(served, expected)


def compare(served, expected):
    return {"max_abs_difference": float(np.max(np.abs(served.astype("float64") - expected))),
            "top1_agreement": float(np.mean(served.argmax(-1) == expected.argmax(-1)))}


def first_line(error):
    """`error` as one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


def main():
    args = parse_args()
    backend = keras.backend.backend()
    formats = {"tf_saved_model": (saved_model_unavailable(backend), check_saved_model,
                                  "saved_model"),
               "onnx": ("--no-onnx" if args.no_onnx else onnx_unavailable(backend), check_onnx,
                        "model.onnx")}
    if all(reason for reason, _, _ in formats.values()):
        print(f"Cannot export from the {backend} backend here.", file=sys.stderr)
        for name, (reason, _, _) in formats.items():
            print(f"{name}: {reason}", file=sys.stderr)
        raise SystemExit(2)
    if not args.data.is_file():
        raise SystemExit(f"MSR Action3D not found at {args.data}: pass --data or set "
                         "SKELETONMAE_DATA.")

    model = ksm.SkeletonClassifier.from_preset(args.preset)
    backbone = model.backbone
    data = usable_split(load_skeletons(args.data, backbone.layout), args.split)
    if args.samples:
        data = data.select(range(min(args.samples, len(data))))
    x, y = data.to_arrays(backbone.num_frames, backbone.num_persons,
                          transform=CenterOnJoint(backbone.layout))
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0)).astype("float64")
    print(f"Loaded '{args.preset}' ({model.count_params()} parameters, layout "
          f"'{backbone.layout.name}'); {len(x)} sequences of {args.data.name} {args.split}, "
          f"input {x.shape}; Keras top-1 {np.mean(expected.argmax(-1) == y):.4f}")

    args.output.mkdir(parents=True, exist_ok=True)
    results = {"backend": backend, "keras_version": keras.__version__, "preset": args.preset,
               "split": args.split, "sequences": len(x),
               "keras_top1": float(np.mean(expected.argmax(-1) == y)), "exports": {}}
    for name, (reason, check, filename) in formats.items():
        if reason:
            results["exports"][name] = {"skipped": reason}
            continue
        start, path = time.time(), args.output / filename
        try:
            results["exports"][name] = {"path": str(path), **check(model, x, expected, path),
                                        "seconds": round(time.time() - start, 1)}
        except Exception as error:  # a converter's limitation: say which, keep the other format
            results["exports"][name] = {
                "failed": f"the {name} export or its reload failed on the {backend} backend "
                          f"({first_line(error)}); export from another backend instead."}

    (args.output / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nExport of '{args.preset}' ({backend} backend, Keras {keras.__version__}), "
          f"{len(x)} sequences")
    print(f"{'format':<16}{'max |served - predict|':>24}{'top-1 agreement':>17}  where")
    for name, result in results["exports"].items():
        if "max_abs_difference" in result:
            print(f"{name:<16}{result['max_abs_difference']:>24.2e}"
                  f"{result['top1_agreement']:>17.4f}  {result['path']}")
        else:
            print(f"{name:<16}{'':>24}{'':>17}  {result.get('skipped') or result.get('failed')}")
    print(f"Results written to {args.output / 'results.json'}")
    if not any("max_abs_difference" in result for result in results["exports"].values()):
        print(f"No format could be exported from the {backend} backend (reasons above).",
              file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
