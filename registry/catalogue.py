"""The catalogue of environment ids: every installed robot crossed with every task level.

``safexp/{Robot}{Task}{level}-v0`` (``safexp/PointGoal1-v0``) for each robot, each task and each level the
task defines; ``safexp/Arena-v0`` builds an environment from scene keys alone (``robot=``, ``task=``,
``scene_file=``, ...). Ids are registered with Gymnasium when :mod:`safexp` is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium

from safexp.registry import Registry, get_registry

EPISODE_STEPS = 1000
ARENA_ID = "safexp/Arena-v0"
ENTRY_POINT = "safexp.env:SafetyEnv"


@dataclass(frozen=True)
class SuiteEnv:
    """One catalogue entry."""

    id: str
    name: str  # the benchmark's name, e.g. PointGoal1
    robot: str
    task: str
    level: int
    description: str


def title(name: str) -> str:
    """``point`` → ``Point``, ``my_robot`` → ``MyRobot``."""
    return "".join(part.capitalize() for part in name.split("_"))


def suite_name(robot: str, task: str, level: int) -> str:
    """The benchmark name of a suite env, e.g. ``PointGoal1``."""
    return f"{title(robot)}{title(task)}{level}"


def _describe(level_config: dict) -> str:
    objects = [f"{v['num']} {k}" for k, v in level_config.items() if isinstance(v, dict) and v.get("num")]
    costs = [c["name"] if isinstance(c, dict) else c for c in level_config.get("costs", [])]
    return f"{', '.join(objects) or 'no obstacles'}; cost: {', '.join(costs) or 'none'}"


def suite_envs(registry: Registry | None = None) -> dict[str, SuiteEnv]:
    """Every suite env id the installed plugins make, in a stable order."""
    registry = registry or get_registry()
    entries: dict[str, SuiteEnv] = {}
    for task in registry.components("tasks").values():
        for level, config in sorted(task.levels.items()):
            for robot in registry.components("robots"):
                name = suite_name(robot, task.name, level)
                entries[f"safexp/{name}-v0"] = SuiteEnv(
                    f"safexp/{name}-v0", name, robot, task.name, level, f"{robot} robot, {task.name} task: {_describe(dict(config))}"
                )
    return entries


def register_envs(registry: Registry | None = None) -> list[str]:
    """Register the catalogue (and ``safexp/Arena-v0``) with Gymnasium; returns the ids newly registered."""
    added = []
    if ARENA_ID not in gymnasium.registry:
        gymnasium.register(ARENA_ID, entry_point=ENTRY_POINT, max_episode_steps=EPISODE_STEPS)
        added.append(ARENA_ID)
    for env_id, entry in suite_envs(registry).items():
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=ENTRY_POINT, max_episode_steps=EPISODE_STEPS,
                               kwargs={"robot": entry.robot, "task": entry.task, "level": entry.level})
            added.append(env_id)
    return added
