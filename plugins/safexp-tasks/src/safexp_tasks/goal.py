"""The Goal task: reach a goal circle; on success the goal moves and the episode goes on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from safexp import Element, PlacementParams, Task
from safexp.plugin import World, bounded


@dataclass
class GoalCircleParams:
    """The goal circle and the success bonus of the tasks that move a goal circle (Goal, Push).

    - ``goal_size``: radius of the goal circle (Goal: success when the robot's centre is within it);
    - ``goal_keepout``: the goal's keepout radius in layouts;
    - ``goal_placements`` / ``goal_locations``: rectangles or fixed ``[x, y]`` positions for the goal;
    - ``reward_goal``: bonus on success (added after the dense reward is clipped to ±``reward_clip``).
    """

    goal_size: float = bounded(0.3, gt=0)
    goal_keepout: float = bounded(0.305, ge=0)
    goal_placements: Optional[List[List[float]]] = None
    goal_locations: Optional[List[List[float]]] = None
    reward_goal: float = bounded(1.0, ge=0)
    reward_clip: float = bounded(10.0, gt=0)


@dataclass
class GoalParams(GoalCircleParams):
    """Goal task parameters (Safety Gym defaults): :class:`GoalCircleParams` and ``reward_distance``, the reward
    per metre of progress towards the goal."""

    reward_distance: float = bounded(1.0, ge=0)


class GoalMarker(Element):
    """The goal: a translucent green cylinder that nothing collides with."""

    order = 20

    def __init__(self, size: float, params: PlacementParams) -> None:
        super().__init__(params)
        self.size = size

    def body_xml(self, index: int) -> str:
        s = self.size
        return (f'<geom type="cylinder" size="{s} {s / 2}" pos="0 0 {s / 2 + 0.01}" rgba="0 1 0 0.25" '
                'contype="0" conaffinity="0" group="0"/>')


def goal_marker(params: GoalCircleParams) -> GoalMarker:
    """The goal element of a task's goal circle, placed like any object (keepout, placement rectangles, fixed xy)."""
    return GoalMarker(params.goal_size, PlacementParams(num=1, keepout=params.goal_keepout,
                                                        placements=params.goal_placements,
                                                        locations=params.goal_locations))


class GoalTask(Task):
    """Reward = (previous − current) XY distance from the robot's centre to the goal × ``reward_distance``."""

    def __init__(self, params: GoalParams) -> None:
        super().__init__(params)
        self.reward_goal = params.reward_goal
        self.reward_clip = params.reward_clip
        self.goal = goal_marker(params)
        self._last_dist = 0.0

    def elements(self) -> dict[str, Element]:
        return {"goal": self.goal}

    def bind(self, world: World) -> None:
        # Views of the goal's and the robot's positions in data.xpos: they follow the simulation, no lookups.
        self._goal_pos, self._robot_pos = world.data.xpos[self.goal.body_ids[0]], world.robot_pos

    def goal_position(self, world: World) -> np.ndarray:
        return self._goal_pos

    def _dist(self, world: World) -> float:
        gx, gy, _ = self._goal_pos.tolist()
        rx, ry, _ = self._robot_pos.tolist()
        return math.hypot(gx - rx, gy - ry)

    def reset(self, world: World) -> None:
        self._last_dist = self._dist(world)

    def reward(self, world: World) -> float:
        dist = self._dist(world)
        reward = (self._last_dist - dist) * self.params.reward_distance
        self._last_dist = dist
        return reward

    def goal_met(self, world: World) -> bool:
        return self._last_dist <= self.params.goal_size  # measured by reward() this step

    def on_goal_met(self, world: World) -> bool:
        if not world.resample(self.goal, 0):
            return False
        self._last_dist = self._dist(world)
        return True
