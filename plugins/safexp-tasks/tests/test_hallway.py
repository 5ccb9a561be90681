"""The Hallway task: progress reward, the terminal bonus at the far end, the start, the corridor's figures, and every
hallway env id (the Lidar ones here; the vision ones once the scene has a ``vision`` key)."""

from __future__ import annotations

import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import safexp  # noqa: F401  (registers the ids)
from safexp.plugin import ParameterError, suite_envs

VARIANTS = ("Walls", "Poles", "People")
ROBOTS = ("Point", "Car", "Doggo")


def empty_hallway(**scene):
    """A Point alone in the suite's corridor at x = 1, heading exactly along it."""
    config = {"robot": "point", "task": "hallway", "extents": [0.0, -1.0, 8.0, 1.0], "robot_location": [1.0, 0.0],
              "task_params": {"start_heading": 0.0}, **scene}
    return gymnasium.make("safexp/Arena-v0", **config)


def test_progress_reward_on_a_straight_run():
    env = empty_hallway()
    env.reset(seed=0)
    world = env.unwrapped.world
    start = float(world.robot_pos[0])
    total, previous = 0.0, start
    for _ in range(60):
        _, reward, terminated, truncated, info = env.step(np.array([1.0, 0.0]))
        x = float(world.robot_pos[0])
        assert reward == pytest.approx(x - previous, abs=1e-12)
        previous, total = x, total + reward
        assert not (terminated or truncated) and info["cost"] == 0.0
    assert total == pytest.approx(previous - start) and total > 1.0  # about 1.1 m/s × 1.2 s
    for _ in range(40):  # backwards (once the momentum is spent): negative reward
        _, reward, *_ = env.step(np.array([-1.0, 0.0]))
    assert reward < 0


def test_reaching_the_far_end_terminates_with_the_bonus():
    env = empty_hallway()
    env.reset(seed=0)
    world = env.unwrapped.world
    for step in range(1000):
        before = float(world.robot_pos[0])
        _, reward, terminated, truncated, info = env.step(np.array([1.0, 0.0]))
        if terminated:
            break
        assert not info["goal_met"]
    assert terminated and not truncated and info["goal_met"]
    assert float(world.robot_pos[0]) >= 8.0 - 0.5
    assert reward == pytest.approx(float(world.robot_pos[0]) - before + 10.0)
    assert step < 400  # 6.5 m at the Point's top speed, 1.1 m/s, well inside 1000 steps


def test_the_start_is_near_the_first_end_heading_along_the_corridor():
    env = gymnasium.make("safexp/PointHallwayPolesLidar-v0")
    headings = []
    for seed in range(20):
        env.reset(seed=seed)
        world = env.unwrapped.world
        x, y, _ = world.robot_pos
        assert 0.4 <= x <= 1.2 and -0.4 <= y <= 0.4
        heading = float(np.arctan2(world.robot_mat[1, 0], world.robot_mat[0, 0]))
        assert abs(heading) <= 0.2 + 1e-9
        headings.append(heading)
    assert np.std(headings) > 0.05  # lightly randomised, not fixed
    scene = env.unwrapped.scene
    assert scene.settings.extents == [0.0, -1.0, 8.0, 1.0]
    assert (scene.task_params.length, scene.task_params.width) == (8.0, 2.0)


def test_the_corridor_walls_cost_nothing_unless_the_scene_says_so():
    env = empty_hallway(robot_location=[1.0, 0.75], task_params={"start_heading": 0.0})
    env.reset(seed=0)
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = np.pi / 2  # face the side wall at y = 1
    for _ in range(40):
        _, _, _, _, info = env.step(np.array([1.0, 0.0]))
    corridor = env.unwrapped.world.elements["corridor"]
    assert any(corridor.geom_mask[g] for g in world.robot_contacts()) and info["cost"] == 0.0
    env = empty_hallway(robot_location=[1.0, 0.75], costs=[{"name": "obstacle_contact",
                                                           "params": {"elements": ["corridor"]}}])
    env.reset(seed=0)
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = np.pi / 2
    costs = [env.step(np.array([1.0, 0.0]))[4]["cost"] for _ in range(40)]
    assert costs[-1] == 1.0


def test_the_extents_must_be_the_corridor():
    with pytest.raises(ParameterError, match=r"task 'hallway': the arena extents \[0.0, -1.0, 6.0, 1.0\] must be the "
                                             r"corridor \[0.0, -1.0, 8.0, 1.0\] \(length 8.0, width 2.0\); set extents"):
        empty_hallway(extents=[0.0, -1.0, 6.0, 1.0])
    with pytest.raises(ParameterError, match=r"parameter 'task_params.width' of task 'hallway' is -2.0 \(valid: \(0, inf\)\)"):
        empty_hallway(task_params={"width": -2.0})


def random_rollout(env: gymnasium.Env, steps: int) -> int:
    """``steps`` uniformly random actions from seed 0, resetting when an episode ends; checks every observation and
    reward is finite and the physics never diverged. :return: how many episodes ended."""
    env.action_space.seed(0)
    env.reset(seed=0)
    episodes = 0
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        parts = obs.values() if isinstance(obs, dict) else [obs]
        assert all(np.all(np.isfinite(part)) for part in parts) and np.isfinite(reward)
        assert "cost_exception" not in info
        if terminated or truncated:
            episodes += 1
            env.reset()
    return episodes


@pytest.mark.parametrize("robot", ROBOTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_lidar_id_passes_check_env_and_a_random_rollout(robot, variant):
    env_id = f"safexp/{robot}Hallway{variant}Lidar-v0"
    assert env_id in suite_envs()
    env = gymnasium.make(env_id)
    assert env.spec.max_episode_steps == 1000
    lidars = [k for k in env.unwrapped.obs_layout if k.endswith("_lidar")]
    assert lidars == [f"{variant.lower()}_lidar"]
    check_env(env.unwrapped, skip_render_check=True)
    assert random_rollout(env, 2000) >= 1  # the 1000-step limit ended at least one episode




@pytest.mark.parametrize("robot", ROBOTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_vision_id_observes_depth_from_the_head_and_passes_check_env(robot, variant):
    env_id = f"safexp/{robot}Hallway{variant}-v0"
    assert env_id in suite_envs()
    env = gymnasium.make(env_id)
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Dict)
    images = [s for s in space.spaces.values() if len(s.shape) == 3]
    assert [s.shape for s in images] == [(50, 50, 1)]
    assert not [k for k in env.unwrapped.obs_layout if k.endswith("_lidar")]
    check_env(env.unwrapped, skip_render_check=True)
    assert random_rollout(env, 2000) >= 1


def test_safexp_list_envs_shows_the_hallways():
    run = subprocess.run([sys.executable, "-m", "safexp.cli", "list", "envs"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for robot in ROBOTS:
        for variant in VARIANTS:
            lidar = f"safexp/{robot}Hallway{variant}Lidar-v0"
            assert any(line.split()[:1] == [lidar] and "hallway task: " in line for line in lines), lidar
            vision = f"safexp/{robot}Hallway{variant}-v0"
            assert any(line.split()[:1] == [vision] for line in lines), vision
