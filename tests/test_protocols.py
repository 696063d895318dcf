"""The training protocols (`keras_skeletonmae.training`) called from Python on a few real
samples with tiny models, and the plumbing of `benchmarks/protocols.py`.

Pre-training, fine-tuning, evaluation, prediction and an interrupted run's resume run on every
backend; what adds no backend coverage (file logic, resume rules, the other protocols' options,
the layout transfer, the benchmark; the models themselves are tested on every backend in
test_models.py and test_data_dataset.py) runs on PyTorch only."""

import csv
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_skeletonmae import SkeletonClassifier, SkeletonMAEPretrainer, training
from keras_skeletonmae.data import CenterOnJoint, label_subset, load_pyskl, load_skeletons
from keras_skeletonmae.training import fitting
from keras_skeletonmae.training.recipes import FineTuningAdam
from helpers import assert_png, load_benchmark
from real_data import real_subset, require

TINY = dict(embed_dim=16, gin_layers=1, hidden_dim=32, frames=16)
# PyTorch runs small models without compiling them, so the tests that add no backend coverage
# cost least there.
ONCE_ON_TORCH = pytest.mark.skipif(keras.backend.backend() != "torch",
                                   reason="file and resume logic, the same on every backend: "
                                          "checked once, on PyTorch")
JHMDB_CLASSIFIER = "skeletonmae_jhmdb15_jhmdb_classifier"


def load_json(path):
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def msr(tmp_path_factory):
    """24 real MSR Action3D samples of `xsub_train` and 24 of `xsub_val`."""
    return real_subset("msr_action3d.pkl", tmp_path_factory.mktemp("data"), 24)


@pytest.fixture(scope="module")
def pretrained(msr, tmp_path_factory):
    output = tmp_path_factory.mktemp("pretrain")
    training.pretrain(msr, output, split="xsub_train", **TINY, learning_rate=1e-3, epochs=2)
    return output


def test_pretrain_writes_config_metrics_checkpoint_preset_and_figures(pretrained, msr):
    config = load_json(pretrained / "config.json")
    assert config["data"] == str(msr) and config["split"] == "xsub_train"
    assert config["backend"] == keras.backend.backend() and config["epochs"] == 2
    assert config["layout"] is None and config["skeleton_layout"] == "kinect20"  # guessed
    classifier_only = {"strl_layers", "dropout", "backbone_rate_scale", "frozen_warmup_epochs",
                       "head_init"}
    assert set(config) >= training.CHECKPOINT_OPTIONS - classifier_only
    assert load_json(pretrained / "results.json")["layout"] == "kinect20"
    metrics = load_json(pretrained / "metrics.json")
    assert [row["epoch"] for row in metrics] == [1, 2]
    assert all(np.isfinite(row["loss"]) and row["loss"] > 0 for row in metrics)
    csv_lines = (pretrained / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:2] == ["epoch", "loss"] and len(csv_lines) == 3
    assert (pretrained / "checkpoints" / "LATEST").read_text() == "epoch_0002"
    model = SkeletonMAEPretrainer.from_preset(pretrained / "preset")
    assert model.backbone.layout.name == "kinect20" and model.backbone.num_frames == 16
    assert model.backbone.motion and model.backbone.bones  # the defaults
    metadata = load_json(pretrained / "preset" / "metadata.json")
    assert metadata["recipe"]["epochs"] == 2 and metadata["recipe"]["embed_dim"] == 16
    assert metadata["training_data"] == f"{msr} split xsub_train (24 sequences, labels unused)"
    assert_png(pretrained / "figures" / "training_curves.png")
    assert_png(pretrained / "figures" / "masked_reconstruction.png")


