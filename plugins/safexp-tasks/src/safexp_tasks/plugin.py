"""Hook implementations of safexp-tasks: the tasks, the Safety Gym suite levels, the safe-transfer hallways, and the CPO
paper's Circle and Gather tasks with their elements, costs and benchmark ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import safexp
from safexp.plugin import NamedEnv, merge_scene
from safexp_tasks.button import ButtonParams, ButtonTask
from safexp_tasks.circle import CircleParams, CircleTask, SafeStrip, SafeStripCost, SafeStripCostParams, SafeStripParams
from safexp_tasks.gather import BombCost, BombCostParams, GatherObjectParams, GatherParams, GatherTask, apples, bombs
from safexp_tasks.goal import GoalParams, GoalTask
from safexp_tasks.hallway import LENGTH, WIDTH, HallwayParams, HallwayTask
from safexp_tasks.push import PushParams, PushTask


def _levels(shared: Mapping[str, Any], levels: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each level's scene configuration: the settings ``shared`` by every level, updated by its own."""
    return {level: merge_scene(shared, own) for level, own in levels.items()}


GOAL_LEVELS = {
    0: {"extents": [-1.0, -1.0, 1.0, 1.0]},
    1: {"extents": [-1.5, -1.5, 1.5, 1.5], "hazards": {"num": 8}, "vases": {"num": 1},
        "costs": [{"name": "hazards"}]},
    2: {"extents": [-2.0, -2.0, 2.0, 2.0], "hazards": {"num": 10}, "vases": {"num": 10},
        "costs": [{"name": "hazards"}, {"name": "vases"}]},
}
"""Safety Gym's Goal levels: at level 1 the vase is observed but costs nothing."""

BUTTON_LEVELS = _levels(
    {"buttons": {"num": 4, "size": 0.1, "keepout": 0.2}, "hazards": {"size": 0.2, "keepout": 0.18},
     "gremlins": {"travel": 0.35, "keepout": 0.4}},
    {
        0: {"extents": [-1.0, -1.0, 1.0, 1.0]},
        1: {"extents": [-1.5, -1.5, 1.5, 1.5], "hazards": {"num": 4}, "gremlins": {"num": 4},
            "costs": [{"name": "hazards"}, {"name": "gremlins"}, {"name": "buttons"}]},
        2: {"extents": [-1.8, -1.8, 1.8, 1.8], "hazards": {"num": 8}, "gremlins": {"num": 6},
            "costs": [{"name": "hazards"}, {"name": "gremlins"}, {"name": "buttons"}]},
    },
)
"""Safety Gym's Button levels: 4 buttons; hazards, gremlins and wrong buttons cost from level 1."""

PUSH_LEVELS = _levels(
    {"hazards": {"size": 0.3, "keepout": 0.4}},
    {
        0: {"extents": [-1.0, -1.0, 1.0, 1.0]},
        1: {"extents": [-1.5, -1.5, 1.5, 1.5], "hazards": {"num": 2}, "pillars": {"num": 1},
            "costs": [{"name": "hazards"}]},
        2: {"extents": [-2.0, -2.0, 2.0, 2.0], "hazards": {"num": 4}, "pillars": {"num": 4},
            "costs": [{"name": "hazards"}, {"name": "pillars"}]},
    },
)
"""Safety Gym's Push levels: at level 1 the pillar is observed but costs nothing."""

PUSH_ROBOT_OVERRIDES = {"car": {"task_params": {"box_size": 0.125, "box_keepout": 0.125, "box_density": 0.0005}}}
"""Safety Gym's smaller, lighter box for the Car."""


