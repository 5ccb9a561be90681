"""The Goal task on the suite robots: spaces, the composed robots' figures, the reward and bonus, the goal
lidar and compass, the suite's layouts and determinism (the engine's own behaviour is tested in the core's
``tests/engine`` on the testkit plugin)."""

from __future__ import annotations

import math

import gymnasium
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import safexp

GOAL_SIZES = {"Point": (28, 60, 60, 2), "Car": (40, 72, 72, 2), "Doggo": (72, 104, 104, 12)}


def unwrapped(env: gymnasium.Env) -> gymnasium.Env:
    """The SafetyEnv inside the wrappers."""
    return env.unwrapped


def face_east(env: gymnasium.Env) -> None:
    """Turn a Point robot to yaw 0 (robot frame = world frame) after reset."""
    world = unwrapped(env).world
    world.data.qpos[world._root_hinge] = 0.0
    mujoco.mj_forward(world.model, world.data)


@pytest.mark.parametrize("robot", sorted(GOAL_SIZES))
@pytest.mark.parametrize("level", [0, 1, 2])
def test_goal_suite_spaces_and_check_env(robot, level):
    env = gymnasium.make(f"safexp/{robot}Goal{level}-v0")
    obs_size, act_size = GOAL_SIZES[robot][level], GOAL_SIZES[robot][3]
    assert env.observation_space.shape == (obs_size,)
    assert env.action_space.shape == (act_size,)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    assert env.spec.max_episode_steps == 1000
    check_env(env.unwrapped, skip_render_check=True)
    layout = unwrapped(env).obs_layout
    assert sum(s.stop - s.start for s in layout.values()) == obs_size
    assert list(layout)[:4] == ["accelerometer", "velocimeter", "gyro", "magnetometer"]
    lidars = [k for k in layout if k.endswith("_lidar")]
    assert lidars == sorted(lidars) and ("goal_lidar" in lidars)


@pytest.mark.parametrize("robot, timestep, gear", [("point", 0.002, 0.3), ("car", 0.004, 1.0), ("doggo", 0.01, 0.0125)])
def test_composed_model_keeps_the_robot_figures(robot, timestep, gear):
    model = unwrapped(safexp.make(robot, "goal", 1)).world.model
    assert model.opt.timestep == pytest.approx(timestep)
    assert model.actuator_gear[0, 0] == pytest.approx(gear)
    assert unwrapped(safexp.make(robot, "goal", 1)).frame_skip == 10


def test_reaching_the_goal_gives_the_bonus_and_moves_the_goal():
    env = gymnasium.make("safexp/PointGoal1-v0", robot_location=[0.0, 0.0], task_params={"goal_locations": [[0.1, 0.0]]})
    env.reset(seed=0)
    goal = unwrapped(env).task.goal_position(unwrapped(env).world).copy()
    _, reward, terminated, truncated, info = env.step(np.zeros(2))
    assert info["goal_met"] is True and not terminated and not truncated
    new_goal = unwrapped(env).task.goal_position(unwrapped(env).world)
    robot = unwrapped(env).world.robot_pos
    assert np.linalg.norm(new_goal[:2] - goal[:2]) > 0.1
    assert np.linalg.norm(new_goal[:2] - robot[:2]) >= 0.305 + 0.4  # resampled clear of the robot's keepout
    assert reward == pytest.approx(1.0, abs=1e-3)  # no progress, plus the bonus after the clip
    _, _, _, _, info = env.step(np.zeros(2))
    assert info["goal_met"] is False  # the episode goes on with the new goal


def test_goal_reward_is_progress_towards_the_goal():
    env = gymnasium.make("safexp/PointGoal0-v0", robot_location=[-0.5, 0.0], task_params={"goal_locations": [[0.6, 0.0]]})
    env.reset(seed=0)
    face_east(env)
    world, task = unwrapped(env).world, unwrapped(env).task
    task.reset(world)
    before = math.dist(world.robot_pos[:2], task.goal_position(world)[:2])
    total = sum(env.step(np.array([1.0, 0.0]))[1] for _ in range(20))
    after = math.dist(world.robot_pos[:2], task.goal_position(world)[:2])
    assert total == pytest.approx(before - after, abs=1e-9) and total > 0.05


def test_compass_points_at_the_goal():
    env = gymnasium.make("safexp/PointGoal0-v0", compass=True, robot_location=[0.0, 0.0], task_params={"goal_locations": [[0.0, 0.8]]})
    assert env.observation_space.shape == (30,)
    env.reset(seed=0)
    face_east(env)
    np.testing.assert_allclose(unwrapped(env)._observe()[unwrapped(env).obs_layout["compass"]], [0.0, 1.0], atol=1e-6)


def test_layouts_respect_keepouts():
    env = gymnasium.make("safexp/PointGoal2-v0")
    world = unwrapped(env).world
    keepouts = np.array([p.keepout for _, _, p in world._placements])
    for seed in range(100):
        env.reset(seed=seed)
        xy = np.array([world.robot_pos[:2]] + [owner.positions(world)[i, :2] for owner, i, _ in world._placements[1:]])
        assert np.all(np.abs(xy) <= 2.0)
        dist = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
        assert np.all(dist >= (keepouts[:, None] + keepouts[None]) - 1e-9), seed
