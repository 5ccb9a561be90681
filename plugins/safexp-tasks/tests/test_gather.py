"""The CPO paper's Gather task: collecting apples and bombs, their removal, the sensors, and a falling Ant."""

from __future__ import annotations

import math

import gymnasium
import mujoco
import numpy as np
import pytest

from safexp.plugin import ParameterError
from safexp_tasks.gather import REMOVED_AT


def point_gather(**overrides):
    env = gymnasium.make("safexp/PointGather-v0", **overrides)
    env.reset(seed=0)
    return env


def test_an_apple_at_the_robot_is_collected_once_and_leaves_the_arena():
    env = point_gather(apples={"locations": [[0.0, 0.0]]})
    unwrapped = env.unwrapped
    apples = unwrapped.world.elements["apples"]
    _, reward, terminated, truncated, info = env.step(np.zeros(2))
    assert reward == 10.0 and info["cost"] == 0.0 and not (terminated or truncated)
    np.testing.assert_allclose(apples.positions(unwrapped.world)[0, :2], [REMOVED_AT, REMOVED_AT])
    assert unwrapped.task.present["apples"].tolist() == [False, True]
    obs, reward, _, _, _ = env.step(np.zeros(2))
    assert reward == 0.0  # gone: not collected twice
    remaining = apples.positions(unwrapped.world)[1]
    assert math.hypot(*remaining[:2]) >= 2.0  # the other apple keeps the paper's spacing from the start
    lidar = obs[unwrapped.obs_layout["apples_lidar"]]
    assert lidar.max() == pytest.approx(max(0.0, (6.0 - math.hypot(*remaining[:2])) / 6.0), abs=1e-3)
    env.reset(seed=0)
    assert unwrapped.task.present["apples"].all()  # a new episode brings every apple back
    assert np.linalg.norm(apples.positions(unwrapped.world)[:, :2], axis=1).max() < 10


def test_a_bomb_at_the_robot_costs_one_and_is_deducted_from_the_reward():
    env = point_gather(bombs={"locations": [[0.5, 0.5]]})
    _, reward, _, _, info = env.step(np.zeros(2))
    assert info["cost"] == 1.0 and info["costs"] == {"safety": 1.0} and info["cost_bombs"] == 1.0
    assert reward == -1.0
    _, reward, _, _, info = env.step(np.zeros(2))
    assert info["cost"] == 0.0 and reward == 0.0  # counted once


def test_objects_just_outside_the_catch_range_are_not_collected():
    env = point_gather(apples={"locations": [[1.02, 0.0]]}, bombs={"locations": [[0.0, -1.02]]})
    _, reward, _, _, info = env.step(np.zeros(2))
    assert reward == 0.0 and info["cost"] == 0.0


def test_apple_and_bomb_lidars_read_a_known_layout():
    # The paper's sensors: 10 bins of 36° counter-clockwise from the robot's heading, range 6, reading (6 − d) / 6 of
    # the nearest object in the bin, no aliasing.
    env = point_gather(apples={"locations": [[3.0, 0.3], [0.0, -4.0]]}, bombs={"num": 1, "locations": [[-2.0, 2.0]]})
    unwrapped = env.unwrapped
    world = unwrapped.world
    world.data.qpos[2] = 0.0  # face +x
    mujoco.mj_forward(world.model, world.data)
    obs, *_ = env.step(np.zeros(2))
    apples, bombs = obs[unwrapped.obs_layout["apples_lidar"]], obs[unwrapped.obs_layout["bombs_lidar"]]
    expected_apples = np.zeros(10)
    expected_apples[0] = (6 - math.hypot(3.0, 0.3)) / 6  # bearing 5.7°
    expected_apples[7] = (6 - 4.0) / 6  # bearing 270°
    expected_bombs = np.zeros(10)
    expected_bombs[3] = (6 - math.hypot(2.0, 2.0)) / 6  # bearing 135°
    np.testing.assert_allclose(apples, expected_apples, atol=2e-3)
    np.testing.assert_allclose(bombs, expected_bombs, atol=2e-3)


@pytest.mark.parametrize(("env_id", "num_apples", "steps"), [("safexp/PointGather-v0", 2, 15), ("safexp/AntGather-v0", 8, 500)])
def test_paper_counts_horizons_and_placement(env_id, num_apples, steps):
    env = gymnasium.make(env_id)
    unwrapped = env.unwrapped
    assert env.spec.max_episode_steps == steps
    assert unwrapped.task.params.horizon == [steps, steps]
    elements = unwrapped.scene.elements
    assert (elements["apples"].num, elements["bombs"].num) == (num_apples, 8)
    assert elements["apples"].catch_range == elements["bombs"].catch_range == 1.0
    settings = unwrapped.scene.settings
    assert (settings.lidar_bins, settings.lidar_max_dist, settings.lidar_alias) == (10, 6.0, False)
    for seed in range(5):
        env.reset(seed=seed)
        xy = np.concatenate([unwrapped.world.elements[n].positions(unwrapped.world)[:, :2] for n in ("apples", "bombs")])
        assert np.all(np.abs(xy) <= 5.0)  # in the activity range (±6, less the keepout)
        assert np.linalg.norm(xy, axis=1).min() >= 2.0  # the robot starts at the centre, 2 from every object
        gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 99
        assert gaps.min() >= 2.0


def test_a_falling_ant_loses_ten_and_the_episode_ends():
    env = gymnasium.make("safexp/AntGather-v0")
    env.reset(seed=0)
    world = env.unwrapped.world
    world.data.qpos[2:7] = [0.6, 0.0, 1.0, 0.0, 0.0]  # on its back
    mujoco.mj_forward(world.model, world.data)
    _, reward, terminated, truncated, _ = env.step(np.zeros(8))
    assert terminated and not truncated and reward == -10.0


def test_gather_without_apples_is_named():
    with pytest.raises(ParameterError, match="task 'gather' needs the element 'apples'"):
        gymnasium.make("safexp/PointGather-v0", apples={"num": 0})


def test_a_positive_bomb_reward_is_refused_with_its_range():
    with pytest.raises(ParameterError, match=r"parameter 'task_params.reward_bomb' of task 'gather' is 1.0 \(valid: \(-inf, 0\]\)"):
        gymnasium.make("safexp/PointGather-v0", task_params={"reward_bomb": 1.0})
