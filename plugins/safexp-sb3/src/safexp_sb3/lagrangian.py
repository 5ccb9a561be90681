"""PPO-Lagrangian and TRPO-Lagrangian (PID-Lagrangian is PPO-Lagrangian with the ``pid`` multiplier), and the
unconstrained PPO / TRPO baselines that log costs the same way.

The Lagrangian learners are the stock stable-baselines3 ``PPO`` and sb3-contrib ``TRPO`` updates run on the
penalised advantage ``(A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)`` (the OmniSafe / SafePO form, constrained-rl.md
§4); the cost machinery is :mod:`safexp_sb3.cost_machinery`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sb3_contrib import TRPO
from stable_baselines3 import PPO

from safexp_sb3.cost_machinery import CostLimit, CostMonitoringMixin, LagrangianMixin

_CONSTRAINED_ARGS_DOC = """
    :param cost_limit: the episode cost limit ``d`` (undiscounted, per episode): a float for every constraint, a
        mapping constraint name → limit, or a sequence with one limit per constraint (in the env's
        ``constraint_names`` order). Safety Gym suite: 25.
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`).
    :param multiplier_settings: settings replacing the preset's (``init``, ``lr``, ``parameterisation``,
        ``optimizer``, ``max_value`` for gradient multipliers; ``kp``, ``ki``, ``kd``, ``d_delay``, ``ema``,
        ``ema_d``, ``max_value``, ``init`` for PID).
    :param cost_gamma: discount of the cost returns (reference 0.99).
    :param cost_gae_lambda: GAE λ of the cost advantages (OmniSafe 0.95, safety-starter-agents 0.97).
    :param cost_critic_lr: Adam step size of the cost critic (reference 1e-3).
    :param cost_critic_net_arch: hidden layers of the cost critic (default ``[64, 64]``, the Safety Gym size).
    :param cost_critic_epochs: passes over the rollout per cost-critic update.
    :param cost_critic_batch_size: minibatch size of the cost-critic update (default: ``batch_size``).
    :param normalize_advantage: standardise the reward advantages over the whole rollout (not per minibatch, as
        stock PPO does); cost advantages are always centred and never rescaled.
"""


class PPOLagrangian(LagrangianMixin, PPO):
    __doc__ = """PPO-Lagrangian: stable-baselines3 PPO's clipped update on the penalised advantage.

    With ``multiplier="pid"`` this is PID-Lagrangian PPO (Stooke et al. 2020).
    """ + _CONSTRAINED_ARGS_DOC + """    :param cost_critic_epochs: default: ``n_epochs``.

    Every other keyword argument is stable-baselines3 ``PPO``'s (``learning_rate``, ``n_steps``, ``batch_size``,
    ``n_epochs``, ``gamma``, ``gae_lambda``, ``clip_range``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``,
    ``target_kl``, ``policy_kwargs``, ``seed``, ``device``, ...).
    """

    def __init__(self, policy: Any, env: Any, cost_limit: CostLimit = 25.0, multiplier: str = "omnisafe",
                 multiplier_settings: Mapping[str, Any] | None = None, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_critic_lr: float = 1e-3,
                 cost_critic_net_arch: Sequence[int] | None = None, cost_critic_epochs: int | None = None,
                 cost_critic_batch_size: int | None = None, normalize_advantage: bool = True, **ppo_kwargs: Any):
        self._init_multiplier_settings(cost_limit, multiplier, multiplier_settings)
        self._init_cost_critic_settings(
            cost_gamma, cost_gae_lambda, cost_critic_lr, cost_critic_net_arch,
            cost_critic_epochs or ppo_kwargs.get("n_epochs", 10), cost_critic_batch_size or ppo_kwargs.get("batch_size", 64))
        self.standardize_reward_advantage = normalize_advantage
        super().__init__(policy, env, normalize_advantage=False, **ppo_kwargs)


class TRPOLagrangian(LagrangianMixin, TRPO):
    __doc__ = """TRPO-Lagrangian: sb3-contrib TRPO's natural-gradient step (conjugate gradient, KL trust region,
    backtracking line search) on the penalised advantage.
    """ + _CONSTRAINED_ARGS_DOC + """    :param cost_critic_epochs: default: ``n_critic_updates``.

    Every other keyword argument is sb3-contrib ``TRPO``'s (``learning_rate`` (of the reward critic),
    ``n_steps``, ``batch_size``, ``gamma``, ``gae_lambda``, ``cg_max_steps``, ``cg_damping``,
    ``line_search_shrinking_factor``, ``line_search_max_iter``, ``n_critic_updates``, ``target_kl``, ...).
    """

    def __init__(self, policy: Any, env: Any, cost_limit: CostLimit = 25.0, multiplier: str = "omnisafe",
                 multiplier_settings: Mapping[str, Any] | None = None, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_critic_lr: float = 1e-3,
                 cost_critic_net_arch: Sequence[int] | None = None, cost_critic_epochs: int | None = None,
                 cost_critic_batch_size: int | None = None, normalize_advantage: bool = True, **trpo_kwargs: Any):
        self._init_multiplier_settings(cost_limit, multiplier, multiplier_settings)
        self._init_cost_critic_settings(
            cost_gamma, cost_gae_lambda, cost_critic_lr, cost_critic_net_arch,
            cost_critic_epochs or trpo_kwargs.get("n_critic_updates", 10),
            cost_critic_batch_size or trpo_kwargs.get("batch_size", 128))
        self.standardize_reward_advantage = normalize_advantage
        super().__init__(policy, env, normalize_advantage=False, **trpo_kwargs)


class UnconstrainedPPO(CostMonitoringMixin, PPO):
    """Stock stable-baselines3 PPO that also logs ``rollout/ep_cost_mean`` and ``rollout/cost_rate`` (a baseline
    for the constrained learners; a step without ``info["cost"]`` counts as zero cost). Arguments: ``PPO``'s."""


class UnconstrainedTRPO(CostMonitoringMixin, TRPO):
    """Stock sb3-contrib TRPO that also logs ``rollout/ep_cost_mean`` and ``rollout/cost_rate``. Arguments:
    ``TRPO``'s."""
