"""One validated scene, built once and handed to any number of envs: no resolution again, the same envs."""

from __future__ import annotations

import pickle
from collections import Counter

import gymnasium
import numpy as np
import pytest

import safexp
import safexp.engine.env
import safexp.engine.scene
from safexp.engine.env import SafetyEnv, control_rate
from safexp.plugin.errors import ParameterError

SCENE_KEYS = {"crates": {"num": 3}, "lidar_bins": 8}


def trajectory(env: gymnasium.Env, steps: int = 150) -> list[np.ndarray]:
    """Observations, rewards, costs and flags of a fixed-seed rollout with seeded random actions."""
    rng = np.random.default_rng(3)
    obs, _ = env.reset(seed=11)
    rows = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, size=env.action_space.shape))
        rows += [obs, np.array([reward, info["cost"], terminated, truncated, info["goal_met"], *info["costs"].values()])]
    return rows


def assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch, testkit_registry) -> Counter:
    """Counts scene resolutions and registry lookups (by kind) from here on."""
    counts: Counter = Counter()
    resolve, configure, lookup = safexp.engine.scene.resolve_scene, safexp.engine.env.scene_config, testkit_registry.get

    def counting_resolve(*args, **kwargs):
        counts["resolve_scene"] += 1
        return resolve(*args, **kwargs)

    def counting_config(*args, **kwargs):
        counts["scene_config"] += 1
        return configure(*args, **kwargs)

    def counting_get(kind, name):
        counts[kind] += 1
        return lookup(kind, name)

    monkeypatch.setattr(safexp.engine.scene, "resolve_scene", counting_resolve)
    monkeypatch.setattr(safexp.engine.env, "scene_config", counting_config)
    monkeypatch.setattr(testkit_registry, "get", counting_get)
    return counts


@pytest.mark.parametrize("build", [
    lambda scene: SafetyEnv.from_scene(scene),
    lambda scene: SafetyEnv(scene=scene),
    lambda scene: gymnasium.make("safexp/Arena-v0", scene=scene),
    lambda scene: safexp.make(scene=scene),
], ids=["from_scene", "SafetyEnv(scene=)", "gymnasium.make", "safexp.make"])
def test_an_env_from_a_scene_resolves_nothing_and_looks_up_only_what_it_builds(build, resolutions):
    scene = safexp.scene_config("puck", "reach", 1, **SCENE_KEYS)
    assert resolutions["resolve_scene"] == 1
    resolutions.clear()
    env = build(scene)
    assert env.unwrapped.scene is scene
    assert resolutions["resolve_scene"] == resolutions["scene_config"] == 0
    # One lookup per component built: the robot, the task, each element, each cost term.
    assert resolutions == Counter(robots=1, tasks=1, hazards=len(scene.elements), costs=len(scene.costs))
    env.close()


def test_scene_keys_resolve_once(resolutions):
    SafetyEnv(robot="puck", task="reach", level=1, **SCENE_KEYS)
    assert resolutions["scene_config"] == resolutions["resolve_scene"] == 1


def test_an_env_from_a_scene_steps_like_the_env_from_its_keys(testkit_registry):
    scene = safexp.scene_config("puck", "reach", 1, **SCENE_KEYS)
    from_keys = trajectory(safexp.make("puck", "reach", 1, **SCENE_KEYS))
    assert_same(trajectory(gymnasium.make("safexp/Arena-v0", scene=scene)), from_keys)
    assert_same(trajectory(SafetyEnv.from_scene(scene)), from_keys)
    # A scene pickles (subprocess workers get it that way) and builds the same env on the other side.
    assert_same(trajectory(SafetyEnv.from_scene(pickle.loads(pickle.dumps(scene)))), from_keys)


def test_envs_sharing_a_scene_do_not_change_it(testkit_registry):
    scene = safexp.scene_config("puck", "reach", 1)
    before = pickle.dumps(scene)
    first, second = SafetyEnv.from_scene(scene), SafetyEnv.from_scene(scene)
    assert_same(trajectory(first, 50), trajectory(second, 50))
    assert pickle.dumps(scene) == before


def test_a_scene_comes_alone(testkit_registry):
    scene = safexp.scene_config("puck", "reach", 1)
    SafetyEnv(robot="puck", task="reach", level=1, scene=scene)  # a suite id's own keys, repeated: accepted
    with pytest.raises(ParameterError, match=r"scene keys were given too: level=0 \(the scene's: 1\), crates"):
        SafetyEnv(level=0, scene=scene, crates={"num": 1})
    with pytest.raises(ParameterError, match="scene keys were given too: scene_file"):
        SafetyEnv(scene=scene, scene_file="arena.yaml")
    with pytest.raises(ParameterError, match=r"scene must be a Scene from safexp.scene_config\(...\), got dict"):
        SafetyEnv(scene={"robot": "puck", "task": "reach"})


def test_render_fps_is_the_control_rate_of_each_env(testkit_registry):
    env = SafetyEnv.from_scene(safexp.scene_config("puck", "reach", 0))
    assert env.metadata["render_fps"] == 50 and isinstance(env.metadata["render_fps"], int)  # 1 / (0.002 s × 10)
    assert SafetyEnv.metadata["render_fps"] == 30  # the class's metadata is left alone
    assert gymnasium.make("safexp/Arena-v0", robot="puck", task="reach", level=0).metadata["render_fps"] == 50


def test_control_rate():
    assert control_rate(0.002, 10) == 50 and isinstance(control_rate(0.002, 10), int)
    assert control_rate(0.004, 10) == 25 and control_rate(0.01, 10) == 10
    assert control_rate(0.003, 7) == pytest.approx(1 / 0.021)
