"""A tiny partially observed constrained env whose cost is visible only through the feedback inputs.

At every episode start a hidden side ``σ ∈ {−1, +1}`` is drawn. The action is one number ``a ∈ [−1, 1]``;
the reward is ``|a|`` (push hard) and the cost is 1 for a step that pushes towards the hidden side
(``a·σ > 0``). The observation is a constant (one zero): nothing in it tells the side. Wrapped in
``safexp.FeedbackObservation``, the observation also holds the previous reward and cost, so an agent with
memory can push one way, see whether it cost, and push the safe way for the rest of the episode: return about
``episode_length`` at a cost of at most 1 per episode (half the episodes probe the wrong way first). An agent
without the cost feedback cannot tell the sides apart: it either pushes and pays about half its steps, or
keeps still and earns nothing.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class HiddenHazardSideEnv(gym.Env):
    """See the module docstring.

    :param episode_length: steps per episode (a truncation ends it).
    """

    metadata = {"render_modes": []}
    constraint_names = ("cost",)

    def __init__(self, episode_length: int = 10) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.episode_length = episode_length
        self.side = 1.0
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.side = float(self.np_random.choice([-1.0, 1.0]))
        self.steps = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        push = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        cost = 1.0 if push * self.side > 0.0 else 0.0
        self.steps += 1
        info = {"cost": cost, "costs": {"cost": cost}}
        return np.zeros(1, dtype=np.float32), abs(push), False, self.steps >= self.episode_length, info
