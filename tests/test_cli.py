"""The `skeletonmae` command line, each subcommand on real data with tiny budgets."""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEPretrainer
from keras_skeletonmae.cli import build_parser, main
from keras_skeletonmae.data import CenterOnJoint, label_subset, load_pyskl
from keras_skeletonmae.data.any_format import load_skeletons
from keras_skeletonmae.training_run import RunDirectory
from keras_skeletonmae.workflows import check_split_overlap, preset_metadata, usable_split
from helpers import assert_png
from real_data import require

TINY = ["--embed-dim", "16", "--gin-layers", "1", "--hidden-dim", "32", "--frames", "16"]


def run_cli(*argv):
    return main([str(a) for a in argv])


def load_json(path):
    return json.loads(path.read_text())


def pretrain_argv(output, *options):
    return ["pretrain", "--data", require("msr_action3d.pkl"), "--split", "xsub_train", *TINY,
            "--learning-rate", 1e-3, "--output", output, *options]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    output = tmp_path_factory.mktemp("pretrain")
    assert run_cli(*pretrain_argv(output, "--epochs", 2)) == 0
    return output


def test_pretrain_writes_config_metrics_checkpoint_preset_and_figures(pretrained):
    config = load_json(pretrained / "config.json")
    assert config["split"] == "xsub_train" and config["backend"] == keras.backend.backend()
    assert config["layout"] is None and config["skeleton_layout"] == "kinect20"  # guessed
    assert load_json(pretrained / "results.json")["layout"] == "kinect20"
    metrics = load_json(pretrained / "metrics.json")
    assert [row["epoch"] for row in metrics] == [1, 2]
    assert all(np.isfinite(row["loss"]) and row["loss"] > 0 for row in metrics)
    csv_lines = (pretrained / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:2] == ["epoch", "loss"] and len(csv_lines) == 3
    assert (pretrained / "checkpoints" / "LATEST").read_text() == "epoch_0002"
    model = SkeletonMAEPretrainer.from_preset(pretrained / "preset")
    assert model.backbone.layout.name == "kinect20" and model.backbone.num_frames == 16
    assert model.backbone.motion  # the command line's recipe embeds motion (--no-motion: not)
    assert model.backbone.bones  # and bones (--no-bones: not)
    metadata = load_json(pretrained / "preset" / "metadata.json")
    assert metadata["recipe"]["epochs"] == 2 and "xsub_train" in metadata["training_data"]
    assert_png(pretrained / "figures" / "training_curves.png")
    assert_png(pretrained / "figures" / "masked_reconstruction.png")


def test_finetune_on_ten_percent_of_labels_evaluates_on_the_val_split(pretrained, tmp_path):
    assert run_cli("finetune", "--data", require("msr_action3d.pkl"), "--train-split",
                   "xsub_train", "--val-split", "xsub_val", "--label-fraction", 0.1,
                   "--preset", pretrained / "preset", "--strl-layers", 1, "--epochs", 1,
                   "--output", tmp_path) == 0
    results = load_json(tmp_path / "results.json")
    assert results["layout"] == "kinect20"
    train = usable_split(load_skeletons(require("msr_action3d.pkl")), "xsub_train")
    assert results["train_sequences"] == len(label_subset(train, 0.1, seed=0)) < len(train) / 5
    evaluation = load_json(tmp_path / "evaluation.json")
    assert evaluation["split"] == "xsub_val" and evaluation["num_samples"] == 273
    assert evaluation["layout"] == "kinect20"
    assert 0 <= evaluation["top1_accuracy"] <= evaluation["top5_accuracy"] <= 1
    assert np.array(evaluation["confusion_matrix"]).sum() == 273
    assert "val_accuracy" in load_json(tmp_path / "metrics.json")[0]
    assert_png(tmp_path / "figures" / "confusion_matrix.png")
    assert_png(tmp_path / "figures" / "training_curves.png")
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.num_classes == 20 and len(classifier.strl_blocks) == 1


