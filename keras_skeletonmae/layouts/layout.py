"""`SkeletonLayout`: a skeleton's joints, bones and body parts, and the registry of named layouts."""

from collections import deque
from collections.abc import Mapping

import numpy as np


class SkeletonLayout:
    """A skeleton graph: joints, bones, a centre joint and body parts that partition the joints.

    Immutable once built; equal layouts compare and hash equal.

    Args:
        name: str. The name it is registered and stored in model configs under.
        edges: sequence of `(child, parent)` int pairs. Bones as 0-based joint indices; the
            child is the joint farther from the centre. Graph messages use both directions
            unless asked otherwise (see `adjacency`).
        parts: mapping (or sequence of pairs) of str -> sequence of ints. Body-part name ->
            joint indices, ordered; parts are disjoint and cover every joint (SkeletonMAE masks
            whole parts).
        center: int. The joint used to centre skeletons.
        joint_names: sequence of str or `None`. One name per joint; default `joint_0`,
            `joint_1`, ...
        num_joints: int or `None`. V; default 1 + the largest index in `edges` and `parts`.
        num_dims: int or `None`. 2 or 3, the coordinates per joint the layout's sources give
            (2 for image keypoints, 3 for depth-camera skeletons), or `None` when either is
            possible. Data of this layout with `num_dims + 1` channels carries a confidence
            score as its last one.

    Example:
        >>> layout = SkeletonLayout("stick3", edges=[(1, 0), (2, 1)], center=0,
        ...                         parts={"upper": [0, 1], "lower": [2]}, num_dims=2)
        >>> layout.parents()
        (0, 0, 1)
    """

    def __init__(self, name, edges, parts, center=0, joint_names=None, num_joints=None,
                 num_dims=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"A layout needs a non-empty string name, got {name!r}.")
        self._name = name
        self._edges = tuple((int(c), int(p)) for c, p in edges)
        items = parts.items() if isinstance(parts, Mapping) else parts
        self._parts = tuple((str(n), tuple(int(j) for j in joints)) for n, joints in items)
        self._center = int(center)
        if num_joints is None:
            indices = [j for e in self._edges for j in e] + [j for _, js in self._parts for j in js]
            num_joints = 1 + max(indices, default=-1)
        self._num_joints = int(num_joints)
        if joint_names is None:
            joint_names = [f"joint_{i}" for i in range(self._num_joints)]
        self._joint_names = tuple(str(n) for n in joint_names)
        self._num_dims = None if num_dims is None else int(num_dims)
        self._validate()

    name = property(lambda self: self._name)
    num_joints = property(lambda self: self._num_joints)
    edges = property(lambda self: self._edges)
    center = property(lambda self: self._center)
    joint_names = property(lambda self: self._joint_names)
    num_dims = property(lambda self: self._num_dims)

    @property
    def parts(self):
        """Body-part name -> tuple of joint indices, in part order (a fresh dict)."""
        return dict(self._parts)

    @property
    def part_names(self):
        return tuple(name for name, _ in self._parts)

    @property
    def num_parts(self):
        return len(self._parts)

    def _error(self, message):
        return ValueError(f"Layout '{self._name}': {message}")

    def _validate(self):
        v = self._num_joints
        if len(self._joint_names) != v:
            raise self._error(f"{len(self._joint_names)} joint_names for {v} joints.")
        if self._num_dims not in (None, 2, 3):
            raise self._error(f"num_dims must be 2, 3 or None, got {self._num_dims}.")
        if not 0 <= self._center < v:
            raise self._error(f"center {self._center} is out of range [0, {v}).")
        seen = set()
        for child, parent in self._edges:
            if not (0 <= child < v and 0 <= parent < v):
                raise self._error(f"edge ({child}, {parent}) has a joint out of range [0, {v}).")
            if child == parent:
                raise self._error(f"edge ({child}, {parent}) is a self loop.")
            if frozenset((child, parent)) in seen:
                raise self._error(f"edge ({child}, {parent}) is duplicated (in either direction).")
            seen.add(frozenset((child, parent)))
        unreachable = sorted(set(range(v)) - self._reachable_from(self._center))
        if unreachable:
            raise self._error(f"the bone graph is not connected; joints {unreachable} "
                              f"cannot be reached from the center joint {self._center}.")
        if len(self._parts) < 2:
            raise self._error(f"needs at least 2 body parts, got {len(self._parts)}.")
        if len(set(self.part_names)) != len(self._parts):
            raise self._error(f"part names {list(self.part_names)} are not unique.")
        owner = {}
        for part, joints in self._parts:
            if not joints:
                raise self._error(f"part '{part}' is empty.")
            for j in joints:
                if not 0 <= j < v:
                    raise self._error(f"part '{part}' has joint {j}, out of range [0, {v}).")
                if j in owner:
                    raise self._error(f"joint {j} is in both parts '{owner[j]}' and '{part}'.")
                owner[j] = part
        uncovered = sorted(set(range(v)) - set(owner))
        if uncovered:
            raise self._error(f"joints {uncovered} belong to no body part; parts must cover "
                              "every joint.")

    def _reachable_from(self, start):
        neighbours = {j: set() for j in range(self._num_joints)}
        for child, parent in self._edges:
            neighbours[child].add(parent)
            neighbours[parent].add(child)
        reached, queue = {start}, deque([start])
        while queue:
            for n in neighbours[queue.popleft()] - reached:
                reached.add(n)
                queue.append(n)
        return reached

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
        a = np.zeros((self._num_joints, self._num_joints), dtype=dtype)
        for child, parent in self._edges:
            a[parent, child] = 1
            if not directed:
                a[child, parent] = 1
        return a

    def parents(self):
        """Each joint's parent along the bones, as a tuple of V joint indices; a joint that is no
        bone's child (the root, the centre joint of the built-in layouts) is its own parent. If
        several bones share a child, the first one counts."""
        parents = list(range(self._num_joints))
        for child, parent in reversed(self._edges):
            parents[child] = parent
        return tuple(parents)

    def coordinate_channels(self, num_channels):
        """How many leading channels of `num_channels`-channel data of this layout are
        coordinates; a channel after them is a confidence score, kept out of geometry.

        `num_dims` channels are all coordinates and `num_dims + 1` end with a score. Without
        `num_dims`, 2 or 3 channels are all coordinates and 4 are x, y, z and a score.

        Args:
            num_channels: int, the channels per joint of the data.

        Example:
            >>> SkeletonLayout("stick3", edges=[(1, 0), (2, 1)], parts={"upper": [0, 1],
            ...                "lower": [2]}, num_dims=2).coordinate_channels(3)  # x, y, score
            2
        """
        dims = (2, 3) if self._num_dims is None else (self._num_dims,)
        if num_channels in dims:
            return int(num_channels)
        if num_channels == dims[-1] + 1:
            return dims[-1]
        options = [str(n) for n in sorted(set(dims) | {dims[-1] + 1})]
        expected = ", ".join(options[:-1]) + " or " + options[-1]
        raise self._error(f"data with {num_channels} channels per joint: expected {expected} "
                          f"(coordinates, optionally followed by a confidence score).")

    def part_membership(self, dtype="float32"):
        """`(num_parts, V)` with `M[p, v] = 1` when joint v belongs to part p (in part order)."""
        m = np.zeros((self.num_parts, self._num_joints), dtype=dtype)
        for p, (_, joints) in enumerate(self._parts):
            m[p, list(joints)] = 1
        return m

    def get_config(self):
        """A JSON-serialisable dict; `SkeletonLayout.from_config` rebuilds an equal layout."""
        return {
            "name": self._name,
            "edges": [list(e) for e in self._edges],
            "parts": {name: list(joints) for name, joints in self._parts},
            "center": self._center,
            "joint_names": list(self._joint_names),
            "num_joints": self._num_joints,
            "num_dims": self._num_dims,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _key(self):
        return (self._name, self._num_joints, self._edges, self._parts, self._center,
                self._joint_names, self._num_dims)

    def __eq__(self, other):
        if not isinstance(other, SkeletonLayout):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"SkeletonLayout(name={self._name!r}, num_joints={self._num_joints}, "
                f"num_parts={self.num_parts})")


