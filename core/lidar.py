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
        self.group_base = np.asarray(group_of, dtype=np.int64) * num_bins
        self.num_groups = num_groups
        self.num_bins = num_bins
        self.bin_size = 2 * np.pi / num_bins
        self.max_dist = max_dist
        self.alias = alias

    def __call__(self, ego_xy: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
        """Readings (num_groups × num_bins,) for objects at ``ego_xy`` (N, 2) in the robot frame.

        :param visible: optional (N,) mask; hidden objects read nothing.
        """
        out = np.zeros(self.num_groups * self.num_bins)
        if len(ego_xy) == 0:
            return out
        angle = np.arctan2(ego_xy[:, 1], ego_xy[:, 0]) % (2 * np.pi)
        reading = np.maximum(0.0, self.max_dist - np.hypot(ego_xy[:, 0], ego_xy[:, 1])) / self.max_dist
        if visible is not None:
            reading = reading * visible
        bins = np.minimum((angle / self.bin_size).astype(np.int64), self.num_bins - 1)
        np.maximum.at(out, self.group_base + bins, reading)
        if self.alias:
            alias = (angle - bins * self.bin_size) / self.bin_size
            np.maximum.at(out, self.group_base + (bins + 1) % self.num_bins, alias * reading)
            np.maximum.at(out, self.group_base + (bins - 1) % self.num_bins, (1 - alias) * reading)
        return out
