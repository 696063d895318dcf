"""The run figures are written as PNGs and leave no figure open in pyplot (a protocol run
draws hundreds of them in one process)."""

import matplotlib.pyplot as plt
import numpy as np

from helpers import assert_png
from keras_skeletonmae.figures import (
    plot_confusion_matrix,
    plot_masked_reconstruction,
    plot_training_curves,
)
from keras_skeletonmae.layouts import get_layout


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