def test_linear_evaluation_keeps_the_pretrained_encoder(pretrained, tmp_path, capsys):
    assert run_cli("linear", "--data", require("msr_action3d.pkl"), "--train-split",
                   "xsub_train", "--val-split", "xsub_val", "--preset", pretrained / "preset",
                   "--epochs", 1, "--layout", "kinect20", "--output", tmp_path) == 0
    assert "Skeleton layout: kinect20 (as given)" in capsys.readouterr().out
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "kinect20"
    assert load_json(tmp_path / "results.json")["layout"] == "kinect20"
    linear = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert linear.freeze_backbone and not linear.strl_blocks
    before = SkeletonMAEPretrainer.from_preset(pretrained / "preset").backbone.get_weights()
    for a, b in zip(before, linear.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "top1_accuracy" in load_json(tmp_path / "results.json")["evaluation"]


def test_validate_every_n_epochs_and_after_the_last(pretrained, tmp_path):
    assert run_cli("linear", "--data", require("msr_action3d.pkl"), "--train-split",
                   "xsub_train", "--val-split", "xsub_val", "--preset", pretrained / "preset",
                   "--epochs", 3, "--validate-every", 2, "--output", tmp_path) == 0
    metrics = load_json(tmp_path / "metrics.json")
    assert ["val_accuracy" in row for row in metrics] == [False, True, True]
    assert "val_accuracy" in (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert_png(tmp_path / "figures" / "training_curves.png")


def test_transfer_to_another_layout_with_the_same_channels(pretrained, tmp_path):
    """Pre-trained on MSR (kinect20, 3D), fine-tuned on NTU files (ntu25, 3D)."""
    assert run_cli("finetune", "--data", require("ntu_samples"), "--preset",
                   pretrained / "preset", "--strl-layers", 1, "--epochs", 1,
                   "--batch-size", 2, "--output", tmp_path) == 0
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.backbone.layout.name == "ntu25"
    assert load_json(tmp_path / "preset" / "metadata.json")["layout"] == "ntu25"
    assert classifier.backbone.num_persons == 2  # A058 has two persons; the preset had one


def test_evaluate_reproduces_the_preset_model_card(tmp_path, capsys):
    card = preset_metadata("skeletonmae_jhmdb15_jhmdb_classifier")
    assert run_cli("evaluate", "--data", require("jhmdb_2d.pkl"), "--split", "test1",
                   "--preset", "skeletonmae_jhmdb15_jhmdb_classifier", "--output", tmp_path) == 0
    assert "Skeleton layout: jhmdb15 (guessed" in capsys.readouterr().out
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"
    evaluation = load_json(tmp_path / "evaluation.json")
    assert evaluation["layout"] == "jhmdb15"
    assert evaluation["top1_accuracy"] == pytest.approx(card["results"]["finetune_accuracy"],
                                                        abs=2e-3)
    assert evaluation["class_names"] == card["class_names"]
    assert 0 < evaluation["mean_class_accuracy"] <= 1
    assert_png(tmp_path / "figures" / "confusion_matrix.png")


def test_evaluate_with_clips_averages_the_probabilities_of_every_clip(tmp_path):
    preset = "skeletonmae_jhmdb15_jhmdb_classifier"
    assert run_cli("evaluate", "--data", require("jhmdb_2d.pkl"), "--split", "test1",
                   "--preset", preset, "--clips", 3, "--output", tmp_path) == 0
    evaluation = load_json(tmp_path / "evaluation.json")
    data = load_pyskl(require("jhmdb_2d.pkl"), split="test1")
    model = SkeletonClassifier.from_preset(preset)
    clips = data.to_clips(model.backbone.num_frames, 1, 3, CenterOnJoint(data.skeleton_layout))
    probabilities = np.mean([keras.ops.convert_to_numpy(keras.ops.softmax(model(clip)))
                             for clip in clips], axis=0)
    assert evaluation["num_clips"] == 3
    assert evaluation["top1_accuracy"] == pytest.approx(
        np.mean(probabilities.argmax(-1) == data.labels), abs=1e-9)
    card = preset_metadata(preset)["results"]["finetune_accuracy"]
    assert abs(evaluation["top1_accuracy"] - card) < 0.1


def test_predict_names_real_classes_per_sequence_and_person(tmp_path, capsys):
    assert run_cli("predict", "--data", require("jhmdb_2d.pkl"), "--split", "test1",
                   "--preset", "skeletonmae_jhmdb15_jhmdb_classifier", "--top-k", 3,
                   "--output", tmp_path) == 0
    predictions = load_json(tmp_path / "predictions.json")
    names = set(preset_metadata("skeletonmae_jhmdb15_jhmdb_classifier")["class_names"])
    assert len(predictions) == 176
    for row in predictions:
        assert len(row["top_k"]) == 3 and {c["class"] for c in row["top_k"]} <= names
        assert [p["person"] for p in row["persons"]] == [0]
        assert row["persons"][0]["top_k"][0]["class"] in names
    out = capsys.readouterr().out
    assert predictions[0]["id"] in out and "Skeleton layout: jhmdb15" in out
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"


def test_presets_and_info(capsys):
    assert run_cli("presets") == 0
    listed = capsys.readouterr().out
    assert "skeletonmae_kinect20_msr_classifier" in listed and "SkeletonClassifier" in listed
    assert run_cli("info") == 0
    assert json.loads(capsys.readouterr().out)["backend"] == keras.backend.backend()


def test_options_come_from_a_toml_file_and_the_command_line_wins(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('epochs = 1\nframes = 8\n[pretrain]\ngin-layers = 1\nembed_dim = 8\n'
                      'hidden_dim = 16\nsplit = "xsub_val"\nmotion = false\n'
                      'bones = false\n')
    output = tmp_path / "run"
    assert run_cli("pretrain", "--config", config, "--data", require("msr_action3d.pkl"),
                   "--frames", 4, "--output", output) == 0
    saved = load_json(output / "config.json")
    assert (saved["epochs"], saved["gin_layers"], saved["embed_dim"]) == (1, 1, 8)
    assert saved["split"] == "xsub_val" and saved["frames"] == 4
    assert saved["motion"] is False and saved["bones"] is False
    backbone = SkeletonMAEPretrainer.from_preset(output / "preset").backbone
    assert not backbone.motion and not backbone.bones


def test_cosine_schedule_ends_at_zero_and_fixes_the_epochs_of_a_resumed_run(pretrained, capsys):
    config = load_json(pretrained / "config.json")
    assert config["lr_schedule"] == "cosine" and config["augment"] is True
    model, history = RunDirectory(pretrained).load_checkpoint()
    assert int(model.optimizer.iterations) > 0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert run_cli(*pretrain_argv(pretrained, "--epochs", 3, "--resume")) == 2
    assert "['epochs']" in capsys.readouterr().err


def test_jit_compile_option_reaches_the_compiled_model(tmp_path):
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 1, "--jit-compile", "false")) == 0
    assert load_json(tmp_path / "config.json")["jit_compile"] == "false"
    model, _ = RunDirectory(tmp_path).load_checkpoint()
    assert model.jit_compile is False


def test_a_constant_rate_run_can_be_extended_on_resume(tmp_path):
    options = ["--lr-schedule", "constant", "--no-augment"]
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 1, *options)) == 0
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 2, *options, "--resume")) == 0
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    model, _ = RunDirectory(tmp_path).load_checkpoint()
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert load_json(tmp_path / "config.json")["augment"] is False


