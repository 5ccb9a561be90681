"""The observation vector: robot sensors, the goal compass, then one lidar per observed element.

Order (stable, documented, exposed as :attr:`ObservationBuilder.layout`, name → slice):

1. every sensor of the model in MJCF document order, under its name — hinge ``jointpos`` as (sin, cos),
   ``ballquat`` as the 9 entries of its rotation matrix (row-major), everything else as MuJoCo reports it;
2. ``compass`` (2: the unit vector to the goal in the robot frame), when enabled;
3. ``<element>_lidar`` (``lidar_bins`` each), one per element with ``lidar`` on, in alphabetical order.
"""

from __future__ import annotations

import mujoco
import numpy as np

from safexp.lidar import Lidar
from safexp.world import World


class ObservationBuilder:
    """Builds observations for one world; precomputes every index so a step is a few vectorised copies."""

    def __init__(self, world: World, lidar_bins: int, lidar_max_dist: float, lidar_alias: bool, compass: bool) -> None:
        self.world = world
        model = world.model
        self.layout: dict[str, slice] = {}
        plain_src, plain_dst, hinge_src, hinge_dst, ball_src, ball_dst = [], [], [], [], [], []
        size = 0
        for s in range(model.nsensor):
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SENSOR, s) or f"sensor{s}"
            adr, dim, kind = int(model.sensor_adr[s]), int(model.sensor_dim[s]), model.sensor_type[s]
            if kind == mujoco.mjtSensor.mjSENS_JOINTPOS and model.jnt_type[model.sensor_objid[s]] == mujoco.mjtJoint.mjJNT_HINGE:
                hinge_src.append(adr)
                hinge_dst.append(size)
                width = 2
            elif kind == mujoco.mjtSensor.mjSENS_BALLQUAT:
                ball_src.append(np.arange(adr, adr + 4))
                ball_dst.append(np.arange(size, size + 9))
                width = 9
            else:
                plain_src.extend(range(adr, adr + dim))
                plain_dst.extend(range(size, size + dim))
                width = dim
            self.layout[name] = slice(size, size + width)
            size += width
        self._plain = (np.array(plain_src, dtype=np.int64), np.array(plain_dst, dtype=np.int64))
        self._hinge = (np.array(hinge_src, dtype=np.int64), np.array(hinge_dst, dtype=np.int64))
        self._ball = (np.array(ball_src, dtype=np.int64).reshape(-1, 4), np.array(ball_dst, dtype=np.int64).reshape(-1, 9))
        self.compass = compass
        if compass:
            self.layout["compass"] = slice(size, size + 2)
            size += 2
        observed = sorted(name for name, e in world.elements.items() if e.params.lidar)
        self._lidar_groups = observed
        self._lidar_elements = [world.elements[name] for name in observed]
        group_of = np.concatenate([np.full(e.params.num, g) for g, e in enumerate(self._lidar_elements)]) if observed else np.zeros(0)
        self._group_of = group_of.astype(np.int64)
        self._lidar_bodies = np.concatenate([e.body_ids for e in self._lidar_elements]).astype(np.int64) if observed else np.zeros(0, dtype=np.int64)
        self.lidar = Lidar(self._group_of, len(observed), lidar_bins, lidar_max_dist, lidar_alias)
        for name in observed:
            self.layout[f"{name}_lidar"] = slice(size, size + lidar_bins)
            size += lidar_bins
        self._lidar_start = size - len(observed) * lidar_bins
        self.size = size

    def __call__(self) -> np.ndarray:
        world = self.world
        data = world.data
        obs = np.empty(self.size)
        src, dst = self._plain
        obs[dst] = data.sensordata[src]
        src, dst = self._hinge
        if len(src):
            angles = data.sensordata[src]
            obs[dst] = np.sin(angles)
            obs[dst + 1] = np.cos(angles)
        src, dst = self._ball
        if len(src):
            obs[dst] = quat_to_mat(data.sensordata[src]).reshape(-1, 9)
        if self.compass:
            goal = world.task.goal_position(world)
            vec = world.ego_xy(goal[None, :])[0] if goal is not None else np.zeros(2)
            norm = np.linalg.norm(vec)
            obs[self.layout["compass"]] = vec / norm if norm > 0 else vec
        if len(self._lidar_bodies):
            visible = None
            if world.lidar_hidden:
                hidden = [g for g, name in enumerate(self._lidar_groups) if name in world.lidar_hidden]
                visible = ~np.isin(self._group_of, hidden)
            obs[self._lidar_start :] = self.lidar(world.ego_xy(data.xpos[self._lidar_bodies]), visible)
        return obs


def quat_to_mat(quat: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) of unit quaternions (N, 4) in MuJoCo's (w, x, y, z) order."""
    w, x, y, z = quat[:, 0], quat[:, 1], quat[:, 2], quat[:, 3]
    return np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=1).reshape(-1, 3, 3)
