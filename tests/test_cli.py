"""The `skeletonmae` command line: each subcommand parses its options into one call of
`keras_skeletonmae.training` with the protocol's keyword arguments and prints its results (the
protocols are tested in test_protocols.py); bad arguments are one sentence; a run killed at a
random point resumes to the uninterrupted result."""

import csv
import importlib.util
import inspect
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_skeletonmae import training
from keras_skeletonmae.cli import PROTOCOLS, build_parser, main, protocol_arguments
from real_data import real_subset, require

TINY = ["--embed-dim", "16", "--gin-layers", "1", "--hidden-dim", "32", "--frames", "16"]
EVALUATION = {"top1_accuracy": 0.5, "top5_accuracy": 0.875, "mean_class_accuracy": 0.25}
# What each protocol returns, for the command line to print.
RESULTS = {
    "pretrain": {"epochs": 2, "final_loss": 0.5, "preset": "out/preset"},
    "finetune": {"train_sequences": 24, "preset": "out/preset",
                 "evaluation": {"split": "xsub_val", **EVALUATION}},
    "linear_evaluation": {"train_sequences": 24, "preset": "out/preset",
                          "evaluation": {"split": "xsub_val", **EVALUATION}},
    "evaluate": {**EVALUATION, "num_samples": 8},
    "predict": [{"id": "a01_s02_e01", "top_k": [{"class": "wave", "probability": 0.75}],
                 "persons": [{"person": 0, "top_k": [{"class": "clap", "probability": 0.5}]}]}],
    "tune": {"trials": 1, "objective": "val_accuracy", "best_score": 0.5,
             "best_hyperparameters": {"embed_dim": 16}, "preset": "out/preset"},
}


def load_json(path):
    return json.loads(path.read_text())


@pytest.fixture
def calls(monkeypatch):
    """The protocol calls the command line makes, recorded (and answered with `RESULTS`)
    instead of run."""
    made = []
    for name, result in RESULTS.items():
        def record(*args, _name=name, _result=result, **kwargs):
            made.append((_name, args, kwargs))
            return _result
        monkeypatch.setattr(training, name, record)
    return made


