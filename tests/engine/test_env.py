"""The environment on testkit scenes (a puck reaching for beacons, crates to bump into): spaces, rewards and
costs, layouts, determinism, failures, overrides, and rendering."""

from __future__ import annotations

import math
import time

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import safexp
from safexp.engine.env import ActionError, SafetyEnv
from safexp.engine.layout import LayoutError
from safexp.plugin.errors import ParameterError, UnknownComponentError

SENSORS = 3 + 2 + 9  # velocimeter, the yaw hinge as (sin, cos), the antenna's ball joint as a rotation matrix


def make(level: int | None = 0, **scene) -> gymnasium.Env:
    """A testkit env through ``safexp.make`` (Gymnasium's wrappers included)."""
    return safexp.make("puck", "reach", level, **scene)


@pytest.mark.parametrize("level, lidars", [(0, ["beacons_lidar"]), (1, ["beacons_lidar", "crates_lidar"])])
def test_spaces_layout_and_gymnasium_checker(level, lidars):
    env = make(level)
    assert env.observation_space.shape == (SENSORS + 16 * len(lidars),)
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    assert env.spec.max_episode_steps == 1000
    layout = env.unwrapped.obs_layout
    assert list(layout) == ["velocimeter", "yaw", "antenna", *lidars]
    assert sum(s.stop - s.start for s in layout.values()) == env.observation_space.shape[0]
    check_env(env.unwrapped, skip_render_check=True)


def test_the_env_created_hook_sees_every_env():
    from safexp_testkit.plugin import CREATED_ENVS

    env = SafetyEnv(robot="puck", task="reach", level=1)
    assert CREATED_ENVS[-1] is env
    assert env.scene.level == 1 and env.frame_skip == 10


def test_the_dense_reward_is_clipped_and_the_bonus_comes_after_the_clip():
    far = make(None, extents=[-15, -15, 15, 15], robot_location=[0.0, 0.0], beacons={"num": 1, "locations": [[12.0, 0.0]]})
    far.reset(seed=0)
    assert far.step(np.zeros(2))[1] == -10.0  # −12 clipped to −10
    near = make(None, robot_location=[0.0, 0.0], beacons={"num": 1, "locations": [[0.1, 0.0]]})
    near.reset(seed=0)
    _, reward, terminated, truncated, info = near.step(np.zeros(2))
    world = near.unwrapped.world
    assert info["goal_met"] is True and not terminated and not truncated
    assert reward == pytest.approx(-0.1 + 1.0, abs=1e-3)  # the distance before the beacon moved, then the bonus
    beacon = world.elements["beacons"].positions(world)[0]
    assert math.dist(beacon[:2], world.robot_pos[:2]) >= 0.4 + 0.3  # resampled clear of the robot's keepout
    assert near.step(np.zeros(2))[4]["goal_met"] is False


def test_no_room_for_a_new_goal_ends_the_episode_as_truncated():
    env = make(None, extents=[-0.5, -0.5, 0.5, 0.5], robot_location=[0.0, 0.0], beacons={"num": 1, "locations": [[0.1, 0.0]]})
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(np.zeros(2))
    assert info["goal_met"] is True and truncated and not terminated


def test_costs_by_term_and_constraint_as_indicators_or_raw_values():
    scene = dict(robot_location=[1.0, 0.0], crates={"num": 1, "locations": [[1.12, 0.0]]},
                 beacons={"locations": [[-1.0, -1.0], [-1.0, 1.0], [0.0, 1.2]]})
    env = make(1, **scene)
    assert env.unwrapped.constraint_names == ("safety", "collisions")
    env.reset(seed=0)
    info = env.step(np.zeros(2))[4]
    assert (info["cost_far_from_centre"], info["cost_crate_contact"]) == (1.0, 1.0)
    assert info["costs"] == {"safety": 1.0, "collisions": 1.0} and info["cost"] == 1.0
    raw = make(1, cost_indicator=False, **scene)
    raw.reset(seed=0)
    world = raw.unwrapped.world
    crates = world.elements["crates"]
    info = raw.step(np.zeros(2))[4]
    contacts = world.touching(world.robot_geom_mask, crates.geom_mask)
    assert contacts >= 1 and info["cost_crate_contact"] == contacts
    assert info["cost_far_from_centre"] == pytest.approx(math.hypot(*world.robot_pos[:2]) - 0.5)
    assert info["costs"] == {"safety": info["cost_far_from_centre"], "collisions": contacts}
    assert info["cost"] == pytest.approx(info["cost_far_from_centre"] + contacts)
    zero = raw.reset(seed=0)[1]
    assert zero == {"cost_far_from_centre": 0.0, "cost_crate_contact": 0.0, "costs": {"safety": 0.0, "collisions": 0.0},
                    "cost": 0.0, "goal_met": False}


