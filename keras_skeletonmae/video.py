"""Video in, actions out, offline on a CPU: MediaPipe Pose landmarks from video files
(`extract_poses`, saved as a PYSKL pickle by `extract`) and a classifier preset's top-k actions
per window and per clip (`predict_video`). Needs `pip install "keras-skeletonmae[video]"`
(MediaPipe 0.10.14, whose wheel ships the pose models, so nothing is downloaded).

MediaPipe's Pose solution tracks ONE person per video: with several people in view it follows
one of them (the most prominent when it starts), and the others are not extracted. For several
people, run a multi-person estimator (OpenPose, MMPose, AlphaPose, YOLO-pose) and read its
output with `load_skeletons`.
"""

import time
from pathlib import Path

import numpy as np

from keras_skeletonmae.data import CenterOnJoint, Compose, Normalize2D, SkeletonData, save_pyskl
from keras_skeletonmae.layouts import convert_layout, get_layout, supported_targets
from keras_skeletonmae.training.run_directory import RunDirectory

LAYOUT = "mediapipe33"
INSTALL_HINT = 'Video needs MediaPipe: pip install "keras-skeletonmae[video]".'


def _modules():
    """`(cv2, mediapipe)`, or an ImportError saying what to install."""
    try:
        import cv2
        import mediapipe
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return cv2, mediapipe


def _open(cv2, path):
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: cannot read this video (OpenCV could not open it).")
    return capture


def video_shape(path):
    """`(height, width)` of a video's frames, in pixels.

    Args:
        path: str or `pathlib.Path`. The video file.

    Returns:
        A pair of ints.

    Example:
        video_shape("a.mp4")  # (1080, 1920)
    """
    cv2, _ = _modules()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    capture = _open(cv2, path)
    shape = (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
             int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))
    capture.release()
    return shape


def read_frames(path, indices):
    """The RGB frames `[H, W, 3]` of a video at the 0-based frame `indices` (sorted).

    Args:
        path: str or `pathlib.Path`. The video file.
        indices: iterable of ints. Frames to read; past the end are left out.

    Returns:
        A list of uint8 arrays `[H, W, 3]`, in frame order.

    Example:
        first, tenth = read_frames("a.mp4", [0, 9])
    """
    cv2, _ = _modules()
    capture = _open(cv2, path)
    wanted, frames, t = sorted(set(int(i) for i in indices)), [], 0
    while wanted and t <= wanted[-1]:
        ok, frame = capture.read()
        if not ok:
            break
        if t in wanted:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        t += 1
    capture.release()
    return frames


def _landmarks(result, world, width, height):
    """`(coordinates [33, C], visibility [33])` of one MediaPipe result, or None (no pose)."""
    landmarks = result.pose_world_landmarks if world else result.pose_landmarks
    if landmarks is None:
        return None
    points = landmarks.landmark
    if world:
        coordinates = [(p.x, p.y, p.z) for p in points]
    else:
        coordinates = [(p.x * width, p.y * height) for p in points]
    return np.asarray(coordinates, "float32"), np.asarray([p.visibility for p in points],
                                                          "float32")


