"""SkeletonLayout, the built-in layouts and the registry (numpy only)."""

import json
import pickle

import numpy as np
import pytest

from helpers import custom_layout_15
from keras_skeletonmae.layouts import (
    SkeletonLayout,
    get_layout,
    layout_to_config_value,
    list_layouts,
    register_layout,
)
from keras_skeletonmae.layouts.layout import _unregister_layout
from real_data import require

PART_ORDER = ("head", "torso", "left_arm", "right_arm", "left_leg", "right_leg")
BUILTIN_JOINTS = {"coco17": 17, "ntu25": 25, "kinect20": 20, "jhmdb15": 15, "openpose18": 18,
                  "mediapipe33": 33, "openpose25": 25, "halpe26": 26}

# A 4-joint path 0-1-2-3 centred on 1, split into two parts; the error tests break one thing each.
TOY = dict(name="toy", edges=[(0, 1), (2, 1), (3, 2)], parts={"a": [0, 1], "b": [2, 3]}, center=1)


@pytest.fixture
def registered():
    """Register layouts for one test and forget them afterwards."""
    names = []

    def register(layout, **kwargs):
        names.append(layout.name)
        return register_layout(layout, **kwargs)

    yield register
    for name in names:
        _unregister_layout(name)


def test_builtins_are_registered():
    assert set(BUILTIN_JOINTS) <= set(list_layouts())
    assert list_layouts() == sorted(list_layouts())


@pytest.mark.parametrize("name", sorted(BUILTIN_JOINTS))
def test_builtin_layout(name):
    layout = get_layout(name)
    v = BUILTIN_JOINTS[name]
    assert layout.name == name and layout.num_joints == v and len(layout.joint_names) == v
    assert len(set(layout.joint_names)) == v
    assert layout.part_names == PART_ORDER and layout.num_parts == 6
    assert 0 <= layout.center < v

    a = layout.adjacency()
    assert a.shape == (v, v) and a.dtype == np.float32
    np.testing.assert_array_equal(a, a.T)
    assert not np.diag(a).any()
    assert a.sum() == 2 * len(layout.edges)
    # connected: every joint is reachable from the centre within V - 1 hops
    reach = np.linalg.matrix_power(np.eye(v) + a, v - 1)
    assert (reach[layout.center] > 0).all()
    # a skeleton is a tree rooted at the centre
    assert len(layout.edges) == v - 1

    m = layout.part_membership()
    assert m.shape == (6, v)
    np.testing.assert_array_equal(m.sum(axis=0), np.ones(v))
    for p, joints in enumerate(layout.parts.values()):
        assert set(np.flatnonzero(m[p])) == set(joints)

    config = layout.get_config()
    restored = SkeletonLayout.from_config(json.loads(json.dumps(config)))
    assert restored == layout and hash(restored) == hash(layout)
    assert get_layout(config) == layout
    assert layout_to_config_value(layout) == name
    assert get_layout(layout_to_config_value(layout)) is layout


@pytest.mark.parametrize("name", sorted(BUILTIN_JOINTS))
def test_directed_adjacency_sends_child_to_parent(name):
    layout = get_layout(name)
    a = layout.adjacency(directed=True)
    for child, parent in layout.edges:
        assert a[parent, child] == 1 and a[child, parent] == 0
    assert a.sum() == len(layout.edges)


@pytest.mark.parametrize("name", sorted(BUILTIN_JOINTS))
def test_parents_follow_the_bones_to_one_root(name):
    layout = get_layout(name)
    parents = layout.parents()
    assert len(parents) == layout.num_joints
    assert sorted((child, parents[child]) for child in range(layout.num_joints)
                  if parents[child] != child) == sorted(layout.edges)
    children = {child for child, _ in layout.edges}
    roots = [j for j in range(layout.num_joints) if j not in children]
    assert len(roots) == 1 and parents[roots[0]] == roots[0]


def test_coco17_parts_match_the_paper():
    parts = get_layout("coco17").parts
    assert parts == {"head": (0, 1, 2, 3, 4), "torso": (5, 6, 11, 12), "left_arm": (7, 9),
                     "right_arm": (8, 10), "left_leg": (13, 15), "right_leg": (14, 16)}


def test_builtin_left_right_names_match_parts():
    for name in BUILTIN_JOINTS:
        layout = get_layout(name)
        for part, joints in layout.parts.items():
            if part.startswith(("left_", "right_")):
                side = part.split("_")[0]
                assert all(layout.joint_names[j].startswith(side) for j in joints), (name, part)