def test_cost_entries_are_merged_by_name_regrouped_and_disabled():
    merged = make(1, costs=[{"name": "far_from_centre", "params": {"limit": 1.0}},
                            {"name": "crate_contact", "constraint": "safety"}]).unwrapped
    assert [(c.name, c.constraint) for c in merged.scene.costs] == [("far_from_centre", "safety"), ("crate_contact", "safety")]
    assert merged.scene.costs[0].params.limit == 1.0 and merged.constraint_names == ("safety",)
    disabled = make(1, costs=[{"name": "crate_contact", "enabled": False}]).unwrapped
    assert disabled.constraint_names == ("safety",) and [t.name for t in disabled.costs.terms] == ["far_from_centre"]
    none = make(0, costs=[{"name": "far_from_centre", "enabled": False}])
    assert none.unwrapped.costs.terms == [] and none.unwrapped.constraint_names == ("safety",)
    none.reset(seed=0)
    assert none.step(np.ones(2))[4] == {"costs": {"safety": 0.0}, "cost": 0.0, "goal_met": False}


def test_layouts_respect_keepouts_and_the_arena():
    env = make(1)
    world = env.unwrapped.world
    placements = world._placements
    keepouts = np.array([p.keepout for _, _, p in placements])
    assert [p.label for _, _, p in placements] == ["robot", "beacons0", "beacons1", "beacons2", "crates0", "crates1"]
    for seed in range(100):
        env.reset(seed=seed)
        xy = np.array([world.robot_pos[:2]] + [owner.positions(world)[i, :2] for owner, i, _ in placements[1:]])
        assert np.all(np.abs(xy) <= 1.5 - keepouts[:, None] + 1e-9), seed  # inside the arena, shrunk by the keepout
        dist = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
        assert np.all(dist >= (keepouts[:, None] + keepouts[None]) - 1e-9), seed


def test_placements_and_fixed_locations_are_honoured():
    env = make(1, robot_placements=[[-1.5, -1.5, -0.5, 1.5]], beacons={"placements": [[0.5, -1.5, 1.5, 1.5]]},
               crates={"locations": [[0.0, 0.0]]}, robot_keepout=0.2)
    world = env.unwrapped.world
    beacons, crates = world.elements["beacons"], world.elements["crates"]
    for seed in range(20):
        env.reset(seed=seed)
        assert -1.5 + 0.2 <= world.robot_pos[0] <= -0.5 - 0.2
        assert np.all(beacons.positions(world)[:, 0] >= 0.5 + 0.3)
        np.testing.assert_allclose(crates.positions(world)[0], [0.0, 0.0, 0.08], atol=1e-9)  # resting on the floor
    assert not np.allclose(crates.positions(world)[1, :2], [0.0, 0.0])


def test_an_impossible_layout_raises_a_clear_error_when_the_env_is_built():
    started = time.perf_counter()
    with pytest.raises(LayoutError, match=r"no layout found in 100 tries: 'beacons\d+' \(keepout 0.3.*could not be placed"):
        make(0, beacons={"num": 60, "keepout": 0.3})
    assert time.perf_counter() - started < 10  # bounded trial placements, not 10,000 layouts at the first reset
    with pytest.raises(LayoutError, match="leave no room once shrunk by its keepout 0.6"):
        make(0, beacons={"keepout": 0.6, "placements": [[0, 0, 1, 1]]})


def rollout(level: int, seed: int, steps: int = 200, **scene) -> np.ndarray:
    env = make(level, **scene)
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(123).uniform(-1, 1, size=(steps, *env.action_space.shape))
    trace = [obs]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        trace.append(np.concatenate([obs, [reward, info["cost"]]]))
        if terminated or truncated:
            obs, _ = env.reset()
    return np.concatenate(trace)


