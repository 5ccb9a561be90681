"""The environments an experiment's ``env`` config describes (the learner's backend vectorises them).

An env config is either a scene (``{robot, task, level, <scene keys>}``, built with :func:`safexp.make`) or
a Gymnasium id with keyword arguments (``{id: CartPole-v1, <kwargs>}``). Either may set ``max_episode_steps``;
a safexp env may set ``feedback: true`` (the previous reward and costs as inputs, :class:`safexp.FeedbackObservation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium

from safexp.plugin import ParameterError

SCENE_NAME_KEYS = ("robot", "task", "level")


def suite_name(env_config: Mapping[str, Any]) -> str | None:
    """The Safety Gym name (``PointGoal1``) of an env config that is exactly a suite env, else ``None``.

    A suite env is ``{robot, task, level}`` with nothing else, or ``{id: safexp/<Name>-v0}`` without kwargs;
    any scene override or episode length makes it a custom env (its scores are not comparable); ``feedback``
    (one more input, the same env) does not.
    """
    from safexp.plugin import suite_envs
    from safexp.plugin import suite_name as catalogue_name

    env_config = {key: value for key, value in env_config.items() if key != "feedback"}
    if set(env_config) == {"id"}:
        entry = suite_envs().get(str(env_config["id"]))
        return entry.name if entry else None
    if set(env_config) == set(SCENE_NAME_KEYS) and env_config["level"] is not None:
        return catalogue_name(str(env_config["robot"]), str(env_config["task"]), env_config["level"])
    return None


def env_label(env_config: Mapping[str, Any]) -> str:
    """A short name for run directories and tables: the suite name, ``{Robot}{Task}`` plus ``-custom`` for a
    customised scene, or the Gymnasium id without its namespace."""
    from safexp.plugin import title

    name = suite_name(env_config)
    if name:
        return name
    if "id" in env_config:
        return str(env_config["id"]).split("/")[-1]
    level = env_config.get("level")
    return f"{title(str(env_config.get('robot')))}{title(str(env_config.get('task')))}{'' if level is None else level}-custom"


def make_env(env_config: Mapping[str, Any], render_mode: str | None = None, scene: Any = None) -> gymnasium.Env:
    """Build one env from its config (see the module docstring).

    :param scene: the config's scene, already validated (:attr:`ExperimentConfig.scene`): the env is built from
        it without resolving the scene keys again.
    """
    import safexp

    kwargs = dict(env_config)
    if kwargs.pop("feedback", False):
        return safexp.FeedbackObservation(make_env(kwargs, render_mode, scene))
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if "id" in kwargs:
        env_id = kwargs.pop("id")
        try:
            return gymnasium.make(env_id, **kwargs)
        except TypeError as exc:
            raise ParameterError(f"env '{env_id}' rejected its arguments {sorted(kwargs)}: {exc}") from None
    if scene is not None:
        kwargs = {key: kwargs[key] for key in ("render_mode", "max_episode_steps") if key in kwargs}
        return safexp.make(scene=scene, **kwargs)
    return safexp.make(**kwargs)