def test_kinect20_matches_msr_action3d_meta():
    with open(require("msr_action3d.pkl"), "rb") as f:
        meta = pickle.load(f)["meta"]
    layout = get_layout("kinect20")
    assert meta["num_node"] == layout.num_joints == 20
    assert meta["center"] == layout.center
    assert {frozenset(e) for e in meta["inward_0based"]} == {frozenset(e) for e in layout.edges}


def test_jhmdb15_matches_jhmdb_meta():
    with open(require("jhmdb_2d.pkl"), "rb") as f:
        meta = pickle.load(f)["meta"]
    layout = get_layout("jhmdb15")
    assert meta["num_node"] == layout.num_joints
    order = meta["joint_order"].split(" (")[0].replace("R-", "right_").replace("L-", "left_")
    assert tuple(order.split(",")) == layout.joint_names


def test_custom_layout_registers_and_round_trips(registered):
    layout = custom_layout_15("test_custom15")
    assert layout.num_joints == 15 and layout.joint_names[14] == "joint_14"
    assert repr(layout) == "SkeletonLayout(name='test_custom15', num_joints=15, num_parts=4)"

    unregistered = layout_to_config_value(layout)
    assert isinstance(unregistered, dict)
    assert get_layout(json.loads(json.dumps(unregistered))) == layout

    assert registered(layout) is layout
    assert "test_custom15" in list_layouts() and get_layout("test_custom15") is layout
    assert layout_to_config_value(layout) == "test_custom15"
    # a different layout under a registered name is stored in full
    other = custom_layout_15("test_custom15")
    other = SkeletonLayout(**{**other.get_config(), "center": 0})
    assert isinstance(layout_to_config_value(other), dict)


def test_registry_errors(registered):
    registered(SkeletonLayout(**{**TOY, "name": "test_dup"}))
    with pytest.raises(ValueError, match="'test_dup' is already registered"):
        register_layout(SkeletonLayout(**{**TOY, "name": "test_dup"}))
    replacement = SkeletonLayout(**{**TOY, "name": "test_dup", "center": 2})
    registered(replacement, overwrite=True)
    assert get_layout("test_dup") is replacement
    with pytest.raises(TypeError, match="SkeletonLayout"):
        register_layout(TOY)
    with pytest.raises(ValueError,
                       match=r"Unknown layout 'nope'.*\['coco17', 'halpe26', 'jhmdb15'"):
        get_layout("nope")
    with pytest.raises(TypeError):
        get_layout(17)


def test_layout_is_immutable_and_parts_is_a_copy():
    layout = SkeletonLayout(**TOY)
    with pytest.raises(AttributeError):
        layout.center = 0
    layout.parts["a"] = (3,)
    assert layout.parts["a"] == (0, 1)
    assert layout.part_index("b") == 1


@pytest.mark.parametrize("change, message", [
    ({"name": ""}, "non-empty string name"),
    ({"edges": [(0, 1), (2, 1), (3, 2), (3, 7)], "num_joints": 4}, r"edge \(3, 7\) .*out of range"),
    ({"edges": [(0, 1), (2, 1), (3, 2), (2, 2)]}, r"edge \(2, 2\) is a self loop"),
    ({"edges": [(0, 1), (2, 1), (3, 2), (1, 0)]}, r"edge \(1, 0\) is duplicated"),
    ({"edges": [(0, 1), (2, 1)]}, r"joints \[3\] cannot be reached from the center joint 1"),
    ({"center": 4, "num_joints": 4}, "center 4 is out of range"),
    ({"parts": {"a": [0, 1], "b": [1, 2, 3]}}, "joint 1 is in both parts 'a' and 'b'"),
    ({"parts": {"a": [0], "b": [2, 3]}}, r"joints \[1\] belong to no body part"),
    ({"parts": {"a": [0, 1], "b": []}}, "part 'b' is empty"),
    ({"parts": [("a", [0, 1]), ("a", [2, 3])]}, "not unique"),
    ({"parts": {"all": [0, 1, 2, 3]}}, "at least 2 body parts, got 1"),
    ({"parts": {}}, "at least 2 body parts, got 0"),
    ({"joint_names": ["a", "b", "c"]}, "3 joint_names for 4 joints"),
    ({"num_dims": 4}, "num_dims must be 2, 3 or None, got 4"),
])
def test_validation_errors(change, message):
    with pytest.raises(ValueError, match=message) as info:
        SkeletonLayout(**{**TOY, **change})
    if change.get("name", "toy"):
        assert "Layout 'toy'" in str(info.value)