_REGISTRY = {}


def register_layout(layout, overwrite=False):
    """Make `layout` available by its name everywhere a layout is accepted.

    Args:
        layout: `SkeletonLayout`. The layout to register.
        overwrite: bool. Replace a layout registered under the same name.

    Returns:
        The layout.

    Example:
        >>> stick = SkeletonLayout("stick3_example", edges=[(1, 0), (2, 1)], center=0,
        ...                        parts={"upper": [0, 1], "lower": [2]})
        >>> get_layout(register_layout(stick, overwrite=True).name).num_joints
        3
    """
    if not isinstance(layout, SkeletonLayout):
        raise TypeError(f"register_layout expects a SkeletonLayout, got {type(layout).__name__}.")
    if layout.name in _REGISTRY and not overwrite:
        raise ValueError(f"A layout named '{layout.name}' is already registered; pass "
                         "overwrite=True to replace it.")
    _REGISTRY[layout.name] = layout
    return layout


def _unregister_layout(name):
    """Forget the layout registered as `name` (for tests)."""
    _REGISTRY.pop(name, None)


def list_layouts():
    """Names of the registered layouts, sorted.

    Returns:
        A list of str.

    Example:
        >>> "kinect20" in list_layouts()
        True
    """
    return sorted(_REGISTRY)


def get_layout(layout):
    """A `SkeletonLayout` from a registered name, a `SkeletonLayout`, or a layout config dict.

    Args:
        layout: str, `SkeletonLayout` or dict. What to resolve.

    Returns:
        A `SkeletonLayout`.

    Example:
        >>> layout = get_layout("coco17")
        >>> layout.num_joints, layout.num_dims
        (17, 2)
    """
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
    """What model configs store: the name of a registered layout, else the layout's config.

    Args:
        layout: `SkeletonLayout`.

    Returns:
        A str (the registered name) or a dict (`layout.get_config()`).

    Example:
        >>> layout_to_config_value(get_layout("kinect20"))
        'kinect20'
    """
    if _REGISTRY.get(layout.name) == layout:
        return layout.name
    return layout.get_config()