def extract_poses(paths, world=True, min_detection_confidence=0.5, min_tracking_confidence=0.5,
                  labels=None, class_names=None, verbose=True):
    """MediaPipe Pose landmarks of each video as one sample of `SkeletonData` (layout
    `mediapipe33`, one person).

    `world=True` gives MediaPipe's 3D world landmarks in metres (x right, y down, z away from
    the camera, origin between the hips); `world=False` the 2D image landmarks in pixels
    (x * width, y * height, y down). Each landmark's visibility is its score. Frames where
    MediaPipe finds no pose are zeros (not detected) and are reported. Ids are the file stems.
    One person per video (see the module docstring).

    Args:
        paths: str, `pathlib.Path` or a list of them. Video files (anything OpenCV reads:
            .mp4, .avi, ...).
        world: bool, 3D world landmarks (True) or 2D image landmarks (False).
        min_detection_confidence: float, MediaPipe's person detection threshold.
        min_tracking_confidence: float, MediaPipe's landmark tracking threshold (below it the
            person is detected again).
        labels: sequence of ints or `None`. Class id per video, for fine-tuning.
        class_names: list of str or `None`. Class names, index = label.
        verbose: bool, print one line per video (frames, frames without a pose, frames/s).

    Returns:
        `SkeletonData` with keypoints `[1, T, 33, 3 or 2]` and scores `[1, T, 33]` per video.

    Example:
        data = extract_poses(["drink.mp4", "wave.mp4"], world=True, labels=[0, 1],
                             class_names=["drink", "wave"])
    """
    cv2, mediapipe = _modules()
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise ValueError("extract_poses needs at least one video.")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist.")
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"{len(labels)} labels for {len(paths)} videos; give one class id per "
                         "video, in order.")
    keypoints, scores = [], []
    for path in paths:
        capture = _open(cv2, path)
        coordinates, visibility, missing = [], [], []
        start = time.perf_counter()
        # One Pose per video: its tracking state must not carry over to the next video.
        with mediapipe.solutions.pose.Pose(
                static_image_mode=False, model_complexity=1,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence) as pose:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                height, width = frame.shape[:2]
                found = _landmarks(pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), world,
                                   width, height)
                if found is None:
                    missing.append(len(coordinates))
                    found = (np.zeros((33, 3 if world else 2), "float32"),
                             np.zeros(33, "float32"))
                coordinates.append(found[0])
                visibility.append(found[1])
        capture.release()
        seconds = time.perf_counter() - start
        if not coordinates:
            raise ValueError(f"{path}: no frame could be decoded (empty or unsupported video).")
        if len(missing) == len(coordinates):
            raise ValueError(f"{path}: MediaPipe found no pose in any of its "
                             f"{len(coordinates)} frames.")
        if verbose:
            shown = f" (frames {missing[:10]}{' ...' if len(missing) > 10 else ''})"
            print(f"{path}: {len(coordinates)} frames, no pose in {len(missing)}"
                  f"{shown if missing else ''}; {len(coordinates) / seconds:.1f} frames/s.")
        keypoints.append(np.stack(coordinates)[None])
        scores.append(np.stack(visibility)[None])
    return SkeletonData(keypoints, scores, labels=labels, ids=[p.stem for p in paths],
                        class_names=class_names, layout=LAYOUT, source=paths[0].parent)


def extract(videos, output, world=True, labels=None, class_names=None):
    """`extract_poses` of `videos` written as a PYSKL pickle (`save_pyskl`, with each video's
    `img_shape`), which `load_pyskl` and the command line's `finetune --data` read.

    Args:
        videos: list of str or `pathlib.Path`. Video files.
        output: str or `pathlib.Path`. The `.pkl` file to write.
        world: bool, 3D world landmarks (True) or 2D image landmarks (False).
        labels: sequence of ints or `None`. Class id per video.
        class_names: list of str or `None`. Class names, index = label.

    Returns:
        the `SkeletonData` written.

    Example:
        extract(["drink.mp4", "wave.mp4"], "mine.pkl", labels=[0, 1],
                class_names=["drink", "wave"])
    """
    data = extract_poses(videos, world=world, labels=labels, class_names=class_names)
    save_pyskl(data, output, img_shapes={Path(v).stem: video_shape(v) for v in videos})
    return data


def _to_layout(data, target):
    """`data` in layout `target`, through one intermediate layout where no table is direct."""
    source = data.layout
    if target in supported_targets(source):
        return convert_layout(data, target)
    for middle in supported_targets(source):
        if target in supported_targets(middle):
            return convert_layout(convert_layout(data, middle), target)
    raise ValueError(f"MediaPipe landmarks ('{source}') do not convert to the preset's layout "
                     f"'{target}'; they convert to {supported_targets(source)}.")


