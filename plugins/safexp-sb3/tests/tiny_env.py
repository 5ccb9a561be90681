"""A tiny, fast constrained env for learning tests: a 2-D point must reach a goal past a hazard.

The point starts near the origin; the goal is at ``(1.5, 0)``; a round hazard of radius 0.35 sits at
``(0.75, 0)``, right on the straight path. Each step the action ``a ∈ [-1, 1]²`` moves the point by ``0.1·a``.

- reward: ``10 × (distance to goal before − after)`` (progress), plus 1 and the end of the episode on reaching
  the goal (within 0.1);
- cost: ``hazard_cost`` for every step that ends inside the hazard (``info["cost"]``; ``info["costs"]`` has
  the same value under the constraint name ``"hazard"``, plus ``"boundary"`` (1 when the point leaves
  ``|y| ≤ 0.6``) when ``two_constraints`` is set);
- episodes are cut at ``max_steps`` (a truncation).

The straight path (about 15 steps) spends about 7 steps in the hazard; going round it costs two or three steps
more and nothing else, so a constrained learner with a limit of 2 must learn the detour.
Observation: ``[goal − position, position − hazard centre] `` (4 floats).

:func:`evaluate` measures a trained model's deterministic policy on it.
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np

GOAL = np.array([1.5, 0.0])
HAZARD_CENTRE = np.array([0.75, 0.0])
HAZARD_RADIUS = 0.35
GOAL_RADIUS = 0.1
SPEED = 0.1


class HazardPointEnv(gym.Env):
    """See the module docstring.

    :param max_steps: episode length limit (truncation).
    :param hazard_cost: cost of a step inside the hazard (0 makes a cost-free env with the same dynamics).
    :param two_constraints: report two named constraints, ``hazard`` and ``boundary``.
    """

    metadata = {"render_modes": []}

    def __init__(self, max_steps: int = 60, hazard_cost: float = 1.0, two_constraints: bool = False):
        self.observation_space = gym.spaces.Box(-5.0, 5.0, shape=(4,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.max_steps = max_steps
        self.hazard_cost = hazard_cost
        self.constraint_names = ("hazard", "boundary") if two_constraints else ("hazard",)
        self.position = np.zeros(2)
        self.steps = 0

    def _observation(self) -> np.ndarray:
        return np.concatenate([GOAL - self.position, self.position - HAZARD_CENTRE]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-0.05, 0.05, size=2)
        self.steps = 0
        return self._observation(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        before = np.linalg.norm(GOAL - self.position)
        self.position = np.clip(self.position + SPEED * np.clip(action, -1.0, 1.0), -3.0, 3.0)
        after = np.linalg.norm(GOAL - self.position)
        self.steps += 1
        reached = after < GOAL_RADIUS
        reward = 10.0 * (before - after) + (1.0 if reached else 0.0)
        costs = {"hazard": self.hazard_cost * float(np.linalg.norm(self.position - HAZARD_CENTRE) < HAZARD_RADIUS)}
        if len(self.constraint_names) == 2:
            costs["boundary"] = float(abs(self.position[1]) > 0.6)
        info = {"cost": float(sum(costs.values())), "costs": costs}
        return self._observation(), float(reward), bool(reached), self.steps >= self.max_steps, info


class Predictor(Protocol):
    """Anything with stable-baselines3's ``predict`` (every learner of the plugin)."""

    def predict(self, observation: np.ndarray, deterministic: bool = False) -> tuple[np.ndarray, Any]: ...


def evaluate(model: Predictor, episodes: int) -> tuple[float, float]:
    """Mean return and mean episode cost of ``model``'s deterministic policy over ``episodes`` episodes of
    :class:`HazardPointEnv` (default settings), seeded 10000, 10001, ..."""
    env = HazardPointEnv()
    returns, costs = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        done, ret, cost = False, 0.0, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(action)
            ret, cost, done = ret + reward, cost + info["cost"], terminated or truncated
        returns.append(ret)
        costs.append(cost)
    return float(np.mean(returns)), float(np.mean(costs))
