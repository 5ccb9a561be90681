"""The CPO paper's Circle task: run counter-clockwise along a circle of radius d, but stay inside a safe strip.

Reward (Achiam et al. 2017, appendix): ``v · [−y, x] / (1 + |‖(x, y)‖ − d|)``, with (x, y) the robot's centre and v
its planar velocity: the speed along the circle, weighted down by the distance from it. The constraint is the
``safe_strip`` element and cost: ``1[|x| > x_limit]``, a strip narrower than the circle, so the best unconstrained
path leaves it. Both the strip and its cost are components of their own, usable in any scene.

The reward depends on where the robot is, which none of its own sensors say, so the task observes the robot's
world position (``circle_position``: x, y, z, as the paper's observation holds the robot's coordinates) and draws
the circle on the floor (:class:`CircleMarker`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from safexp.plugin import CostTerm, Element, ParameterError, PlacementParams, World, bounded
from safexp_tasks.horizon import HorizonTask


@dataclass
class CircleParams:
    """Circle task parameters; the suite sets the paper's per-robot values (see ``safexp_tasks.plugin``).

    - ``radius``: d, the circle's radius;
    - ``reward_clip``: the engine clips the reward to ±this (large: the paper does not clip);
    - ``horizon``: ``[low, high]`` steps per episode, drawn at each reset (``null``: only the env's time limit).
    """

    radius: float = bounded(10.0, gt=0)
    reward_clip: float = bounded(1000.0, gt=0)
    horizon: Optional[List[int]] = bounded(None, ge=1)


CIRCLE_SEGMENTS = 48
"""The drawn circle is a polygon of this many thin segments."""


class CircleMarker(Element):
    """The circle of radius d drawn on the floor (visual only, not in the lidar), and the ``circle_position``
    sensor: the robot's world position, observed after the robot's own sensors."""

    placed = False

    def __init__(self, radius: float) -> None:
        super().__init__(PlacementParams(num=1, lidar=False))
        self.radius = radius

    def body_xml(self, index: int) -> str:
        angles = np.linspace(0.0, 2 * np.pi, CIRCLE_SEGMENTS + 1)
        points = self.radius * np.column_stack([np.cos(angles), np.sin(angles)])
        return "".join(f'<geom type="capsule" fromto="{a[0]:.6f} {a[1]:.6f} 0.005 {b[0]:.6f} {b[1]:.6f} 0.005" size="0.03" '
                       'rgba="0 0.6 1 0.4" contype="0" conaffinity="0" group="0"/>' for a, b in zip(points, points[1:]))

    def extra_xml(self) -> dict[str, str]:
        return {"sensor": '<framepos name="circle_position" objtype="xbody" objname="robot"/>'}


class CircleTask(HorizonTask):
    """Reward ``v · [−y, x] / (1 + |‖(x, y)‖ − d|)``; no goal, no success bonus."""

    def __init__(self, params: CircleParams) -> None:
        super().__init__(params, "circle")
        self.reward_clip = params.reward_clip
        self.circle = CircleMarker(params.radius)

    def elements(self) -> dict[str, Element]:
        return {"circle": self.circle}

    def bind(self, world: World) -> None:
        self._robot_pos = world.robot_pos  # a view of data.xpos

    def reward(self, world: World) -> float:
        x, y = float(self._robot_pos[0]), float(self._robot_pos[1])
        vx, vy, _ = world.robot_velocity().tolist()
        return (-vx * y + vy * x) / (1.0 + abs(math.hypot(x, y) - self.params.radius))


@dataclass
class SafeStripParams(PlacementParams):
    """The safe strip ``|x| ≤ x_limit``, drawn as two translucent walls at x = ±x_limit (visual only: nothing
    collides with them and the lidar does not see them).

    - ``num``: 1 to draw the strip (0 removes it); there is one strip;
    - ``x_limit``: the strip's half-width;
    - ``length``, ``height``: the drawn walls' length along y and height.
    """

    num: int = 1
    lidar: bool = False
    x_limit: float = bounded(3.0, gt=0)
    length: float = bounded(40.0, gt=0)
    height: float = bounded(0.5, gt=0)


class SafeStrip(Element):
    """The strip's two walls, one static body at the origin; never moved by layouts."""

    placed = False

    def __init__(self, params: SafeStripParams) -> None:
        if params.num != 1:
            raise ParameterError(f"safe_strip: there is one strip; 'num' must be 1 (or 0 to remove it), got {params.num}")
        if params.lidar:
            raise ParameterError("safe_strip: the strip is a line on the floor the lidar cannot see; 'lidar' must be false")
        super().__init__(params)

    def body_xml(self, index: int) -> str:
        p = self.params
        walls = [f'<geom type="box" pos="{side * p.x_limit} 0 {p.height / 2}" size="0.02 {p.length / 2} {p.height / 2}" '
                 'rgba="1 0.55 0 0.3" contype="0" conaffinity="0" group="0"/>' for side in (-1, 1)]
        return "".join(walls)


@dataclass
class SafeStripCostParams:
    """No parameters: the strip's half-width is the ``safe_strip`` element's ``x_limit``."""


class SafeStripCost(CostTerm):
    """Raw cost: how far the robot's centre is outside the strip, max(0, |x| − x_limit); as an indicator (the
    engine's default), ``1[|x| > x_limit]``: 0 exactly on the edge."""

    def bind(self, world: World) -> None:
        self._x_limit = self.element(world, "safe_strip").params.x_limit
        self._robot_pos = world.robot_pos

    def __call__(self, world: World) -> float:
        return max(0.0, abs(float(self._robot_pos[0])) - self._x_limit)