@pytest.mark.tf_graph  # traced, as the `pretrained` run it is compared with
def test_batches_prepared_by_two_workers_pre_train_the_same_model(pretrained, msr, tmp_path):
    training.pretrain(msr, tmp_path, split="xsub_train", **TINY, learning_rate=1e-3, epochs=2,
                      workers=2)
    expected, got = (load_json(run / "metrics.json") for run in (pretrained, tmp_path))
    assert [row["loss"] for row in got] == pytest.approx([row["loss"] for row in expected],
                                                         rel=1e-5, abs=1e-6)
    assert load_json(tmp_path / "config.json")["workers"] == 2
    with pytest.raises(ValueError, match="workers must be at least 1"):
        training.pretrain(msr, tmp_path / "none", split="xsub_train", **TINY, workers=0)


def test_cosine_schedule_ends_at_zero_and_fixes_the_epochs_of_a_resumed_run(pretrained, msr):
    model, history = training.RunDirectory(pretrained).load_checkpoint()
    assert len(history) == 2 and int(model.optimizer.iterations) > 0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match=r"options \['epochs'\] differ"):
        training.pretrain(msr, pretrained, split="xsub_train", **TINY, learning_rate=1e-3,
                          epochs=3, resume=True)


def test_finetune_on_a_fraction_of_labels_evaluates_on_the_val_split(pretrained, msr, tmp_path):
    results = training.finetune(msr, tmp_path, train_split="xsub_train", val_split="xsub_val",
                                label_fraction=0.5, preset=pretrained / "preset", strl_layers=1,
                                epochs=1)
    assert results["command"] == "finetune" and results["layout"] == "kinect20"
    train = training.usable_split(load_skeletons(msr), "xsub_train")
    assert results["train_sequences"] == len(label_subset(train, 0.5, seed=0)) < len(train)
    assert results == load_json(tmp_path / "results.json")
    evaluation = load_json(tmp_path / "evaluation.json")
    assert evaluation["split"] == "xsub_val" and evaluation["layout"] == "kinect20"
    assert evaluation["num_samples"] == len(training.usable_split(load_skeletons(msr),
                                                                  "xsub_val"))
    assert 0 <= evaluation["top1_accuracy"] <= evaluation["top5_accuracy"] <= 1
    assert "val_accuracy" in load_json(tmp_path / "metrics.json")[0]
    assert_png(tmp_path / "figures" / "confusion_matrix.png")
    assert_png(tmp_path / "figures" / "training_curves.png")
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.num_classes == 19 and len(classifier.strl_blocks) == 1
    # Started from a preset: the recipe records no unused new-backbone defaults.
    recipe = load_json(tmp_path / "preset" / "metadata.json")["recipe"]
    assert recipe["strl_layers"] == 1 and recipe["label_fraction"] == 0.5
    assert not set(recipe) & {"embed_dim", "gin_layers", "hidden_dim", "motion", "bones"}


@ONCE_ON_TORCH
def test_linear_evaluation_keeps_the_encoder_and_validates_every_n_epochs(pretrained, msr,
                                                                          tmp_path, capsys):
    results = training.linear_evaluation(msr, tmp_path, preset=pretrained / "preset",
                                         layout="kinect20", train_split="xsub_train",
                                         val_split="xsub_val", epochs=3, validate_every=2)
    assert "Skeleton layout: kinect20 (as given)" in capsys.readouterr().out
    assert results["command"] == "linear" and "top1_accuracy" in results["evaluation"]
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "kinect20"
    linear = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert linear.freeze_backbone and not linear.strl_blocks
    before = SkeletonMAEPretrainer.from_preset(pretrained / "preset").backbone.get_weights()
    for a, b in zip(before, linear.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    metrics = load_json(tmp_path / "metrics.json")
    assert ["val_accuracy" in row for row in metrics] == [False, True, True]
    assert "val_accuracy" in (tmp_path / "metrics.csv").read_text().splitlines()[0]


@ONCE_ON_TORCH
def test_the_fine_tuning_recipe_reaches_the_optimizer(pretrained, msr, tmp_path):
    """Frozen for the only epoch, the pre-trained layers keep their weights; the checkpoint's
    optimizer holds the recipe (so a resumed run keeps it)."""
    training.finetune(msr, tmp_path, train_split="xsub_train", preset=pretrained / "preset",
                      strl_layers=1, epochs=1, batch_size=8, backbone_rate_scale=0.25,
                      frozen_warmup_epochs=1)
    config = load_json(tmp_path / "config.json")
    assert (config["backbone_rate_scale"], config["frozen_warmup_epochs"]) == (0.25, 1)
    model, _ = training.RunDirectory(tmp_path).load_checkpoint()
    assert isinstance(model.optimizer, FineTuningAdam)
    assert model.optimizer.backbone_rate_scale == 0.25
    assert model.optimizer.frozen_warmup_steps == 3  # 24 sequences in batches of 8
    before = SkeletonMAEPretrainer.from_preset(pretrained / "preset").backbone
    for a, b in zip(before.trainable_weights, model.backbone.trainable_weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b))


