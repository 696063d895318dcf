"""The `skeletonmae` command line (also `python -m keras_skeletonmae`)."""

import argparse
import importlib.metadata
import json
import sys

from keras_skeletonmae.version import __version__


def list_devices():
    """The devices the current Keras backend can run on."""
    import keras

    if keras.backend.backend() == "torch":  # keras.distribution has no torch implementation
        import torch

        return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return [str(d) for d in keras.distribution.list_devices()]


def info():
    """What this installation runs on: backend, devices, package versions."""
    import keras

    versions = {}
    for package in ("keras", "numpy", "h5py", "tensorflow", "tensorflow-cpu", "jax", "torch"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "keras_skeletonmae": __version__,
        "backend": keras.backend.backend(),
        "devices": list_devices(),
        "versions": versions,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skeletonmae", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="backend, devices and package versions, as JSON")
    args = parser.parse_args(argv)
    if args.command == "info":
        print(json.dumps(info(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
