"""Slippery zones: square patches of floor where the robot loses its grip, and the cost of being on one.

The patches are drawn on the floor and observed through their lidar like any element; nothing collides with
them. The grip is MuJoCo's: every robot geom is given contact priority over the floor, so a robot–floor contact
uses the robot geom's friction, and before each physics substep that friction is set to ``friction`` while the
robot's centre is on a patch and back to the model's own values elsewhere. Other objects keep their grip.

A wheeled or legged robot (Car, Doggo) spins its wheels or slips its feet on a patch; the Point robot, which
slides on planar joints that carry no weight into its floor contact, moves as before and only pays the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safexp import CostTerm, Element, PlacementParams
from safexp.plugin import World


@dataclass
class SlipperyZonesParams(PlacementParams):
    """``size``: half the side of each square patch (they are not rotated); ``friction``: the robot geoms'
    sliding, torsional and rolling friction on a patch."""

    keepout: float = 0.35
    size: float = 0.3
    friction: float = 0.02


class SlipperyZones(Element):
    """Square visual patches that make the robot slide (see the module docstring)."""

    order = 55  # after the hazards, before the vases
    random_yaw = False

    def body_xml(self, index: int) -> str:
        s = self.params.size
        return f'<geom type="box" size="{s} {s} 0.002" pos="0 0 0.002" rgba="0.6 0.9 1 0.5" contype="0" conaffinity="0"/>'

    def bind(self, world: World) -> None:
        super().bind(world)
        model = world.model
        self._robot_geoms = np.flatnonzero(world.robot_geom_mask)
        model.geom_priority[self._robot_geoms] = np.maximum(model.geom_priority[self._robot_geoms], 1)
        self._grip = model.geom_friction[self._robot_geoms].copy()
        self._slip = np.full_like(self._grip, self.params.friction)
        self._on_ice = False

    def contains_robot(self, world: World) -> np.ndarray:
        """Whether the robot's centre is on each patch (num,)."""
        offset = np.abs(world.data.mocap_pos[self._mocap_ids, :2] - world.robot_pos[:2])
        return np.all(offset <= self.params.size, axis=1)

    def before_substep(self, world: World) -> None:
        on_ice = bool(self.contains_robot(world).any())
        if on_ice != self._on_ice:
            world.model.geom_friction[self._robot_geoms] = self._slip if on_ice else self._grip
            self._on_ice = on_ice


@dataclass
class SlipperyZoneCostParams:
    """``element``: the patches read; ``cost`` per step for each patch the robot's centre is on."""

    element: str = "slippery_zones"
    cost: float = 1.0


class SlipperyZoneCost(CostTerm):
    """``cost`` × the number of slippery patches under the robot's centre."""

    def bind(self, world: World) -> None:
        self.zones = self.element(world, self.params.element)

    def __call__(self, world: World) -> float:
        return self.params.cost * int(np.count_nonzero(self.zones.contains_robot(world)))
