"""Constraints that need no element of their own: a speed limit, a keep-in region, contact with static obstacles.

Each is a cost term any scene can add from configuration, alone or as its own constraint group::

    gymnasium.make("safexp/PointGoal1-v0", costs=[{"name": "speed_limit", "params": {"max_speed": 0.3},
                                                   "constraint": "speed"}])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from safexp.plugin import CostTerm, ParameterError, World, bounded, choices_hint, geom_ids


@dataclass
class SpeedLimitParams:
    """``max_speed``: the largest safe speed (m/s) of the robot's centre over the floor (XY velocity)."""

    max_speed: float = bounded(0.5, ge=0)


class SpeedLimit(CostTerm):
    """Raw cost: how far the robot's planar speed exceeds ``max_speed`` (0 at or below it)."""

    def __call__(self, world: World) -> float:
        vx, vy, _ = world.robot_velocity()
        return max(0.0, math.hypot(vx, vy) - self.params.max_speed)


KEEP_IN_SHAPES = ("rectangle", "circle")


@dataclass
class KeepInParams:
    """The region the robot's centre must stay in.

    - ``shape``: ``rectangle`` or ``circle``;
    - ``bounds``: the rectangle ``[xmin, ymin, xmax, ymax]`` (default: the arena extents);
    - ``centre`` and ``radius``: the circle.
    """

    shape: str = "rectangle"
    bounds: Optional[List[float]] = None
    centre: List[float] = field(default_factory=lambda: [0.0, 0.0])
    radius: float = bounded(1.0, gt=0)


class KeepIn(CostTerm):
    """Raw cost: the XY distance from the robot's centre to the allowed region (0 inside it).

    The "stay in the safe area" constraint of the CPO paper's circle tasks, with a rectangle or a circle.
    """

    def __init__(self, params: KeepInParams) -> None:
        super().__init__(params)
        if params.shape not in KEEP_IN_SHAPES:
            raise ParameterError(f"keep_in: unknown shape '{params.shape}'; {choices_hint(params.shape, KEEP_IN_SHAPES)}")
        if params.bounds is not None and (len(params.bounds) != 4 or params.bounds[0] >= params.bounds[2]
                                          or params.bounds[1] >= params.bounds[3]):
            raise ParameterError(f"keep_in: bounds must be [xmin, ymin, xmax, ymax] with min < max, got {list(params.bounds)}")
        if len(params.centre) != 2 or params.radius <= 0:
            raise ParameterError(f"keep_in: the circle needs centre [x, y] and radius > 0, got {list(params.centre)}, {params.radius}")
        self._low = self._high = np.zeros(2)

    def bind(self, world: World) -> None:
        bounds = self.params.bounds if self.params.bounds is not None else world.extents
        self._low, self._high = np.array(bounds[:2], dtype=np.float64), np.array(bounds[2:], dtype=np.float64)

    def __call__(self, world: World) -> float:
        x, y = world.robot_pos[0], world.robot_pos[1]
        if self.params.shape == "circle":
            cx, cy = self.params.centre
            return max(0.0, math.hypot(x - cx, y - cy) - self.params.radius)
        dx = max(self._low[0] - x, 0.0, x - self._high[0])
        dy = max(self._low[1] - y, 0.0, y - self._high[1])
        return math.hypot(dx, dy)


@dataclass
class ObstacleContactParams:
    """``elements``: the static elements that count (default: every static element in the scene — pillars,
    walls, buttons, ...); ``cost`` per contact between a robot geom and one of their geoms."""

    elements: Optional[List[str]] = None
    cost: float = bounded(1.0, ge=0)


class ObstacleContact(CostTerm):
    """``cost`` × the number of contacts between the robot and static obstacles (fixed, collidable objects).

    Visual-only geoms (hazards, the goal) never touch anything, so they never count; movable objects (vases,
    gremlins, the push box) are not static obstacles.
    """

    def bind(self, world: World) -> None:
        names = self.params.elements
        if names is None:
            chosen = [e for e in world.elements.values() if not e.movable]
        else:
            chosen = [self.element(world, name) for name in names]
            movable = [e.name for e in chosen if e.movable]
            if movable:
                raise ParameterError(f"cost '{self.name}': element '{movable[0]}' is movable, not a static obstacle")
        collidable = (world.model.geom_contype != 0) | (world.model.geom_conaffinity != 0)
        mask = np.zeros(world.model.ngeom, dtype=bool)
        for element in chosen:
            mask |= element.geom_mask
        self._geoms = geom_ids(mask & collidable)

    def __call__(self, world: World) -> float:
        return self.params.cost * world.robot_touches(self._geoms)
