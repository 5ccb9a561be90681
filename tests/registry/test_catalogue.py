"""The env catalogue on the testkit plugin: every robot crossed with every task level, levels whose components
are missing left out with the reason, and the Gymnasium registration."""

from __future__ import annotations

import types
import warnings

import gymnasium
import pytest

from safexp.cli import main
from safexp.plugin import CostSpec, HazardSpec, NamedEnv, RobotSpec, TaskSpec, hookimpl
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


def test_an_env_id_two_tasks_would_make_is_registered_for_neither_and_named(testkit_registry, capsys):
    """A task whose named env takes another task's level id (or whose level makes the same id as another task's)
    takes nothing over: the id is left out, and `safexp list envs` names both claims."""
    from safexp.registry.catalogue import env_id_clashes

    thief = TaskSpec("mixed", lambda p: None, levels={0: {}}, named_envs={"PuckReach1": NamedEnv("puck", 0, 10)})
    add_plugin(testkit_registry, "thief", safexp_tasks=lambda: [thief])
    entries = suite_envs(testkit_registry)
    assert "safexp/PuckReach1-v0" not in entries and "safexp/PuckReach0-v0" in entries
    assert [(e.task, e.name) for e in env_id_clashes(testkit_registry)["safexp/PuckReach1-v0"]] == [
        ("reach", "PuckReach1"), ("mixed", "PuckReach1")]
    assert main(["list", "envs"]) == 0  # the testkit registry is the process-wide one
    assert main(["plugins", "--errors-only"]) == 1
    out = capsys.readouterr().out
    message = ("CONFLICT: env id safexp/PuckReach1-v0 is claimed by task 'reach' level 1 and task 'mixed' named env "
               "'PuckReach1', so it is not registered; rename one of them")
    assert out.count(message) == 2


@pytest.mark.parametrize(("levels", "message"), [
    ({0: {}, "Hard": {}}, None),  # numbered and named levels together: the catalogue orders them, numbers first
    ({0: None}, r"TaskSpec 'odd': level 0 must map scene keys to values, got None"),
    ({0: {"costs": 5}}, r"TaskSpec 'odd': level 0 must list its costs \(names or \{name, params\} mappings\), got 5"),
    ({(0,): {}}, r"TaskSpec 'odd': level \(0,\) must be a number or a name"),
])
def test_odd_task_levels_are_refused_by_the_record_or_ordered(testkit_registry, levels, message):
    if message is not None:
        with pytest.raises(TypeError, match=message):
            TaskSpec("odd", lambda p: None, levels=levels)
        return
    add_plugin(testkit_registry, "odd", safexp_tasks=lambda: [TaskSpec("odd", lambda p: None, levels=levels)])
    assert [e.level for e in suite_envs(testkit_registry).values() if e.task == "odd"] == [0, "Hard"]


def test_a_factory_that_makes_the_wrong_thing_is_named_when_the_env_is_made(testkit_registry):
    from safexp.plugin.errors import PluginLoadError

    add_plugin(testkit_registry, "stringy", safexp_robots=lambda: [RobotSpec("stringy", lambda p: "<mujoco/>")])
    with pytest.raises(PluginLoadError, match=r"robot 'stringy': its plugin's factory returned a str, not a "
                                              r"safexp.plugin.RobotModel; report it to the plugin's authors"):
        gymnasium.make(ARENA_ID, robot="stringy", task="reach", level=0)


def test_a_hazard_record_needs_placement_params():
    import dataclasses

    @dataclasses.dataclass
    class Size:
        size: float = 0.1

    with pytest.raises(TypeError, match=r"HazardSpec 'blob': params must extend safexp.plugin.PlacementParams"):
        HazardSpec("blob", lambda p: None, Size)
