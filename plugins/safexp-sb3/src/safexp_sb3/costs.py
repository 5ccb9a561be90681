"""Reading per-step costs off a vectorised env and turning them into episode costs.

Env contract: every step's ``info`` carries ``info["cost"]`` (a float, the sum over constraints) and, when the
env has named constraints, ``info["costs"]`` (a dict constraint name → float, stable keys). The env may
expose an attribute ``constraint_names`` (a tuple). A third-party env with only ``info["cost"]`` has one
constraint, named ``"cost"``.

stable-baselines3's ``VecEnv`` (``DummyVecEnv``, ``SubprocVecEnv``) resets an env automatically when its
episode ends and returns the *last* step's info for it (with ``terminal_observation``), so the monitor adds
every step's cost before it looks at ``done`` and the cost of the final step belongs to the finished episode.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from safexp.plugin import ParameterError, SafexpError, choices_hint

TENSORBOARD_TAGS = {"cost": "rollout/ep_cost_mean", "cost_rate": "rollout/cost_rate"}
"""The cost tags every learner of this plugin writes (:meth:`EpisodeCostMonitor.log`), next to
stable-baselines3's own ``rollout/ep_rew_mean``: the mean episode cost (summed over the constraints) of the last
``stats_window_size`` finished episodes, and the training cost rate (all cost / all env steps since the start of
training). With several constraints each also has a ``/<constraint name>`` form."""

SINGLE_CONSTRAINT = "cost"
"""The name of the one constraint of an env that reports only ``info["cost"]``."""


class MissingCostError(SafexpError, KeyError):
    """A step's ``info`` lacks the cost a constrained learner needs."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def resolve_constraint_names(env: Any, cost_limit: float | Mapping[str, float] | Sequence[float]) -> tuple[str, ...]:
    """The constraint names a learner on ``env`` tracks, in order.

    :param env: a stable-baselines3 ``VecEnv`` (or ``None`` when a model is built without an env).
    :param cost_limit: the cost limit as the user gave it.
    :return: the env's ``constraint_names`` attribute if it has one; otherwise the keys of a mapping
        ``cost_limit``; otherwise ``("cost",)`` (the single-constraint case, read from ``info["cost"]``).
    """
    if env is not None and env.has_attr("constraint_names"):
        names = tuple(str(n) for n in env.get_attr("constraint_names", indices=[0])[0])
        if names:
            return names
    if isinstance(cost_limit, Mapping):
        return tuple(str(n) for n in cost_limit)
    return (SINGLE_CONSTRAINT,)


def resolve_cost_limits(
    names: Sequence[str], cost_limit: float | Mapping[str, float] | Sequence[float]
) -> np.ndarray:
    """One episode cost limit per constraint of ``names``.

    :param names: the constraint names (from :func:`resolve_constraint_names`).
    :param cost_limit: a float (the same limit for every constraint), a mapping name → limit (every name
        must be present) or a sequence with one limit per constraint in the order of ``names``.
    :return: a float64 array of shape ``(len(names),)``.
    :raises ParameterError: for a missing or unknown constraint name or a sequence of the wrong length.
    """
    if isinstance(cost_limit, Mapping):
        unknown = [k for k in cost_limit if k not in names]
        if unknown:
            raise ParameterError(f"cost_limit names constraint '{unknown[0]}' that the env does not have; "
                                 f"{choices_hint(str(unknown[0]), names)}")
        missing = [n for n in names if n not in cost_limit]
        if missing:
            raise ParameterError(f"cost_limit has no limit for constraint(s) {', '.join(missing)}; "
                                 f"give one per constraint: {', '.join(names)}")
        limits = [cost_limit[n] for n in names]
    elif isinstance(cost_limit, (int, float)):
        limits = [float(cost_limit)] * len(names)
    else:
        limits = list(cost_limit)
        if len(limits) != len(names):
            raise ParameterError(f"cost_limit has {len(limits)} values but the env has {len(names)} constraints "
                                 f"({', '.join(names)})")
    return np.asarray(limits, dtype=np.float64)


