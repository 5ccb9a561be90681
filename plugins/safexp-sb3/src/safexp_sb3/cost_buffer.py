"""The on-policy rollout buffer with costs, and the advantages a constrained policy step uses.

- :class:`CostRolloutBuffer`: stable-baselines3's ``RolloutBuffer`` plus per-constraint costs, cost values,
  cost GAE advantages and cost returns (its own ``cost_gamma`` and ``cost_gae_lambda``). It stores and
  computes; it trains nothing.
- :func:`standardised`, :func:`centred`, :func:`penalised_advantage`: the advantage arithmetic of
  constrained-rl.md §2 and §4 (reward advantages standardised over the whole rollout, cost advantages centred
  but never rescaled, ``A = (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer


class CostRolloutBufferSamples(NamedTuple):
    """stable-baselines3's ``RolloutBufferSamples`` fields, then the cost fields (shape ``(batch, n_constraints)``)."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    cost_advantages: th.Tensor
    cost_returns: th.Tensor


class CostRolloutBuffer(RolloutBuffer):
    """A ``RolloutBuffer`` that also holds per-constraint costs and their GAE.

    :param n_constraints: how many constraints (cost heads) to hold.
    :param cost_gamma: discount of the cost returns.
    :param cost_gae_lambda: GAE λ of the cost advantages.

    The other arguments are ``RolloutBuffer``'s. Cost arrays have shape ``(n_steps, n_envs, n_constraints)``.
    ``costs`` are the per-step costs (:meth:`add_costs`), with ``cost_gamma·V_c(s_T)`` added on a time-limit
    truncation (as stable-baselines3 does for rewards), never on a termination.
    """

    COST_FIELDS = ("costs", "cost_values", "cost_advantages", "cost_returns")

    def __init__(self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space,
                 device: th.device | str = "auto", gae_lambda: float = 1.0, gamma: float = 0.99, n_envs: int = 1,
                 n_constraints: int = 1, cost_gamma: float = 0.99, cost_gae_lambda: float = 0.97):
        self.n_constraints = n_constraints
        self.cost_gamma = cost_gamma
        self.cost_gae_lambda = cost_gae_lambda
        super().__init__(buffer_size, observation_space, action_space, device=device, gae_lambda=gae_lambda,
                         gamma=gamma, n_envs=n_envs)

    def reset(self) -> None:
        self.allocate_cost_fields()
        super().reset()

    def allocate_cost_fields(self) -> None:
        """Zeroed cost fields, shape ``(n_steps, n_envs, n_constraints)``."""
        shape = (self.buffer_size, self.n_envs, self.n_constraints)
        for name in self.COST_FIELDS:
            setattr(self, name, np.zeros(shape, dtype=np.float32))

    def flatten_cost_fields(self) -> None:
        """Before the first minibatch, the cost fields flattened the way the stock ``get`` flattens its own."""
        if not self.generator_ready:
            for name in self.COST_FIELDS:
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])

    def add_costs(self, costs: np.ndarray) -> None:
        """The costs of the step about to be :meth:`add`-ed (same position), shape ``(n_envs, n_constraints)``."""
        self.costs[self.pos] = costs

    def compute_cost_returns_and_advantage(self, cost_values: np.ndarray, last_cost_values: np.ndarray,
                                           dones: np.ndarray) -> None:
        """Cost GAE(λ_c) advantages and TD(λ_c) returns, per constraint, once the rollout is complete.

        :param cost_values: V_c of every stored observation, shape ``(n_steps, n_envs, n_constraints)``.
        :param last_cost_values: V_c of the observation after the last step, shape ``(n_envs, n_constraints)``.
        :param dones: whether each env's last step ended its episode (then nothing is bootstrapped from it;
            truncations were already bootstrapped into ``costs``).
        """
        self.cost_values = np.asarray(cost_values, dtype=np.float32)
        last_gae = np.zeros((self.n_envs, self.n_constraints), dtype=np.float32)
        for step in reversed(range(self.buffer_size)):
            if step == self.buffer_size - 1:
                next_non_terminal = 1.0 - dones.astype(np.float32)
                next_values = last_cost_values
            else:
                next_non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.cost_values[step + 1]
            mask = next_non_terminal[:, None]
            delta = self.costs[step] + self.cost_gamma * next_values * mask - self.cost_values[step]
            last_gae = delta + self.cost_gamma * self.cost_gae_lambda * mask * last_gae
            self.cost_advantages[step] = last_gae
        self.cost_returns = self.cost_advantages + self.cost_values

    def get(self, batch_size: int | None = None) -> Generator[CostRolloutBufferSamples, None, None]:
        """The stock minibatches (shuffled with numpy's global generator, as stock), with the cost fields."""
        self.flatten_cost_fields()
        yield from super().get(batch_size)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> CostRolloutBufferSamples:
        stock = super()._get_samples(batch_inds, env)
        return CostRolloutBufferSamples(*stock, self.to_torch(self.cost_advantages[batch_inds]),
                                        self.to_torch(self.cost_returns[batch_inds]))

    def cost_critic_batches(self, batch_size: int, rng: np.random.Generator) -> Generator[tuple[th.Tensor, th.Tensor]]:
        """Minibatches ``(observations, cost_returns)`` for a cost critic on its own schedule, shuffled with ``rng``
        (its own generator, so the numpy stream that shuffles the policy's minibatches stays as stock has it)."""
        observations = self.observations.reshape(-1, *self.obs_shape)
        cost_returns = self.cost_returns.reshape(-1, self.n_constraints)
        n = observations.shape[0]
        indices = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = indices[start:start + batch_size]
            yield self.to_torch(observations[batch]), self.to_torch(cost_returns[batch])


def standardised(advantages: np.ndarray) -> np.ndarray:
    """``(A − mean A) / (std A + 1e-8)`` over the whole array (float64)."""
    advantages = np.asarray(advantages, dtype=np.float64)
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def centred(cost_advantages: np.ndarray) -> np.ndarray:
    """Cost advantages minus their mean per constraint (last axis), not rescaled: they stay in cost units."""
    cost_advantages = np.asarray(cost_advantages, dtype=np.float64)
    axes = tuple(range(cost_advantages.ndim - 1))
    return cost_advantages - cost_advantages.mean(axis=axes)


def penalised_advantage(reward_advantages: np.ndarray, cost_advantages: np.ndarray,
                        multipliers: np.ndarray) -> np.ndarray:
    """``(A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)`` (OmniSafe / SafePO form, constrained-rl.md §4).

    :param reward_advantages: shape ``(...)``.
    :param cost_advantages: shape ``(..., n_constraints)``.
    :param multipliers: λ_k, shape ``(n_constraints,)``.
    """
    multipliers = np.asarray(multipliers, dtype=np.float64)
    return (reward_advantages - cost_advantages @ multipliers) / (1.0 + multipliers.sum())
