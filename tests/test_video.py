"""Video in, actions out: MediaPipe extraction of the real test videos, the PYSKL round trip,
predictions per window and clip, the figure, and the command line (with and without the
`video` extra)."""

import json

import numpy as np
import pytest

from keras_skeletonmae import video
from keras_skeletonmae.cli import main
from keras_skeletonmae.data import SkeletonData, load_pyskl
from keras_skeletonmae.data.any_format import load_skeletons
from real_data import require

NTU_VIDEO = "videos/ntu_S001C001P001R001A001_rgb.avi"
TWO_PERSONS = "videos/two_persons.mp4"
PRESET_3D = "skeletonmae_kinect20_msr_classifier"


@pytest.fixture(scope="module")
def extracted():
    """The NTU clip's 3D world landmarks and the two-person clip's 2D image landmarks,
    extracted once (about 20 s on a CPU)."""
    pytest.importorskip("mediapipe", reason="MediaPipe is not installed: pip install "
                                            "'keras-skeletonmae[video]' to test videos")
    ntu, two = require(NTU_VIDEO), require(TWO_PERSONS)
    return {"world": video.extract_poses([ntu], world=True),
            "image": video.extract_poses(two, world=False), "paths": (ntu, two)}


def test_world_landmarks_in_metres_and_image_landmarks_in_the_frame(extracted):
    world, image = extracted["world"], extracted["image"]
    assert world.layout == image.layout == "mediapipe33"
    assert world.ids == ["ntu_S001C001P001R001A001_rgb"] and image.ids == ["two_persons"]
    keypoints, scores = world.keypoints[0], world.scores[0]
    assert keypoints.shape == (1, 103, 33, 3) and scores.shape == (1, 103, 33)
    posed = np.any(keypoints, axis=(0, 2, 3))
    assert posed.mean() > 0.8  # a pose in most frames
    # Metres around the hips: a standing person spans about 1.5 m, nothing beyond 1.5 m.
    assert np.abs(keypoints).max() < 1.5
    height = np.ptp(keypoints[0, posed, :, 1], axis=-1)
    assert 0.8 < np.median(height) < 2.2
    assert 0 <= scores.min() and scores.max() <= 1
    keypoints = image.keypoints[0]
    assert keypoints.shape == (1, 72, 33, 2)
    present = np.any(keypoints, axis=-1)
    assert present.any(axis=-1).mean() > 0.8
    height, width = video.video_shape(extracted["paths"][1])
    assert (height, width) == (1080, 1920)
    inside = ((keypoints[..., 0] >= 0) & (keypoints[..., 0] < width) & (keypoints[..., 1] >= 0)
              & (keypoints[..., 1] < height))
    assert inside[present].mean() > 0.95  # landmarks may be guessed just outside the frame


def test_extracted_pickle_reads_back_with_its_layout(extracted, tmp_path):
    from keras_skeletonmae.data import safe_load_pickle, save_pyskl

    data = extracted["image"]
    path = save_pyskl(data, tmp_path / "poses.pkl", img_shapes={"two_persons": (1080, 1920)})
    back = load_skeletons(path)
    assert back.layout == "mediapipe33" and back.ids == data.ids
    np.testing.assert_array_equal(back.keypoints[0], data.keypoints[0])
    np.testing.assert_array_equal(back.scores[0], data.scores[0])
    assert safe_load_pickle(path)["annotations"][0]["img_shape"] == (1080, 1920)


def _check_top_k(top_k, k, num_classes):
    assert len(top_k) == k
    probabilities = [c["probability"] for c in top_k]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-4
    assert all(0 <= c["label"] < num_classes for c in top_k)


@pytest.fixture(scope="module")
def predicted(extracted):
    """`predict_poses` of the NTU clip with a built-in 3D preset, run once."""
    return video.predict_poses(extracted["world"], PRESET_3D, window=64, stride=16, top_k=3)


def test_predict_per_window_and_clip_with_a_3d_preset(extracted, predicted):
    assert len(predicted) == 1
    result = predicted[0]
    assert result["layout"] == "kinect20" and result["frames"] == 103
    _check_top_k(result["top_k"], 3, 20)
    # 103 frames: windows start every 16 frames, the last one ends at the clip's end.
    assert [(w["start"], w["end"]) for w in result["windows"]] == [
        (0, 64), (16, 80), (32, 96), (39, 103)]
    for window in result["windows"]:
        _check_top_k(window["top_k"], 3, 20)
    with pytest.raises(ValueError, match="takes MediaPipe 3D world landmarks .* got layout "
                                         "'mediapipe33' with 2 channels"):
        video.predict_poses(extracted["image"], PRESET_3D)


def test_pose_figure_is_a_png(extracted, tmp_path):
    pytest.importorskip("matplotlib", reason="figures need matplotlib")
    path = video.plot_video_poses(extracted["paths"][1], extracted["image"],
                                  tmp_path / "poses.png", num_frames=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="needs 2D image landmarks"):
        video.plot_video_poses(extracted["paths"][0], extracted["world"], tmp_path / "w.png")


def test_cli_extract_and_predict_call_the_video_functions(extracted, predicted, tmp_path,
                                                          monkeypatch, capsys):
    """The command line's wiring; the functions it calls are tested above (and each model
    load takes seconds), so they return what those tests computed."""
    ntu = str(extracted["paths"][0])
    calls = []

    def fake_extract(paths, world=True, labels=None, class_names=None, **options):
        calls.append(("extract", world))
        data = extracted["world"] if world else extracted["image"]
        return SkeletonData(data.keypoints, data.scores, labels, data.ids, class_names,
                            data.layout)

    def fake_predict(data, preset, window, stride, top_k):
        calls.append(("predict", data.keypoints[0].shape[-1], preset, window, stride, top_k))
        return predicted

    monkeypatch.setattr(video, "extract_poses", fake_extract)
    monkeypatch.setattr(video, "predict_poses", fake_predict)
    monkeypatch.setattr(video, "video_shape", lambda path: (1080, 1920))
    assert main(["extract", "--video", ntu, "--output", str(tmp_path / "p.pkl"), "--image",
                 "--labels", "1", "--class-names", "a", "b"]) == 0
    saved = load_pyskl(tmp_path / "p.pkl")
    assert saved.keypoints[0].shape[-1] == 2 and saved.labels.tolist() == [1]
    assert main(["predict", "--video", ntu, "--preset", PRESET_3D, "--window", "64",
                 "--stride", "16", "--top-k", "3", "--output", str(tmp_path / "run")]) == 0
    assert calls == [("extract", False), ("extract", True), ("predict", 3, PRESET_3D, 64, 16, 3)]
    assert json.loads((tmp_path / "run" / "predictions.json").read_text()) == predicted
    assert "window 39-103" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["predict", "--video", ntu, "--data", ntu, "--preset", PRESET_3D])
    assert info.value.code == 2
    assert "predict takes --data or --video, not both" in capsys.readouterr().err


def test_without_mediapipe_the_cli_says_what_to_install(monkeypatch, tmp_path, capsys):
    def missing():
        raise ImportError(video.INSTALL_HINT)

    monkeypatch.setattr(video, "_modules", missing)
    (tmp_path / "a.mp4").write_bytes(b"")
    assert main(["extract", "--video", str(tmp_path / "a.mp4"), "--output",
                 str(tmp_path / "p.pkl")]) == 2
    assert 'pip install "keras-skeletonmae[video]"' in capsys.readouterr().err
    assert main(["predict", "--video", str(tmp_path / "a.mp4"), "--preset", PRESET_3D]) == 2
    assert 'pip install "keras-skeletonmae[video]"' in capsys.readouterr().err
