"""The environments an experiment's ``env`` config describes, single or vectorised for a learner.

An env config is either a scene (``{robot, task, level, <scene keys>}``, built with :func:`safexp.make`) or
a Gymnasium id with keyword arguments (``{id: CartPole-v1, <kwargs>}``). Either may set ``max_episode_steps``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from safexp.plugin import ParameterError

SCENE_NAME_KEYS = ("robot", "task", "level")


def suite_name(env_config: Mapping[str, Any]) -> str | None:
    """The Safety Gym name (``PointGoal1``) of an env config that is exactly a suite env, else ``None``.

    A suite env is ``{robot, task, level}`` with nothing else, or ``{id: safexp/<Name>-v0}`` without kwargs;
    any scene override or episode length makes it a custom env (its scores are not comparable).
    """
    from safexp.plugin import suite_envs
    from safexp.plugin import suite_name as catalogue_name

    if set(env_config) == {"id"}:
        entry = suite_envs().get(str(env_config["id"]))
        return entry.name if entry else None
    if set(env_config) == set(SCENE_NAME_KEYS) and env_config["level"] is not None:
        return catalogue_name(str(env_config["robot"]), str(env_config["task"]), int(env_config["level"]))
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


def make_env(env_config: Mapping[str, Any], render_mode: str | None = None) -> gymnasium.Env:
    """Build one env from its config (see the module docstring)."""
    import safexp

    kwargs = dict(env_config)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if "id" in kwargs:
        env_id = kwargs.pop("id")
        try:
            return gymnasium.make(env_id, **kwargs)
        except TypeError as exc:
            raise ParameterError(f"env '{env_id}' rejected its arguments {sorted(kwargs)}: {exc}") from None
    return safexp.make(**kwargs)


class EpisodeCost(gymnasium.Wrapper):
    """Adds the episode's summed ``info["cost"]`` as ``info["episode"]["c"]`` when an episode ends.

    Wrap it around stable-baselines3's ``Monitor`` (which writes ``info["episode"]`` with the return ``r``
    and length ``l``); the learner's episode buffer then carries the cost too. A step without
    ``info["cost"]`` costs nothing.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.episode_cost = 0.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self.episode_cost = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_cost += float(info.get("cost", 0.0))
        if "episode" in info:
            info["episode"]["c"] = self.episode_cost
        return obs, reward, terminated, truncated, info


def _monitored(env_config: Mapping[str, Any], in_subprocess: bool) -> Callable[[], gymnasium.Env]:
    def build() -> gymnasium.Env:
        if in_subprocess:  # Ctrl-C is for the trainer, which stops the workers itself
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return EpisodeCost(Monitor(make_env(env_config)))

    return build


def make_vec_env(env_config: Mapping[str, Any], n_envs: int, kind: str, seed: int) -> VecEnv:
    """``n_envs`` monitored envs stepped together (``dummy``: in this process, ``subproc``: one process each),
    seeded for their first reset with ``seed + i``."""
    subprocess = kind == "subproc"
    env_fns = [_monitored(env_config, subprocess) for _ in range(n_envs)]
    vec_env: VecEnv = SubprocVecEnv(env_fns) if subprocess else DummyVecEnv(env_fns)
    vec_env.seed(seed)
    return vec_env
