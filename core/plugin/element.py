"""Scene elements: the objects a layout places in the arena (hazards, vases, pillars, the goal, ...).

An element plugin subclasses :class:`Element` and overrides the methods in the "override" section; the engine
does the rest (composition into the model, layout sampling, placement, lidar). The cost of touching or entering
an element is a separate :class:`safexp.CostTerm`, so an element needs no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, List, Optional

import mujoco
import numpy as np

from safexp.plugin.params import bounded

if TYPE_CHECKING:
    from safexp.engine.world import World


@dataclass
class PlacementParams:
    """The placement settings every element has; element parameter schemas extend this dataclass.

    - ``num``: how many objects;
    - ``keepout``: radius kept free around each object when sampling a layout;
    - ``placements``: rectangles ``[xmin, ymin, xmax, ymax]`` to place in (default: the arena extents);
    - ``locations``: fixed ``[x, y]`` positions for the first ``len(locations)`` objects;
    - ``lidar``: observe the objects through a lidar group named after the element.
    """

    num: int = bounded(0, ge=0)
    keepout: float = bounded(0.3, ge=0)
    placements: Optional[List[List[float]]] = None
    locations: Optional[List[List[float]]] = None
    lidar: bool = True


class Element:
    """One kind of object in the scene, with ``params.num`` instances named ``{name}{i}``.

    Class attributes a subclass may set:

    - ``order``: placement order (Safety Gym places walls 10, goal 20, box 30, buttons 40, hazards 50,
      vases 60, pillars 70, gremlins 80; the robot always first);
    - ``movable``: ``True`` gives each object a free joint (it can be pushed), ``False`` makes it a static
      mocap body the engine moves between episodes;
    - ``random_yaw``: whether each object gets a random yaw when placed;
    - ``placed``: ``False`` keeps the objects out of layout sampling altogether (no keepout, never moved by
      the layout): their owner positions them, e.g. a marker a task moves onto its current goal button.
    """

    order: ClassVar[int] = 100
    movable: ClassVar[bool] = False
    random_yaw: ClassVar[bool] = True
    placed: ClassVar[bool] = True

    def __init__(self, params: PlacementParams) -> None:
        self.params = params
        self.name = ""
        self.body_ids = np.zeros(0, dtype=np.int64)
        self.geom_mask = np.zeros(0, dtype=bool)
        self._qpos_idx = np.zeros((0, 7), dtype=np.int64)
        self._qvel_idx = np.zeros((0, 6), dtype=np.int64)
        self._mocap_ids = np.zeros(0, dtype=np.int64)

    # -- override -------------------------------------------------------------------------------------------
    def body_xml(self, index: int) -> str:
        """The inside of object ``index``'s ``<body>`` (geoms, sites, inertials) in its own frame.

        :param index: 0 .. num-1. The engine wraps it in ``<body name="{name}{index}">`` with a free joint or
            as a mocap body, and positions the body; geoms should sit on the floor (z = 0) in that frame.
        :return: an MJCF fragment.
        """
        raise NotImplementedError(f"{type(self).__name__} must define body_xml()")

    def extra_xml(self) -> dict[str, str]:
        """Extra MJCF for other top-level sections (``asset``, ``equality``, ``worldbody``, ...).

        :return: section tag → fragment; empty by default.
        """
        return {}

    def bind(self, world: World) -> None:
        """Called once after the model compiles: look up ids. Call ``super().bind(world)`` first."""
        model = world.model
        self.body_ids = np.array(
            [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"{self.name}{i}") for i in range(self.params.num)],
            dtype=np.int64,
        )
        self.geom_mask = np.isin(model.geom_bodyid, self.body_ids)
        if self.movable:
            joints = model.body_jntadr[self.body_ids]
            self._qpos_idx = model.jnt_qposadr[joints][:, None] + np.arange(7)  # x y z qw qx qy qz
            self._qvel_idx = model.jnt_dofadr[joints][:, None] + np.arange(6)  # linear, then angular velocity
        else:
            self._mocap_ids = model.body_mocapid[self.body_ids]

    def resting_height(self) -> float:
        """Height of each object's body origin above the floor (its free joint's z); 0 by default."""
        return 0.0

    def place(self, world: World, xy: np.ndarray, yaw: np.ndarray, indices: np.ndarray | None = None) -> None:
        """Move objects to a layout: ``xy`` (k, 2) and ``yaw`` (k,) for ``indices`` (all objects when ``None``).

        Movable objects get their free joint set (at rest); static ones their mocap pose. Override for
        composite bodies (an object welded to a mocap target, say).
        """
        idx = np.arange(self.params.num) if indices is None else np.asarray(indices)
        quat = np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.zeros_like(yaw), np.sin(yaw / 2)], axis=1)
        if self.movable:
            qpos_idx = self._qpos_idx[idx]
            z = world.model.qpos0[qpos_idx[:, 2]]
            world.data.qpos[qpos_idx] = np.column_stack([xy, z, quat])
            world.data.qvel[self._qvel_idx[idx]] = 0.0
        else:
            world.data.mocap_pos[self._mocap_ids[idx], :2] = xy
            world.data.mocap_quat[self._mocap_ids[idx]] = quat

    def before_substep(self, world: World) -> None:
        """Called before every physics substep when a subclass overrides it (moving obstacles)."""

    # -- read by tasks, costs and the lidar -----------------------------------------------------------------
    def positions(self, world: World) -> np.ndarray:
        """World positions (num, 3) of the objects' bodies."""
        return world.data.xpos[self.body_ids]

    def layout_positions(self, world: World) -> np.ndarray:
        """Where each object (num, 3) stands for the keepouts when another object is resampled mid-episode.

        The objects' current positions by default; objects that move around a spawn point (gremlins) return
        the spawn point, which their keepout is centred on.
        """
        return self.positions(world)

    def velocities(self, world: World) -> np.ndarray:
        """Linear velocities (num, 3) of movable objects (their free joints' translational velocity)."""
        return world.data.qvel[self._qvel_idx[:, :3]]
