"""Named benchmark ids (``TaskSpec.named_envs``) and the health check of robots that can fall: the records'
validation, the catalogue's entries and their Gymnasium registration."""

from __future__ import annotations

import types

import gymnasium
import pytest

from safexp.plugin import NamedEnv, RobotModel, TaskSpec, hookimpl
from safexp.registry.catalogue import register_envs, suite_envs

PUCK_LAP = TaskSpec("lap", lambda p: None, levels={0: {}}, named_envs={
    "PuckLap": NamedEnv("puck", 0, 77, "a paper's lap"), "SledLap": NamedEnv("ice_sled", 0, 50)})


def add_plugin(registry, name: str, **hooks) -> None:
    registry.register(types.SimpleNamespace(**{hook: hookimpl(f) for hook, f in hooks.items()}), name=name)


def test_a_named_env_is_catalogued_with_its_own_episode_length_when_its_robot_is_installed(testkit_registry):
    add_plugin(testkit_registry, "laps", safexp_tasks=lambda: [PUCK_LAP])
    entries = suite_envs(testkit_registry)
    entry = entries["safexp/PuckLap-v0"]
    assert (entry.name, entry.robot, entry.task, entry.level, entry.max_episode_steps) == ("PuckLap", "puck", "lap", 0, 77)
    assert entry.description == "puck robot, a paper's lap; time limit 77 steps"
    assert entries["safexp/PuckLap0-v0"].max_episode_steps == 1000  # the level id keeps the suite's length
    assert "safexp/SledLap-v0" not in entries  # no ice_sled robot installed
    try:
        register_envs(testkit_registry)
        spec = gymnasium.spec("safexp/PuckLap-v0")
        assert spec.max_episode_steps == 77
        assert spec.kwargs == {"robot": "puck", "task": "lap", "level": 0}
    finally:
        for env_id in ("safexp/PuckLap-v0", "safexp/PuckLap0-v0"):
            gymnasium.registry.pop(env_id, None)


@pytest.mark.parametrize(("named", "message"), [
    (NamedEnv("puck", 3, 10), r"TaskSpec 'lap': named env 'X' uses level 3, which the task does not define \(levels: \[0\]\)"),
    (NamedEnv("puck", 0, 0), r"TaskSpec 'lap': named env 'X' needs max_episode_steps ≥ 1, got 0"),
    ({"robot": "puck"}, r"TaskSpec 'lap': named env 'X' must be a NamedEnv"),
])
def test_a_bad_named_env_is_refused_when_the_record_is_made(named, message):
    with pytest.raises((ValueError, TypeError), match=message):
        TaskSpec("lap", lambda p: None, levels={0: {}}, named_envs={"X": named})


@pytest.mark.parametrize(("fields", "message"), [
    ({"healthy_height": (1.0, 0.5)}, r"healthy_height must be \(low, high\) with low < high, got \(1.0, 0.5\)"),
    ({"min_upright": 1.5}, r"min_upright must be in \[-1, 1\], got 1.5"),
])
def test_a_bad_health_band_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        RobotModel("<mujoco/>", **fields)


def test_only_a_robot_with_a_health_band_can_fall():
    assert not RobotModel("<mujoco/>").can_fall
    assert RobotModel("<mujoco/>", healthy_height=(0.2, 1.0)).can_fall
    assert RobotModel("<mujoco/>", min_upright=0.0).can_fall

