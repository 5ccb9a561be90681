"""The CPO paper's Circle task: its reward on hand-set states, the strip's cost at its edge, horizons, the scene."""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

import safexp
from safexp.plugin import ParameterError

SPEED = 0.7


@pytest.fixture(scope="module")
def point_circle():
    env = gymnasium.make("safexp/PointCircle-v0")
    env.reset(seed=0)
    yield env.unwrapped
    env.close()


def set_state(env, xy, velocity) -> None:
    """Put the Point at ``xy`` with planar ``velocity`` (its root joints are slides along x, y and a yaw hinge)."""
    data = env.world.data
    data.qpos[:2], data.qvel[:2], data.qvel[2] = xy, velocity, 0.0
    mujoco.mj_forward(env.world.model, data)


def reward_at(env, xy, velocity) -> float:
    set_state(env, xy, velocity)
    return env.task.reward(env.world)


def test_tangential_speed_on_the_circle_earns_speed_times_radius(point_circle):
    d = point_circle.task.params.radius
    assert d == 15.0
    for angle in np.linspace(0, 2 * np.pi, 7):
        position = d * np.array([np.cos(angle), np.sin(angle)])
        counter_clockwise = SPEED * np.array([-np.sin(angle), np.cos(angle)])
        assert reward_at(point_circle, position, counter_clockwise) == pytest.approx(SPEED * d)
        assert reward_at(point_circle, position, -counter_clockwise) == pytest.approx(-SPEED * d)
        assert reward_at(point_circle, position, SPEED * position / d) == pytest.approx(0.0, abs=1e-12)  # radial


def test_the_circle_of_radius_d_gives_the_largest_reward_for_a_given_speed(point_circle):
    d = point_circle.task.params.radius
    best = SPEED * d
    for radius in np.linspace(0.5, 2 * d, 12):
        for heading in np.linspace(0, 2 * np.pi, 9):
            position = np.array([radius, 0.0])
            reward = reward_at(point_circle, position, SPEED * np.array([np.cos(heading), np.sin(heading)]))
            expected = radius * SPEED * np.sin(heading) / (1 + abs(radius - d))  # v · [−y, x] = r v_y on the x axis
            assert reward == pytest.approx(expected, abs=1e-12)
            assert reward <= best + 1e-12


@pytest.mark.parametrize(("x", "cost"), [(2.5 - 1e-6, 0.0), (2.5, 0.0), (2.5 + 1e-6, 1.0), (-2.5 - 1e-6, 1.0),
                                         (-2.5, 0.0), (0.0, 0.0), (-14.0, 1.0)])
def test_the_strip_costs_one_exactly_outside_x_limit(point_circle, x, cost):
    set_state(point_circle, [x, 3.0], [0.0, 0.0])
    info = point_circle.costs.evaluate(point_circle.world)
    assert info["cost"] == cost
    assert info["costs"] == {"safety": cost}


def test_point_circle_episodes_end_after_50_to_65_steps_drawn_per_seed():
    env = gymnasium.make("safexp/PointCircle-v0")
    assert env.spec.max_episode_steps == 65
    lengths = []
    for seed in range(12):
        env.reset(seed=seed)
        for step in range(1, 66):
            _, _, terminated, truncated, _ = env.step(np.zeros(2))
            assert not terminated
            if truncated:
                break
        assert env.unwrapped.task.horizon == step
        lengths.append(step)
    assert min(lengths) >= 50 and max(lengths) <= 65 and len(set(lengths)) > 3
    env.reset(seed=3)
    again = env.unwrapped.task.horizon
    assert again == lengths[3]  # the same seed draws the same horizon


@pytest.mark.parametrize(("env_id", "radius", "x_limit", "steps"), [
    ("safexp/PointCircle-v0", 15.0, 2.5, 65), ("safexp/AntCircle-v0", 10.0, 3.0, 500),
    ("safexp/HumanoidCircle-v0", 10.0, 2.5, 1000)])
def test_paper_settings_per_robot_and_the_drawn_strip(env_id, radius, x_limit, steps):
    env = gymnasium.make(env_id)
    unwrapped = env.unwrapped
    assert env.spec.max_episode_steps == steps
    assert unwrapped.task.params.radius == radius
    assert unwrapped.scene.elements["safe_strip"].x_limit == x_limit
    assert unwrapped.task.params.horizon in ([50, 65], [steps, steps])
    model = unwrapped.world.model
    walls = np.flatnonzero(model.geom_bodyid == model.body("safe_strip0").id)
    np.testing.assert_allclose(sorted(model.geom_pos[walls, 0]), [-x_limit, x_limit])
    assert not model.geom_contype[walls].any() and not model.geom_conaffinity[walls].any()  # visual only
    assert 0 < model.geom_rgba[walls[0], 3] < 1  # translucent
    assert [k for k in unwrapped.obs_layout if k.endswith("_lidar")] == []  # neither strip nor circle is seen
    obs, _ = env.reset(seed=1)
    np.testing.assert_allclose(obs[unwrapped.obs_layout["circle_position"]][:2], [0.0, 0.0])  # starts at the centre
    ring = np.flatnonzero(model.geom_bodyid == model.body("circle0").id)
    assert len(ring) == 48
    middles = np.linalg.norm(model.geom_pos[ring, :2], axis=1)  # chords of the circle: their middles lie inside it
    np.testing.assert_allclose(middles, radius * np.cos(np.pi / 48), atol=1e-5)


def test_every_robot_gets_a_circle_level():
    for robot in ("point", "car", "doggo", "ant", "humanoid"):
        env = gymnasium.make(f"safexp/{safexp.plugin.title(robot)}Circle0-v0")
        assert env.unwrapped.scene.costs[0].name == "safe_strip"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"task_params": {"horizon": [65, 50]}}, r"task 'circle': parameter 'horizon' must be \[low, high\] steps with 1 ≤ low ≤ high"),
    ({"task_params": {"radius": 0.0}}, r"parameter 'task_params.radius' of task 'circle' is 0.0 \(valid: \(0, inf\)\)"),
    ({"safe_strip": {"num": 2}}, r"safe_strip: there is one strip; 'num' must be 1 \(or 0 to remove it\), got 2"),
    ({"safe_strip": {"x_limit": -1.0}}, r"parameter 'safe_strip.x_limit' of hazard 'safe_strip' is -1.0"),
])
def test_bad_parameters_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        gymnasium.make("safexp/PointCircle-v0", **overrides)


@pytest.mark.parametrize(("env_id", "steps", "reach"), [("safexp/PointCircle-v0", 65, 60.0), ("safexp/PointGather-v0", 15, 12.0)])
def test_the_point_moves_about_one_unit_per_step_as_the_papers_point(env_id, steps, reach):
    # The paper's distances and horizons are in steps of a point mass moving up to 1 per step: at full throttle the
    # Point (0.7 s per step here) covers about as much, so the strip's edge (2.5) and the apples are within reach.
    env = gymnasium.make(env_id)  # nothing collides with apples or bombs: the path is straight
    env.reset(seed=0)
    world = env.unwrapped.world
    assert env.unwrapped.frame_skip == 350 and env.unwrapped.metadata["render_fps"] == pytest.approx(1 / 0.7)
    start = world.robot_pos[:2].copy()
    for _ in range(steps - 1):
        env.step(np.array([1.0, 0.0]))
    assert reach < np.linalg.norm(world.robot_pos[:2] - start) < 1.1 * steps
