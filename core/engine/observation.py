"""The observation vector: robot sensors, the goal compass, then one lidar per observed element.

Order (stable, documented, exposed as :attr:`ObservationBuilder.layout`, name → slice):

1. every sensor of the model in MJCF document order, under its name — hinge ``jointpos`` as (sin, cos),
   ``ballquat`` as the 9 entries of its rotation matrix (row-major, ``mju_quat2Mat``), everything else as
   MuJoCo reports it;
2. ``compass`` (2: the unit vector to the goal in the robot frame), when enabled;
3. ``<element>_lidar`` (``lidar_bins`` each), one per element with ``lidar`` on, in alphabetical order (none
   when the builder is made with ``lidar=False``, as vision observations may ask).
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from safexp.engine.lidar import Lidar
from safexp.engine.world import World, rows_index


class ObservationBuilder:
    """Builds observations for one world.

    Every index is resolved once: sensor values are copied as runs of contiguous slices, the lidar objects'
    positions are read through a view of ``data.xpos`` where their bodies are consecutive, so a step costs a
    few slice copies, one call per ball joint, and the lidar.
    """

    def __init__(self, world: World, lidar_bins: int, lidar_max_dist: float, lidar_alias: bool, compass: bool,
                 lidar: bool = True) -> None:
        self.world = world
        model = world.model
        self._hidden = world._lidar_hidden  # the world's set of hidden elements, changed only through its methods
        self._sensordata, self._xpos = world.data.sensordata, world.data.xpos  # views of the MjData buffers
        self.layout: dict[str, slice] = {}
        copies: list[tuple[int, int, int]] = []  # (source start, destination start, length)
        hinges: list[tuple[int, int, int]] = []  # (source start, destination start, count), destinations 2 apart
        self._balls: list[tuple[slice, slice]] = []  # (quaternion in sensordata, matrix in the observation)
        size = 0
        for s in range(model.nsensor):
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SENSOR, s) or f"sensor{s}"
            adr, dim, kind = int(model.sensor_adr[s]), int(model.sensor_dim[s]), model.sensor_type[s]
            if kind == mujoco.mjtSensor.mjSENS_JOINTPOS and model.jnt_type[model.sensor_objid[s]] == mujoco.mjtJoint.mjJNT_HINGE:
                if hinges and hinges[-1][0] + hinges[-1][2] == adr and hinges[-1][1] + 2 * hinges[-1][2] == size:
                    hinges[-1] = (hinges[-1][0], hinges[-1][1], hinges[-1][2] + 1)
                else:
                    hinges.append((adr, size, 1))
                width = 2
            elif kind == mujoco.mjtSensor.mjSENS_BALLQUAT:
                self._balls.append((slice(adr, adr + 4), slice(size, size + 9)))
                width = 9
            else:
                if copies and copies[-1][0] + copies[-1][2] == adr and copies[-1][1] + copies[-1][2] == size:
                    copies[-1] = (copies[-1][0], copies[-1][1], copies[-1][2] + dim)
                else:
                    copies.append((adr, size, dim))
                width = dim
            self.layout[name] = slice(size, size + width)
            size += width
        self._copies = [(slice(src, src + n), slice(dst, dst + n)) for src, dst, n in copies]
        self._hinges = [(slice(src, src + n), slice(dst, dst + 2 * n, 2), slice(dst + 1, dst + 2 * n, 2))
                        for src, dst, n in hinges]
        self.compass = compass
        if compass:
            self.layout["compass"] = slice(size, size + 2)
            size += 2
        observed = sorted(name for name, e in world.elements.items() if e.params.lidar) if lidar else []
        elements = [world.elements[name] for name in observed]
        group_of = np.concatenate([np.full(e.params.num, g) for g, e in enumerate(elements)]) if observed else np.zeros(0)
        self._group_of = group_of.astype(np.int64)
        self._lidar_bodies = np.concatenate([e.body_ids for e in elements]).astype(np.int64) if observed else np.zeros(0, dtype=np.int64)
        self._lidar_rows = rows_index(self._lidar_bodies)
        ends = np.cumsum([e.params.num for e in elements], dtype=np.int64)
        self._objects_of = {name: slice(int(end) - e.params.num, int(end)) for name, e, end in zip(observed, elements, ends)}
        self.lidar = Lidar(self._group_of, len(observed), lidar_bins, lidar_max_dist, lidar_alias)
        for name in observed:
            self.layout[f"{name}_lidar"] = slice(size, size + lidar_bins)
            size += lidar_bins
        self._lidar_out = slice(size - len(observed) * lidar_bins, size)
        self.size = size

    def __call__(self) -> np.ndarray:
        world = self.world
        sensordata = self._sensordata
        obs = np.empty(self.size)
        for src, dst in self._copies:
            obs[dst] = sensordata[src]
        for src, sin_dst, cos_dst in self._hinges:
            angles = sensordata[src]
            np.sin(angles, out=obs[sin_dst])
            np.cos(angles, out=obs[cos_dst])
        for src, dst in self._balls:
            mujoco.mju_quat2Mat(obs[dst], sensordata[src])
        if self.compass:
            goal = world.task.goal_position(world)
            vec = world.ego_xy(goal[None, :])[0] if goal is not None else np.zeros(2)
            norm = math.hypot(vec[0], vec[1])
            obs[self.layout["compass"]] = vec / norm if norm > 0 else vec
        visible = self._visible(self._hidden) if self._hidden else None
        self.lidar.around(self._xpos[self._lidar_rows], world.robot_pos, world.robot_mat, visible, obs[self._lidar_out])
        return obs

    def _visible(self, hidden: set[str]) -> np.ndarray:
        """The lidar objects' visibility mask (objects, in lidar order) with the ``hidden`` elements' objects off."""
        visible = np.ones(len(self._lidar_bodies), dtype=bool)
        for name in hidden & self._objects_of.keys():
            visible[self._objects_of[name]] = False
        return visible

