"""PNG figures of a run: training curves, a confusion matrix, a skeleton with its masked
body parts and their reconstruction, and skeletons drawn over video frames. Needs matplotlib
(`pip install keras-skeletonmae[plots]`).
"""

from pathlib import Path

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("Figures need matplotlib: pip install 'keras-skeletonmae[plots]'.") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    _pyplot().close(figure)  # pyplot holds every figure until closed: a run draws many
    return path


def plot_training_curves(history, path, title):
    """One panel per metric (`loss`, `accuracy`, ...) over epochs, `val_` curves beside them
    (at the epochs that were validated)."""
    plt = _pyplot()
    names = [k for k in history[0] if k not in ("epoch", "seconds") and not k.startswith("val_")]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for axis, name in zip(axes[0], names):
        axis.plot(epochs, [row[name] for row in history], marker=".", label="train")
        validated = [row for row in history if f"val_{name}" in row]
        if validated:
            axis.plot([row["epoch"] for row in validated],
                      [row[f"val_{name}"] for row in validated], marker=".", label="validation")
            axis.legend()
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    return _save(figure, path)


def plot_confusion_matrix(confusion, class_names, path, title):
    """Row-normalised confusion matrix (true class by row), counts written in the cells."""
    plt = _pyplot()
    confusion = np.asarray(confusion)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = max(5, 0.45 * len(class_names))
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=90)
    axis.set_yticks(ticks, class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i, j in zip(*np.nonzero(confusion)):
        axis.text(j, i, int(confusion[i, j]), ha="center", va="center", fontsize=7,
                  color="white" if rates[i, j] > 0.5 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title)
    return _save(figure, path)


def _image_coordinates(layout, skeleton):
    """Whether `skeleton` `(V, C)` of `layout` holds 2D image keypoints, whose y axis points
    down: the layout's `num_dims` is 2, or, when the layout allows either, C is 2 (3 channels
    are then x, y, z, as for a 3D camera, whose y axis points up)."""
    num_dims = layout.num_dims
    return num_dims == 2 or (num_dims is None and np.shape(skeleton)[-1] == 2)


def plot_masked_reconstruction(layout, skeleton, masked, reconstruction, path, title):
    """A skeleton `(V, C)` drawn in its first two coordinates: visible joints in blue, the
    masked body parts' true joints in red, and their reconstruction (`(V, C)` or None) in green,
    each joint joined by a dotted line to its reconstruction. 2D image keypoints
    (`_image_coordinates`) are drawn as in the image, y pointing down; 3D ones with y up."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.5, 5))
    masked = np.asarray(masked, dtype=bool)
    for child, parent in layout.edges:
        hidden = masked[child] or masked[parent]
        axis.plot(*skeleton[[child, parent], :2].T, color="tab:red" if hidden else "tab:blue",
                  linestyle="--" if hidden else "-", linewidth=2)
    axis.scatter(*skeleton[~masked, :2].T, color="tab:blue", label="visible", zorder=3)
    axis.scatter(*skeleton[masked, :2].T, color="tab:red", label="masked (truth)", zorder=3)
    if reconstruction is not None:
        axis.scatter(*reconstruction[masked, :2].T, color="tab:green", marker="x", s=60,
                     label="reconstruction", zorder=4)
        for v in np.flatnonzero(masked):
            axis.plot(*np.stack([skeleton[v, :2], reconstruction[v, :2]]).T, color="tab:green",
                      linestyle=":", linewidth=1)
    axis.set_aspect("equal")
    if _image_coordinates(layout, skeleton):
        axis.invert_yaxis()
    axis.legend(loc="best", fontsize=8)
    axis.set_title(title)
    return _save(figure, path)


def plot_pose_on_frames(images, keypoints, layout, frame_indices, path, title):
    """Video frames with their skeletons drawn over them, one panel per frame.

    Args:
        images: list of F RGB frames `[H, W, 3]`.
        keypoints: `[M, F, V, 2]` 2D image coordinates in pixels of those frames (y down, as
            the image); each person in its own colour, undetected joints (0, 0) left out.
        layout: the `SkeletonLayout` whose bones are drawn.
        frame_indices: the F frame numbers, for the panel titles.
        path: the PNG file to write.
        title: the figure's title.
    """
    plt = _pyplot()
    keypoints = np.asarray(keypoints)
    height, width = images[0].shape[:2]
    size = (4 * len(images), 4 * height / width + 0.6)
    figure, axes = plt.subplots(1, len(images), figsize=size, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for f, (axis, image) in enumerate(zip(axes[0], images)):
        axis.imshow(image)  # imshow puts y down: the keypoints land on the image
        for m in range(keypoints.shape[0]):
            skeleton, colour = keypoints[m, f], colours[m % len(colours)]
            present = np.any(skeleton != 0, axis=-1)
            for child, parent in layout.edges:
                if present[child] and present[parent]:
                    axis.plot(*skeleton[[child, parent]].T, color=colour, linewidth=1.5)
            axis.scatter(*skeleton[present].T, s=6, color=colour, zorder=3)
        axis.set_xlim(0, width)
        axis.set_ylim(height, 0)
        axis.set_title(f"frame {frame_indices[f]}")
        axis.axis("off")
    figure.suptitle(title)
    return _save(figure, path)
