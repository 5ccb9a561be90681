"""PPO-Lagrangian and TRPO-Lagrangian (PID-Lagrangian is PPO-Lagrangian with the ``pid`` multiplier), and the
unconstrained PPO / TRPO baselines that log costs the same way.

The Lagrangian learners are the stock stable-baselines3 ``PPO`` and sb3-contrib ``TRPO`` updates run on the
penalised advantage ``(A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)`` (the OmniSafe / SafePO form, constrained-rl.md
§4); the cost machinery is :mod:`safexp_sb3.cost_machinery`.
"""

from __future__ import annotations

from sb3_contrib import TRPO
from stable_baselines3 import PPO

from safexp_sb3.cost_machinery import CostMonitoringMixin, LagrangianMixin

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
    :param cost_critic_epochs: ``None`` (the default) trains the cost critic alongside the reward critic, one step
        on each of its minibatches (stopping when PPO's KL limit stops the update); a number gives the cost
        critic its own schedule of that many passes over the rollout after the update.
    :param cost_critic_batch_size: ``None`` (the default): as the reward critic; a number gives the cost critic
        its own schedule with minibatches of that size (and the reward critic's passes unless
        ``cost_critic_epochs`` is set too).
    :param normalize_advantage: standardise the reward advantages over the whole rollout (not per minibatch, as
        stock PPO does); cost advantages are always centred and never rescaled.
"""


class PPOLagrangian(LagrangianMixin, PPO):
    __doc__ = """PPO-Lagrangian: stable-baselines3 PPO's clipped update on the penalised advantage.

    With ``multiplier="pid"`` this is PID-Lagrangian PPO (Stooke et al. 2020).
    """ + _CONSTRAINED_ARGS_DOC + """
    Every other keyword argument is stable-baselines3 ``PPO``'s (``learning_rate``, ``n_steps``, ``batch_size``,
    ``n_epochs``, ``gamma``, ``gae_lambda``, ``clip_range``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``,
    ``target_kl``, ``policy_kwargs``, ``seed``, ``device``, ...).
    """


class TRPOLagrangian(LagrangianMixin, TRPO):
    __doc__ = """TRPO-Lagrangian: sb3-contrib TRPO's natural-gradient step (conjugate gradient, KL trust region,
    backtracking line search) on the penalised advantage.
    """ + _CONSTRAINED_ARGS_DOC + """
    Every other keyword argument is sb3-contrib ``TRPO``'s (``learning_rate`` (of the reward critic),
    ``n_steps``, ``batch_size``, ``gamma``, ``gae_lambda``, ``cg_max_steps``, ``cg_damping``,
    ``line_search_shrinking_factor``, ``line_search_max_iter``, ``n_critic_updates``, ``target_kl``, ...).
    """

    reward_critic_passes = "n_critic_updates"


class UnconstrainedPPO(CostMonitoringMixin, PPO):
    """Stock stable-baselines3 PPO that also logs ``rollout/ep_cost_mean`` and ``rollout/cost_rate`` (a baseline
    for the constrained learners; a step without ``info["cost"]`` counts as zero cost). Arguments: ``PPO``'s."""


class UnconstrainedTRPO(CostMonitoringMixin, TRPO):
    """Stock sb3-contrib TRPO that also logs ``rollout/ep_cost_mean`` and ``rollout/cost_rate``. Arguments:
    ``TRPO``'s."""