def read_step_costs(info: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """The per-constraint costs of one step.

    :param info: one env's step info.
    :param names: the constraint names; ``("cost",)`` reads ``info["cost"]``, any other names read
        ``info["costs"][name]``.
    :return: a float64 array of shape ``(len(names),)``.
    :raises MissingCostError: when the info lacks the cost (naming what was expected and what was there).
    """
    if tuple(names) == (SINGLE_CONSTRAINT,):
        if "cost" not in info:
            raise MissingCostError(
                f"the env reported no info['cost'] (info keys: {', '.join(sorted(info)) or 'none'}); "
                "a constrained learner needs a per-step cost")
        return np.array([float(info["cost"])])
    costs = info.get("costs")
    if not isinstance(costs, Mapping):
        raise MissingCostError(f"the env has constraints {', '.join(names)} but its step info has no info['costs'] "
                               "dict (constraint name -> cost)")
    try:
        return np.array([float(costs[n]) for n in names])
    except KeyError as exc:
        raise MissingCostError(f"info['costs'] has no constraint '{exc.args[0]}'; "
                               f"{choices_hint(str(exc.args[0]), costs)}") from None


def read_costs(infos: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[list[float]]:
    """The per-constraint costs of one vectorised step, read in one pass over the infos.

    :param infos: the step infos, one per env.
    :param names: the constraint names (as for :func:`read_step_costs`).
    :return: one list of ``len(names)`` floats per env (plain floats: this runs on every env step, where
        each numpy call costs microseconds with the caches cold from the physics).
    :raises MissingCostError: when an info lacks a cost (the message of :func:`read_step_costs`).
    """
    try:
        if tuple(names) == (SINGLE_CONSTRAINT,):
            return [[float(info["cost"])] for info in infos]
        return [[float(info["costs"][name]) for name in names] for info in infos]
    except (KeyError, TypeError):  # a cost is missing: read_step_costs says which
        return [read_step_costs(info, names).tolist() for info in infos]


class EpisodeCostMonitor:
    """Episode costs of every env of a ``VecEnv``, kept across automatic resets.

    Call :meth:`record` once per vectorised step with that step's ``infos`` and ``dones``. The monitor keeps
    the running (undiscounted) cost of each env's current episode, the costs of finished episodes, the
    cumulative cost over all steps and the number of env steps (``cost_rate = cumulative cost / steps``,
    Safety Gym's training cost rate).

    The estimate ``J_c`` that feeds a multiplier (:meth:`cost_estimate`) is the mean cost of the episodes
    finished since the previous estimate (in an on-policy learner: during this rollout); when none finished,
    it falls back to the mean of the last ``window`` finished episodes; before any episode finishes there is
    no estimate (``None``) and the multiplier is left alone.

    :param n_envs: the number of envs of the ``VecEnv``.
    :param constraint_names: the constraints to track (see :func:`resolve_constraint_names`).
    :param window: how many recent episodes the fallback estimate and ``rollout/ep_cost_mean`` average.
    :param require_cost: raise :class:`MissingCostError` if a step lacks its cost (constrained learners);
        with ``False`` a step without cost counts as zero (for unconstrained baselines that still log costs).

    It is the one place a run's costs are counted: the learners read their J_c from it, the experiment runner
    reads the recent episodes (:meth:`recent_episodes`, with the return stable-baselines3's ``Monitor`` wrapper
    reports in ``info["episode"]["r"]``) and the training cost rate from it, and :meth:`log` writes the one set
    of cost tags (:data:`TENSORBOARD_TAGS`).
    """

    def __init__(self, n_envs: int, constraint_names: Sequence[str], window: int = 100, require_cost: bool = True):
        self.n_envs = int(n_envs)
        self.constraint_names = tuple(constraint_names)
        self.window = int(window)
        self.require_cost = require_cost
        self.recent: deque[np.ndarray] = deque(maxlen=self.window)
        self.recent_lengths: deque[int] = deque(maxlen=self.window)
        self.recent_returns: deque[float] = deque(maxlen=self.window)
        self.finished: list[np.ndarray] = []
        self.steps = 0
        # Plain Python floats: updated on every env step (see read_costs).
        self._cumulative = [0.0] * len(self.constraint_names)
        self.reset_episodes()

    @property
    def cumulative_cost(self) -> np.ndarray:
        """The cost of every env step since the start of training, per constraint."""
        return np.array(self._cumulative, dtype=np.float64)

    def record(self, infos: Sequence[Mapping[str, Any]], dones: np.ndarray) -> np.ndarray:
        """Add one vectorised step.

        :param infos: the step infos, one per env.
        :param dones: the ``done`` flags (episode ended and the env was reset), one per env.
        :return: the step's raw costs, shape ``(n_envs, n_constraints)``.
        """
        step_costs = self._read(infos)
        cumulative = self._cumulative
        for env_index, costs in enumerate(step_costs):
            episode = self._running[env_index]
            for k, cost in enumerate(costs):
                episode[k] += cost
                cumulative[k] += cost
            self._lengths[env_index] += 1
        self.steps += self.n_envs
        if dones.any():
            for idx in np.flatnonzero(dones).tolist():
                episode_cost = np.array(self._running[idx])
                self.finished.append(episode_cost)
                self.recent.append(episode_cost)
                self.recent_lengths.append(self._lengths[idx])
                self.recent_returns.append(float(infos[idx].get("episode", {}).get("r", math.nan)))
                self._running[idx] = [0.0] * len(self.constraint_names)
                self._lengths[idx] = 0
        return np.array(step_costs, dtype=np.float64)

    def _read(self, infos: Sequence[Mapping[str, Any]]) -> list[list[float]]:
        """The step's costs, one list per env; without ``require_cost``, missing ones are 0."""
        try:
            return read_costs(infos, self.constraint_names)
        except MissingCostError:
            if self.require_cost:
                raise
        step_costs = []
        for info in infos:
            try:
                step_costs.append(read_step_costs(info, self.constraint_names).tolist())
            except MissingCostError:  # a baseline on an env without costs: the step counts as cost-free
                step_costs.append([0.0] * len(self.constraint_names))
        return step_costs

    def cost_estimate(self) -> np.ndarray | None:
        """``J_c`` per constraint (see the class docstring); forgets the episodes it averaged.

        :return: an array of shape ``(n_constraints,)``, or ``None`` before any episode has finished.
        """
        estimate = self.new_episodes_estimate()
        return estimate if estimate is not None else self.window_mean()

    def new_episodes_estimate(self) -> np.ndarray | None:
        """Mean cost per constraint of the episodes finished since the previous estimate, ``None`` if none has;
        forgets them."""
        if not self.finished:
            return None
        estimate = np.mean(self.finished, axis=0)
        self.finished.clear()
        return estimate

    def window_mean(self) -> np.ndarray | None:
        """Mean cost of the last ``window`` finished episodes per constraint, ``None`` before the first one."""
        return np.mean(self.recent, axis=0) if self.recent else None

    def mean_episode_length(self) -> float | None:
        """Mean length (env steps) of the last ``window`` finished episodes, ``None`` before the first one."""
        return float(np.mean(self.recent_lengths)) if self.recent_lengths else None

    def recent_episodes(self) -> list[tuple[float, float]]:
        """(return, cost summed over the constraints) of the last ``window`` finished episodes, oldest first;
        the return is NaN for an env without stable-baselines3's ``Monitor`` wrapper."""
        return [(ret, float(np.sum(cost))) for ret, cost in zip(self.recent_returns, self.recent, strict=True)]

    @property
    def cost_rate(self) -> np.ndarray:
        """Cumulative cost divided by the number of env steps so far, per constraint."""
        return self.cumulative_cost / max(self.steps, 1)

    def reset_episodes(self, n_envs: int | None = None) -> None:
        """Forget the running episodes (the env was reset, e.g. at the start of ``learn``).

        :param n_envs: the number of envs from now on, when the learner was given a different ``VecEnv``.
        """
        if n_envs is not None:
            self.n_envs = int(n_envs)
        self._running = [[0.0] * len(self.constraint_names) for _ in range(self.n_envs)]
        self._lengths = [0] * self.n_envs

    def reset_totals(self) -> None:
        """Start the statistics afresh (``learn(reset_num_timesteps=True)``)."""
        self.reset_episodes()
        self.recent.clear()
        self.recent_lengths.clear()
        self.recent_returns.clear()
        self.finished.clear()
        self._cumulative = [0.0] * len(self.constraint_names)
        self.steps = 0

    def state_dict(self) -> dict[str, Any]:
        """Finished-episode statistics and totals as plain lists and floats (running episodes are not kept:
        a restored learner starts from a reset env)."""
        return {"recent": [c.tolist() for c in self.recent], "recent_lengths": list(self.recent_lengths),
                "recent_returns": list(self.recent_returns),
                "finished": [c.tolist() for c in self.finished],
                "cumulative_cost": self.cumulative_cost.tolist(), "steps": self.steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.recent = deque((np.asarray(c, dtype=np.float64) for c in state["recent"]), maxlen=self.window)
        self.recent_lengths = deque((int(n) for n in state["recent_lengths"]), maxlen=self.window)
        self.recent_returns = deque((float(r) for r in state["recent_returns"]), maxlen=self.window)
        self.finished = [np.asarray(c, dtype=np.float64) for c in state["finished"]]
        self._cumulative = [float(c) for c in state["cumulative_cost"]]
        self.steps = int(state["steps"])
        self.reset_episodes()

    def log(self, logger: Any) -> None:
        """Record the cost tags (:data:`TENSORBOARD_TAGS`) with a stable-baselines3 ``logger``; the mean episode
        cost only once an episode has finished."""
        window, rate = self.window_mean(), self.cost_rate
        tags = [("", slice(None))]
        if len(self.constraint_names) > 1:
            tags += [(f"/{name}", k) for k, name in enumerate(self.constraint_names)]
        for suffix, part in tags:
            if window is not None:
                logger.record(TENSORBOARD_TAGS["cost"] + suffix, float(np.sum(window[part])))
            logger.record(TENSORBOARD_TAGS["cost_rate"] + suffix, float(np.sum(rate[part])))
