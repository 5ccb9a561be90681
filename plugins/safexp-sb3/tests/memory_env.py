"""A tiny partially observed constrained env whose cost is visible only through the feedback inputs.

At every episode start a hidden side ``σ ∈ {−1, +1}`` is drawn (the hazard's side). The action is one number
``a ∈ [−1, 1]``; every step goes to one side, right for ``a ≥ 0`` and left for ``a < 0``, and earns ``|a|``
(push hard). A step to the hazard's side costs 1. The first step of an episode is the env's probe: whatever the
action, it goes right, so it costs 1 exactly when the hazard is on the right. The observation is a constant
(one zero): nothing in it tells the side.

Wrapped in ``safexp.FeedbackObservation``, the second observation holds the probe's cost, which tells the side
whatever the agent did; an agent that remembers it can push away from the hazard for the rest of the episode:
return about ``episode_length`` at a cost of 0.5 per episode on average (the probe's). An agent without the
feedback cannot tell the sides apart, and since every step goes to a side, *any* policy of it pays 1 with
probability 1/2 per step: ``episode_length / 2`` per episode on average, however it is trained. Standing still
(``a = 0``) earns nothing and pays the same.

Evaluated deterministically (:func:`evaluate`), a policy without the feedback sees the same observations in
every episode, so it takes the same sides in every episode: its mean cost over the evaluation episodes lies
between ``p + (L − 1)·min(p, 1 − p)`` and ``p + (L − 1)·max(p, 1 − p)``, ``p`` the share of episodes with the
hazard on the right and ``L`` the episode length (``p`` = 0.45 for the 40 evaluation seeds: 2.25 to 2.65
for ``L = 5``), whatever it learned.

Why the first step is the env's: if the agent probed itself, the cost it sees next would tell the side only
together with the direction it pushed, which the feedback does not hold; a stochastic policy that pushes hard in
a random direction (high reward, as ``|a|`` rewards) learns nothing from the cost, and a learner can settle
there (the earlier form of this task, where the agent probed, had a seed stuck at half its steps costing).

:func:`memory_task_params` are small-problem settings of ``sac_lag_rnn`` for this task (the test and
``benchmarks/sac_lag_rnn_memory.py`` use them).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import safexp
from safexp_sb3.hyperparameters import MultiplierOverrides
from safexp_sb3.rnn_hyperparameters import SACLagRNNParams

EPISODE_LENGTH = 5
COST_LIMIT_PER_EPISODE = 1.0
EVALUATION_SEEDS = range(10_000, 10_040)  # 18 of these 40 episodes have the hazard on the right


class HiddenHazardSideEnv(gym.Env):
    """See the module docstring.

    :param episode_length: steps per episode (a truncation ends it).
    """

    metadata = {"render_modes": []}
    constraint_names = ("cost",)

    def __init__(self, episode_length: int = 5) -> None:
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
        went = 1.0 if self.steps == 0 or push >= 0.0 else -1.0  # the first step is the env's probe to the right
        cost = 1.0 if went == self.side else 0.0
        self.steps += 1
        info = {"cost": cost, "costs": {"cost": cost}}
        return np.zeros(1, dtype=np.float32), abs(push), False, self.steps >= self.episode_length, info


def memory_env(feedback: bool, episode_length: int = EPISODE_LENGTH) -> gym.Env:
    """The task, wrapped in ``safexp.FeedbackObservation`` when ``feedback`` (the previous reward and cost)."""
    env = HiddenHazardSideEnv(episode_length)
    return safexp.FeedbackObservation(env) if feedback else env


def memory_task_params() -> SACLagRNNParams:
    """``sac_lag_rnn`` settings for this 5-step task: small networks; 300 uniformly random steps first, so that
    the critics see both sides under both hazards before the policy settles on one; a large step size; an
    entropy coefficient (0.05) that keeps the tanh policy off its saturated ends, from where it could not
    switch sides; short horizons (γ = γ_c = 0.5: a step's side matters only for its own cost); a cost limit of
    1 per episode (0.2 per step), between the 0.5 of remembering the probe and the 2.5 of not; and λ starting
    at 5 (so the cost outweighs the reward |a| ≤ 1 from the first update), moved by Adam (0.1) on the cost per
    step of finished episodes."""
    return SACLagRNNParams(
        vector_net_arch=[16], gru_hidden=16, head_net_arch=[32, 32], batch_size=64, sequence_length=EPISODE_LENGTH,
        buffer_size=5_000, learning_starts=300, train_freq=1, learning_rate=1e-2, ent_coef=0.05, gamma=0.5,
        cost_gamma=0.5, cost_limit=COST_LIMIT_PER_EPISODE / EPISODE_LENGTH, multiplier_source="episode_cost",
        multiplier_settings=MultiplierOverrides(lr=0.1, init=5.0))


def evaluate(model: Any, feedback: bool) -> tuple[float, float]:
    """Mean return and mean episode cost of ``model``'s deterministic recurrent policy (``predict`` with
    ``episode_start`` at each episode's first step) over the episodes seeded :data:`EVALUATION_SEEDS`."""
    env = memory_env(feedback)
    returns, costs = [], []
    for seed in EVALUATION_SEEDS:
        obs, _ = env.reset(seed=seed)
        episode_start, done, episode_return, episode_cost = np.array([True]), False, 0.0, 0.0
        while not done:
            action, _ = model.predict(obs, episode_start=episode_start, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(action)
            episode_start = np.array([False])
            episode_return, episode_cost = episode_return + reward, episode_cost + info["cost"]
            done = terminated or truncated
        returns.append(episode_return)
        costs.append(episode_cost)
    return float(np.mean(returns)), float(np.mean(costs))


def assert_memory_resets_at_an_episode_start(learner: Any, env: gym.Env) -> None:
    """A recurrent ``learner`` (the :class:`safexp.plugin.Learner` contract) carries its memory from one
    ``predict`` to the next, and forgets it at ``episode_start``: the same observation gives another action the
    second time, and the first one again after an episode start. ``env`` has one action in ``[-1, 1]``."""
    obs = np.asarray(env.reset(seed=0)[0])
    first = learner.predict(obs, episode_start=True)
    assert first.shape == (1,) and -1.0 <= first[0] <= 1.0
    carried = learner.predict(obs)  # the memory holds the first call ...
    assert not np.allclose(carried, first)
    np.testing.assert_array_equal(learner.predict(obs, episode_start=True), first)  # ... until an episode starts