@ONCE_ON_TORCH
def test_a_class_mean_head_without_epochs_keeps_the_pre_trained_trunk(pretrained, msr,
                                                                      tmp_path):
    results = training.finetune(msr, tmp_path, train_split="xsub_train", val_split="xsub_val",
                                preset=pretrained / "preset", strl_layers=1, epochs=0,
                                head_init="class_means")
    assert results["epochs"] == 0 and "top1_accuracy" in results["evaluation"]
    assert load_json(tmp_path / "config.json")["head_init"] == "class_means"
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    before = SkeletonMAEPretrainer.from_preset(pretrained / "preset").backbone
    for a, b in zip(before.get_weights(), classifier.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    head = [keras.ops.convert_to_numpy(w) for w in classifier.predictions.weights]
    train = training.usable_split(load_skeletons(msr), "xsub_train")
    x, y = train.to_arrays(16, classifier.backbone.num_persons,
                           transform=CenterOnJoint(train.skeleton_layout))
    classifier.init_head_from_class_means(x, y)  # the same trunk: the same head again
    for a, b in zip(head, classifier.predictions.weights):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="head_init must be one of"):
        training.finetune(msr, tmp_path / "bad", preset=pretrained / "preset", epochs=0,
                          head_init="zeros")


def test_linear_evaluation_needs_a_preset(msr, tmp_path):
    with pytest.raises(ValueError, match="needs a pre-trained encoder"):
        training.linear_evaluation(msr, tmp_path, preset=None, train_split="xsub_train")


@ONCE_ON_TORCH
def test_transfer_to_another_layout_with_the_same_channels(pretrained, tmp_path):
    """Pre-trained on MSR (kinect20, 3D), fine-tuned on NTU files (ntu25, 3D)."""
    training.finetune(require("ntu_samples"), tmp_path, preset=pretrained / "preset",
                      strl_layers=1, epochs=1, batch_size=2)
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.backbone.layout.name == "ntu25"
    assert load_json(tmp_path / "preset" / "metadata.json")["layout"] == "ntu25"
    assert classifier.backbone.num_persons == 2  # A058 has two persons; the preset had one


def test_evaluate_reproduces_the_preset_model_card(tmp_path, capsys):
    card = training.preset_metadata(JHMDB_CLASSIFIER)
    metrics = training.evaluate(require("jhmdb_2d.pkl"), tmp_path, preset=JHMDB_CLASSIFIER,
                                split="test1")
    assert "Skeleton layout: jhmdb15 (guessed" in capsys.readouterr().out
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"
    evaluation = load_json(tmp_path / "evaluation.json")
    assert evaluation["layout"] == "jhmdb15" and evaluation["num_samples"] == 176
    assert metrics == {k: v for k, v in evaluation.items()
                       if k not in ("confusion_matrix", "split", "layout", "class_names")}
    assert evaluation["top1_accuracy"] == pytest.approx(card["results"]["finetune_accuracy"],
                                                        abs=2e-3)
    assert evaluation["class_names"] == card["class_names"]
    assert_png(tmp_path / "figures" / "confusion_matrix.png")


