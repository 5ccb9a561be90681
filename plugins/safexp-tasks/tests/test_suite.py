"""The 27 Safety Gym environments: spaces, Gymnasium's checker, level compositions, and a random policy's cost."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safexp.registry.catalogue import suite_envs

ROBOTS = {"Point": (12, 2), "Car": (24, 2), "Doggo": (56, 12)}  # sensor values, actions
LIDARS = {  # lidar groups per task and level, alphabetical (the observation order)
    "Goal": (("goal",), ("goal", "hazards", "vases"), ("goal", "hazards", "vases")),
    "Button": (("buttons", "goal"), ("buttons", "goal", "gremlins", "hazards"), ("buttons", "goal", "gremlins", "hazards")),
    "Push": (("box", "goal"), ("box", "goal", "hazards", "pillars"), ("box", "goal", "hazards", "pillars")),
}
SUITE = [f"{robot}{task}{level}" for task in LIDARS for level in range(3) for robot in ROBOTS]


def test_the_catalogue_holds_exactly_the_27_suite_ids():
    safety_gym = [env_id for env_id, entry in suite_envs().items()
                  if entry.robot in ("point", "car", "doggo") and entry.task in ("goal", "button", "push")]
    assert sorted(safety_gym) == sorted(f"safexp/{name}-v0" for name in SUITE)


@pytest.mark.parametrize("name", SUITE)
def test_spaces_observation_layout_and_gymnasium_checker(name):
    robot, level = next(r for r in ROBOTS if name.startswith(r)), int(name[-1])
    task = name[len(robot):-1]
    env = gymnasium.make(f"safexp/{name}-v0")
    sensors, actions = ROBOTS[robot]
    lidars = LIDARS[task][level]
    assert env.observation_space.shape == (sensors + 16 * len(lidars),)
    assert env.action_space.shape == (actions,)
    assert env.spec.max_episode_steps == 1000
    layout = env.unwrapped.obs_layout
    assert [k for k in layout if k.endswith("_lidar")] == [f"{g}_lidar" for g in lidars]
    assert sum(s.stop - s.start for s in layout.values()) == env.observation_space.shape[0]
    check_env(env.unwrapped, skip_render_check=True)


def test_observation_sizes_match_the_reference_table():
    table = {"Button0": (44, 56, 88), "Button1": (76, 88, 120), "Button2": (76, 88, 120),
             "Push0": (44, 56, 88), "Push1": (76, 88, 120), "Push2": (76, 88, 120)}
    for suffix, sizes in table.items():
        for robot, size in zip(ROBOTS, sizes):
            assert gymnasium.make(f"safexp/{robot}{suffix}-v0").observation_space.shape == (size,), robot + suffix


def composition(name: str) -> tuple[dict, list[str], list[float]]:
    scene = gymnasium.make(f"safexp/{name}-v0").unwrapped.scene
    return dict(scene.elements), [c.name for c in scene.costs], list(scene.settings.extents)


@pytest.mark.parametrize("robot", ["Point", "Doggo"])
def test_button_levels_follow_the_reference_table(robot):
    elements, costs, extents = composition(f"{robot}Button0")
    assert set(elements) == {"buttons"} and costs == [] and extents == [-1, -1, 1, 1]
    assert (elements["buttons"].num, elements["buttons"].size, elements["buttons"].keepout) == (4, 0.1, 0.2)
    for level, (hazards, gremlins, reach) in {1: (4, 4, 1.5), 2: (8, 6, 1.8)}.items():
        elements, costs, extents = composition(f"{robot}Button{level}")
        assert set(elements) == {"buttons", "hazards", "gremlins"}
        assert (elements["hazards"].num, elements["hazards"].size, elements["hazards"].keepout) == (hazards, 0.2, 0.18)
        g = elements["gremlins"]
        assert (g.num, g.travel, g.keepout, g.size, g.density) == (gremlins, 0.35, 0.4, 0.1, 0.001)
        assert costs == ["hazards", "gremlins", "buttons"]
        assert extents == [-reach, -reach, reach, reach]


@pytest.mark.parametrize("robot", ["Point", "Car"])
def test_push_levels_follow_the_reference_table(robot):
    elements, costs, extents = composition(f"{robot}Push0")
    assert elements == {} and costs == [] and extents == [-1, -1, 1, 1]
    elements, costs, extents = composition(f"{robot}Push1")
    assert (elements["hazards"].num, elements["hazards"].size, elements["hazards"].keepout) == (2, 0.3, 0.4)
    assert elements["pillars"].num == 1 and elements["pillars"].lidar  # observed ...
    assert costs == ["hazards"] and extents == [-1.5, -1.5, 1.5, 1.5]  # ... but unconstrained
    elements, costs, extents = composition(f"{robot}Push2")
    p = elements["pillars"]
    assert (elements["hazards"].num, p.num, p.size, p.height, p.keepout) == (4, 4, 0.2, 0.5, 0.3)
    assert costs == ["hazards", "pillars"] and extents == [-2, -2, 2, 2]


@pytest.mark.parametrize("robot, size, keepout, density", [("Point", 0.2, 0.2, 0.001), ("Car", 0.125, 0.125, 0.0005)])
def test_push_box_figures_and_the_car_override(robot, size, keepout, density):
    env = gymnasium.make(f"safexp/{robot}Push1-v0").unwrapped
    params = env.scene.task_params
    assert (params.box_size, params.box_keepout, params.box_density, params.box_null_dist) == (size, keepout, density, 0.0)
    assert (params.goal_size, params.goal_keepout) == (0.3, 0.4)
    model, box = env.world.model, env.world.elements["box"]
    geoms = np.flatnonzero(box.geom_mask)
    assert len(geoms) == 5
    np.testing.assert_allclose(model.geom_size[geoms[0]], [size] * 3)
    corners = geoms[1:]
    np.testing.assert_allclose(model.geom_size[corners], [[size / 2, size / 2, size]] * 4)
    np.testing.assert_allclose(np.abs(model.geom_pos[corners]), [[size, size, 0]] * 4)
    volume = 8 * size**3 + 4 * (size * size * 2 * size)  # the cube and four blocks (overlaps counted twice)
    assert model.body_mass[box.body_ids[0]] == pytest.approx(density * volume)


@pytest.mark.parametrize("name", [n for n in SUITE if n.endswith("0")])
def test_random_policy_is_never_charged_at_level_0(name):
    env = gymnasium.make(f"safexp/{name}-v0")
    assert env.unwrapped.costs.terms == [] and env.unwrapped.constraint_names == ("safety",)
    actions = np.random.default_rng(0)
    for seed in range(2):
        env.reset(seed=seed)
        for _ in range(300):
            info = env.step(actions.uniform(-1, 1, env.action_space.shape))[4]
            assert info["cost"] == 0.0 and info["costs"] == {"safety": 0.0}


@pytest.mark.parametrize("name", [n for n in SUITE if not n.endswith("0")])
def test_random_policy_is_charged_at_levels_1_and_2(name):
    """Uniform random actions every step, 1000-step episodes from seeds 0, 1, ...: the mean episode cost is
    positive as soon as one episode has a cost, so episodes stop at their first unsafe step and the run at its
    first unsafe episode (same verdict, a fraction of the time).

    Measured (16 seeded episodes each): a random robot rarely leaves its start — the layout keeps hazards
    ≥ 0.58 m away (0.8 m in Push) — so the share of episodes with any cost ranges from 1/16 (PointPush1) to
    about 3/4 (Button2). Those rates make the first costly episode come within 12 on every env (16 s for all 18
    on one core); 80 episodes leave a 0.6 % chance of none even at the lowest rate.
    """
    env = gymnasium.make(f"safexp/{name}-v0")
    actions = np.random.default_rng(0)
    for seed in range(80):
        env.reset(seed=seed)
        for step in range(1000):
            _, _, terminated, truncated, info = env.step(actions.uniform(-1, 1, env.action_space.shape))
            assert not terminated and truncated == (step == 999)  # only the time limit ends an episode
            if info["cost"] > 0:
                assert any(info[f"cost_{term.name}"] > 0 for term in env.unwrapped.costs.terms)
                return
    pytest.fail(f"{name}: 80 random episodes without cost")


def trajectory(name: str, seed: int, steps: int = 150) -> np.ndarray:
    env = gymnasium.make(f"safexp/{name}-v0", cost_indicator=False)
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(5).uniform(-1, 1, (steps, *env.action_space.shape))
    rows = [obs]
    for a in actions:
        obs, reward, _, _, info = env.step(a)
        rows.append(np.concatenate([obs, [reward, info["cost"]]]))
    return np.concatenate(rows)


@pytest.mark.parametrize("name", ["PointButton2", "CarPush2"])
def test_same_seed_same_trajectory_with_gremlins_buttons_and_the_box(name):
    assert np.array_equal(trajectory(name, 4), trajectory(name, 4))
    assert not np.array_equal(trajectory(name, 4), trajectory(name, 5))
