"""A one-step env where safety costs reward: the learning tests' conflict between return and cost.

Each episode is one step. The action ``a ∈ [-1, 1]`` (clipped) earns ``a`` and costs ``4·(a + 1)``; the
observation is always ``[0]``. Both are linear in the action, so the spread of a Gaussian policy changes
neither expectation (away from the bounds) and the learners' step sizes stay put.

- The unconstrained optimum is ``a = 1``: return 1, episode cost 8, four times the limit ``COST_LIMIT = 2``.
- The constrained optimum is ``a = −0.5``: the cost exactly at the limit, return −0.5 — strictly less.
- The Lagrangian ``return − λ·cost`` is flat in the action at ``λ* = 1/4`` (``LAMBDA_STAR``): above it the policy
  moves to lower actions, below it to higher ones, so a working multiplier settles at λ* and the cost at the
  limit. With λ frozen at 1 the policy runs to ``a = −1`` (cost 0: over-conservative); with λ at 0, to ``a = 1``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

COST_LIMIT = 2.0
LAMBDA_STAR = 0.25


class TradeOffEnv(gym.Env):
    """See the module docstring."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        return np.zeros(1, dtype=np.float32), a, True, False, {"cost": 4.0 * (a + 1.0)}