def _windows(num_frames, window, stride):
    """`[(start, end)]` frame ranges of length `window` every `stride` frames, the last one
    ending at the last frame; one range of the whole clip when it is shorter."""
    if num_frames <= window:
        return [(0, num_frames)]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return [(s, s + window) for s in starts]


def preset_wants_world(preset):
    """Whether a preset takes 3D coordinates (MediaPipe's world landmarks) rather than 2D image
    ones.

    Args:
        preset: str. A preset name, folder or hub handle.

    Returns:
        bool.

    Example:
        preset_wants_world("skeletonmae_kinect20_msr_classifier")  # True
    """
    from keras_skeletonmae.models import presets as preset_io

    return preset_io.read_backbone_config(preset)["num_channels"] == 3


def predict_poses(data, preset, window=64, stride=16, top_k=5):
    """The top-k actions of a classifier preset per window and for the whole clip of
    `extract_poses` landmarks (or such a saved pickle, read back with `load_pyskl`).

    A 3D preset (`kinect20`, `ntu25`) takes 3D world landmarks, turned into the Kinect camera's
    axes (x to the camera's left, y up; MediaPipe's x points right and y down: a half turn
    about z); a 2D one (`coco17`, `jhmdb15`) takes 2D image landmarks, scaled to [-1, 1] by
    their bounding box (`Normalize2D`). `convert_layout` then maps the 33 landmarks to the
    preset's joints. Each window (`window` frames every `stride`, the last one ending at the
    clip's end) and the whole clip are resampled to the preset's frame count and centred on its
    centre joint, as `skeletonmae predict` does with pose files. Windows without any pose get
    no prediction (empty `top_k`).

    Args:
        data: `SkeletonData` of layout `mediapipe33`, 3 (world) or 2 (image) channels.
        preset: str. A classifier preset (name, folder or hub handle).
        window: int, frames per window (64 is about 2 s at 30 frames/s).
        stride: int, frames between window starts.
        top_k: int, classes listed per window and clip.

    Returns:
        per sample `{"id", "frames", "frames_with_pose", "layout", "top_k": [...],
        "windows": [{"start", "end", "frames_with_pose", "top_k"}]}`, a `top_k` entry being
        `{"class", "label", "probability"}`; `end` is exclusive.

    Example:
        data = extract_poses("a.mp4", world=True)
        predict_poses(data, "skeletonmae_kinect20_msr_classifier", window=64, stride=16)
    """
    from keras_skeletonmae.evaluation import class_names_for, class_probabilities, top_k_classes
    from keras_skeletonmae.models import presets as preset_io
    from keras_skeletonmae.training import load_classifier, preset_metadata

    if min(int(window), int(stride), int(top_k)) < 1:
        raise ValueError(f"window, stride and top_k must be positive, got {window}, {stride}, "
                         f"{top_k}.")
    target = get_layout(preset_io.read_backbone_config(preset)["layout"])
    three_d = preset_wants_world(preset)
    channels = data.keypoints[0].shape[-1]
    if data.layout != LAYOUT or channels != (3 if three_d else 2):
        raise ValueError(
            f"{data.source or 'the data'}: preset '{preset}' ({target.name}) takes MediaPipe "
            f"{'3D world' if three_d else '2D image'} landmarks ({LAYOUT}, "
            f"{3 if three_d else 2} channels); got layout {data.layout!r} with {channels} "
            f"channels. Extract with extract_poses(..., world={three_d}).")
    if three_d:
        # MediaPipe world axes (x right, y down) -> Kinect camera axes (x left, y up).
        data = SkeletonData([k * np.array([-1, -1, 1], "float32") for k in data.keypoints],
                            data.scores, ids=data.ids, layout=data.layout, source=data.source)
    data = _to_layout(data, target.name)
    transform = CenterOnJoint(target)
    if not three_d:
        transform = Compose([Normalize2D(), transform])
    model = load_classifier(preset, data)
    frames, persons = model.backbone.num_frames, model.backbone.num_persons
    class_names = class_names_for(model.num_classes, preset_metadata(preset).get("class_names"))
    results = []
    for sample, sample_id in zip(data.keypoints, data.ids):
        spans = _windows(sample.shape[1], int(window), int(stride))
        pieces = [sample] + [sample[:, s:e] for s, e in spans]
        posed = [int(np.any(piece, axis=(0, 2, 3)).sum()) for piece in pieces]
        usable = [i for i, count in enumerate(posed) if count]
        batch = SkeletonData([pieces[i] for i in usable], layout=target)
        x, _ = batch.to_arrays(frames, persons, transform=transform)
        ranked = dict(zip(usable, top_k_classes(class_probabilities(model, x), class_names,
                                                int(top_k))))
        results.append({
            "id": sample_id, "frames": int(sample.shape[1]), "frames_with_pose": posed[0],
            "layout": target.name, "top_k": ranked.get(0, []),
            "windows": [{"start": s, "end": e, "frames_with_pose": posed[i + 1],
                         "top_k": ranked.get(i + 1, [])} for i, (s, e) in enumerate(spans)]})
    return results