@pytest.mark.parametrize("level", [0, 1])
def test_same_seed_same_trajectory(level):
    a, b = rollout(level, 7), rollout(level, 7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, rollout(level, 8))


def test_action_noise_is_seeded():
    assert np.array_equal(rollout(0, 1, 50, action_noise=0.1), rollout(0, 1, 50, action_noise=0.1))
    assert not np.array_equal(rollout(0, 1, 50, action_noise=0.1), rollout(0, 1, 50))


def test_unstable_physics_ends_the_episode_without_raising():
    env = make(0, robot_params={"gear": 1e12, "force": 1e12})
    env.reset(seed=0)
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(np.ones(2))
        if truncated:
            break
    assert truncated and not terminated and reward == -10.0
    assert info["cost_exception"] == 1.0 and info["cost"] == 0.0 and np.all(np.isfinite(obs))
    obs, _ = env.reset(seed=1)  # and the env is usable again
    assert np.all(np.isfinite(obs)) and np.all(np.isfinite(env.step(np.zeros(2))[0]))


def test_bad_actions_raise_clear_errors():
    env = make(0)
    env.reset(seed=0)
    with pytest.raises(ActionError, match=r"action must have shape \(2,\) for robot 'puck', got shape \(3,\)"):
        env.step(np.zeros(3))
    with pytest.raises(ActionError, match=r"non-finite values: \[nan, 0.0\]"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ActionError, match=r"non-finite values: \[0.0, inf\]"):
        env.step([0.0, math.inf])
    with pytest.raises(ActionError, match="array of 2 numbers"):
        env.step("forward")
    assert env.step([2.0, -3.0])[0].shape == env.observation_space.shape  # out of range is clipped, not an error
    np.testing.assert_allclose(env.unwrapped.world.data.ctrl, [1.0, -1.0])


@pytest.mark.parametrize("scene, error, message", [
    ({"beacon": {"num": 3}}, ParameterError, r"unknown scene key 'beacon'; did you mean 'beacons'\?"),
    ({"beacons": {"nmu": 3}}, ParameterError, r"hazard 'beacons' has no parameter 'beacons.nmu'; did you mean 'num'\?"),
    ({"beacons": {"size": "big"}}, ParameterError, r"parameter 'beacons.size' of hazard 'beacons': Value 'big'"),
    ({"robot_params": {"forse": 1.0}}, ParameterError, r"robot 'puck' has no parameter 'robot_params.forse'; did you mean 'force'\?"),
    ({"task_params": {"radus": 1.0}}, ParameterError, r"task 'reach' has no parameter 'task_params.radus'; did you mean 'radius'\?"),
    ({"costs": [{"name": "far_from_centr"}]}, UnknownComponentError,
     r"unknown cost 'far_from_centr'; did you mean 'far_from_centre'\?"),
    ({"costs": [{"name": "far_from_centre", "constrain": "x"}]}, ParameterError,
     r"cost entry 'far_from_centre' has no key 'constrain'; did you mean 'constraint'\?"),
    ({"lidar_bins": 0}, ParameterError, r"parameter 'lidar_bins' of the scene settings is 0 \(valid: \[1, 1024\]\)"),
    ({"beacons": {"locations": [[0, 0, 0]]}}, ParameterError, r"beacons.locations must be \[x, y\] positions"),
    ({"extents": [-1, -1, 1]}, ParameterError, r"extents must be \[xmin, ymin, xmax, ymax\] with min < max"),
])
def test_overrides_are_validated_with_the_nearest_key(scene, error, message):
    with pytest.raises(error, match=message):
        make(0, **scene)


def test_unknown_components_and_levels_name_the_valid_ones():
    with pytest.raises(UnknownComponentError, match=r"unknown robot 'pukc'; did you mean 'puck'\?"):
        safexp.make("pukc", "reach", 0)
    with pytest.raises(UnknownComponentError, match=r"unknown task 'raech'; did you mean 'reach'\?"):
        safexp.make("puck", "raech", 0)
    with pytest.raises(UnknownComponentError, match=r"task 'reach' has no level 7; valid levels: 0, 1"):
        safexp.make("puck", "reach", 7)
    with pytest.raises(ParameterError, match=r"unknown render_mode 'rgbarray'; did you mean 'rgb_array'\?"):
        SafetyEnv(robot="puck", task="reach", level=0, render_mode="rgbarray")


