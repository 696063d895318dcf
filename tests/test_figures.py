"""The run figures are written as PNGs and leave no figure open in pyplot (a protocol run
draws hundreds of them in one process)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import assert_png
from keras_skeletonmae.training import figures
from keras_skeletonmae.training.figures import (
    plot_confusion_matrix,
    plot_masked_reconstruction,
    plot_training_curves,
)
from keras_skeletonmae.layouts import SkeletonLayout, get_layout


def test_figures_are_written_and_closed(tmp_path, rng):
    layout = get_layout("kinect20")
    skeleton = rng.normal(size=(layout.num_joints, 3))
    masked = np.zeros(layout.num_joints, bool)
    masked[list(layout.parts["left_arm"])] = True
    history = [{"epoch": e, "loss": 1.0 / e, "seconds": 1.0} for e in (1, 2, 3)]
    history[-1]["val_loss"] = 0.5
    open_before = plt.get_fignums()
    paths = []
    for i in range(3):
        paths += [
            plot_training_curves(history, tmp_path / f"curves_{i}.png", "curves"),
            plot_confusion_matrix(np.eye(3, dtype=int) * 4, ["a", "b", "c"],
                                  tmp_path / f"confusion_{i}.png", "confusion"),
            plot_masked_reconstruction(layout, skeleton, masked, skeleton + 0.1,
                                       tmp_path / f"masked_{i}.png", "masked"),
        ]
    assert plt.get_fignums() == open_before
    for path in paths:
        assert_png(path)


STICK = SkeletonLayout("stick_any_dims", edges=[(1, 0), (2, 1)], parts={"upper": [0, 1],
                                                                       "lower": [2]})


@pytest.mark.parametrize("layout, channels, head, foot, y_down", [
    (get_layout("coco17"), 2, "nose", "left_ankle", True),  # image keypoints: y points down
    (get_layout("coco17"), 3, "nose", "left_ankle", True),  # x, y and a confidence score
    (STICK, 2, "joint_0", "joint_2", True),  # a layout for either: 2 channels are an image's
    (get_layout("kinect20"), 3, "head", "left_foot", False),  # depth camera: y points up
    (STICK, 3, "joint_0", "joint_2", False),
], ids=["coco17_xy", "coco17_xy_score", "either_xy", "kinect20_xyz", "either_xyz"])
def test_skeleton_is_drawn_head_up(monkeypatch, tmp_path, rng, layout, channels, head, foot,
                                   y_down):
    skeleton = rng.uniform(0.5, 1.5, size=(layout.num_joints, channels))
    head, foot = layout.joint_names.index(head), layout.joint_names.index(foot)
    skeleton[[head, foot], 1] = [0.0, 2.0] if y_down else [2.0, 0.0]
    drawn = []
    monkeypatch.setattr(figures, "_save", lambda figure, path: drawn.append(figure))
    plot_masked_reconstruction(layout, skeleton, np.zeros(layout.num_joints, bool), None,
                               tmp_path / "masked.png", "masked")
    (figure,) = drawn
    figure.canvas.draw()
    head_y, foot_y = figure.axes[0].transData.transform(skeleton[[head, foot], :2])[:, 1]
    plt.close(figure)
    assert head_y > foot_y  # display coordinates point up
