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

# MediaPipe Pose (BlazePose), 33 landmarks in MediaPipe's order. Either 2D image landmarks
# (x, y) or 3D world landmarks (x, y, z in metres), so num_dims is None; a 4th channel is the
# landmark visibility. Bones: MediaPipe's POSE_CONNECTIONS made a tree like coco17's: the loops
# wrist-pinky-index, ankle-heel-foot_index and the shoulder/hip rectangle are opened by dropping
# pinky-index, heel-foot_index, shoulder-shoulder and hip-hip; the face, the mouth and the body
# (separate pieces there) hang from the nose by nose-mouth and nose-shoulder bones, as in coco17.
MEDIAPIPE33 = SkeletonLayout(
    name="mediapipe33",
    num_dims=None,
    joint_names=("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
                 "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
                 "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                 "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
                 "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
                 "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
                 "right_heel", "left_foot_index", "right_foot_index"),
    edges=((1, 0), (2, 1), (3, 2), (7, 3), (4, 0), (5, 4), (6, 5), (8, 6), (9, 0), (10, 0),
           (11, 0), (13, 11), (15, 13), (17, 15), (19, 15), (21, 15), (23, 11), (25, 23),
           (27, 25), (29, 27), (31, 27),
           (12, 0), (14, 12), (16, 14), (18, 16), (20, 16), (22, 16), (24, 12), (26, 24),
           (28, 26), (30, 28), (32, 28)),
    center=0,
    parts={"head": tuple(range(11)), "torso": (11, 12, 23, 24),
           "left_arm": (13, 15, 17, 19, 21), "right_arm": (14, 16, 18, 20, 22),
           "left_leg": (25, 27, 29, 31), "right_leg": (26, 28, 30, 32)},
)

# OpenPose BODY_25; bones: OpenPose's BODY_25 render pairs (a tree rooted at the neck), centre
# the neck as openpose18's.
OPENPOSE25 = SkeletonLayout(
    name="openpose25",
    num_dims=2,
    joint_names=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                 "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee",
                 "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
                 "right_ear", "left_ear", "left_big_toe", "left_small_toe", "left_heel",
                 "right_big_toe", "right_small_toe", "right_heel"),
    edges=((8, 1), (2, 1), (5, 1), (3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9), (11, 10),
           (12, 8), (13, 12), (14, 13), (0, 1), (15, 0), (17, 15), (16, 0), (18, 16), (19, 14),
           (20, 19), (21, 14), (22, 11), (23, 22), (24, 11)),
    center=1,
    parts={"head": (0, 15, 16, 17, 18), "torso": (1, 2, 5, 8, 9, 12), "left_arm": (6, 7),
           "right_arm": (3, 4), "left_leg": (13, 14, 19, 20, 21),
           "right_leg": (10, 11, 22, 23, 24)},
)

# AlphaPose Halpe-26: COCO-17, then head (top), neck, hip (Halpe's centre of the hips, named
# mid_hip as openpose25's), big toe, small toe and heel of each foot. Bones: AlphaPose's 26-point
# drawing pairs plus nose-neck (there the face is a separate piece); centre the neck.
HALPE26 = SkeletonLayout(
    name="halpe26",
    num_dims=2,
    joint_names=COCO17.joint_names + ("head", "neck", "mid_hip", "left_big_toe",
                                      "right_big_toe", "left_small_toe", "right_small_toe",
                                      "left_heel", "right_heel"),
    edges=((1, 0), (2, 0), (3, 1), (4, 2), (0, 18), (5, 18), (6, 18), (7, 5), (9, 7), (8, 6),
           (10, 8), (17, 18), (19, 18), (11, 19), (12, 19), (13, 11), (14, 12), (15, 13),
           (16, 14), (24, 15), (25, 16), (20, 24), (22, 24), (21, 25), (23, 25)),
    center=18,
    parts={"head": (0, 1, 2, 3, 4, 17), "torso": (5, 6, 11, 12, 18, 19), "left_arm": (7, 9),
           "right_arm": (8, 10), "left_leg": (13, 15, 20, 22, 24),
           "right_leg": (14, 16, 21, 23, 25)},
)

# The bone lists and joint orders above were checked against MediaPipe's POSE_CONNECTIONS,
# OpenPose's POSE_BODY_25_PAIRS_RENDER_GPU and AlphaPose's Halpe-26 keypoint list and pairs.
for _layout in (COCO17, NTU25, KINECT20, JHMDB15, OPENPOSE18, MEDIAPIPE33, OPENPOSE25, HALPE26):
    register_layout(_layout)
