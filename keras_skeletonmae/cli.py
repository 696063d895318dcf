"""The `skeletonmae` command line (also `python -m keras_skeletonmae`).

    skeletonmae pretrain --data msr_action3d.pkl --split xsub_train --output runs/pretrain
    skeletonmae pretrain --data msr_action3d.pkl:xsub_train utd_mhad.pkl:xsub_train
    skeletonmae finetune --data msr_action3d.pkl --preset runs/pretrain/preset \\
        --train-split xsub_train --val-split xsub_val --output runs/finetune
    skeletonmae evaluate --data msr_action3d.pkl --split xsub_val --preset runs/finetune/preset
    skeletonmae predict --data poses.skeleton --preset runs/finetune/preset
    skeletonmae extract --video a.mp4 b.mp4 --output poses.pkl --labels 0 1
    skeletonmae predict --video a.mp4 --preset skeletonmae_kinect20_msr_classifier

Each training subcommand calls the function of `keras_skeletonmae.training` of its name
(`linear`: `linear_evaluation`) with its options as keyword arguments. Options may also come
from a TOML file (`--config run.toml`): top-level keys apply to every subcommand, a table such
as `[finetune]` to one; keys are option names (`batch_size` or `batch-size`). Options on the
command line win over the file.
"""

import argparse
import importlib.metadata
import json
import os
import sys
from pathlib import Path

from keras_skeletonmae.host_memory import retain_freed_memory
from keras_skeletonmae.version import __version__

BACKENDS = ("tensorflow", "jax", "torch")
# Set (unless the user set them) for a command run without --verbose, before a backend logs:
# TensorFlow's and XLA's C++ start-up notes (absl's "All log messages before
# absl::InitializeLog()...", CPU instruction and oneDNN notes), INFO and WARNING alike. On
# PyTorch and JAX they come from TensorFlow too, when it is installed: Keras's
# `set_random_seed` imports it to seed it.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def _import_tensorflow_quietly():
    """Import TensorFlow with the process's standard error sent to `os.devnull`, when it is
    installed and another backend runs: TensorFlow 2.21 writes its oneDNN and absl start-up
    notes before it reads `TF_CPP_MIN_LOG_LEVEL`, and Keras's `set_random_seed` would import it
    later anyway. An error importing it is still raised, after standard error is back."""
    import importlib.util

    import keras

    if keras.backend.backend() == "tensorflow" or importlib.util.find_spec("tensorflow") is None:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
    for package in ("keras", "numpy", "h5py", "tensorflow", "tensorflow-cpu", "jax", "torch",
                    "keras-tuner", "matplotlib"):
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