@ONCE_ON_TORCH
def test_evaluate_with_clips_averages_the_probabilities_of_every_clip(tmp_path):
    evaluation = training.evaluate(require("jhmdb_2d.pkl"), tmp_path, preset=JHMDB_CLASSIFIER,
                                   split="test1", clips=3)
    data = load_pyskl(require("jhmdb_2d.pkl"), split="test1")
    model = SkeletonClassifier.from_preset(JHMDB_CLASSIFIER)
    clips = data.to_clips(model.backbone.num_frames, 1, 3, CenterOnJoint(data.skeleton_layout))
    probabilities = np.mean([keras.ops.convert_to_numpy(keras.ops.softmax(model(clip)))
                             for clip in clips], axis=0)
    assert evaluation["num_clips"] == 3
    assert evaluation["top1_accuracy"] == pytest.approx(
        np.mean(probabilities.argmax(-1) == data.labels), abs=1e-9)


def test_predict_names_real_classes_per_sequence_and_person(tmp_path, capsys):
    predictions = training.predict(require("jhmdb_2d.pkl"), tmp_path, preset=JHMDB_CLASSIFIER,
                                   split="test1", top_k=3)
    assert predictions == load_json(tmp_path / "predictions.json")
    names = set(training.preset_metadata(JHMDB_CLASSIFIER)["class_names"])
    assert len(predictions) == 176
    for row in predictions:
        assert len(row["top_k"]) == 3 and {c["class"] for c in row["top_k"]} <= names
        assert [p["person"] for p in row["persons"]] == [0]
        assert row["persons"][0]["top_k"][0]["class"] in names
    assert "Skeleton layout: jhmdb15" in capsys.readouterr().out
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"


@ONCE_ON_TORCH
def test_tune_saves_the_best_trial_as_a_preset(tmp_path):
    results = training.tune(require("jhmdb_2d.pkl"), tmp_path, train_split="train1",
                            val_split="test1", trials=1, epochs=1, frames=8)
    assert results["objective"] == "val_accuracy" and results["trials"] == 1
    assert results["layout"] == "jhmdb15"
    assert load_json(tmp_path / "config.json")["skeleton_layout"] == "jhmdb15"
    assert 0 <= results["best_score"] <= 1
    classifier = SkeletonClassifier.from_preset(tmp_path / "preset")
    assert classifier.num_classes == 14 and classifier.backbone.num_frames == 8
    assert classifier.backbone.embed_dim == results["best_hyperparameters"]["embed_dim"]


@ONCE_ON_TORCH
def test_a_constant_rate_run_can_be_extended_on_resume(msr, tmp_path):
    options = dict(split="xsub_train", **TINY, learning_rate=1e-3, lr_schedule="constant",
                   augment=False, jit_compile="false")
    training.pretrain(msr, tmp_path, epochs=1, **options)
    training.pretrain(msr, tmp_path, epochs=2, resume=True, **options)
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    model, _ = training.RunDirectory(tmp_path).load_checkpoint()
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.jit_compile is False
    config = load_json(tmp_path / "config.json")
    assert config["augment"] is False and config["jit_compile"] == "false"


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(msr, tmp_path, monkeypatch):
    """Interrupted at the start of its third epoch (after its checkpoint of epoch 2), a run
    resumed in a new model, with two workers preparing its batches, ends with the metrics of
    an uninterrupted one."""
    options = dict(train_split="xsub_train", val_split="xsub_val", **TINY, strl_layers=1,
                   batch_size=8, epochs=3)
    training.finetune(msr, tmp_path / "full", **options)

    class InterruptedInEpochThree(fitting.EpochProgress):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt
            super().on_epoch_begin(epoch, logs)

    with monkeypatch.context() as patch:
        patch.setattr(fitting, "EpochProgress", InterruptedInEpochThree)
        with pytest.raises(KeyboardInterrupt):
            training.finetune(msr, tmp_path / "cut", **options)
    assert (tmp_path / "cut" / "checkpoints" / "LATEST").read_text() == "epoch_0002"
    keras.utils.clear_session()
    # Two threads prepare the same batches, so the resumed run may use them.
    training.finetune(msr, tmp_path / "cut", resume=True, workers=2, **options)
    expected, got = (load_json(tmp_path / run / "metrics.json") for run in ("full", "cut"))
    assert [row["epoch"] for row in got] == [1, 2, 3]
    for a, b in zip(expected, got):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["epoch"], key)