# argv -> (protocol, some of its keyword arguments, a line the command prints)
COMMANDS = {
    "pretrain": (
        ["pretrain", "--data", "a.pkl:xsub_train", "b.pkl", "--split", "xsub_val", "--epochs",
         "3", "--mask-parts", "right_arm", "left_leg", "--no-motion", "--allow-overlap",
         "--encoder", "trunk", "--strl-layers", "2", "--mask-sampling", "span", "--mask-span",
         "8"],
        "pretrain",
        dict(data=[(Path("a.pkl"), "xsub_train"), Path("b.pkl")], split="xsub_val", epochs=3,
             mask_parts=["right_arm", "left_leg"], motion=False, allow_overlap=True,
             encoder="trunk", strl_layers=2, mask_sampling="span", mask_span=8,
             output=Path("runs/pretrain")),
        "Pre-trained for 2 epochs; final loss 0.5; preset in out/preset"),
    "finetune": (
        ["finetune", "--data", "a.pkl", "--train-split", "xsub_train", "--val-split",
         "xsub_val", "--label-fraction", "0.1", "--preset", "p", "--repair-nonfinite",
         "--lr-schedule", "constant", "--backbone-rate-scale", "0.1", "--frozen-warmup", "5",
         "--head-init", "class_means", "--output", "out"],
        "finetune",
        dict(data=Path("a.pkl"), train_split="xsub_train", val_split="xsub_val",
             label_fraction=0.1, preset="p", nonfinite="interpolate", lr_schedule="constant",
             backbone_rate_scale=0.1, frozen_warmup_epochs=5, head_init="class_means",
             output=Path("out")),
        "top1_accuracy 0.5000  top5_accuracy 0.8750  mean_class_accuracy 0.2500"),
    "linear": (
        ["linear", "--data", "a.pkl", "--preset", "p", "--validate-every", "2", "--no-augment"],
        "linear_evaluation",
        dict(data=Path("a.pkl"), preset="p", validate_every=2, augment=False,
             output=Path("runs/linear")),
        "linear on 24 sequences, evaluated on xsub_val:"),
    "evaluate": (
        ["evaluate", "--data", "a.pkl", "--preset", "p", "--split", "xsub_val", "--clips", "3",
         "--layout", "kinect20"],
        "evaluate",
        dict(data=Path("a.pkl"), preset="p", split="xsub_val", clips=3, layout="kinect20",
             output=Path("runs/evaluate")),
        "Evaluation and confusion matrix in runs/evaluate"),
    "predict": (
        ["predict", "--data", "a.pkl", "--preset", "p", "--top-k", "2"],
        "predict",
        dict(data=Path("a.pkl"), preset="p", top_k=2, output=Path("runs/predict")),
        "a01_s02_e01: wave 0.75 (person 0: clap)"),
    "tune": (
        ["tune", "--data", "a.pkl", "--model", "pretrainer", "--trials", "2", "--seed", "3"],
        "tune",
        dict(data=Path("a.pkl"), model="pretrainer", trials=2, seed=3),
        "Best of 1 trials: val_accuracy 0.5000 with {'embed_dim': 16}"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_calls_its_protocol_with_its_options(command, calls, capsys):
    argv, protocol, expected, printed = COMMANDS[command]
    assert main(argv) == 0
    [(name, args, kwargs)] = calls
    assert (name, args) == (protocol, ())
    assert {k: kwargs[k] for k in expected} == expected
    assert printed in capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(PROTOCOLS))
def test_the_command_line_defaults_are_the_protocols_defaults(command):
    """Every option of a subcommand is a keyword argument of its protocol, with the same
    default (the run folder aside: the command line has one per subcommand)."""
    args = build_parser().parse_args([command, "--data", "a.pkl", "--preset", "p"])
    name, options = protocol_arguments(args)
    parameters = inspect.signature(getattr(training, name)).parameters
    assert set(options) == set(parameters)
    for key, parameter in parameters.items():
        if parameter.default is not inspect.Parameter.empty and key not in ("data", "preset"):
            assert options[key] == parameter.default, key
    assert options["output"] == Path(f"runs/{command}")


def test_pretrain_data_reads_file_colon_split(calls, tmp_path, capsys):
    existing = tmp_path / "poses:2024.pkl"  # an existing path is read whole, colon or not
    existing.touch()
    assert main(["pretrain", "--data", str(existing), "msr.pkl:xsub_train"]) == 0
    assert calls[0][2]["data"] == [existing, (Path("msr.pkl"), "xsub_train")]
    with pytest.raises(SystemExit) as exit:
        main(["pretrain", "--data", "msr.pkl:"])
    assert exit.value.code == 2
    assert "names no split after ':'" in capsys.readouterr().err
    assert "FILE:SPLIT" in build_parser().commands["pretrain"].format_help()


def test_options_come_from_a_toml_file_and_the_command_line_wins(calls, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('epochs = 1\nframes = 8\n[pretrain]\ngin-layers = 1\nembed_dim = 8\n'
                      'split = "xsub_val"\nmotion = false\nmask_parts = "right_arm"\n'
                      'data = ["a.pkl:xsub_train", "b.pkl"]\n')
    assert main(["pretrain", "--config", str(config), "--frames", "4"]) == 0
    kwargs = calls[0][2]
    assert (kwargs["epochs"], kwargs["gin_layers"], kwargs["embed_dim"]) == (1, 1, 8)
    assert kwargs["split"] == "xsub_val" and kwargs["frames"] == 4 and kwargs["motion"] is False
    assert kwargs["mask_parts"] == ["right_arm"]
    assert kwargs["data"] == [(Path("a.pkl"), "xsub_train"), Path("b.pkl")]
    assert "config" not in kwargs and "backend" not in kwargs


def test_an_interrupted_command_says_how_to_resume(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "finetune", interrupted)
    assert main(["finetune", "--data", "a.pkl", "--output", "runs/x"]) == 130
    assert ("Continue with the same command and --resume (run folder runs/x)"
            in capsys.readouterr().err)


@pytest.mark.parametrize("command", sorted(build_parser().commands))
def test_help_names_every_option(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    assert "--backend" in text and "--config" in text
    if command in ("pretrain", "finetune", "linear", "tune"):
        assert "--allow-overlap" in text and "--data" in text


def test_presets_and_info(capsys):
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    assert "skeletonmae_kinect20_msr_classifier" in listed and "SkeletonClassifier" in listed
    assert main(["info"]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == keras.backend.backend()


BAD_ARGUMENTS = {
    "missing file": (["evaluate", "--data", "/no/such/file.pkl", "--preset", "x"], "does not exist"),
    "unknown preset": (["evaluate", "--data", "{jhmdb}", "--split", "test1", "--preset", "nope"],
                       "Unknown preset 'nope'"),
    "unknown layout": (["pretrain", "--data", "{msr}", "--layout", "nope"], "Unknown layout 'nope'"),
    "unknown split": (["evaluate", "--data", "{jhmdb}", "--split", "nope", "--preset",
                       "skeletonmae_jhmdb15_jhmdb_classifier"], "unknown split 'nope'"),
    "incompatible preset and data": (["evaluate", "--data", "{msr}", "--split", "xsub_val",
                                      "--preset", "skeletonmae_jhmdb15_jhmdb_classifier"],
                                     "2 channels per joint"),
    "missing data": (["finetune"], "needs --data"),
    "fraction out of range": (["finetune", "--data", "{msr}", "--label-fraction", "2"],
                              "must be in (0, 1]"),
    "negative backbone rate": (["finetune", "--data", "{msr}", "--backbone-rate-scale", "-1"],
                               "must be 0 or more"),
    "no workers": (["pretrain", "--data", "{msr}", "--workers", "0"], "must be a positive integer"),
    "unknown subcommand": (["train"], "invalid choice"),
    "resume without a run": (["pretrain", "--data", "{msr}", "--split", "xsub_train", "--resume",
                              "--output", "{tmp}"], "no run to resume"),
    "training on the validation split by default": (
        ["finetune", "--data", "{msr}", "--val-split", "xsub_val", "--output", "{tmp}"],
        "training on all samples (the default) would train on 273 samples of the validation "
        "split 'xsub_val'"),
    "overlapping splits": (["linear", "--data", "{msr}", "--train-split", "all", "--val-split",
                            "xsub_val", "--preset", "x", "--output", "{tmp}"],
                           "training on split 'all' would train on"),
    "tuning on the validation split": (["tune", "--data", "{jhmdb}", "--val-split", "test1",
                                        "--output", "{tmp}"], "samples of the validation split"),
    "pre-training on the evaluation splits": (
        ["pretrain", "--data", "{msr}", "--output", "{tmp}"],
        "defines the splits ['all', 'cvpr12_557', 'xsub_train', 'xsub_val']: pre-training on "
        "all samples"),
    "pre-training on a file's evaluation splits among several": (
        ["pretrain", "--data", "{msr}:xsub_train", "{jhmdb}", "--output", "{tmp}"],
        "jhmdb_2d.pkl defines the splits"),
    "pre-training on files of different layouts": (
        ["pretrain", "--data", "{msr}:xsub_train", "{jhmdb}:train1", "--output", "{tmp}"],
        "pre-training files must share one layout and channel count"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_bad_arguments_exit_with_one_sentence(case, tmp_path, capsys):
    argv, message = BAD_ARGUMENTS[case]
    paths = {"{msr}": require("msr_action3d.pkl"), "{jhmdb}": require("jhmdb_2d.pkl"),
             "{tmp}": tmp_path / "empty"}
    for key, path in paths.items():
        argv = [a.replace(key, str(path)) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    assert status == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "Traceback" not in error
    assert len(error.splitlines()) == 1, error


def test_bad_toml_key_is_named(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("[pretrain]\nlayers = 3\n")
    with pytest.raises(SystemExit) as exit:
        main(["pretrain", "--config", str(config)])
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "unknown option 'layers'" in error and len(error.splitlines()) == 1


def _cli_process(argv, kill_seed=None, batches=None):
    """`python -m keras_skeletonmae ARGV` on this backend, with the backends' default log level;
    with `kill_seed`, the process SIGKILLs itself at a point drawn from it (`KILL_AT_RANDOM`) in
    an epoch of `batches` batches."""
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # an in-process `main` of this session set it
    code = ["-m", "keras_skeletonmae"]
    if kill_seed is not None:
        code = ["-c", KILL_AT_RANDOM.format(seed=kill_seed, batches=batches)]
    return subprocess.Popen([sys.executable, *code, *map(str, argv)], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# A 4-epoch run checkpointed every 2 epochs, killed once its first checkpoint is written (so
# that --resume has one): after a random batch of epoch 3 or 4, or just before a random one of
# the 9 renames that commit a file or folder from then on (metrics x 2 per epoch; checkpoint
# and LATEST; evaluation, preset, results), its temporary written, the file not yet replaced.
KILL_AT_RANDOM = """
import os, random, signal, sys
from keras_skeletonmae import cli
from keras_skeletonmae.training import fitting

rng = random.Random({seed})
kill_epoch, kill_batch = rng.choice([2, 3]), rng.randrange({batches})
kill_commit = rng.randrange(9) if rng.random() < 0.5 else None
state = dict(armed=False, commits=0)

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

class KillAtRandom(fitting.EpochProgress):
    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch
        state["armed"] = state["armed"] or epoch >= 2
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if kill_commit is None and (self.current_epoch, batch) == (kill_epoch, kill_batch):
            kill()

def committing(rename):
    def wrapped(source, *args, **kwargs):
        if state["armed"] and str(source).endswith(".partial"):
            if state["commits"] == kill_commit:
                kill()
            state["commits"] += 1
        return rename(source, *args, **kwargs)
    return wrapped

os.replace, os.rename = committing(os.replace), committing(os.rename)
fitting.EpochProgress = KillAtRandom
sys.exit(cli.main(sys.argv[1:]))
"""
KILL_SEED = 2
BACKEND_START_UP_LOGS = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN")


def _start_up_logs(log):
    return [line for line in log.splitlines() if any(m in line for m in BACKEND_START_UP_LOGS)]


def assert_run_files_whole(folder):
    """Every file of the run `folder` is complete (temporaries, hidden, aside): JSON parses,
    `metrics.csv` rows are full, `LATEST` names a complete checkpoint; its epoch count."""
    for path in folder.rglob("*.json"):
        if not any(part.startswith(".") for part in path.relative_to(folder).parts):
            json.loads(path.read_text())
    with open(folder / "metrics.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert all(len(row) == len(header) and all(row) for row in rows), rows
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))
    checkpoint = folder / "checkpoints" / (folder / "checkpoints" / "LATEST").read_text()
    with zipfile.ZipFile(checkpoint / "model.keras") as archive:
        assert archive.testzip() is None
    with np.load(checkpoint / "state.npz") as state:
        assert len(state.files) > 0
    return len(load_json(checkpoint / "state.json")["history"])


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "torch",
                    reason="three processes: run on PyTorch only, whose environment has "
                           "TensorFlow for the log checks (an in-process interrupted run "
                           "resumes on every backend in test_protocols.py)")
def test_a_run_killed_at_a_random_point_resumes_to_the_uninterrupted_result(tmp_path):
    """Checkpoints every 2 epochs, killed at a seeded random point after the first: every file
    left is whole, and the resumed run ends where the uninterrupted run does. Also: without
    --verbose, no backend start-up log lines; with it, TensorFlow's (when installed) stay."""
    data = real_subset("msr_action3d.pkl", tmp_path / "data", 24)  # 3 batches of 8 an epoch
    argv = ["finetune", "--data", data, "--train-split", "xsub_train",
            "--val-split", "xsub_val", *TINY, "--strl-layers", 1, "--batch-size", 8,
            "--epochs", 4, "--checkpoint-every", 2]
    full = _cli_process([*argv, "--output", tmp_path / "full", "--verbose"])
    killed = _cli_process([*argv, "--output", tmp_path / "killed"], kill_seed=KILL_SEED,
                          batches=3)
    killed_log = killed.communicate()[0]
    assert killed.returncode == -signal.SIGKILL, killed_log
    done = assert_run_files_whole(tmp_path / "killed")
    assert done in (2, 4)
    resumed = _cli_process([*argv, "--output", tmp_path / "killed", "--resume"])
    log = resumed.communicate()[0]
    assert resumed.returncode == 0, log
    assert f"after epoch {done}" in log and (done == 4 or "Epoch 3/4" in log)
    full_log = full.communicate()[0]
    assert full.returncode == 0, full_log
    assert (tmp_path / "full" / "checkpoints" / "LATEST").read_text() == "epoch_0004"
    assert assert_run_files_whole(tmp_path / "killed") == 4
    expected = load_json(tmp_path / "full" / "metrics.json")
    got = load_json(tmp_path / "killed" / "metrics.json")
    assert [r["epoch"] for r in got] == [1, 2, 3, 4]
    for a, b in zip(expected, got):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-7), (a["epoch"], key)
    assert load_json(tmp_path / "killed" / "evaluation.json")["top1_accuracy"] == pytest.approx(
        load_json(tmp_path / "full" / "evaluation.json")["top1_accuracy"])
    # TensorFlow logs as it loads; on PyTorch and JAX, when Keras's seeding imports it.
    if keras.backend.backend() != "tensorflow":
        assert not _start_up_logs(killed_log + log)
    if importlib.util.find_spec("tensorflow") is not None:
        assert _start_up_logs(full_log)


@pytest.mark.xfail(keras.backend.backend() == "tensorflow", strict=True,
                   reason="the TensorFlow backend loads TensorFlow, which logs, when "
                          "keras_skeletonmae is imported: before the command line runs")
def test_the_command_line_prints_no_backend_start_up_logs():
    process = _cli_process(["info"])
    log = process.communicate()[0]
    assert process.returncode == 0, log
    assert not _start_up_logs(log), log


@pytest.mark.skipif(keras.backend.backend() != "torch",
                    reason="the switch happens before any backend runs: checked once")
def test_backend_option_switches_the_process_backend():
    others = [b for b in ("jax", "torch", "tensorflow")
              if b != keras.backend.backend() and importlib.util.find_spec(b) is not None]
    if not others:
        pytest.skip("no other backend is installed here")
    process = _cli_process(["info", "--backend", others[0]])
    out = process.communicate()[0]
    assert process.returncode == 0, out
    assert json.loads(out[out.index("{"):])["backend"] == others[0]