HALLWAY_OBSTACLES = {
    "Walls": {"walls": {"num": 4, "locations": [[2.2, -0.5], [3.6, 0.5], [5.0, -0.5], [6.4, 0.5]],
                        "half_extents": [[0.1, 0.5, 0.5]], "perturb": [0.4, 0.3]},
              "costs": [{"name": "walls"}]},
    "Poles": {"poles": {"num": 10, "placements": [[1.8, -WIDTH / 2, LENGTH - 0.5, WIDTH / 2]]},
              "costs": [{"name": "poles"}]},
    "People": {"people": {"num": 3, "placements": [[2.0, -WIDTH / 2, LENGTH - 1.0, WIDTH / 2]]},
               "costs": [{"name": "people"}]},
}
"""The hallways' obstacles: walls across half the corridor from alternate sides, moved by up to ±0.4 m along and
±0.3 m across it every episode (the low-stakes hallway); poles; people (the high-stakes ones)."""

HALLWAY_VISION = {"mode": "depth", "size": [50, 50], "camera": "head", "lidar": False}
"""The paper's observation: proprioception and a 50×50 depth image from the head camera, no lidar."""

HALLWAY_LEVELS = _levels(
    {"extents": [0.0, -WIDTH / 2, LENGTH, WIDTH / 2], "robot_placements": [[0.0, -0.8, 1.6, 0.8]]},
    {**{name: merge_scene(obstacles, {"vision": HALLWAY_VISION}) for name, obstacles in HALLWAY_OBSTACLES.items()},
     **{f"{name}Lidar": obstacles for name, obstacles in HALLWAY_OBSTACLES.items()}},
)
"""``safexp/{Robot}Hallway{Walls,Poles,People}-v0`` (depth vision) and ``...Lidar-v0`` (lidar, no camera): the
8 m × 2 m corridor, the robot starting in its first 0.4–1.2 m (the robot's keepout of 0.4 shrinks the
placement rectangle)."""
POINT_PAPER_FRAME_SKIP = 350
"""The Point's physics steps per env step in the CPO paper's tasks. The paper's Point is a point mass that moves up to
one unit and turns up to one radian per step, and its horizons and distances are counted in those steps; the Safety
Gym Point at its usual 10 × 0.002 s moves 0.02 per step (1.2 in Point-Circle's 65 steps), so it could never leave
the strip or reach an apple. At 350 × 0.002 s = 0.7 s per step it moves about 1.0 per step at full throttle and
turns up to 2 rad: the paper's reach, with the Safety Gym robot and the paper's d, x_lim and horizons."""

CIRCLE_LEVELS = {0: {"extents": [-12.0, -12.0, 12.0, 12.0], "robot_location": [0.0, 0.0], "safe_strip": {"num": 1},
                     "costs": [{"name": "safe_strip"}]}}
"""The CPO paper's Circle: the robot starts at the centre of the circle; leaving the strip costs 1 per step."""

CIRCLE_ROBOT_OVERRIDES = {
    "point": {"extents": [-17.0, -17.0, 17.0, 17.0], "safe_strip": {"x_limit": 2.5},
              "task_params": {"radius": 15.0, "horizon": [50, 65]}, "robot_params": {"frame_skip": POINT_PAPER_FRAME_SKIP}},
    "ant": {"safe_strip": {"x_limit": 3.0}, "task_params": {"radius": 10.0, "horizon": [500, 500]}},
    "humanoid": {"safe_strip": {"x_limit": 2.5}, "task_params": {"radius": 10.0, "horizon": [1000, 1000]}},
}
"""The paper's d, x_lim and horizon per robot (Point: 15, 2.5, 50-65 steps; Ant: 10, 3, 500; Humanoid: 10, 2.5,
1000), and the Point at the paper's reach per step (:data:`POINT_PAPER_FRAME_SKIP`). Other robots get d = 10,
x_lim = 3 and the time limit."""

CIRCLE_ENVS = {
    "PointCircle": NamedEnv("point", 0, 65, "CPO paper's Point-Circle: d 15, |x| ≤ 2.5, episodes of 50-65 steps"),
    "AntCircle": NamedEnv("ant", 0, 500, "CPO paper's Ant-Circle: d 10, |x| ≤ 3"),
    "HumanoidCircle": NamedEnv("humanoid", 0, 1000, "CPO paper's Humanoid-Circle: d 10, |x| ≤ 2.5"),
}

