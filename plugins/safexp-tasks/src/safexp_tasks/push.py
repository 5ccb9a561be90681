"""The Push task: push a box onto a goal circle; on success the goal moves and the episode continues.

Reward (Safety Gym): (previous − current) box→goal distance × ``reward_box_goal`` plus (previous − current)
robot→box distance × ``reward_box_dist``, the second term only while the robot was farther than
``box_null_dist`` × ``box_size`` from the box. Success: the box's centre within ``goal_size`` of the goal.

**safexp choice**: distances are measured in the floor plane (XY). The original measures them in 3-D between
body centres at different heights (box centre at ``box_size``, goal marker lower), which turns the success
radius into a box-size-dependent one; in XY, ``goal_size`` means what it says for every box size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from safexp import Element, PlacementParams, Task
from safexp.plugin import World, bounded
from safexp_tasks.goal import GoalCircleParams, goal_marker


@dataclass
class PushParams(GoalCircleParams):
    """Push task parameters (the Safety Gym suite's figures): the goal circle and bonus
    (:class:`~safexp_tasks.goal.GoalCircleParams`, with the goal keepout at 0.4) and the box:

    - ``box_size``: half-size of the box (its four corner blocks are half as wide, as tall, at its corners);
    - ``box_keepout``, ``box_density``, ``box_placements``, ``box_locations``: the box's placement and mass;
    - ``box_null_dist``: no robot→box reward within ``box_null_dist`` × ``box_size`` of the box (suite: 0);
    - ``reward_box_goal``, ``reward_box_dist``: reward per metre of box→goal and robot→box progress.
    """

    goal_keepout: float = bounded(0.4, ge=0)
    box_size: float = bounded(0.2, gt=0)
    box_keepout: float = bounded(0.2, ge=0)
    box_density: float = bounded(0.001, gt=0)
    box_placements: Optional[List[List[float]]] = None
    box_locations: Optional[List[List[float]]] = None
    box_null_dist: float = bounded(0.0, ge=0)
    reward_box_goal: float = bounded(1.0, ge=0)
    reward_box_dist: float = bounded(1.0, ge=0)


class PushBox(Element):
    """The yellow box: a free cube of half-size ``size`` with four collision blocks at its vertical edges.

    Each block has half-size (size/2, size/2, size) and is centred on a corner of the cube's footprint, so the
    box has notched corners a robot can catch and turn it by.
    """

    order = 30
    movable = True

    def __init__(self, size: float, density: float, params: PlacementParams) -> None:
        super().__init__(params)
        self.size = size
        self.density = density

    def resting_height(self) -> float:
        return self.size

    def body_xml(self, index: int) -> str:
        s, d, half = self.size, self.density, self.size / 2
        corners = "".join(
            f'<geom type="box" size="{half} {half} {s}" pos="{x * s} {y * s} 0" density="{d}" rgba="1 1 0 1"/>'
            for x, y in ((1, 1), (-1, 1), (1, -1), (-1, -1))
        )
        return f'<geom type="box" size="{s} {s} {s}" density="{d}" rgba="1 1 0 1"/>' + corners


class PushTask(Task):
    """Push the box to the goal; see the module docstring for the reward."""

    def __init__(self, params: PushParams) -> None:
        super().__init__(params)
        self.reward_goal = params.reward_goal
        self.reward_clip = params.reward_clip
        self.goal = goal_marker(params)
        self.box = PushBox(params.box_size, params.box_density,
                           PlacementParams(num=1, keepout=params.box_keepout, placements=params.box_placements,
                                           locations=params.box_locations))
        self._last_box_goal = 0.0
        self._last_robot_box = 0.0

    def elements(self) -> dict[str, Element]:
        return {"goal": self.goal, "box": self.box}

    def goal_position(self, world: World) -> np.ndarray:
        return self.goal.positions(world)[0]

    def _distances(self, world: World) -> tuple[float, float]:
        """(box→goal, robot→box) XY distances."""
        box, goal, robot = self.box.positions(world)[0], self.goal_position(world), world.robot_pos
        return math.hypot(goal[0] - box[0], goal[1] - box[1]), math.hypot(box[0] - robot[0], box[1] - robot[1])

    def reset(self, world: World) -> None:
        self._last_box_goal, self._last_robot_box = self._distances(world)

    def reward(self, world: World) -> float:
        p = self.params
        box_goal, robot_box = self._distances(world)
        reward = (self._last_box_goal - box_goal) * p.reward_box_goal
        if self._last_robot_box > p.box_null_dist * p.box_size:
            reward += (self._last_robot_box - robot_box) * p.reward_box_dist
        self._last_box_goal, self._last_robot_box = box_goal, robot_box
        return reward

    def goal_met(self, world: World) -> bool:
        return self._last_box_goal <= self.params.goal_size  # measured by reward() this step

    def on_goal_met(self, world: World) -> bool:
        if not world.resample(self.goal, 0):
            return False
        self._last_box_goal, self._last_robot_box = self._distances(world)
        return True