def test_num_dims_of_the_builtins_and_in_the_config():
    dims = {name: get_layout(name).num_dims for name in BUILTIN_JOINTS}
    assert dims == {"coco17": 2, "ntu25": 3, "kinect20": 3, "jhmdb15": 2, "openpose18": 2,
                    "mediapipe33": None, "openpose25": 2, "halpe26": 2}
    assert SkeletonLayout(**TOY).num_dims is None
    planar = SkeletonLayout(**TOY, num_dims=2)
    assert planar != SkeletonLayout(**TOY)
    assert SkeletonLayout.from_config(json.loads(json.dumps(planar.get_config()))) == planar
    old = {k: v for k, v in planar.get_config().items() if k != "num_dims"}  # saved before it
    assert SkeletonLayout.from_config(old).num_dims is None


def test_unknown_part_name_lists_parts():
    with pytest.raises(ValueError, match=r"unknown body part 'arm'; parts are \['a', 'b'\]"):
        SkeletonLayout(**TOY).part_index("arm")


# The tools' own bone lists, as undirected pairs.
MEDIAPIPE_POSE_CONNECTIONS = [(0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8),
                              (9, 10), (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21),
                              (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
                              (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
                              (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32)]
OPENPOSE_BODY_25_PAIRS = [(1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10),
                          (10, 11), (8, 12), (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16),
                          (16, 18), (14, 19), (19, 20), (14, 21), (11, 22), (22, 23), (11, 24)]
ALPHAPOSE_HALPE26_PAIRS = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9), (6, 8),
                           (8, 10), (17, 18), (18, 19), (19, 11), (19, 12), (11, 13), (12, 14),
                           (13, 15), (14, 16), (20, 24), (21, 25), (23, 25), (22, 24), (15, 24),
                           (16, 25)]


def _bones(layout):
    return {frozenset(e) for e in get_layout(layout).edges}


def test_mediapipe33_is_pose_connections_without_its_loops():
    layout = get_layout("mediapipe33")
    assert layout.joint_names[:3] == ("nose", "left_eye_inner", "left_eye")
    assert layout.joint_names[11:13] == ("left_shoulder", "right_shoulder")
    assert layout.joint_names[-2:] == ("left_foot_index", "right_foot_index")
    connections = {frozenset(e) for e in MEDIAPIPE_POSE_CONNECTIONS}
    dropped = {frozenset(e) for e in [(17, 19), (18, 20), (29, 31), (30, 32), (11, 12), (23, 24),
                                      (9, 10)]}
    added = {frozenset(e) for e in [(9, 0), (10, 0), (11, 0), (12, 0)]}
    assert _bones("mediapipe33") == (connections - dropped) | added
    assert layout.center == 0 and layout.num_dims is None
    assert [layout.coordinate_channels(c) for c in (2, 3, 4)] == [2, 3, 3]


def test_openpose25_is_body_25():
    layout = get_layout("openpose25")
    assert _bones("openpose25") == {frozenset(e) for e in OPENPOSE_BODY_25_PAIRS}
    assert layout.joint_names[:2] == ("nose", "neck") and layout.joint_names[8] == "mid_hip"
    assert layout.joint_names[19:] == ("left_big_toe", "left_small_toe", "left_heel",
                                       "right_big_toe", "right_small_toe", "right_heel")
    # BODY_25 without the middle hip and the feet is OpenPose's COCO-18 order
    assert tuple(n for n in layout.joint_names[:19] if n != "mid_hip") == \
        get_layout("openpose18").joint_names


def test_halpe26_extends_coco17():
    layout = get_layout("halpe26")
    assert layout.joint_names[:17] == get_layout("coco17").joint_names
    assert layout.joint_names[17:] == ("head", "neck", "mid_hip", "left_big_toe",
                                       "right_big_toe", "left_small_toe", "right_small_toe",
                                       "left_heel", "right_heel")
    # AlphaPose draws the face apart from the body; the nose-neck bone joins them
    assert _bones("halpe26") == {frozenset(e) for e in ALPHAPOSE_HALPE26_PAIRS} | {
        frozenset((0, 18))}
