"""A small reader of BVH motion-capture files (the CMU database's format, among others).

A BVH file has a ``HIERARCHY`` of joints — ``ROOT``/``JOINT`` blocks with an ``OFFSET`` from the parent,
``CHANNELS`` (positions and rotations in degrees, in the order the file lists them) and ``End Site`` leaves —
then ``MOTION``: ``Frames: n``, ``Frame Time: dt`` and one line of channel values per frame, joints in the order
of the hierarchy. A joint's local rotation is the product of its rotation channels in the listed order
(``Zrotation Xrotation Yrotation`` → Rz·Rx·Ry), applied to its children's offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safexp.plugin import ParameterError


@dataclass(frozen=True)
class BvhJoint:
    """One joint: ``name``, ``parent`` index (-1 for the root), ``offset`` (3,) from the parent in its rest
    frame, ``channels`` (names such as ``Xposition``, ``Zrotation``) and ``column``, where its channels start in a
    frame's values."""

    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: tuple[str, ...]
    column: int


@dataclass(frozen=True)
class BvhMotion:
    """A parsed file: its ``joints`` in hierarchy order, ``frame_time`` (s) and ``values`` (frames, channels)."""

    joints: tuple[BvhJoint, ...]
    frame_time: float
    values: np.ndarray

    def index(self, name: str) -> int:
        """The index of the joint called ``name`` (exact match), or -1."""
        return next((i for i, j in enumerate(self.joints) if j.name == name), -1)

    def world_positions(self) -> np.ndarray:
        """Every joint's position (frames, joints, 3) in the file's own axes and units (forward kinematics)."""
        frames = len(self.values)
        positions = np.zeros((frames, len(self.joints), 3))
        rotations = np.zeros((frames, len(self.joints), 3, 3))
        for i, joint in enumerate(self.joints):
            local = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
            translation = np.zeros((frames, 3))
            for k, channel in enumerate(joint.channels):
                column = self.values[:, joint.column + k]
                axis = "XYZ".index(channel[0].upper())
                if channel[1:].lower() == "position":
                    translation[:, axis] = column
                else:
                    local = local @ _axis_rotation(axis, np.radians(column))
            offset = np.asarray(joint.offset) + translation
            if joint.parent < 0:
                positions[:, i] = offset
                rotations[:, i] = local
            else:
                parent_rotation = rotations[:, joint.parent]
                positions[:, i] = positions[:, joint.parent] + np.einsum("fij,fj->fi", parent_rotation, offset)
                rotations[:, i] = parent_rotation @ local
        return positions


def _axis_rotation(axis: int, angles: np.ndarray) -> np.ndarray:
    """Rotation matrices (frames, 3, 3) by ``angles`` (radians) about the coordinate axis ``axis`` (0, 1, 2)."""
    c, s = np.cos(angles), np.sin(angles)
    m = np.zeros((len(angles), 3, 3))
    a, b = [k for k in range(3) if k != axis]
    m[:, axis, axis] = 1.0
    m[:, a, a], m[:, a, b], m[:, b, a], m[:, b, b] = c, -s, s, c
    return m


def read_bvh(path: str | Path) -> BvhMotion:
    """Parse the BVH file at ``path``; a malformed file raises :class:`ParameterError` naming the file and why."""
    file = Path(path)
    try:
        tokens = file.read_text().split()
    except OSError as exc:
        raise ParameterError(f"BVH file '{path}' cannot be read: {exc.strerror}") from None
    try:
        return _parse(tokens)
    except (ValueError, IndexError, StopIteration) as exc:
        raise ParameterError(f"BVH file '{path}' is not valid BVH: {exc or 'it ends too early'}") from None


def _parse(tokens: list[str]) -> BvhMotion:
    it = iter(tokens)
    if next(it) != "HIERARCHY":
        raise ValueError("it does not start with HIERARCHY")
    joints: list[BvhJoint] = []
    stack: list[int] = []  # open joints (-2 marks an End Site block)
    column = 0
    token = next(it)
    while token != "MOTION":
        if token in ("ROOT", "JOINT"):
            name = next(it)
            if next(it) != "{":
                raise ValueError(f"joint '{name}' has no '{{'")
            if next(it) != "OFFSET":
                raise ValueError(f"joint '{name}' has no OFFSET")
            offset = (float(next(it)), float(next(it)), float(next(it)))
            if next(it) != "CHANNELS":
                raise ValueError(f"joint '{name}' has no CHANNELS")
            channels = tuple(next(it) for _ in range(int(next(it))))
            bad = [c for c in channels if c[:1].upper() not in "XYZ" or c[1:].lower() not in ("position", "rotation")]
            if bad:
                raise ValueError(f"joint '{name}' has an unknown channel '{bad[0]}'")
            parent = next((j for j in reversed(stack) if j >= 0), -1)
            if token == "JOINT" and parent < 0:
                raise ValueError(f"JOINT '{name}' is outside the ROOT")
            joints.append(BvhJoint(name, parent, offset, channels, column))
            column += len(channels)
            stack.append(len(joints) - 1)
        elif token == "End":
            next(it)  # "Site"
            if next(it) != "{" or next(it) != "OFFSET":
                raise ValueError("an End Site has no OFFSET")
            for _ in range(3):
                float(next(it))
            stack.append(-2)
        elif token == "}":
            stack.pop()
        else:
            raise ValueError(f"unexpected '{token}' in the HIERARCHY")
        token = next(it)
    if not joints or stack:
        raise ValueError("the HIERARCHY has no joints or unbalanced braces")
    if next(it) != "Frames:":
        raise ValueError("MOTION has no 'Frames:'")
    frames = int(next(it))
    if (next(it), next(it)) != ("Frame", "Time:"):
        raise ValueError("MOTION has no 'Frame Time:'")
    frame_time = float(next(it))
    numbers = np.array([float(t) for t in it])
    if frames < 1 or frame_time <= 0 or len(numbers) != frames * column:
        raise ValueError(f"MOTION should hold {frames} frames of {column} values with a positive frame time, "
                         f"found {len(numbers)} values and frame time {frame_time}")
    return BvhMotion(tuple(joints), frame_time, numbers.reshape(frames, column))