def test_a_run_made_before_newer_options_resumes(tmp_path, capsys):
    options = ["--lr-schedule", "constant"]
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 1, *options)) == 0
    config = load_json(tmp_path / "config.json")
    del config["bones"], config["motion"]  # as written before those options existed
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 2, *options, "--resume")) == 0
    assert "before the options ['bones', 'motion'] existed" in capsys.readouterr().out
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 3, *options, "--resume",
                                  "--masked-parts", 3)) == 2  # options it had are still compared
    assert "['masked_parts']" in capsys.readouterr().err
    # Options the checkpoint does not hold decide the data: missing, they refuse the resume.
    del config["augment"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert run_cli(*pretrain_argv(tmp_path, "--epochs", 3, *options, "--resume")) == 2
    error = capsys.readouterr().err
    assert "before the options ['augment'] existed" in error and "bones" not in error
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]


@pytest.mark.parametrize("command", ["pretrain", "finetune", "evaluate"])
def test_without_matplotlib_a_run_keeps_its_results_and_warns(command, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    msr = require("msr_action3d.pkl")
    argv = {
        "pretrain": pretrain_argv(tmp_path, "--epochs", 0),
        "finetune": ["finetune", "--data", msr, "--train-split", "xsub_train", "--val-split",
                     "xsub_val", *TINY, "--strl-layers", 1, "--epochs", 0, "--output", tmp_path],
        "evaluate": ["evaluate", "--data", require("jhmdb_2d.pkl"), "--split", "test1",
                     "--preset", "skeletonmae_jhmdb15_jhmdb_classifier", "--output", tmp_path],
    }[command]
    assert run_cli(*argv) == 0
    if command == "evaluate":
        assert load_json(tmp_path / "evaluation.json")["num_samples"] == 176
    else:
        assert load_json(tmp_path / "results.json")["command"] == command
        assert load_json(tmp_path / "preset" / "metadata.json")["recipe"]["epochs"] == 0
    if command == "finetune":
        assert load_json(tmp_path / "evaluation.json")["split"] == "xsub_val"
    warning = capsys.readouterr().err.strip()
    assert len(warning.splitlines()) == 1 and "pip install 'keras-skeletonmae[plots]'" in warning
    assert not (tmp_path / "figures").exists()


def test_an_interrupted_write_leaves_every_run_file_whole(tmp_path, monkeypatch):
    """Each write is interrupted partway: the file it replaces stays as it was."""
    run = RunDirectory(tmp_path)
    run.write_metrics([{"epoch": 1, "loss": 1.0}])
    csv_before = (tmp_path / "metrics.csv").read_text()

    def first_row_then_interrupted(self, rows):
        self.writerow(rows[0])
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(csv.DictWriter, "writerows", first_row_then_interrupted)
        with pytest.raises(KeyboardInterrupt):
            run.write_metrics([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}])
    assert (tmp_path / "metrics.csv").read_text() == csv_before

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    run.save_checkpoint(model, [{"epoch": 1}])
    with monkeypatch.context() as patch:
        patch.setattr(np, "savez", interrupted)  # after model.keras, before the state files
        with pytest.raises(KeyboardInterrupt):
            run.save_checkpoint(model, [{"epoch": 1}, {"epoch": 2}])
    visible = sorted(p.name for p in run.checkpoints.iterdir() if not p.name.startswith("."))
    assert visible == ["LATEST", "epoch_0001"]
    assert run.load_checkpoint()[1] == [{"epoch": 1}]

    def write_file(text, then=None):
        def write(folder):
            folder.mkdir()
            (folder / "a.json").write_text(text)
            if then:
                then()
        return write

    run.write_preset(write_file("1"))
    with pytest.raises(KeyboardInterrupt):
        run.write_preset(write_file("2", then=interrupted))
    assert [p.name for p in run.preset.iterdir()] == ["a.json"]
    assert (run.preset / "a.json").read_text() == "1"


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
}