@ONCE_ON_TORCH
def test_a_run_made_before_newer_options_resumes(msr, tmp_path, capsys):
    options = dict(split="xsub_train", **TINY, learning_rate=1e-3, lr_schedule="constant")
    training.pretrain(msr, tmp_path, epochs=1, **options)
    config = load_json(tmp_path / "config.json")
    del config["bones"], config["motion"], config["remask"]  # as before those options existed
    (tmp_path / "config.json").write_text(json.dumps(config))
    training.pretrain(msr, tmp_path, epochs=2, resume=True, **options)
    assert "before the options ['bones', 'motion', 'remask'] existed" in capsys.readouterr().out
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    with pytest.raises(ValueError, match=r"\['masked_parts'\]"):  # options it had still count
        training.pretrain(msr, tmp_path, epochs=3, resume=True, masked_parts=3, **options)
    # Options the checkpoint does not hold decide the data: missing, they refuse the resume.
    del config["augment"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"before the options \['augment'\] existed") as error:
        training.pretrain(msr, tmp_path, epochs=3, resume=True, **options)
    assert "bones" not in str(error.value)
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    with pytest.raises(ValueError, match="already holds a run"):
        training.pretrain(msr, tmp_path, epochs=3, **options)


@ONCE_ON_TORCH
@pytest.mark.parametrize("protocol", ["pretrain", "finetune", "evaluate"])
def test_without_matplotlib_a_run_keeps_its_results_and_warns(protocol, msr, tmp_path,
                                                                monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    if protocol == "pretrain":
        training.pretrain(msr, tmp_path, split="xsub_train", **TINY, epochs=0)
    elif protocol == "finetune":
        training.finetune(msr, tmp_path, train_split="xsub_train", val_split="xsub_val",
                          **TINY, strl_layers=1, epochs=0)
    else:
        training.evaluate(require("jhmdb_2d.pkl"), tmp_path, preset=JHMDB_CLASSIFIER,
                          split="test1")
    if protocol == "evaluate":
        assert load_json(tmp_path / "evaluation.json")["num_samples"] == 176
    else:
        assert load_json(tmp_path / "results.json")["command"] == protocol
        assert load_json(tmp_path / "preset" / "metadata.json")["recipe"]["epochs"] == 0
    if protocol == "finetune":
        assert load_json(tmp_path / "evaluation.json")["split"] == "xsub_val"
    warning = capsys.readouterr().err.strip()
    assert len(warning.splitlines()) == 1 and "pip install 'keras-skeletonmae[plots]'" in warning
    assert not (tmp_path / "figures").exists()


def test_an_interrupted_write_leaves_every_run_file_whole(tmp_path, monkeypatch):
    """Each write is interrupted partway: the file it replaces stays as it was."""
    run = training.RunDirectory(tmp_path)
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


def test_the_overlap_check_is_one_function_lifted_by_allow_overlap(msr):
    data = load_skeletons(msr)
    training.check_split_overlap(data, "xsub_train", "xsub_val")
    training.check_split_overlap(data, None, None)  # nothing evaluated
    training.check_split_overlap(data, "xsub_train", pretraining=True)
    training.check_split_overlap(data, None, "xsub_val", allow_overlap=True)
    training.check_split_overlap(data, None, pretraining=True, allow_overlap=True)
    training.check_split_overlap(load_skeletons(require("ntu_samples")), pretraining=True)
    with pytest.raises(ValueError, match="split 'all' would train on 24 samples"):
        training.check_split_overlap(data, "all", "xsub_val")
    with pytest.raises(ValueError, match=f"{msr} defines the splits"):
        training.check_split_overlap(data, pretraining=True)


# Pre-training on several files.


@pytest.fixture(scope="module")
def kinect_sets(tmp_path_factory):
    """A few real samples of each of three kinect20 (3D) sets, each in a folder of its own."""
    folder = tmp_path_factory.mktemp("kinect")
    return [real_subset(name, folder, 4)
            for name in ("msr_action3d.pkl", "utd_mhad.pkl", "kinder_gator.pkl")]


def test_several_files_mix_into_one_stream_with_their_own_splits(kinect_sets, capsys):
    msr, utd, kinder = kinect_sets
    sources = training.pretraining_sources([(msr, "xsub_val"), utd, kinder])
    assert sources == [(str(msr), "xsub_val"), (str(utd), None), (str(kinder), None)]
    data = training.read_pretraining_data(sources, split="xsub_train")
    assert len(data) == 12 and data.labels is None and not data.splits
    assert data.layout == "kinect20" and data.keypoints[0].shape[-1] == 3
    msr_val = training.usable_split(load_skeletons(msr), "xsub_val")
    assert data.ids[:4] == [f"msr_action3d/{i}" for i in msr_val.ids]
    assert data.ids[4].startswith("utd_mhad/") and data.ids[8].startswith("kinder_gator/")
    np.testing.assert_array_equal(data.keypoints[0], msr_val.keypoints[0])
    assert "Pre-training on 12 sequences" in capsys.readouterr().out


def test_several_files_are_refused_when_they_differ_or_a_split_is_missing(kinect_sets,
                                                                        tmp_path):
    msr, utd, _ = kinect_sets
    jhmdb = require("jhmdb_2d.pkl")
    with pytest.raises(ValueError, match="share one layout and channel count") as error:
        training.read_pretraining_data([(msr, "xsub_train"), (jhmdb, "train1")])
    assert f"{msr}: layout 'kinect20', 3 channels" in str(error.value)
    assert f"{jhmdb}: layout 'jhmdb15', 2 channels" in str(error.value)
    with pytest.raises(ValueError, match=f"{utd} defines the splits"):
        training.read_pretraining_data([(msr, "xsub_train"), (utd, None)])
    everything = training.read_pretraining_data([(msr, "xsub_train"), (utd, None)],
                                                allow_overlap=True)
    assert len(everything) == 4 + len(load_skeletons(utd))
    copy = tmp_path / "msr_action3d.pkl"
    copy.write_bytes(Path(msr).read_bytes())
    with pytest.raises(ValueError, match="distinct names"):
        training.read_pretraining_data([(msr, "xsub_train"), (copy, "xsub_val")])
    with pytest.raises(ValueError, match="paths or \\(path, split\\) pairs"):
        training.pretraining_sources([(msr, "xsub_train", "extra")])


@ONCE_ON_TORCH
def test_pretraining_on_several_files_records_them_and_resumes(kinect_sets, tmp_path):
    msr, utd, kinder = kinect_sets
    data = [(msr, "xsub_train"), utd, kinder]
    options = dict(split="xsub_val", **TINY, lr_schedule="constant", batch_size=4)
    results = training.pretrain(data, tmp_path, epochs=1, **options)
    assert results["layout"] == "kinect20" and results["epochs"] == 1
    config = load_json(tmp_path / "config.json")
    assert config["data"] == [[str(msr), "xsub_train"], [str(utd), None], [str(kinder), None]]
    metadata = load_json(tmp_path / "preset" / "metadata.json")
    assert metadata["training_data"] == (f"{msr} split xsub_train + {utd} split xsub_val + "
                                         f"{kinder} split xsub_val (12 sequences, labels unused)")
    training.pretrain([(str(msr), "xsub_train"), (utd, None), kinder], tmp_path, epochs=2,
                      resume=True, **options)  # the same files, written differently
    assert [row["epoch"] for row in load_json(tmp_path / "metrics.json")] == [1, 2]
    with pytest.raises(ValueError, match=r"options \['data'\] differ"):
        training.pretrain([(msr, "xsub_train"), utd], tmp_path, epochs=3, resume=True,
                          **options)


@ONCE_ON_TORCH
def test_trunk_pre_training_with_span_masks_starts_the_fine_tuned_trunk(msr, tmp_path):
    """The pre-training options reach the pre-trainer and its preset, and fine-tuning from it
    with as many STRL layers starts from the pre-trained STRL layers."""
    pretrained = tmp_path / "pretrain"
    training.pretrain(msr, pretrained, split="xsub_train", **TINY, epochs=1, encoder="trunk",
                      strl_layers=2, mask_sampling="span", mask_span=4)
    config = load_json(pretrained / "config.json")
    assert (config["encoder"], config["mask_sampling"], config["mask_span"]) == ("trunk", "span", 4)
    pretrainer = SkeletonMAEPretrainer.from_preset(pretrained / "preset")
    assert (pretrainer.encoder, pretrainer.mask_span, pretrainer.num_strl_layers) == ("trunk", 4, 2)
    classifier = SkeletonClassifier.from_preset(pretrained / "preset", num_classes=19,
                                                num_strl_layers=2)
    for name in ("strl_0", "strl_1", "strl_1_encoder"):
        for got, saved in zip(classifier.get_layer(name).get_weights(),
                              pretrainer.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, saved)


# benchmarks/protocols.py


@ONCE_ON_TORCH
def test_quick_protocol_on_msr(msr, tmp_path, monkeypatch):
    """`--quick`, one seed, on a few real MSR samples with a tiny architecture: every cell has
    a mean and a standard deviation in results.json, and the markdown table is written."""
    monkeypatch.setenv("SKELETONMAE_DATA", str(msr.parent))
    protocols = load_benchmark("protocols")
    monkeypatch.setattr(protocols, "DATA_DIR", msr.parent)
    monkeypatch.setattr(protocols, "ARCHITECTURE", ["--frames", "8", "--embed-dim", "16",
                                                    "--gin-layers", "1", "--hidden-dim", "32"])
    output = tmp_path / "protocols"
    protocols.main(["--quick", "--sets", "msr", "--seeds", "1", "--output", str(output)])

    results = json.loads((output / "results.json").read_text())
    assert results["complete"]
    expected = {f"msr/xsub/{p}" for p in
                ("scratch_full", "pretrained_full", "scratch_10", "pretrained_10", "linear")}
    assert set(results["cells"]) == expected
    for cell in results["cells"].values():
        for metric in ("top1", "mean_class"):
            assert 0 <= cell[metric]["mean"] <= 1
            assert cell[metric]["std"] >= 0
            assert cell[metric]["n"] == 1
        assert cell["seconds"] > 0
    # one pre-training run, shared by the three cells that need it
    pretraining = [r for r in results["runs"] if r["protocol"] == "pretrain"]
    assert len(pretraining) == 1
    assert results["seconds_run_commands"] > 0
    assert {t["target"].split(":")[0] for t in results["targets"]}

    table = (output / "results.md").read_text()
    assert "| protocol |" in table
    for protocol in ("scratch_full", "pretrained_full", "scratch_10", "pretrained_10", "linear"):
        assert f"| {protocol} (" in table


def test_every_ablation_cell_fine_tunes_in_its_own_folder():
    ablations = load_benchmark("ablations")
    folders = {name: ablations.finetune_folder(Path("out"), *options[1:])
               for name, options in ablations.cells().items()}
    assert len(set(folders.values())) == len(folders)
    assert folders["no pre-training"].name == "scratch"
    assert folders["recipe: 2 random parts, GIN 2, STRL 2, coordinates"].name == "recipe"


@ONCE_ON_TORCH
def test_the_reconstruction_baseline_scores_a_run_against_the_mean_pose(pretrained, msr):
    result = load_benchmark("reconstruction_baseline").main(
        [str(pretrained), "--data", str(msr), "--samples", "8"])
    assert result["epochs"] == 2 and result["samples"] == 8
    assert 0 < result["masked_fraction"] < 1
    # Both are mean (1 - cos)^2 over the masked joints: in (0, 4], and a mean pose fitted on
    # the scored sequences is better than chance (cos 0 everywhere: 1).
    assert 0 < result["model_loss"] <= 4 and 0 < result["mean_pose_loss"] < 1
