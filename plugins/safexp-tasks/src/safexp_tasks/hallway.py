"""The Hallway task (Knight & Achiam's safe-transfer hallways): walk from one end of a long corridor to the other.

The corridor runs along +x from ``x = 0`` to ``x = length``, ``width`` wide, centred on ``y = 0``; the task's own
element ``corridor`` closes it with four walls (both sides and both ends). The robot starts near ``x = 0``
(where the scene's ``robot_placements`` put it) heading along +x, give or take ``start_heading`` radians. Each
step's reward is the progress along the corridor, (x − previous x) × ``reward_progress``, the same for every
variant of obstacles; once the robot's centre passes ``x = length − goal_depth`` it gets ``reward_goal`` and the
episode ends as a terminal state (``terminated``). Touching the corridor's walls costs nothing unless the scene
adds a cost that reads the ``corridor`` element (``obstacle_contact`` with ``elements: [corridor]``).

The arena ``extents`` must be the corridor, ``[0, −width/2, length, width/2]``: obstacles are placed inside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from safexp.plugin import Element, ParameterError, PlacementParams, Task, World, bounded

LENGTH = 8.0
"""The suite's corridor length (m): a Point at its top speed (1.1 m/s) crosses it in about 360 of its 1000 steps."""

WIDTH = 2.0
"""The suite's corridor width (m)."""


@dataclass
class HallwayParams:
    """Hallway task parameters.

    - ``length``, ``width``: the corridor (m); the scene's ``extents`` must be ``[0, −width/2, length, width/2]``;
    - ``wall_height``, ``wall_thickness``: the corridor's walls (m);
    - ``start_heading``: the robot starts heading along +x, turned by a uniform draw in ± this angle (radians);
    - ``goal_depth``: success when the robot's centre is within this distance of the far end (m);
    - ``reward_progress``: reward per metre of progress along the corridor (negative when going back);
    - ``reward_goal``: bonus on reaching the far end (added after the dense reward is clipped to ±``reward_clip``).
    """

    length: float = bounded(LENGTH, gt=0)
    width: float = bounded(WIDTH, gt=0)
    wall_height: float = bounded(0.5, gt=0)
    wall_thickness: float = bounded(0.1, gt=0)
    start_heading: float = bounded(0.2, ge=0, le=math.pi)
    goal_depth: float = bounded(0.5, gt=0)
    reward_progress: float = 1.0
    reward_goal: float = bounded(10.0, ge=0)
    reward_clip: float = bounded(10.0, gt=0)


class Corridor(Element):
    """The corridor's four walls in one static body at the origin; never placed by layouts, no lidar."""

    order = 5
    placed = False

    def __init__(self, params: HallwayParams) -> None:
        super().__init__(PlacementParams(num=1, keepout=0.0, lidar=False))
        self.hallway = params

    def body_xml(self, index: int) -> str:
        p = self.hallway
        t, h = p.wall_thickness / 2, p.wall_height / 2
        half_x, half_y = p.length / 2 + 2 * t, p.width / 2 + 2 * t
        walls = (  # (centre x, centre y, half-size x, half-size y): the two sides, then the start and far ends
            (p.length / 2, -(p.width / 2 + t), half_x, t), (p.length / 2, p.width / 2 + t, half_x, t),
            (-t, 0.0, t, half_y), (p.length + t, 0.0, t, half_y),
        )
        # contype 2, conaffinity 1: the robot (and anything of contype 1) collides with the walls; elements of
        # another contype that do not accept it — safexp-hazards' people — pass through, saving the solver the
        # many capsule-against-box tests of limbs near the long walls.
        return "".join(f'<geom type="box" size="{sx} {sy} {h}" pos="{x} {y} {h}" contype="2" conaffinity="1" '
                       f'rgba="0.75 0.72 0.65 1"/>' for x, y, sx, sy in walls)


class HallwayTask(Task):
    """Reward = (x − previous x) × ``reward_progress``; reaching the far end ends the episode (see the module)."""

    goal_ends_episode = True

    def __init__(self, params: HallwayParams) -> None:
        super().__init__(params)
        if params.goal_depth >= params.length:
            raise ParameterError(f"task 'hallway': goal_depth ({params.goal_depth}) must be shorter than the "
                                 f"corridor's length ({params.length})")
        self.reward_goal = params.reward_goal
        self.reward_clip = params.reward_clip
        self.corridor = Corridor(params)
        self._last_x = 0.0
        self._goal_x = params.length - params.goal_depth

    def elements(self) -> dict[str, Element]:
        return {"corridor": self.corridor}

    def bind(self, world: World) -> None:
        p = self.params
        corridor = [0.0, -p.width / 2, p.length, p.width / 2]
        if any(abs(a - b) > 1e-9 for a, b in zip(world.extents, corridor)):
            raise ParameterError(
                f"task 'hallway': the arena extents {world.extents} must be the corridor {corridor} "
                f"(length {p.length}, width {p.width}); set extents: {corridor}, or change task_params length/width"
            )
        self._robot_pos = world.robot_pos

    def start_heading(self, world: World) -> float:
        return float(world.rng.uniform(-self.params.start_heading, self.params.start_heading))

    def reset(self, world: World) -> None:
        self._last_x = float(self._robot_pos[0])

    def reward(self, world: World) -> float:
        x = float(self._robot_pos[0])
        reward = (x - self._last_x) * self.params.reward_progress
        self._last_x = x
        return reward

    def goal_met(self, world: World) -> bool:
        return self._last_x >= self._goal_x  # measured by reward() this step
