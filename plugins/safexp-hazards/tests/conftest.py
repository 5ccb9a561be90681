"""Hand-placed arenas: a Point robot at the origin facing +x, the goal parked in a corner."""

from __future__ import annotations

from typing import Any

import gymnasium
import mujoco
import pytest

import safexp  # noqa: F401  (registers the ids)


def _arena(**scene: Any) -> gymnasium.Env:
    """``safexp/Arena-v0`` with ``scene`` keys, reset (seed 0) with the robot at (0, 0) facing +x."""
    config = {"robot": "point", "task": "goal", "extents": [-2.0, -2.0, 2.0, 2.0], "robot_location": [0.0, 0.0],
              "task_params": {"goal_locations": [[1.7, 1.7]]}, **scene}
    env = gymnasium.make("safexp/Arena-v0", **config)
    env.reset(seed=0)
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = 0.0
    mujoco.mj_forward(world.model, world.data)
    return env


@pytest.fixture
def arena():
    """``arena(**scene)``: a hand-placed Point arena (see :func:`_arena`)."""
    return _arena
