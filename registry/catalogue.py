"""The catalogue of environment ids: every installed robot crossed with every task level.

``safexp/{Robot}{Task}{level}-v0`` (``safexp/PointGoal1-v0``) for each robot, each task and each level the
task defines (1000-step episodes; a level is a number, or a name: the hallway's ``WallsLidar`` makes
``safexp/PointHallwayWallsLidar-v0``); a task's named envs (``TaskSpec.named_envs``: ``safexp/PointCircle-v0``,
one robot on one level with its own episode length) when their robot is installed; ``safexp/Arena-v0`` builds an
environment from scene keys alone (``robot=``, ``task=``,
``scene_file=``, ...). Ids are registered with Gymnasium when :mod:`safexp` is imported.

A level that names an element or a cost term no installed plugin provides (its plugin is blocked, say) gives
no env id: :func:`missing_components` says what is missing, and ``safexp list envs`` shows it. Nor does an id
that two tasks would make (:func:`env_id_clashes`): ``safexp list envs`` and ``safexp plugins`` name both.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium

from safexp.registry import Registry, get_registry

EPISODE_STEPS = 1000
ARENA_ID = "safexp/Arena-v0"
ENTRY_POINT = "safexp.engine.env:SafetyEnv"
METADATA_KEYS = ("robot", "task", "level", "robot_params", "task_params", "costs")


@dataclass(frozen=True)
class SuiteEnv:
    """One catalogue entry."""

    id: str
    name: str  # the benchmark's name, e.g. PointGoal1
    robot: str
    task: str
    level: int | str
    description: str
    max_episode_steps: int = EPISODE_STEPS
    named: bool = False
    """A task's named env (``TaskSpec.named_envs``), not one of its level ids."""


def title(name: str) -> str:
    """``point`` → ``Point``, ``my_robot`` → ``MyRobot``."""
    return "".join(part.capitalize() for part in name.split("_"))


def suite_name(robot: str, task: str, level: int | str) -> str:
    """The benchmark name of a suite env, e.g. ``PointGoal1``."""
    return f"{title(robot)}{title(task)}{level}"


def _cost_names(level_config: dict) -> list[str]:
    """The names of the cost terms a level lists (each a name, or a ``{name, params}`` mapping)."""
    return [c["name"] if isinstance(c, dict) else c for c in level_config.get("costs", [])]


def _describe(level_config: dict) -> str:
    objects = [f"{v['num']} {k}" for k, v in level_config.items() if isinstance(v, dict) and v.get("num")]
    costs = _cost_names(level_config)
    return f"{', '.join(objects) or 'no obstacles'}; cost: {', '.join(costs) or 'none'}"


def missing_components(level_config: dict, registry: Registry) -> list[str]:
    """The elements and cost terms a level's scene names that no loaded plugin provides (``hazard 'vases'``).

    A mapping under a key that is neither an element nor a setting of the engine (``SceneSettings``) counts as a
    missing element."""
    from safexp.engine.scene import SETTINGS_KEYS  # here: the engine imports the registry

    hazards, costs = registry.components("hazards"), registry.components("costs")
    missing = [f"hazard '{key}'" for key, value in level_config.items()
               if isinstance(value, dict) and key not in METADATA_KEYS and key not in SETTINGS_KEYS
               and key not in hazards]
    return missing + [f"cost '{name}'" for name in _cost_names(level_config) if name not in costs]


def suite_envs(registry: Registry | None = None) -> dict[str, SuiteEnv]:
    """Every suite env id the installed plugins make, in a stable order (levels with missing components left out,
    and ids that two tasks would make: :func:`env_id_clashes`)."""
    candidates = _candidates(registry or get_registry())
    return {env_id: entries[0] for env_id, entries in candidates.items() if len(entries) == 1}


def env_id_clashes(registry: Registry | None = None) -> dict[str, list[SuiteEnv]]:
    """The env ids that several task levels or named envs would make (``Goal`` level 10 and a ``Goal1`` task's
    level 0, or a named env taking a suite name), each with the entries that claim it: none of them is registered,
    so that no plugin silently takes over another's env."""
    return {env_id: entries for env_id, entries in _candidates(registry or get_registry()).items() if len(entries) > 1}


def clash_message(env_id: str, entries: list[SuiteEnv]) -> str:
    """What :func:`env_id_clashes` found for one id, in a line: who claims it, and that it is not registered."""
    def claim(entry: SuiteEnv) -> str:
        return f"task '{entry.task}' " + (f"named env '{entry.name}'" if entry.named else f"level {entry.level!r}")

    return (f"env id {env_id} is claimed by {' and '.join(map(claim, entries))}, so it is not registered; rename "
            "one of them")


def _candidates(registry: Registry) -> dict[str, list[SuiteEnv]]:
    """Every env id the installed plugins would make, with the entries that claim it."""
    claims: dict[str, list[SuiteEnv]] = {}
    robots = registry.components("robots")
    for task in registry.components("tasks").values():
        for level, config in task.ordered_levels():
            if missing_components(dict(config), registry):
                continue
            for robot in robots:
                name = suite_name(robot, task.name, level)
                claims.setdefault(f"safexp/{name}-v0", []).append(SuiteEnv(
                    f"safexp/{name}-v0", name, robot, task.name, level, f"{robot} robot, {task.name} task: {_describe(dict(config))}"
                ))
        for name, named in task.named_envs.items():
            if named.robot not in robots or missing_components(dict(task.levels[named.level]), registry):
                continue
            about = named.description or f"{task.name} task, level {named.level}"
            claims.setdefault(f"safexp/{name}-v0", []).append(SuiteEnv(
                f"safexp/{name}-v0", name, named.robot, task.name, named.level,
                f"{named.robot} robot, {about}; time limit {named.max_episode_steps} steps", named.max_episode_steps,
                named=True,
            ))
    return claims


def unavailable_levels(registry: Registry | None = None) -> dict[str, list[str]]:
    """``{Task}{level}`` → what it misses, for every task level left out of the catalogue."""
    registry = registry or get_registry()
    return {f"{title(task.name)}{level}": missing for task in registry.components("tasks").values()
            for level, config in task.ordered_levels()
            if (missing := missing_components(dict(config), registry))}


def register_envs(registry: Registry | None = None) -> list[str]:
    """Register the catalogue (and ``safexp/Arena-v0``) with Gymnasium; returns the ids newly registered."""
    added = []
    if ARENA_ID not in gymnasium.registry:
        gymnasium.register(ARENA_ID, entry_point=ENTRY_POINT, max_episode_steps=EPISODE_STEPS)
        added.append(ARENA_ID)
    for env_id, entry in suite_envs(registry).items():
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=ENTRY_POINT, max_episode_steps=entry.max_episode_steps,
                               kwargs={"robot": entry.robot, "task": entry.task, "level": entry.level})
            added.append(env_id)
    return added