def predict_video(videos, preset, window=64, stride=16, top_k=5, output=None, verbose=True):
    """`extract_poses` of `videos` (world landmarks for a 3D preset, image ones for a 2D one),
    then `predict_poses`: the top-k actions per window and for the whole clip of each video.

    Args:
        videos: str, `pathlib.Path` or a list of them. Video files.
        preset: str. A classifier preset (name, folder or hub handle).
        window: int, frames per window; stride: int, frames between window starts.
        top_k: int, classes listed per window and clip.
        output: str, `pathlib.Path` or `None`. A folder; the predictions are written to its
            `predictions.json`.
        verbose: bool, print each video's extraction line.

    Returns:
        `predict_poses`'s list, one entry per video.

    Example:
        predict_video("a.mp4", "skeletonmae_kinect20_msr_classifier", window=64, stride=16)
    """
    data = extract_poses(videos, world=preset_wants_world(preset), verbose=verbose)
    predictions = predict_poses(data, preset, window=window, stride=stride, top_k=top_k)
    if output is not None:
        RunDirectory(output).write_json("predictions.json", predictions)
    return predictions


def plot_video_poses(video, data, path, index=0, num_frames=4, title=None):
    """A PNG of `num_frames` evenly spaced frames of `video` with sample `index` of `data`
    (2D image landmarks, `extract_poses(..., world=False)`) drawn over them.

    Args:
        video: str or `pathlib.Path`. The video file.
        data: `SkeletonData`. 2D image landmarks of the video.
        path: str or `pathlib.Path`. The PNG to write.
        index: int. The sample of `data` to draw.
        num_frames: int. Frames shown.
        title: str or `None`. The figure's title.

    Example:
        video = "a.mp4"
        plot_video_poses(video, extract_poses(video, world=False), "poses.png")
    """
    from keras_skeletonmae.training import figures

    keypoints = data.keypoints[index]
    layout = data.skeleton_layout
    if keypoints.shape[-1] != 2:
        raise ValueError(f"sample '{data.ids[index]}' has {keypoints.shape[-1]} coordinates per "
                         "joint; drawing over the video needs 2D image landmarks "
                         "(extract_poses(..., world=False)).")
    chosen = np.linspace(0, keypoints.shape[1] - 1, num_frames).round().astype(int)
    images = read_frames(video, chosen)
    return figures.plot_pose_on_frames(images, keypoints[:, chosen[:len(images)]], layout,
                                       chosen[:len(images)], path,
                                       title or f"{data.ids[index]} ({layout.name})")
