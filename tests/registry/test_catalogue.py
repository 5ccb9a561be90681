"""The env catalogue on the testkit plugin: every robot crossed with every task level, levels whose components
are missing left out with the reason, and the Gymnasium registration."""

from __future__ import annotations

import types
import warnings

import gymnasium
import pytest

from safexp.plugin import CostSpec, HazardSpec, RobotSpec, TaskSpec, hookimpl
from safexp.registry.catalogue import ARENA_ID, register_envs, suite_envs, suite_name, title, unavailable_levels


def add_plugin(registry, name: str, **hooks) -> None:
    registry.register(types.SimpleNamespace(**{hook: hookimpl(f) for hook, f in hooks.items()}), name=name)


def test_names():
    assert (title("point"), title("my_robot"), title("a_b_c")) == ("Point", "MyRobot", "ABC")
    assert suite_name("my_robot", "reach", 2) == "MyRobotReach2"


def test_every_robot_with_every_level(testkit_registry):
    entries = suite_envs(testkit_registry)
    assert list(entries) == ["safexp/PuckReach0-v0", "safexp/PuckReach1-v0"]
    entry = entries["safexp/PuckReach1-v0"]
    assert (entry.name, entry.robot, entry.task, entry.level) == ("PuckReach1", "puck", "reach", 1)
    assert entry.description == "puck robot, reach task: 3 beacons, 2 crates; cost: far_from_centre, crate_contact"
    add_plugin(testkit_registry, "sled", safexp_robots=lambda: [RobotSpec("ice_sled", lambda p: None)])
    assert list(suite_envs(testkit_registry)) == ["safexp/PuckReach0-v0", "safexp/IceSledReach0-v0",
                                                  "safexp/PuckReach1-v0", "safexp/IceSledReach1-v0"]
    assert unavailable_levels(testkit_registry) == {}


def test_a_level_naming_a_missing_element_or_cost_is_left_out_saying_why(testkit_registry):
    patrol = TaskSpec("patrol", lambda p: None, levels={
        0: {"beacons": {"num": 1}},
        1: {"beacons": {"num": 1}, "cones": {"num": 3}, "costs": [{"name": "speeding"}, "far_from_centre"]},
    })
    add_plugin(testkit_registry, "patrol", safexp_tasks=lambda: [patrol])
    assert "safexp/PuckPatrol0-v0" in suite_envs(testkit_registry)
    assert "safexp/PuckPatrol1-v0" not in suite_envs(testkit_registry)
    assert unavailable_levels(testkit_registry) == {"Patrol1": ["hazard 'cones'", "cost 'speeding'"]}
    add_plugin(testkit_registry, "speed", safexp_costs=lambda: [CostSpec("speeding", lambda p: None)])
    assert unavailable_levels(testkit_registry) == {"Patrol1": ["hazard 'cones'"]}


def test_register_envs_adds_each_id_once_with_its_scene(testkit_registry):
    ids = ["safexp/PuckReach0-v0", "safexp/PuckReach1-v0"]
    for env_id in ids:
        gymnasium.registry.pop(env_id, None)
    try:
        added = register_envs(testkit_registry)
        assert [i for i in added if i != ARENA_ID] == ids
        assert register_envs(testkit_registry) == []
        spec = gymnasium.spec("safexp/PuckReach1-v0")
        assert spec.kwargs == {"robot": "puck", "task": "reach", "level": 1} and spec.max_episode_steps == 1000
        assert spec.entry_point == gymnasium.spec(ARENA_ID).entry_point == "safexp.engine.env:SafetyEnv"
        env = gymnasium.make("safexp/PuckReach1-v0")
        assert env.unwrapped.scene.elements["crates"].num == 2
    finally:
        for env_id in ids:
            gymnasium.registry.pop(env_id, None)


def test_a_conflict_takes_away_only_the_levels_that_need_the_name(testkit_registry):
    testkit_registry.strict = False
    add_plugin(testkit_registry, "rival", safexp_hazards=lambda: [HazardSpec("crates", lambda p: None)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a conflict is no load error
        assert list(suite_envs(testkit_registry)) == ["safexp/PuckReach0-v0"]
    assert unavailable_levels(testkit_registry) == {"Reach1": ["hazard 'crates'"]}


def test_a_failing_task_hook_takes_away_only_its_own_tasks(testkit_registry):
    testkit_registry.strict = False
    add_plugin(testkit_registry, "flaky", safexp_tasks=lambda: 1 / 0)
    with pytest.warns(RuntimeWarning, match="hook safexp_tasks raised ZeroDivisionError"):
        assert list(suite_envs(testkit_registry)) == ["safexp/PuckReach0-v0", "safexp/PuckReach1-v0"]
