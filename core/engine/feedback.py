"""Previous reward and cost as inputs: the observation wrapper :class:`FeedbackObservation`.

Knight & Achiam feed the previous step's reward and cost to their recurrent policy next to the observation
and found it crucial for safety: without it an agent leaned on a wall and kept paying cost; with it, it learned
to step back after a cost. The wrapper does that for any safexp env:

- a vector observation gets ``1 + k`` entries appended: the previous reward, then the previous cost of each
  of the env's ``k`` constraints (``info["costs"]``, in :attr:`SafetyEnv.constraint_names` order);
- a ``Dict`` observation (vision) gets the same ``1 + k`` values as a new entry ``feedback``.

Both are zero after ``reset``. Costs are the env's as reported (indicators unless ``cost_indicator=False``).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from safexp.plugin.errors import ParameterError

FEEDBACK_KEY = "feedback"
"""The entry a ``Dict`` observation gets."""


class FeedbackObservation(gymnasium.Wrapper):
    """Appends the previous step's reward and per-constraint costs to the observation (see the module docstring).

    :param env: a safexp env (anything whose unwrapped env has ``constraint_names``), possibly wrapped.

    :attr:`feedback_names` names the appended values: ``reward``, then ``cost_<constraint>`` for each constraint.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        constraints = getattr(env.unwrapped, "constraint_names", None)
        if constraints is None:
            raise ParameterError(f"the feedback wrapper needs a safexp env (one with constraint_names), got "
                                 f"{type(env.unwrapped).__name__}")
        self.constraint_names: tuple[str, ...] = tuple(constraints)
        self.feedback_names = ("reward", *(f"cost_{name}" for name in self.constraint_names))
        self._feedback = np.zeros(len(self.feedback_names))
        space = env.observation_space
        if isinstance(space, gymnasium.spaces.Dict):
            if FEEDBACK_KEY in space.spaces:
                raise ParameterError(f"the observation already has an entry '{FEEDBACK_KEY}': the feedback wrapper is "
                                     "applied once")
            feedback_space = gymnasium.spaces.Box(-np.inf, np.inf, self._feedback.shape, np.float64)
            self.observation_space = gymnasium.spaces.Dict({**space.spaces, FEEDBACK_KEY: feedback_space})
        elif isinstance(space, gymnasium.spaces.Box) and len(space.shape) == 1:
            n = len(self.feedback_names)
            self.observation_space = gymnasium.spaces.Box(np.concatenate([space.low, np.full(n, -np.inf)]),
                                                          np.concatenate([space.high, np.full(n, np.inf)]),
                                                          dtype=space.dtype)
        else:
            raise ParameterError(f"the feedback wrapper needs a vector (1-D Box) or Dict observation, got {space}")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._feedback[:] = 0.0
        return self._with_feedback(obs), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        costs = info["costs"]
        self._feedback[0] = reward
        self._feedback[1:] = [costs[name] for name in self.constraint_names]
        return self._with_feedback(obs), reward, terminated, truncated, info

    def _with_feedback(self, obs: Any) -> Any:
        if isinstance(obs, dict):
            return {**obs, FEEDBACK_KEY: self._feedback.copy()}
        return np.concatenate([obs, self._feedback]).astype(self.observation_space.dtype, copy=False)
