"""Export a classifier for serving as a TensorFlow SavedModel, and check the served outputs.

1. Load a classifier preset (default the built-in `skeletonmae_kinect20_msr_classifier`).
2. `model.export(dir, format="tf_saved_model")`: the forward pass as a standalone SavedModel
   (no Keras or keras_skeletonmae needed to serve it), endpoint `serve`.
3. Reload it with `tf.saved_model.load` and compare `serve(x)` with `model.predict(x)` on real
   MSR Action3D test sequences: the largest absolute difference of the logits, and whether the
   top-1 classes agree.
4. ONNX (`format="onnx"`) too, when the packages it needs are already installed (tf2onnx and
   onnxruntime from TensorFlow or JAX; onnx, onnxscript and onnxruntime from PyTorch); otherwise
   it is skipped with a note. This example installs nothing.

    KERAS_BACKEND=tensorflow python examples/export.py [--quick] [--preset PRESET] [--output DIR]

Backends (Keras 3.15): TensorFlow and JAX export SavedModels (both need TensorFlow installed;
JAX converts through jax2tf). PyTorch needs torch-xla for a SavedModel, which has no CPU wheel
here; without it the example stops with a message. Where the export cannot run it exits with
status 2 and says what to install, instead of a traceback.

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
from keras_skeletonmae.data import CenterOnJoint
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.workflows import usable_split

DEFAULT_DATA = Path(
    os.environ.get("SKELETONMAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ONNX_NEEDS = {"tensorflow": ["tf2onnx", "onnxruntime"], "jax": ["tf2onnx", "onnxruntime"],
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


def check_saved_model(model, x, expected, path):
    import tensorflow as tf

    model.export(str(path), format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(path))  # keep a reference: it owns the variables
    served = reloaded.serve(tf.constant(x)).numpy()
    return compare(served, expected)


def check_onnx(model, x, expected, path):
    import onnxruntime

    model.export(str(path), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path))
    served = session.run(None, {session.get_inputs()[0].name: x})[0]
    return compare(served, expected)


def compare(served, expected):
    return {"max_abs_difference": float(np.max(np.abs(served.astype("float64") - expected))),
            "top1_agreement": float(np.mean(served.argmax(-1) == expected.argmax(-1)))}


def main():
    args = parse_args()
    backend = keras.backend.backend()
    reason = saved_model_unavailable(backend)
    if reason:
        print(f"Cannot export from the {backend} backend here. {reason}", file=sys.stderr)
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
    start = time.time()
    saved_model = args.output / "saved_model"
    results["exports"]["tf_saved_model"] = {
        "path": str(saved_model), **check_saved_model(model, x, expected, saved_model),
        "seconds": round(time.time() - start, 1)}

    needs = ONNX_NEEDS[backend]
    if args.no_onnx:
        results["exports"]["onnx"] = {"skipped": "--no-onnx"}
    elif missing(needs):
        results["exports"]["onnx"] = {
            "skipped": f"needs {', '.join(missing(needs))} (not installed; this example "
                       "installs nothing)"}
    else:
        start, onnx_path = time.time(), args.output / "model.onnx"
        try:
            results["exports"]["onnx"] = {"path": str(onnx_path),
                                          **check_onnx(model, x, expected, onnx_path),
                                          "seconds": round(time.time() - start, 1)}
        except Exception as error:  # an optional extra: report it, keep the SavedModel result
            results["exports"]["onnx"] = {"failed": f"{type(error).__name__}: {error}"[:500]}

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


if __name__ == "__main__":
    main()
