"""Built-in layouts, registered on import. Edges are (child, parent), 0-based; six body parts each."""

from keras_skeletonmae.layouts.layout import SkeletonLayout, register_layout

# COCO-17 keypoints (HRNet, PYSKL); bones from PYSKL's 'coco' graph; the paper's six parts.
COCO17 = SkeletonLayout(
    name="coco17",
    num_dims=2,
    joint_names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                 "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    edges=((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8),
           (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
    center=0,
    parts={"head": (0, 1, 2, 3, 4), "torso": (5, 6, 11, 12), "left_arm": (7, 9),
           "right_arm": (8, 10), "left_leg": (13, 15), "right_leg": (14, 16)},
)

# NTU RGB+D / Kinect v2, 25 joints; bones: ST-GCN's 1-based 'inward' list minus 1; centre as PYSKL.
NTU25 = SkeletonLayout(
    name="ntu25",
    num_dims=3,
    joint_names=("spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow",
                 "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
                 "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
                 "right_knee", "right_ankle", "right_foot", "spine_shoulder", "left_hand_tip",
                 "left_thumb", "right_hand_tip", "right_thumb"),
    edges=tuple((c - 1, p - 1) for c, p in (
        (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
        (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
        (20, 19), (22, 23), (23, 8), (24, 25), (25, 12))),
    center=20,
    parts={"head": (2, 3), "torso": (0, 1, 20), "left_arm": (4, 5, 6, 7, 21, 22),
           "right_arm": (8, 9, 10, 11, 23, 24), "left_leg": (12, 13, 14, 15),
           "right_leg": (16, 17, 18, 19)},
)

# Kinect v1, 20 joints in MSR Action3D / UTKinect order. The same bones and centre as
# meta['inward_0based'] (listed there as (parent, child), rooted at 6) in shared/data/msr_action3d.pkl.
KINECT20 = SkeletonLayout(
    name="kinect20",
    num_dims=3,
    joint_names=("left_shoulder", "right_shoulder", "shoulder_center", "spine", "left_hip",
                 "right_hip", "hip_center", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist", "left_hand", "right_hand", "left_knee", "right_knee",
                 "left_ankle", "right_ankle", "left_foot", "right_foot", "head"),
    edges=((3, 6), (2, 3), (19, 2), (0, 2), (1, 2), (7, 0), (8, 1), (9, 7), (10, 8), (11, 9),
           (12, 10), (4, 6), (5, 6), (13, 4), (14, 5), (15, 13), (16, 14), (17, 15), (18, 16)),
    center=6,
    parts={"head": (2, 19), "torso": (0, 1, 3, 4, 5, 6), "left_arm": (7, 9, 11),
           "right_arm": (8, 10, 12), "left_leg": (13, 15, 17), "right_leg": (14, 16, 18)},
)

# JHMDB puppet joints, 15 (mmpose's jhmdb order); no face points, so not COCO-17.
JHMDB15 = SkeletonLayout(
    name="jhmdb15",
    num_dims=2,
    joint_names=("neck", "belly", "head", "right_shoulder", "left_shoulder", "right_hip",
                 "left_hip", "right_elbow", "left_elbow", "right_knee", "left_knee",
                 "right_wrist", "left_wrist", "right_ankle", "left_ankle"),
    edges=((2, 0), (1, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 3), (8, 4), (9, 5), (10, 6),
           (11, 7), (12, 8), (13, 9), (14, 10)),
    center=1,
    parts={"head": (0, 2), "torso": (1, 3, 4, 5, 6), "left_arm": (8, 12), "right_arm": (7, 11),
           "left_leg": (10, 14), "right_leg": (9, 13)},
)

# OpenPose COCO-18; bones from ST-GCN's 'openpose' graph.
OPENPOSE18 = SkeletonLayout(
    name="openpose18",
    num_dims=2,
    joint_names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                 "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
                 "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear"),
    edges=((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2),
           (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
    center=1,
    parts={"head": (0, 14, 15, 16, 17), "torso": (1, 2, 5, 8, 11), "left_arm": (6, 7),
           "right_arm": (3, 4), "left_leg": (12, 13), "right_leg": (9, 10)},
)

for _layout in (COCO17, NTU25, KINECT20, JHMDB15, OPENPOSE18):
    register_layout(_layout)