def _fraction(text):
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """Argument errors as one sentence (no usage dump), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help).\n")


def _global_options():
    """Options every subcommand takes."""
    parser = _Parser(add_help=False)
    parser.add_argument("--config", type=Path, help="TOML file of options")
    parser.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: "
                        "KERAS_BACKEND or Keras's configured one)")
    parser.add_argument("--traceback", action="store_true", help="show the stack trace of errors")
    parser.add_argument("--verbose", action="store_true",
                        help="keep the backends' start-up log messages (TensorFlow, XLA)")
    return parser


def _add_allow_overlap(parser, what):
    parser.add_argument("--allow-overlap", action="store_true",
                        help=f"allow {what} (refused by default: it would train on evaluation "
                             "data)")


def _add_output(parser, output):
    parser.add_argument("--output", type=Path, default=Path(output), help="run folder")


def _data_source(text):
    """`--data` of pretrain: a path, or `FILE:SPLIT` (a path that exists is read whole)."""
    if Path(text).exists() or ":" not in text:
        return Path(text)
    path, split = text.rsplit(":", 1)
    if not split:
        raise argparse.ArgumentTypeError(f"{text!r} names no split after ':' (FILE:SPLIT)")
    return (Path(path), split)


DATA_FORMATS = ("PYSKL .pkl, .h5, .npz/.npy, .skeleton file or folder of .skeleton files, "
                "OpenPose output folder, COCO keypoint-results .json (MMPose, AlphaPose, "
                "YOLO-pose)")


def _add_data(parser, splits, several=False):
    if several:
        parser.add_argument("--data", type=_data_source, nargs="+", metavar="FILE[:SPLIT]",
                            help=f"one or more {DATA_FORMATS}, mixed into one stream (one "
                                 "layout); FILE:SPLIT takes that split of FILE")
    else:
        parser.add_argument("--data", type=Path, help=DATA_FORMATS)
    parser.add_argument("--layout", help="skeleton layout (default: guessed from the data)")
    parser.add_argument("--repair-nonfinite", dest="nonfinite", action="store_const",
                        const="interpolate", default="raise",
                        help="replace NaN/inf coordinates and scores by linear interpolation "
                             "over time (default: refuse such samples)")
    for name, help_text in splits:
        parser.add_argument(f"--{name}", help=help_text)


def _add_model(parser, classifier):
    parser.add_argument("--preset", help="start from this preset (name, folder, hf:// or "
                        "kaggle:// handle); else from scratch")
    parser.add_argument("--frames", type=_positive, help="T (default: the preset's, else 32)")
    parser.add_argument("--persons", type=_positive,
                        help="M (default: the larger of the preset's and the data's)")
    parser.add_argument("--embed-dim", type=_positive, default=64, help="D, from scratch")
    parser.add_argument("--gin-layers", type=_positive, default=3, help="L_D, from scratch")
    parser.add_argument("--hidden-dim", type=_positive, default=256, help="GIN MLP width")
    parser.add_argument("--motion", action=argparse.BooleanOptionalAction, default=True,
                        help="embed each joint's frame-to-frame motion with its coordinates, "
                             "from scratch (a preset keeps its own setting)")
    parser.add_argument("--bones", action=argparse.BooleanOptionalAction, default=True,
                        help="embed each joint's bone vector (to its parent) with its "
                             "coordinates, from scratch (a preset keeps its own setting)")
    if classifier:
        parser.add_argument("--strl-layers", type=_non_negative, default=3, help="M, STRL layers")
        parser.add_argument("--dropout", type=float, default=0.5)


def _add_training(parser, epochs, batch_size, learning_rate):
    parser.add_argument("--epochs", type=_non_negative, default=epochs)
    parser.add_argument("--batch-size", type=_positive, default=batch_size)
    parser.add_argument("--learning-rate", type=float, help=f"Adam's (default {learning_rate})")
    parser.add_argument("--lr-schedule", choices=("cosine", "constant"), default="cosine",
                        help="cosine decay to 0 over the run's epochs, or constant")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                        help="random rotation and scale of the training sequences")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in --output from its last checkpoint")
    parser.add_argument("--checkpoint-every", type=_positive, default=1, metavar="N",
                        help="checkpoint every N epochs and after the last (default 1); a "
                             "resumed run repeats the epochs after its last checkpoint")
    parser.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto",
                        help="Keras's jit_compile (auto: XLA on TensorFlow and JAX; false on "
                             "TensorFlow starts faster, for short runs of small models)")
    parser.add_argument("--workers", type=_positive, default=1,
                        help="threads preparing the batches (default 1); the batches are the "
                             "same with any number, so a resumed run may change it")


def build_parser():
    parser = _Parser(
        prog="skeletonmae", description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}
    options = _global_options()

    def command(name, help_text):
        parser.commands[name] = subparsers.add_parser(name, help=help_text, parents=[options])
        return parser.commands[name]

    pretrain = command("pretrain", "SkeletonMAE pre-training on unlabelled data")
    _add_data(pretrain, [("split", "split to pre-train on, of each file given without "
                                   "FILE:SPLIT (default: all samples, refused for a file that "
                                   "defines splits unless --allow-overlap)")], several=True)
    _add_allow_overlap(pretrain, "pre-training on all samples of a file that defines splits")
    _add_model(pretrain, classifier=False)
    pretrain.add_argument("--masked-parts", type=_positive, default=2,
                          help="body parts masked per draw")
    pretrain.add_argument("--mask-parts", nargs="+", metavar="PART",
                          help="always mask these body parts (e.g. right_arm right_leg)")
    pretrain.add_argument("--masked-joints", type=_positive,
                          help="mask this many random joints instead of body parts (ablation)")
    pretrain.add_argument("--mask-sampling", choices=("sample", "frame", "span"),
                          default="sample", help="one mask per sequence, per frame, or per "
                                                 "span of --mask-span frames")
    pretrain.add_argument("--mask-span", type=_positive, help="frames per span with "
                                                              "--mask-sampling span")
    pretrain.add_argument("--target", choices=("coordinates", "embedding"), default="coordinates")
    pretrain.add_argument("--encoder", choices=("gin", "trunk"), default="gin",
                          help="the masked encoder: the GIN encoder frame by frame (the "
                               "paper's), or the classifier's whole trunk (STRL layers too)")
    pretrain.add_argument("--strl-layers", type=_positive, default=3,
                          help="M, the trunk's STRL layers with --encoder trunk")
    pretrain.add_argument("--remask", action=argparse.BooleanOptionalAction, default=True,
                          help="set the masked joints' codes to 0 before the decoder (GraphMAE, "
                               "the paper); --no-remask gives the decoder what the encoder "
                               "gathered there")
    pretrain.add_argument("--mask-token", choices=("shared", "joint"), default="shared",
                          help="one learnable mask token for every masked joint (the paper's) "
                               "or one per joint, so a masked joint keeps its identity")
    _add_training(pretrain, epochs=30, batch_size=32, learning_rate=1.5e-4)
    _add_output(pretrain, "runs/pretrain")

    for name, help_text in (("finetune", "fine-tune the SSL classifier (full or a fraction "
                                         "of the labels)"),
                            ("linear", "linear evaluation of a frozen pre-trained encoder")):
        sub = command(name, help_text)
        _add_data(sub, [("train-split", "split to train on (default: all samples); it may "
                                        "share no sample with --val-split"),
                        ("val-split", "split to validate and evaluate on")])
        _add_allow_overlap(sub, "training on samples of --val-split")
        sub.add_argument("--label-fraction", type=_fraction, default=1.0,
                         help="class-balanced fraction of the training labels (0.01, 0.1, ...)")
        _add_model(sub, classifier=True)
        _add_training(sub, epochs=40, batch_size=16, learning_rate=1e-3)
        sub.add_argument("--validate-every", type=_positive, default=1, metavar="N",
                         help="validation metrics every N epochs and after the last (default 1)")
        if name == "finetune":
            sub.add_argument("--backbone-rate-scale", type=_non_negative_float, default=1.0,
                             metavar="SCALE", help="learning rate of the pre-trained layers "
                             "as a fraction of the new layers' (default 1)")
            sub.add_argument("--frozen-warmup", dest="frozen_warmup_epochs",
                             type=_non_negative, default=0, metavar="EPOCHS",
                             help="keep the pre-trained layers' weights still for the first "
                                  "EPOCHS epochs while the new layers train (default 0)")
            sub.add_argument("--head-init", choices=("random", "class_means"),
                             default="random",
                             help="class_means: start the head as the nearest-class-mean "
                                  "classifier of the labelled sequences (with --epochs 0, the "
                                  "few-label recipe: the pre-trained trunk untouched)")
        _add_output(sub, f"runs/{name}")

    evaluate = command("evaluate", "top-1, top-5, mean-class accuracy and confusion matrix "
                       "of a classifier preset")
    _add_data(evaluate, [("split", "split to evaluate (default: all samples)")])
    evaluate.add_argument("--preset", help="classifier preset (name, folder or hub handle)")
    evaluate.add_argument("--clips", type=_positive, default=1,
                          help="multi-clip testing: average the class probabilities of this "
                               "many frame samplings per sequence (PYSKL tests with 10)")
    _add_output(evaluate, "runs/evaluate")

    predict = command("predict", "top-k classes per sequence and per person")
    _add_data(predict, [("split", "split to predict (default: all samples)")])
    predict.add_argument("--preset", help="classifier preset (name, folder or hub handle)")
    predict.add_argument("--top-k", type=_positive, default=5)
    predict.add_argument("--video", type=Path, nargs="+",
                         help="video files instead of --data: MediaPipe poses (needs the video "
                              "extra), top-k per window and for the whole clip")
    predict.add_argument("--window", type=_positive, default=64,
                         help="with --video: frames per window (default 64)")
    predict.add_argument("--stride", type=_positive, default=16,
                         help="with --video: frames between window starts (default 16)")
    _add_output(predict, "runs/predict")

    extract = command("extract", "MediaPipe poses of videos as a PYSKL pickle (one person per "
                      "video; needs the video extra)")
    extract.add_argument("--video", type=Path, nargs="+", help="video files")
    extract.add_argument("--output", type=Path, default=Path("poses.pkl"),
                         help="PYSKL .pkl file to write")
    coordinates = extract.add_mutually_exclusive_group()
    coordinates.add_argument("--world", dest="world", action="store_true", default=True,
                             help="3D world landmarks in metres, for 3D presets (default)")
    coordinates.add_argument("--image", dest="world", action="store_false",
                             help="2D image landmarks in pixels, for 2D presets")
    extract.add_argument("--labels", type=int, nargs="+", metavar="LABEL",
                         help="class id of each video, in order (to fine-tune on)")
    extract.add_argument("--class-names", nargs="+", metavar="NAME",
                         help="class names, index = label")

    tune = command("tune", "KerasTuner random search; saves the best model as a preset")
    _add_data(tune, [("train-split", "split to train on (default: all samples); it may share "
                                     "no sample with --val-split"),
                     ("val-split", "split the objective is measured on")])
    _add_allow_overlap(tune, "training on samples of --val-split")
    tune.add_argument("--model", choices=("classifier", "pretrainer"), default="classifier")
    tune.add_argument("--preset", help="start every trial from this preset")
    tune.add_argument("--frames", type=_positive, help="T (default: the preset's, else 32)")
    tune.add_argument("--persons", type=_positive,
                      help="M (default: the larger of the preset's and the data's)")
    tune.add_argument("--trials", type=_positive, default=10)
    tune.add_argument("--epochs", type=_positive, default=10, help="epochs per trial")
    tune.add_argument("--seed", type=int, default=0)
    _add_output(tune, "runs/tune")

    command("presets", "list the built-in presets")
    command("info", "backend, devices and package versions")
    return parser


def _apply_config_file(parser, args, argv):
    """Re-parse `argv` with the TOML file's options for `args.command` as defaults."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    try:
        content = tomllib.loads(args.config.read_text())
    except FileNotFoundError:
        parser.error(f"config file {args.config} does not exist")
    except tomllib.TOMLDecodeError as error:
        parser.error(f"config file {args.config} is not valid TOML: {error}")
    values = {k: v for k, v in content.items() if not isinstance(v, dict)}
    values.update(content.get(args.command, {}))
    subparser = parser.commands[args.command]
    known = {action.dest: action for action in subparser._actions}
    defaults = {}
    for key, value in values.items():
        dest = key.replace("-", "_")
        if dest not in known or dest in ("config", "help"):
            parser.error(f"config file {args.config}: unknown option '{key}' for "
                         f"'{args.command}'")
        action = known[dest]
        several = action.nargs in ("+", "*")
        if several and not isinstance(value, list):
            value = [value]
        if action.type is not None and not isinstance(value, bool):
            try:
                value = ([action.type(str(v)) for v in value] if several
                         else action.type(str(value)))
            except (argparse.ArgumentTypeError, ValueError) as error:
                parser.error(f"config file {args.config}: option '{key}': {error}")
        if action.choices is not None and value not in action.choices:
            parser.error(f"config file {args.config}: option '{key}' must be one of "
                         f"{list(action.choices)}, got {value!r}")
        defaults[dest] = value
    subparser.set_defaults(**defaults)
    return parser.parse_args(argv)


