"""The engine on the Goal suite: spaces, formulas on hand-placed layouts, layouts, determinism, failures, rendering."""

from __future__ import annotations

import math

import gymnasium
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import safexp
from safexp.engine.env import ActionError
from safexp.plugin.errors import ParameterError, UnknownComponentError
from safexp.engine.layout import LayoutError

GOAL_SIZES = {"Point": (28, 60, 60, 2), "Car": (40, 72, 72, 2), "Doggo": (72, 104, 104, 12)}


def unwrapped(env: gymnasium.Env) -> safexp.engine.env.SafetyEnv:
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
        vases = unwrapped(env).world.elements["vases"]
        speed = float(np.linalg.norm(vases.velocities(unwrapped(env).world)[0]))
        touching = unwrapped(env).world.touching(unwrapped(env).world.robot_geom_mask, vases.geom_mask)
        assert info["cost_vases"] == pytest.approx(touching + (speed if speed >= 1e-4 else 0.0))
        contact += touching
        velocity += speed
    assert contact > 0 and velocity > 0
    assert np.linalg.norm(vases.positions(unwrapped(env).world)[0, :2] - [0.35, 0.0]) > 0.05  # pushed away


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


@pytest.mark.parametrize("bearing_bins, distance", [(0.0, 1.0), (1.5, 0.6), (12.25, 2.0)])
def test_goal_lidar_reads_bearing_and_distance_with_aliasing(bearing_bins, distance):
    angle = bearing_bins * 2 * np.pi / 16
    goal = [distance * math.cos(angle), distance * math.sin(angle)]
    env = gymnasium.make("safexp/PointGoal0-v0", robot_location=[0.0, 0.0], task_params={"goal_locations": [goal]},
                         extents=[-2.5, -2.5, 2.5, 2.5])
    env.reset(seed=0)
    face_east(env)
    lidar = unwrapped(env)._observe()[unwrapped(env).obs_layout["goal_lidar"]]
    reading = (3.0 - distance) / 3.0
    b, alias = int(bearing_bins), bearing_bins - int(bearing_bins)
    expected = np.zeros(16)
    expected[b] = reading
    expected[(b + 1) % 16] = alias * reading
    expected[(b - 1) % 16] = (1 - alias) * reading
    np.testing.assert_allclose(lidar, expected, atol=1e-6)


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


def test_impossible_layout_raises_a_clear_error():
    env = gymnasium.make("safexp/PointGoal1-v0", hazards={"num": 60, "keepout": 0.3})
    with pytest.raises(LayoutError, match=r"no layout found in 10000 tries: 'hazards\d+' \(keepout 0.3.*could not be placed"):
        env.reset(seed=0)
    with pytest.raises(LayoutError, match="leave no room once shrunk by its keepout 0.6"):
        gymnasium.make("safexp/PointGoal1-v0", hazards={"keepout": 0.6, "placements": [[0, 0, 1, 1]]})


def rollout(env_id: str, seed: int, steps: int = 200, **kwargs):
    env = gymnasium.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(123).uniform(-1, 1, size=(steps, *env.action_space.shape))
    trace = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        trace.append(np.concatenate([obs, [reward, info["cost"]]]))
        if terminated or truncated:
            obs, _ = env.reset()
    return np.concatenate(trace)


@pytest.mark.parametrize("env_id", ["safexp/PointGoal2-v0", "safexp/CarGoal1-v0", "safexp/DoggoGoal1-v0"])
def test_same_seed_same_trajectory(env_id):
    a, b = rollout(env_id, 7), rollout(env_id, 7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, rollout(env_id, 8))


def test_action_noise_is_seeded():
    assert np.array_equal(rollout("safexp/PointGoal1-v0", 1, 50, action_noise=0.1), rollout("safexp/PointGoal1-v0", 1, 50, action_noise=0.1))
    assert not np.array_equal(rollout("safexp/PointGoal1-v0", 1, 50, action_noise=0.1), rollout("safexp/PointGoal1-v0", 1, 50))


def test_unstable_physics_ends_the_episode_without_raising():
    env = gymnasium.make("safexp/PointGoal1-v0", robot_params={"drive_gear": 1e9, "force_limit": 1e9})
    env.reset(seed=0)
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(np.ones(2))
        if truncated:
            break
    assert truncated and not terminated and reward == -10.0
    assert info["cost_exception"] == 1.0 and np.all(np.isfinite(obs))
    env.reset(seed=1)  # and the env is usable again