@pytest.mark.parametrize("case", sorted(BAD_ARGUMENTS))
def test_bad_arguments_exit_with_one_sentence(case, tmp_path, capsys):
    argv, message = BAD_ARGUMENTS[case]
    paths = {"{msr}": require("msr_action3d.pkl"), "{jhmdb}": require("jhmdb_2d.pkl"),
             "{tmp}": tmp_path / "empty"}
    argv = [str(paths.get(a, a)) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    assert status == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "Traceback" not in error
    assert len(error.splitlines()) == 1, error


def test_the_overlap_check_is_one_function_lifted_by_allow_overlap():
    msr = load_skeletons(require("msr_action3d.pkl"))
    check_split_overlap(msr, {"train_split": "xsub_train", "val_split": "xsub_val"})
    check_split_overlap(msr, {"train_split": None, "val_split": None})  # nothing evaluated
    check_split_overlap(msr, {"split": "xsub_train"})
    check_split_overlap(msr, {"train_split": None, "val_split": "xsub_val",
                              "allow_overlap": True})
    check_split_overlap(msr, {"split": None, "allow_overlap": True})
    check_split_overlap(load_skeletons(require("ntu_samples")), {"split": None})  # no splits
    with pytest.raises(ValueError, match="split 'all' would train on 273 samples"):
        check_split_overlap(msr, {"train_split": "all", "val_split": "xsub_val"})
    with pytest.raises(ValueError, match="defines the splits"):
        check_split_overlap(msr, {"split": None})
    for command in ("pretrain", "finetune", "linear", "tune"):
        assert "--allow-overlap" in build_parser().commands[command].format_help()


def test_bad_toml_key_is_named(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("[pretrain]\nlayers = 3\n")
    with pytest.raises(SystemExit) as exit:
        main(["pretrain", "--config", str(config)])
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "unknown option 'layers'" in error and len(error.splitlines()) == 1


def _cli_process(argv, kill_seed=None):
    """`python -m keras_skeletonmae ARGV` on this backend, with the backends' default log level;
    with `kill_seed`, the process SIGKILLs itself at a point drawn from it (`KILL_AT_RANDOM`)."""
    environment = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # an in-process `main` of this session set it
    code = ["-m", "keras_skeletonmae"]
    if kill_seed is not None:
        code = ["-c", KILL_AT_RANDOM.format(seed=kill_seed)]
    return subprocess.Popen([sys.executable, *code, *map(str, argv)], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# A 4-epoch run checkpointed every 2 epochs, killed once its first checkpoint is written (so
# that --resume has one): after a random batch of epoch 3 or 4, or just before a random one of
# the 9 renames that commit a file or folder from then on (metrics x 2 per epoch; checkpoint
# and LATEST; evaluation, preset, results), its temporary written, the file not yet replaced.
KILL_AT_RANDOM = """
import os, random, signal, sys
from keras_skeletonmae import cli, workflows

rng = random.Random({seed})
kill_epoch, kill_batch = rng.choice([2, 3]), rng.randrange(30)
kill_commit = rng.randrange(9) if rng.random() < 0.5 else None
state = dict(armed=False, commits=0)

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

class KillAtRandom(workflows._EpochProgress):
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
workflows._EpochProgress = KillAtRandom
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
def test_a_run_killed_at_a_random_point_resumes_to_the_uninterrupted_result(tmp_path):
    """Checkpoints every 2 epochs, killed at a seeded random point after the first: every file
    left is whole, and the resumed run ends where the uninterrupted run does. Also: without
    --verbose, no backend start-up log lines; with it, TensorFlow's (when installed) stay."""
    argv = ["finetune", "--data", require("msr_action3d.pkl"), "--train-split", "xsub_train",
            "--val-split", "xsub_val", *TINY, "--strl-layers", 1, "--batch-size", 8,
            "--epochs", 4, "--checkpoint-every", 2]
    full = _cli_process([*argv, "--output", tmp_path / "full", "--verbose"])
    killed = _cli_process([*argv, "--output", tmp_path / "killed"], kill_seed=KILL_SEED)
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


def test_backend_option_switches_the_process_backend():
    others = [b for b in ("jax", "torch", "tensorflow")
              if b != keras.backend.backend() and importlib.util.find_spec(b) is not None]
    if not others:
        pytest.skip("no other backend is installed here")
    process = _cli_process(["info", "--backend", others[0]])
    out = process.communicate()[0]
    assert process.returncode == 0, out
    assert json.loads(out[out.index("{"):])["backend"] == others[0]


def test_tune_saves_the_best_trial_as_a_preset(tmp_path):
    assert run_cli("tune", "--data", require("jhmdb_2d.pkl"), "--train-split", "train1",
                   "--val-split", "test1", "--trials", 1, "--epochs", 1, "--frames", 8,
                   "--output", tmp_path) == 0
    results = load_json(tmp_path / "results.json")
    assert results["objective"] == "val_accuracy" and results["trials"] == 1
    assert results["layout"] == "jhmdb15"
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"
    assert 0 <= results["best_score"] <= 1
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.num_classes == 14 and classifier.backbone.num_frames == 8
    assert classifier.backbone.embed_dim == results["best_hyperparameters"]["embed_dim"]