def _use_backend(backend, argv):
    """Run under `backend`: a no-op when Keras already runs it, else this command is re-run
    in a fresh process with `KERAS_BACKEND` set (Keras fixes its backend at import)."""
    import keras

    if backend is None or keras.backend.backend() == backend:
        return
    environment = {**os.environ, "KERAS_BACKEND": backend}
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "keras_skeletonmae", *argv], environment)


def _require(parser, args, *names):
    for name in names:
        if getattr(args, name) is None:
            parser.error(f"{args.command} needs --{name.replace('_', '-')}")


def _print_evaluation(evaluation):
    shown = {k: v for k, v in evaluation.items() if k.endswith("accuracy")}
    print("  ".join(f"{k} {v:.4f}" for k, v in shown.items()))


def _print_video_prediction(row):
    def best(top_k):
        return ", ".join(f"{c['class']} {c['probability']:.2f}" for c in top_k[:3]) or "no pose"

    print(f"{row['id']} (whole clip, {row['frames']} frames): {best(row['top_k'])}")
    for window in row["windows"]:
        print(f"  window {window['start']}-{window['end']}: {best(window['top_k'])}")


# Options of the command line itself, not of the protocol it calls.
COMMAND_LINE_OPTIONS = ("command", "config", "backend", "traceback", "verbose")
PROTOCOLS = {"pretrain": "pretrain", "finetune": "finetune", "linear": "linear_evaluation",
             "evaluate": "evaluate", "predict": "predict", "tune": "tune"}