def test_bad_actions_raise_clear_errors():
    env = gymnasium.make("safexp/PointGoal1-v0")
    env.reset(seed=0)
    with pytest.raises(ActionError, match=r"action must have shape \(2,\) for robot 'point', got shape \(3,\)"):
        env.step(np.zeros(3))
    with pytest.raises(ActionError, match=r"non-finite values: \[nan, 0.0\]"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ActionError, match="array of 2 numbers"):
        env.step("forward")


def test_overrides_are_validated_with_the_nearest_key():
    with pytest.raises(ParameterError, match=r"unknown scene key 'hazard'; did you mean 'hazards'\?"):
        gymnasium.make("safexp/PointGoal1-v0", hazard={"num": 3})
    with pytest.raises(ParameterError, match=r"hazard 'hazards' has no parameter 'nmu'; did you mean 'num'\?"):
        gymnasium.make("safexp/PointGoal1-v0", hazards={"nmu": 3})
    with pytest.raises(ParameterError, match=r"parameter 'size' of hazard 'hazards': Value 'big'"):
        gymnasium.make("safexp/PointGoal1-v0", hazards={"size": "big"})
    with pytest.raises(UnknownComponentError, match=r"unknown robot 'pointt'; did you mean 'point'\?"):
        safexp.make("pointt", "goal", 1)
    with pytest.raises(UnknownComponentError, match=r"task 'goal' has no level 7; valid levels: 0, 1, 2"):
        safexp.make("point", "goal", 7)


def test_nested_overrides_change_the_scene():
    env = gymnasium.make("safexp/PointGoal1-v0", hazards={"num": 12, "size": 0.25}, lidar_bins=8, extents=[-2, -2, 2, 2])
    scene = unwrapped(env).scene
    assert scene.elements["hazards"].num == 12 and scene.elements["hazards"].size == 0.25
    assert scene.elements["vases"].num == 1  # the level's other settings stay
    assert env.observation_space.shape == (12 + 3 * 8,)
    env.reset(seed=0)
    assert len(unwrapped(env).world.elements["hazards"].positions(unwrapped(env).world)) == 12


def test_model_is_compiled_once_and_layouts_move_bodies():
    env = gymnasium.make("safexp/PointGoal1-v0")
    model = unwrapped(env).world.model
    env.reset(seed=0)
    first = unwrapped(env).world.elements["hazards"].positions(unwrapped(env).world).copy()
    env.reset(seed=1)
    assert unwrapped(env).world.model is model
    assert not np.allclose(first, unwrapped(env).world.elements["hazards"].positions(unwrapped(env).world))


def red_pixels(frame: np.ndarray) -> int:
    return int(np.count_nonzero((frame[..., 0] > 150) & (frame[..., 1] < 80) & (frame[..., 2] < 80)))


def test_rendering_shows_the_warning_light_only_on_costly_steps():
    frames = {}
    for where, hazard in (("inside", [0.0, 0.0]), ("outside", [1.2, 1.2])):
        env = gymnasium.make("safexp/PointGoal1-v0", render_mode="rgb_array", robot_location=[0.0, 0.0],
                             hazards={"locations": [hazard]}, render_width=160, render_height=120)
        env.reset(seed=0)
        cost = env.step(np.zeros(2))[4]["cost"]
        frames[where] = (cost, env.render())
        env.close()
    (cost_in, frame_in), (cost_out, frame_out) = frames["inside"], frames["outside"]
    assert (cost_in, cost_out) == (1.0, 0.0)
    assert frame_in.shape == (120, 160, 3) and frame_in.dtype == np.uint8 and frame_in.std() > 10  # not blank
    assert red_pixels(frame_in) > 3 * red_pixels(frame_out) + 100  # the light, beyond the red robot itself
    depth = gymnasium.make("safexp/PointGoal0-v0", render_mode="depth_array", render_camera="fixedfar")
    depth.reset(seed=0)
    image = depth.render()
    assert image.ndim == 2 and np.isfinite(image).all() and image.max() > image.min()
    with pytest.raises(ParameterError, match=r"unknown render_camera 'fixedfra'; did you mean 'fixedfar'\?"):
        env = gymnasium.make("safexp/PointGoal0-v0", render_mode="rgb_array", render_camera="fixedfra")
        env.reset(seed=0)
        env.render()
