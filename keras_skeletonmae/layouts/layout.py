"""`SkeletonLayout`: a skeleton's joints, bones and body parts, and the registry of named layouts."""

import dataclasses
from collections import deque

import numpy as np


@dataclasses.dataclass(frozen=True)
class SkeletonLayout:
    """A skeleton graph: joints, bones, a centre joint and body parts that partition the joints.

    Args:
        name: the name it is registered and stored in model configs under.
        edges: bones as `(child, parent)` joint-index pairs, 0-based; the child is the joint
            farther from the centre.
        parts: ordered mapping of body-part name -> joint indices; parts are disjoint and cover
            every joint (SkeletonMAE masks whole parts).
        center: the joint used to centre skeletons (3D centring, coordinate targets).
        joint_names: one name per joint; default `joint_0`, `joint_1`, ...
        num_joints: V; default 1 + the largest index in `edges` and `parts`.
    """

    name: str
    edges: tuple
    parts: tuple
    center: int = 0
    joint_names: tuple = None
    num_joints: int = None

    def __post_init__(self):
        def fix(field, value):
            object.__setattr__(self, field, value)

        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A layout needs a non-empty string name, got {self.name!r}.")
        fix("edges", tuple((int(c), int(p)) for c, p in self.edges))
        parts = self.parts.items() if isinstance(self.parts, dict) else self.parts
        fix("parts", tuple((str(n), tuple(int(j) for j in joints)) for n, joints in parts))
        fix("center", int(self.center))
        indices = [j for edge in self.edges for j in edge] + [j for _, js in self.parts for j in js]
        if self.num_joints is None:
            fix("num_joints", 1 + max(indices, default=-1))
        fix("num_joints", int(self.num_joints))
        if self.joint_names is None:
            fix("joint_names", tuple(f"joint_{i}" for i in range(self.num_joints)))
        fix("joint_names", tuple(str(n) for n in self.joint_names))
        self._validate()

    def _error(self, message):
        return ValueError(f"Layout '{self.name}': {message}")

    def _validate(self):
        v = self.num_joints
        if len(self.joint_names) != v:
            raise self._error(f"{len(self.joint_names)} joint_names for {v} joints.")
        if not 0 <= self.center < v:
            raise self._error(f"center {self.center} is out of range [0, {v}).")
        seen = set()
        for child, parent in self.edges:
            if not (0 <= child < v and 0 <= parent < v):
                raise self._error(f"edge ({child}, {parent}) has a joint out of range [0, {v}).")
            if child == parent:
                raise self._error(f"edge ({child}, {parent}) is a self loop.")
            if frozenset((child, parent)) in seen:
                raise self._error(f"edge ({child}, {parent}) is duplicated.")
            seen.add(frozenset((child, parent)))
        unreachable = sorted(set(range(v)) - self._reachable_from(self.center))
        if unreachable:
            raise self._error(f"the bone graph is not connected; joints {unreachable} "
                              f"cannot be reached from the center joint {self.center}.")
        if len(self.parts) < 2:
            raise self._error(f"needs at least 2 body parts, got {len(self.parts)}.")
        owner = {}
        for part, joints in self.parts:
            if not joints:
                raise self._error(f"part '{part}' is empty.")
            for j in joints:
                if not 0 <= j < v:
                    raise self._error(f"part '{part}' has joint {j}, out of range [0, {v}).")
                if j in owner:
                    raise self._error(f"joint {j} is in both parts '{owner[j]}' and '{part}'.")
                owner[j] = part
        if len(set(self.part_names)) != len(self.parts):
            raise self._error(f"part names {list(self.part_names)} are not unique.")
        uncovered = sorted(set(range(v)) - set(owner))
        if uncovered:
            raise self._error(f"joints {uncovered} belong to no body part; parts must cover "
                              "every joint.")

    def _reachable_from(self, start):
        neighbours = {j: set() for j in range(self.num_joints)}
        for child, parent in self.edges:
            neighbours[child].add(parent)
            neighbours[parent].add(child)
        reached, queue = {start}, deque([start])
        while queue:
            for n in neighbours[queue.popleft()] - reached:
                reached.add(n)
                queue.append(n)
        return reached

    @property
    def part_names(self):
        return tuple(name for name, _ in self.parts)

    @property
    def num_parts(self):
        return len(self.parts)

    def part_index(self, name):
        """Position of part `name` in the part order."""
        if name not in self.part_names:
            raise self._error(f"unknown body part {name!r}; parts are {list(self.part_names)}.")
        return self.part_names.index(name)

    def adjacency(self, directed=False, dtype="float32"):
        """`(V, V)` adjacency with `A[target, source] = 1` (row = the joint receiving a message).

        Undirected (the default): both directions of every bone, zero diagonal. Directed: messages
        go from child to parent only, `A[parent, child] = 1`.
        """
        a = np.zeros((self.num_joints, self.num_joints), dtype=dtype)
        for child, parent in self.edges:
            a[parent, child] = 1
            if not directed:
                a[child, parent] = 1
        return a

    def part_membership(self, dtype="float32"):
        """`(num_parts, V)` with `M[p, v] = 1` when joint v belongs to part p (in part order)."""
        m = np.zeros((self.num_parts, self.num_joints), dtype=dtype)
        for p, (_, joints) in enumerate(self.parts):
            m[p, list(joints)] = 1
        return m

    def get_config(self):
        """A JSON-serialisable dict; `SkeletonLayout.from_config` rebuilds an equal layout."""
        return {
            "name": self.name,
            "edges": [list(e) for e in self.edges],
            "parts": {name: list(joints) for name, joints in self.parts},
            "center": self.center,
            "joint_names": list(self.joint_names),
            "num_joints": self.num_joints,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (f"SkeletonLayout(name={self.name!r}, num_joints={self.num_joints}, "
                f"num_parts={self.num_parts})")


_REGISTRY = {}


def register_layout(layout, overwrite=False):
    """Make `layout` available by its name everywhere a layout is accepted; returns it."""
    if not isinstance(layout, SkeletonLayout):
        raise TypeError(f"register_layout expects a SkeletonLayout, got {type(layout).__name__}.")
    if layout.name in _REGISTRY and not overwrite:
        raise ValueError(f"A layout named '{layout.name}' is already registered; pass "
                         "overwrite=True to replace it.")
    _REGISTRY[layout.name] = layout
    return layout


def list_layouts():
    """Names of the registered layouts, sorted."""
    return sorted(_REGISTRY)


def get_layout(layout):
    """A `SkeletonLayout` from a registered name, a `SkeletonLayout`, or a layout config dict."""
    if isinstance(layout, SkeletonLayout):
        return layout
    if isinstance(layout, dict):
        return SkeletonLayout.from_config(layout)
    if isinstance(layout, str):
        if layout not in _REGISTRY:
            raise ValueError(f"Unknown layout '{layout}'. Known layouts: {list_layouts()}.")
        return _REGISTRY[layout]
    raise TypeError(f"A layout is a name, a SkeletonLayout or a config dict, got {layout!r}.")


def layout_to_config_value(layout):
    """What model configs store: the name of a registered layout, else the layout's full config."""
    if _REGISTRY.get(layout.name) == layout:
        return layout.name
    return layout.get_config()