def protocol_arguments(args):
    """`(protocol name, keyword arguments)`: the `keras_skeletonmae.training` call `args` (of a
    training subcommand) stands for."""
    options = {k: v for k, v in vars(args).items() if k not in COMMAND_LINE_OPTIONS}
    if args.command == "predict":
        for video_option in ("video", "window", "stride"):
            options.pop(video_option)
    return PROTOCOLS[args.command], options


def _run(parser, args):
    from_video = args.command == "predict" and args.video is not None
    if args.command in PROTOCOLS and not from_video:
        _require(parser, args, "data")
    if from_video and args.data is not None:
        parser.error("predict takes --data or --video, not both")
    if args.command in ("evaluate", "predict"):
        _require(parser, args, "preset")
    if args.command in PROTOCOLS and not from_video:
        from keras_skeletonmae import training

        name, options = protocol_arguments(args)
        results = getattr(training, name)(**options)
    if args.command == "pretrain":
        print(f"Pre-trained for {results['epochs']} epochs; final loss {results['final_loss']}; "
              f"preset in {results['preset']}")
    elif args.command in ("finetune", "linear"):
        if "evaluation" in results:
            print(f"{args.command} on {results['train_sequences']} sequences, evaluated on "
                  f"{results['evaluation']['split']}:")
            _print_evaluation(results["evaluation"])
        print(f"Preset in {results['preset']}")
    elif args.command == "evaluate":
        _print_evaluation(results)
        print(f"Evaluation and confusion matrix in {args.output}")
    elif from_video:
        from keras_skeletonmae import video

        for row in video.predict_video(args.video, args.preset, args.window, args.stride,
                                       args.top_k, output=args.output):
            _print_video_prediction(row)
        print(f"Predictions in {args.output / 'predictions.json'}")
    elif args.command == "extract":
        from keras_skeletonmae import video

        _require(parser, args, "video")
        data = video.extract(args.video, args.output, world=args.world, labels=args.labels,
                             class_names=args.class_names)
        print(f"{len(data)} sequences of {'3D world' if args.world else '2D image'} landmarks "
              f"(layout {data.layout}) in {args.output}")
    elif args.command == "predict":
        for row in results:
            best = ", ".join(f"{c['class']} {c['probability']:.2f}" for c in row["top_k"][:3])
            people = "; ".join(f"person {p['person']}: {p['top_k'][0]['class']}"
                               for p in row["persons"])
            print(f"{row['id']}: {best} ({people})")
        print(f"Predictions in {args.output / 'predictions.json'}")
    elif args.command == "tune":
        print(f"Best of {results['trials']} trials: {results['objective']} "
              f"{results['best_score']:.4f} with {results['best_hyperparameters']}")
        print(f"Preset in {results['preset']}")
    elif args.command == "presets":
        from keras_skeletonmae.models.presets import builtin_presets

        for name, metadata in builtin_presets().items():
            task = metadata.get("task", "backbone")
            print(f"{name:<40} {task:<22} {metadata.get('layout', ''):<10} "
                  f"{metadata.get('description', '')}")
    elif args.command == "info":
        print(json.dumps(info(), indent=2))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config is not None:
        args = _apply_config_file(parser, args, argv)
    if not args.verbose:
        for name, value in QUIET_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
    _use_backend(args.backend, argv)
    if not args.verbose and args.command in PROTOCOLS:  # the commands that seed Keras
        _import_tensorflow_quietly()
    # The command line owns its process: compiled steps reuse freed memory (host_memory.py).
    retain_freed_memory()
    try:
        _run(parser, args)
    except KeyboardInterrupt:
        output = getattr(args, "output", None)
        print(f"\nInterrupted. Continue with the same command and --resume"
              f"{f' (run folder {output})' if output else ''}.", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError) as error:
        if args.traceback:
            raise
        print(f"skeletonmae {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
