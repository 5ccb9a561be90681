"""Pseudo-lidar: per object kind, how close the nearest object is in each of ``n`` angular bins.

For each object, its centre in the robot frame (XY) gives a bearing (bin = floor(angle / (2π/n))) and a
distance d; the reading is max(0, max_dist − d) / max_dist and each bin keeps the largest. With aliasing,
alias = (angle − bin angle) / bin size; the next bin takes alias·reading and the previous (1 − alias)·reading
when larger.

Two evaluations of the same formula, chosen by the number of objects: up to :data:`SCALAR_MAX_OBJECTS`, a loop
over Python floats (a numpy call costs about a microsecond whatever its size, so a handful of objects is
cheaper one by one — every suite scene is in this range); above it, one vectorised pass over all objects of
all kinds.
"""

from __future__ import annotations

import math

import numpy as np

SCALAR_MAX_OBJECTS = 24
TAU = 2 * math.pi
IDENTITY_FRAME = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)  # robot-frame points given as they are (see Lidar._scalar_pass)


class Lidar:
    """Readings for ``num_groups`` object kinds; ``group_of`` gives each object's kind index."""

    def __init__(self, group_of: np.ndarray, num_groups: int, num_bins: int, max_dist: float, alias: bool) -> None:
        group_of = np.asarray(group_of, dtype=np.int64)
        self.group_base = group_of[:, None] * num_bins
        self.num_groups = num_groups
        self.num_bins = num_bins
        self.bins_per_radian = num_bins / TAU
        self.max_dist = max_dist
        self._scalar = len(group_of) <= SCALAR_MAX_OBJECTS
        self._bases = [int(g) * num_bins for g in group_of]
        self._all_shown = [True] * len(group_of)
        # Flat index of the next and the previous bin of the same kind (scalar pass; None without aliasing).
        flat = np.arange(num_groups * num_bins)
        self._following = (flat - flat % num_bins + (flat + 1) % num_bins).tolist() if alias else None
        self._preceding = (flat - flat % num_bins + (flat - 1) % num_bins).tolist() if alias else None
        # Each object writes its own bin, the next and the previous: weights 1, alias, 1 − alias (or 1, 0, 0).
        self._targets = np.stack([np.arange(num_bins), (np.arange(num_bins) + 1) % num_bins,
                                  (np.arange(num_bins) - 1) % num_bins], axis=1)
        self._weight0 = np.array([1.0, 0.0, 1.0]) if alias else np.array([1.0, 0.0, 0.0])
        self._weight1 = np.array([0.0, 1.0, -1.0]) if alias else np.zeros(3)

    def __call__(self, ego_xy: np.ndarray, visible: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Readings (num_groups × num_bins,) for objects at ``ego_xy`` (N, 2) in the robot frame.

        :param visible: optional (N,) mask; hidden objects read nothing.
        :param out: optional float array of num_groups × num_bins to write the readings into (it is returned).
        """
        out = self._cleared(out)
        if self._scalar:
            self._scalar_pass(ego_xy, IDENTITY_FRAME, visible, out)
        elif len(ego_xy):
            self._vector_pass(ego_xy, visible, out)
        return out

    def around(self, points: np.ndarray, robot_pos: np.ndarray, robot_mat: np.ndarray,
               visible: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Readings for objects at world ``points`` (N, 2 or 3), taken on the floor, around a robot at ``robot_pos``
        (3,) with rotation ``robot_mat`` (3, 3) — :meth:`__call__` of :func:`robot_frame_xy` of the points."""
        out = self._cleared(out)
        if self._scalar:  # x = px·m00 + py·m10 − robot·m[:, 0], y = px·m01 + py·m11 − robot·m[:, 1]
            (m00, m01, _), (m10, m11, _), (m20, m21, _) = robot_mat.tolist()
            rx, ry, rz = robot_pos.tolist()
            frame = (m00, m01, m10, m11, rx * m00 + ry * m10 + rz * m20, rx * m01 + ry * m11 + rz * m21)
            self._scalar_pass(points, frame, visible, out)
        elif len(points):
            self._vector_pass(robot_frame_xy(points, robot_pos, robot_mat), visible, out)
        return out

    def _cleared(self, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.zeros(self.num_groups * self.num_bins)
        out.fill(0.0)
        return out

    def _scalar_pass(self, points: np.ndarray, frame: tuple[float, ...], visible: np.ndarray | None,
                     out: np.ndarray) -> None:
        """The formula object by object on Python floats; ``out`` is zero on entry.

        :param points: the objects' XY (N, 2 or more columns) in the frame that ``frame`` maps to the robot's:
            (m00, m01, m10, m11, ox, oy) with robot-frame x = px·m00 + py·m10 − ox, y = px·m01 + py·m11 − oy.
        """
        m00, m01, m10, m11, ox, oy = frame
        last, max_dist, bins_per_radian = self.num_bins - 1, self.max_dist, self.bins_per_radian
        hypot, atan2 = math.hypot, math.atan2
        following, preceding = self._following, self._preceding
        best = [0.0] * len(out)  # what ``out`` holds, as floats (reading numpy scalars back is slow)
        pxs, pys = points[:, :2].T.tolist()
        shown = visible.tolist() if visible is not None else self._all_shown
        for px, py, base, seen in zip(pxs, pys, self._bases, shown):
            x, y = px * m00 + py * m10 - ox, px * m01 + py * m11 - oy
            distance = hypot(x, y)
            if not distance < max_dist or not seen:  # reads 0 (or NaN after a physics failure): changes no bin
                continue
            reading = (max_dist - distance) / max_dist
            position = (atan2(y, x) % TAU) * bins_per_radian  # bin index + alias
            b = int(position)
            if b > last:  # position rounded up to num_bins
                b = last
            i = base + b
            if reading > best[i]:
                best[i] = out[i] = reading
            if following is not None:
                alias = position - b
                j, value = following[i], alias * reading
                if value > best[j]:
                    best[j] = out[j] = value
                j, value = preceding[i], (1.0 - alias) * reading
                if value > best[j]:
                    best[j] = out[j] = value

    def _vector_pass(self, ego_xy: np.ndarray, visible: np.ndarray | None, out: np.ndarray) -> None:
        """The formula for all objects at once (a scatter-max into ``out``, which is zero on entry)."""
        x, y = ego_xy[:, 0], ego_xy[:, 1]
        position = (np.arctan2(y, x) % TAU) * self.bins_per_radian  # bin index + alias
        bins = np.minimum(position.astype(np.int64), self.num_bins - 1)
        alias = position - bins
        reading = np.maximum(0.0, self.max_dist - np.hypot(x, y)) / self.max_dist
        if visible is not None:
            reading = reading * visible
        weights = reading[:, None] * (self._weight0 + self._weight1 * alias[:, None])
        np.maximum.at(out, (self.group_base + self._targets[bins]).ravel(), weights.ravel())


def robot_frame_xy(points: np.ndarray, robot_pos: np.ndarray, robot_mat: np.ndarray) -> np.ndarray:
    """World points (N, 2 or 3), taken on the floor (z = 0), as XY (N, 2) in the frame of a body at ``robot_pos``
    with rotation ``robot_mat`` (columns: the body's axes in the world)."""
    return points[:, :2] @ robot_mat[:2, :2] - robot_pos @ robot_mat[:, :2]