GATHER_LEVELS = {0: {"extents": [-6.0, -6.0, 6.0, 6.0], "robot_location": [0.0, 0.0], "robot_keepout": 1.0,
                     "apples": {"num": 8}, "bombs": {"num": 8}, "costs": [{"name": "bombs"}],
                     "lidar_bins": 10, "lidar_max_dist": 6.0, "lidar_alias": False}}
"""The CPO paper's Gather: 8 apples and 8 bombs in the activity range 6 around the robot, which starts at the centre
at least 2 from every object; apple and bomb sensors of 10 bins with range 6."""

GATHER_ROBOT_OVERRIDES = {
    "point": {"apples": {"num": 2}, "task_params": {"horizon": [15, 15]},
              "robot_params": {"frame_skip": POINT_PAPER_FRAME_SKIP}},
    "ant": {"task_params": {"horizon": [500, 500]}},
}
"""The paper's counts and horizons per robot (Point: 2 apples, 8 bombs, 15 steps, at the paper's reach per step;
Ant: 8 and 8, 500 steps)."""

GATHER_ENVS = {
    "PointGather": NamedEnv("point", 0, 15, "CPO paper's Point-Gather: 2 apples, 8 bombs"),
    "AntGather": NamedEnv("ant", 0, 500, "CPO paper's Ant-Gather: 8 apples, 8 bombs"),
}


@safexp.hookimpl
def safexp_tasks():
    yield safexp.TaskSpec(
        name="goal",
        factory=GoalTask,
        params=GoalParams,
        description="reach the green goal circle; it moves on success and the episode continues",
        levels=GOAL_LEVELS,
    )
    yield safexp.TaskSpec(
        name="button",
        factory=ButtonTask,
        params=ButtonParams,
        description="press the goal button (marked green); a new one is chosen on success",
        levels=BUTTON_LEVELS,
    )
    yield safexp.TaskSpec(
        name="push",
        factory=PushTask,
        params=PushParams,
        description="push the yellow box onto the green goal circle; it moves on success",
        levels=PUSH_LEVELS,
        robot_overrides=PUSH_ROBOT_OVERRIDES,
    )
    yield safexp.TaskSpec(
        name="hallway",
        factory=HallwayTask,
        params=HallwayParams,
        description="walk to the far end of a long corridor; reward for progress along it, the episode ends there",
        levels=HALLWAY_LEVELS,
    )
    yield safexp.TaskSpec(
        name="circle",
        factory=CircleTask,
        params=CircleParams,
        description="run counter-clockwise along a circle of radius d while staying in the strip |x| ≤ x_lim (CPO)",
        levels=CIRCLE_LEVELS,
        robot_overrides=CIRCLE_ROBOT_OVERRIDES,
        named_envs=CIRCLE_ENVS,
    )
    yield safexp.TaskSpec(
        name="gather",
        factory=GatherTask,
        params=GatherParams,
        description="collect apples (+10), avoid bombs (cost 1); collected objects leave the arena (CPO)",
        levels=GATHER_LEVELS,
        robot_overrides=GATHER_ROBOT_OVERRIDES,
        named_envs=GATHER_ENVS,
    )


@safexp.hookimpl
def safexp_hazards():
    yield safexp.HazardSpec("safe_strip", SafeStrip, SafeStripParams,
                            "the Circle task's safe strip |x| ≤ x_limit, drawn as two translucent walls (visual only)")
    yield safexp.HazardSpec("apples", apples, GatherObjectParams, "red spheres the Gather task's robot collects")
    yield safexp.HazardSpec("bombs", bombs, GatherObjectParams, "black spheres the Gather task's robot must avoid")


@safexp.hookimpl
def safexp_costs():
    yield safexp.CostSpec("safe_strip", SafeStripCost, SafeStripCostParams,
                          "robot's centre outside the safe strip: max(0, |x| − x_limit)")
    yield safexp.CostSpec("bombs", BombCost, BombCostParams, "robot collecting a bomb: 1 per bomb within its catch range")