def test_nested_overrides_change_the_scene():
    env = make(1, beacons={"num": 5, "size": 0.1}, lidar_bins=8, extents=[-2, -2, 2, 2])
    scene = env.unwrapped.scene
    assert scene.elements["beacons"].num == 5 and scene.elements["beacons"].size == 0.1
    assert scene.elements["crates"].num == 2 and scene.elements["crates"].size == 0.08  # the level's other settings stay
    assert scene.settings.extents == [-2, -2, 2, 2]
    assert env.observation_space.shape == (SENSORS + 2 * 8,)
    env.reset(seed=0)
    world = env.unwrapped.world
    assert len(world.elements["beacons"].positions(world)) == 5
    without = make(1, crates={"num": 0}, costs=[{"name": "crate_contact", "enabled": False}]).unwrapped
    assert list(without.scene.elements) == ["beacons"]  # num 0 removes an element
    with pytest.raises(ParameterError, match=r"cost 'crate_contact' needs the element 'crates', which this scene does "
                                             r"not have; valid choices: beacons"):
        make(1, crates={"num": 0})


def test_model_is_compiled_once_and_layouts_move_bodies():
    env = make(1)
    world = env.unwrapped.world
    model = world.model
    env.reset(seed=0)
    first = {name: e.positions(world).copy() for name, e in world.elements.items()}
    robot = world.robot_pos.copy()
    env.reset(seed=1)
    assert env.unwrapped.world.model is model
    for name, element in world.elements.items():
        assert not np.allclose(first[name], element.positions(world)), name
    assert not np.allclose(robot, world.robot_pos)


def red_pixels(frame: np.ndarray) -> int:
    return int(np.count_nonzero((frame[..., 0] > 150) & (frame[..., 1] < 80) & (frame[..., 2] < 80)))


def test_rendering_shows_the_warning_light_only_on_costly_steps():
    frames = {}
    for where, robot in (("unsafe", [1.0, 0.0]), ("safe", [0.0, 0.0])):
        env = make(0, render_mode="rgb_array", robot_location=robot, render_width=160, render_height=120)
        env.reset(seed=0)
        cost = env.step(np.zeros(2))[4]["cost"]
        frames[where] = (cost, env.render())
        env.close()
    (cost_in, frame_in), (cost_out, frame_out) = frames["unsafe"], frames["safe"]
    assert (cost_in, cost_out) == (1.0, 0.0)
    assert frame_in.shape == (120, 160, 3) and frame_in.dtype == np.uint8 and frame_in.std() > 10  # not blank
    assert red_pixels(frame_in) > 3 * red_pixels(frame_out) + 100  # the light
    depth = make(0, render_mode="depth_array", render_camera="fixedfar")
    depth.reset(seed=0)
    image = depth.render()
    assert image.ndim == 2 and np.isfinite(image).all() and image.max() > image.min()
    vision = make(0, render_mode="rgb_array", render_camera="vision", render_width=64, render_height=48)
    vision.reset(seed=0)
    assert vision.render().shape == (48, 64, 3)
    with pytest.raises(ParameterError, match=r"unknown render_camera 'fixedfra'; did you mean 'fixedfar'\?"):
        make(0, render_mode="rgb_array", render_camera="fixedfra")  # when the env is built, not at its first frame


def test_render_without_a_render_mode_warns_and_returns_nothing():
    env = SafetyEnv(robot="puck", task="reach", level=0)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_mujoco_warnings_go_to_logging_not_to_a_file_in_the_working_directory(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    env = make(0)
    env.reset(seed=0)
    for _ in range(20):
        env.step(np.zeros(2))
    env.unwrapped.world.data.qvel[:] = 1e300  # diverges at the next step: MuJoCo warns and resets its data
    with caplog.at_level("WARNING", logger="safexp.mujoco"):
        _, reward, _, truncated, info = env.step(np.zeros(2))
    assert (reward, truncated, info["cost_exception"]) == (-10.0, True, 1.0)
    assert any("Nan, Inf or huge value in QVEL" in r.getMessage() for r in caplog.records if r.name == "safexp.mujoco")
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT
