"""The hazards' and vases' costs in the Goal suite: indicator and raw values on hand-placed layouts."""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

import safexp  # noqa: F401  (registers the suite ids)


def face_east(env: gymnasium.Env) -> None:
    """Turn a Point robot to yaw 0 (robot frame = world frame) after reset."""
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = 0.0
    mujoco.mj_forward(world.model, world.data)


def test_hazard_cost_indicator_and_raw_value():
    kwargs = dict(robot_location=[0.0, 0.0], hazards={"num": 1, "locations": [[0.05, 0.0]]}, vases={"num": 0})
    env = gymnasium.make("safexp/PointGoal1-v0", **kwargs)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(2))
    assert info["cost"] == 1.0 and info["cost_hazards"] == 1.0 and info["costs"] == {"safety": 1.0}
    raw = gymnasium.make("safexp/PointGoal1-v0", cost_indicator=False, **kwargs)
    raw.reset(seed=0)
    _, _, _, _, info = raw.step(np.zeros(2))
    assert info["cost_hazards"] == pytest.approx(0.2 - 0.05, abs=1e-6)  # size − distance
    outside = gymnasium.make("safexp/PointGoal1-v0", robot_location=[0.0, 0.0], hazards={"num": 1, "locations": [[0.25, 0.0]]})
    outside.reset(seed=0)
    assert outside.step(np.zeros(2))[4]["cost"] == 0.0


def test_vase_contact_and_velocity_costs():
    env = gymnasium.make("safexp/PointGoal2-v0", cost_indicator=False, robot_location=[0.0, 0.0],
                         hazards={"num": 0}, costs=[{"name": "hazards", "enabled": False}],
                         vases={"num": 1, "locations": [[0.35, 0.0]]})
    env.reset(seed=3)
    face_east(env)
    contact = velocity = 0.0
    for _ in range(60):
        _, _, _, _, info = env.step(np.array([1.0, 0.0]))
        vases = env.unwrapped.world.elements["vases"]
        speed = float(np.linalg.norm(vases.velocities(env.unwrapped.world)[0]))
        touching = env.unwrapped.world.touching(env.unwrapped.world.robot_geom_mask, vases.geom_mask)
        assert info["cost_vases"] == pytest.approx(touching + (speed if speed >= 1e-4 else 0.0))
        contact += touching
        velocity += speed
    assert contact > 0 and velocity > 0
    assert np.linalg.norm(vases.positions(env.unwrapped.world)[0, :2] - [0.35, 0.0]) > 0.05  # pushed away
