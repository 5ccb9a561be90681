"""Pseudo-lidar: per object kind, how close the nearest object is in each of ``n`` angular bins.

For each object, its centre in the robot frame (XY) gives a bearing (bin = floor(angle / (2π/n))) and a
distance d; the reading is max(0, max_dist − d) / max_dist and each bin keeps the largest. With aliasing,
alias = (angle − bin angle) / bin size; the next bin takes alias·reading and the previous (1 − alias)·reading
when larger. All objects of all kinds are handled in one vectorised pass.
"""

from __future__ import annotations

import numpy as np


class Lidar:
    """Readings for ``num_groups`` object kinds; ``group_of`` gives each object's kind index."""

    def __init__(self, group_of: np.ndarray, num_groups: int, num_bins: int, max_dist: float, alias: bool) -> None:
        self.group_base = np.asarray(group_of, dtype=np.int64)[:, None] * num_bins
        self.num_groups = num_groups
        self.num_bins = num_bins
        self.bins_per_radian = num_bins / (2 * np.pi)
        self.max_dist = max_dist
        # Each object writes its own bin, the next and the previous: weights 1, alias, 1 − alias (or 1, 0, 0).
        self._targets = np.stack([np.arange(num_bins), (np.arange(num_bins) + 1) % num_bins,
                                  (np.arange(num_bins) - 1) % num_bins], axis=1)
        self._weight0 = np.array([1.0, 0.0, 1.0]) if alias else np.array([1.0, 0.0, 0.0])
        self._weight1 = np.array([0.0, 1.0, -1.0]) if alias else np.zeros(3)

    def __call__(self, ego_xy: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
        """Readings (num_groups × num_bins,) for objects at ``ego_xy`` (N, 2) in the robot frame.

        :param visible: optional (N,) mask; hidden objects read nothing.
        """
        out = np.zeros(self.num_groups * self.num_bins)
        if len(ego_xy) == 0:
            return out
        x, y = ego_xy[:, 0], ego_xy[:, 1]
        position = (np.arctan2(y, x) % (2 * np.pi)) * self.bins_per_radian  # bin index + alias
        bins = np.minimum(position.astype(np.int64), self.num_bins - 1)
        alias = position - bins
        reading = np.maximum(0.0, self.max_dist - np.hypot(x, y)) / self.max_dist
        if visible is not None:
            reading = reading * visible
        weights = reading[:, None] * (self._weight0 + self._weight1 * alias[:, None])
        np.maximum.at(out, (self.group_base + self._targets[bins]).ravel(), weights.ravel())
        return out
