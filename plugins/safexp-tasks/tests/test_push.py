"""The Push task on hand-placed layouts: both reward terms, the null-distance gate, success and the new goal."""

from __future__ import annotations

import math

import gymnasium
import mujoco
import numpy as np
import pytest

import safexp  # noqa: F401  (registers the suite ids)


def push_env(**task_params):
    """PointPush0 with the robot at (-0.6, 0) facing +x, the box at the origin and the goal at (0.7, 0)."""
    params = {"box_locations": [[0.0, 0.0]], "goal_locations": [[0.7, 0.0]], **task_params}
    env = gymnasium.make("safexp/PointPush0-v0", robot_location=[-0.6, 0.0], extents=[-1.2, -1.2, 1.2, 1.2],
                         task_params=params)
    env.reset(seed=0)
    world, task = env.unwrapped.world, env.unwrapped.task
    world.data.qpos[world._root_hinge] = 0.0  # face +x
    mujoco.mj_forward(world.model, world.data)
    task.reset(world)
    return env, world, task


def distances(world, task) -> tuple[float, float]:
    box = task.box.positions(world)[0, :2]
    return math.dist(box, task.goal_position(world)[:2]), math.dist(box, world.robot_pos[:2])


def test_each_step_rewards_box_to_goal_and_robot_to_box_progress():
    env, world, task = push_env()
    last_box_goal, last_robot_box = distances(world, task)
    start_box = task.box.positions(world)[0, :2].copy()
    moved_box_reward = 0.0
    for _ in range(35):
        _, reward, _, _, info = env.step(np.array([1.0, 0.0]))
        box_goal, robot_box = distances(world, task)
        assert reward == pytest.approx((last_box_goal - box_goal) + (last_robot_box - robot_box), abs=1e-9)
        moved_box_reward += last_box_goal - box_goal
        last_box_goal, last_robot_box = box_goal, robot_box
        assert info["goal_met"] is False
    assert task.box.positions(world)[0, 0] - start_box[0] > 0.05  # the robot pushed the box towards the goal
    assert moved_box_reward > 0.05


def test_robot_to_box_term_is_gated_by_the_null_distance():
    env, world, task = push_env(box_null_dist=2.5)  # no robot→box reward within 0.5 of the box
    last_box_goal, last_robot_box = distances(world, task)
    gated = 0
    for _ in range(35):
        _, reward, _, _, _ = env.step(np.array([1.0, 0.0]))
        box_goal, robot_box = distances(world, task)
        expected = last_box_goal - box_goal
        if last_robot_box > 2.5 * 0.2:
            expected += last_robot_box - robot_box
        else:
            gated += 1
        assert reward == pytest.approx(expected, abs=1e-9)
        last_box_goal, last_robot_box = box_goal, robot_box
    assert 0 < gated < 35  # the robot started outside the null distance and ended inside it


def test_box_on_the_goal_succeeds_and_the_goal_moves_clear_of_everything():
    env = gymnasium.make("safexp/PointPush0-v0", robot_location=[-0.6, 0.0],
                         task_params={"box_locations": [[0.2, 0.0]], "goal_locations": [[0.45, 0.0]]})
    env.reset(seed=0)
    world, task = env.unwrapped.world, env.unwrapped.task
    _, reward, terminated, truncated, info = env.step(np.zeros(2))
    assert info["goal_met"] is True and not terminated and not truncated
    assert reward == pytest.approx(1.0, abs=1e-3)  # nothing moved: the bonus alone
    goal = task.goal_position(world)[:2]
    assert math.dist(goal, [0.45, 0.0]) > 1e-3
    assert math.dist(goal, task.box.positions(world)[0, :2]) >= 0.4 + 0.2 - 1e-9  # goal and box keepouts
    assert math.dist(goal, world.robot_pos[:2]) >= 0.4 + 0.4 - 1e-9  # goal and robot keepouts
    assert env.step(np.zeros(2))[4]["goal_met"] is False  # the episode continues with the new goal
