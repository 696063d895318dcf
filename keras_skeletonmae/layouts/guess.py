"""`guess_layout`: which built-in layout a file's skeletons use, from its shape and, where the
file has them, its joint names and bones; no guess unless all the evidence agrees."""

import re

from keras_skeletonmae.layouts.builtin import COCO17, JHMDB15, KINECT20, NTU25, OPENPOSE18

# The layouts a reader may guess from a file's shape and joint names. The pose-estimator layouts
# (openpose25, halpe26, mediapipe33) are named by the readers and writers of their formats.
GUESSABLE_LAYOUTS = (COCO17, NTU25, KINECT20, JHMDB15, OPENPOSE18)


def _joint_key(name):
    """A joint name in one spelling: `L-shoulder`, `left shoulder` -> `left_shoulder`."""
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower()).replace("centre", "center")
    return re.sub(r"^l_", "left_", re.sub(r"^r_", "right_", key))


def guess_layout(num_joints, num_channels, joint_names=None, edges=None):
    """The built-in layout that data of this shape (and these names or bones) uses.

    Args:
        num_joints: int, V.
        num_channels: int, C; must equal the layout's `num_dims` (a `num_dims + 1`-th channel
            may be a score or a third coordinate, so it proves nothing).
        joint_names: sequence of str or `None`. The file's joint names, in order.
        edges: sequence of int pairs or `None`. The file's bones as joint indices, either
            orientation.

    Returns:
        `(name, None)` when exactly one built-in layout agrees with all the evidence, else
        `(None, why)` with a sentence saying why none fits.

    Example:
        >>> guess_layout(20, 3)
        ('kinect20', None)
        >>> guess_layout(15, 3)[0] is None
        True
    """
    sized = [layout for layout in GUESSABLE_LAYOUTS if layout.num_joints == num_joints]
    if not sized:
        known = ", ".join(f"{layout.name} ({layout.num_joints})" for layout in GUESSABLE_LAYOUTS)
        return None, f"no built-in layout has {num_joints} joints (built-ins: {known})"
    reasons = []
    fits = []
    for layout in sized:
        if num_channels != layout.num_dims:
            reasons.append(f"'{layout.name}' has {layout.num_dims} coordinates per joint, not "
                           f"{num_channels} (an extra channel may be a score or depth)")
        elif joint_names is not None and ([_joint_key(n) for n in joint_names]
                                          != [_joint_key(n) for n in layout.joint_names]):
            reasons.append(f"the file's joint names differ from those of '{layout.name}' "
                           f"{list(layout.joint_names)}")
        elif edges is not None and ({frozenset(e) for e in edges}
                                    != {frozenset(e) for e in layout.edges}):
            reasons.append(f"the file's bones differ from those of '{layout.name}'")
        else:
            fits.append(layout.name)
    if len(fits) == 1:
        return fits[0], None
    return None, "; ".join(reasons) or f"several built-in layouts fit: {fits}"
