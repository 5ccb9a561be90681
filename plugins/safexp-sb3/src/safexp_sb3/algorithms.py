"""Registry records of the on-policy learners: hyperparameter schemas, factories and loaders.

Defaults follow OmniSafe's configuration for the Safety Gym suite (the source of the reference figures in
constrained-rl.md §7): 20,000 env steps per update, 64×64 tanh networks, γ = γ_c = 0.99, λ_GAE = λ_c = 0.95,
cost limit 25. ``n_steps`` is per env: with ``n`` envs, set it to ``20000 // n`` to keep the reference batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, List, Optional

from stable_baselines3.common.type_aliases import GymEnv

from safexp import AlgorithmSpec
from safexp.plugin import ParameterError
from safexp_sb3.cpo import CPO
from safexp_sb3.lagrangian import PPOLagrangian, TRPOLagrangian, UnconstrainedPPO, UnconstrainedTRPO
from safexp_sb3.params import (
    CostLimitParams,
    MultiplierParams,
    PolicyParams,
    cost_limit_argument,
    expected_truncation_quiet,
    model_loader,
    multiplier_kwargs,
    stock_kwargs,
)


@dataclass
class OnPolicyParams(PolicyParams):
    """What PPO and TRPO share: :class:`PolicyParams` and the rollout and its reward advantages.

    :param n_steps: env steps per env per update (reference 20,000 in total).
    :param gamma: reward discount γ.
    :param gae_lambda: GAE λ of the reward advantages.
    :param normalize_advantage: standardise the reward advantages.
    """

    n_steps: int = 20000
    gamma: float = 0.99
    gae_lambda: float = 0.95
    normalize_advantage: bool = True


@dataclass
class PPOParams(OnPolicyParams):
    """Hyperparameters of PPO (``ppo``): :class:`OnPolicyParams` and these.

    :param learning_rate: Adam step size of the policy and the reward critic (reference 3e-4).
    :param batch_size: minibatch size (reference 64).
    :param n_epochs: passes over the rollout per update (reference 40).
    :param clip_range: PPO ratio clip ε.
    :param ent_coef: entropy bonus coefficient.
    :param vf_coef: weight of the reward-critic loss.
    :param max_grad_norm: gradient-norm clip (reference 40).
    :param target_kl: stop the epochs of an update early once the approximate KL exceeds 1.5 × this
        (reference 0.02); ``None`` never stops.
    """

    learning_rate: float = 3e-4
    batch_size: int = 64
    n_epochs: int = 40
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 40.0
    target_kl: Optional[float] = 0.02


@dataclass
class TRPOParams(OnPolicyParams):
    """Hyperparameters of TRPO (``trpo``): :class:`OnPolicyParams` and these.

    :param learning_rate: Adam step size of the reward critic (reference 1e-3).
    :param batch_size: minibatch size of the critic regression (reference 128).
    :param n_critic_updates: passes over the rollout of the critic regression (reference 10).
    :param target_kl: the KL trust region δ (reference 0.01).
    :param cg_max_steps: conjugate-gradient iterations (reference 10 to 15).
    :param cg_damping: damping added to the KL Hessian (reference 0.1).
    :param line_search_shrinking_factor: backtracking factor (reference 0.8).
    :param line_search_max_iter: backtracking steps (reference 10).
    """

    learning_rate: float = 1e-3
    batch_size: int = 128
    n_critic_updates: int = 10
    target_kl: float = 0.01
    cg_max_steps: int = 10
    cg_damping: float = 0.1
    line_search_shrinking_factor: float = 0.8
    line_search_max_iter: int = 10


@dataclass
class CostParams(CostLimitParams):
    """The constraint (:class:`safexp_sb3.params.CostLimitParams`: ``cost_limit``, ``cost_limits``) and the cost
    critic.

    :param cost_gamma: discount γ_c of the cost returns.
    :param cost_gae_lambda: GAE λ_c of the cost advantages.
    :param cost_critic_lr: Adam step size of the cost critic.
    :param cost_critic_net_arch: hidden layer sizes of the cost critic (its own network, one output per
        constraint).
    :param cost_critic_epochs: ``None``: the cost critic steps on every minibatch the reward critic steps on, in
        the same loop (``n_epochs`` or ``n_critic_updates`` passes, ending early with PPO's KL stop, as OmniSafe
        does); a number: its own schedule of that many passes after the update.
    :param cost_critic_batch_size: ``None``: as the reward critic (``batch_size``); a number: its own schedule
        with minibatches of that size.
    """

    cost_gamma: float = 0.99
    cost_gae_lambda: float = 0.95
    cost_critic_lr: float = 1e-3
    cost_critic_net_arch: List[int] = field(default_factory=lambda: [64, 64])
    cost_critic_epochs: Optional[int] = None
    cost_critic_batch_size: Optional[int] = None


@dataclass
class PPOLagParams(MultiplierParams, CostParams, PPOParams):
    """Hyperparameters of PPO-Lagrangian (``ppo_lag``): those of :class:`PPOParams`, :class:`CostParams` and
    :class:`MultiplierParams` (default preset ``omnisafe``)."""


@dataclass
class PIDLagParams(PPOLagParams):
    """Hyperparameters of PID-Lagrangian PPO (``pid_lag``): as :class:`PPOLagParams` with the ``pid`` preset."""

    multiplier: str = "pid"


@dataclass
class TRPOLagParams(MultiplierParams, CostParams, TRPOParams):
    """Hyperparameters of TRPO-Lagrangian (``trpo_lag``): those of :class:`TRPOParams`, :class:`CostParams` and
    :class:`MultiplierParams` (default preset ``omnisafe``)."""


@dataclass
class CPOParams(CostParams, TRPOParams):
    """Hyperparameters of CPO (``cpo``): those of :class:`TRPOParams` (``target_kl`` is CPO's δ) and
    :class:`CostParams` (one constraint: ``cost_limits`` may name at most one)."""


def _cost_kwargs(params: CostParams) -> dict[str, Any]:
    """The cost-critic arguments of an on-policy constrained learner (the fields of :class:`CostParams`)."""
    kwargs = {f.name: getattr(params, f.name) for f in fields(CostParams) if f.name not in ("cost_limit", "cost_limits")}
    kwargs["cost_limit"] = cost_limit_argument(params)
    kwargs["cost_critic_net_arch"] = list(params.cost_critic_net_arch)
    return kwargs


@expected_truncation_quiet()
def make_ppo(env: GymEnv, params: PPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> UnconstrainedPPO:
    """Unconstrained PPO (logs episode costs) on ``env`` from validated ``params``."""
    return UnconstrainedPPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                            device=device, **stock_kwargs(params, PPOParams))


@expected_truncation_quiet()
def make_trpo(env: GymEnv, params: TRPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
              verbose: int = 0, device: str = "cpu") -> UnconstrainedTRPO:
    """Unconstrained TRPO (logs episode costs) on ``env`` from validated ``params``."""
    return UnconstrainedTRPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                             device=device, **stock_kwargs(params, TRPOParams))


@expected_truncation_quiet()
def make_ppo_lag(env: GymEnv, params: PPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                 verbose: int = 0, device: str = "cpu") -> PPOLagrangian:
    """PPO-Lagrangian (or PID-Lagrangian, with :class:`PIDLagParams`) on ``env`` from validated ``params``."""
    return PPOLagrangian("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
                         **stock_kwargs(params, PPOParams), **_cost_kwargs(params), **multiplier_kwargs(params))


@expected_truncation_quiet()
def make_trpo_lag(env: GymEnv, params: TRPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                  verbose: int = 0, device: str = "cpu") -> TRPOLagrangian:
    """TRPO-Lagrangian on ``env`` from validated ``params``."""
    return TRPOLagrangian("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                          device=device, **stock_kwargs(params, TRPOParams), **_cost_kwargs(params),
                          **multiplier_kwargs(params))


@expected_truncation_quiet()
def make_cpo(env: GymEnv, params: CPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> CPO:
    """CPO on ``env`` from validated ``params``."""
    cost_kwargs = _cost_kwargs(params)
    if isinstance(cost_kwargs["cost_limit"], dict):
        if len(cost_kwargs["cost_limit"]) != 1:
            raise ParameterError(f"CPO handles one constraint, but cost_limits names {len(params.cost_limits)} "
                                 f"({', '.join(params.cost_limits)}); use ppo_lag, trpo_lag or pid_lag")
        cost_kwargs["cost_limit"] = float(next(iter(params.cost_limits.values())))
    return CPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
               **stock_kwargs(params, TRPOParams), **cost_kwargs)


ON_POLICY_SPECS: list[AlgorithmSpec] = [
    AlgorithmSpec(name="ppo_lag", factory=make_ppo_lag, params=PPOLagParams, load=model_loader(PPOLagrangian),
                  description="PPO-Lagrangian: PPO on (A_r - Σλ·A_c)/(1 + Σλ), one multiplier and cost head per constraint"),
    AlgorithmSpec(name="pid_lag", factory=make_ppo_lag, params=PIDLagParams, load=model_loader(PPOLagrangian),
                  description="PID-Lagrangian PPO (Stooke et al. 2020): PPO-Lagrangian with a PID multiplier"),
    AlgorithmSpec(name="trpo_lag", factory=make_trpo_lag, params=TRPOLagParams, load=model_loader(TRPOLagrangian),
                  description="TRPO-Lagrangian: TRPO's natural-gradient step on the penalised advantage"),
    AlgorithmSpec(name="cpo", factory=make_cpo, params=CPOParams, load=model_loader(CPO),
                  description="Constrained Policy Optimization (Achiam et al. 2017), one constraint"),
    AlgorithmSpec(name="ppo", factory=make_ppo, params=PPOParams, load=model_loader(UnconstrainedPPO),
                  description="PPO, unconstrained (logs episode costs for comparison)"),
    AlgorithmSpec(name="trpo", factory=make_trpo, params=TRPOParams, load=model_loader(UnconstrainedTRPO),
                  description="TRPO, unconstrained (logs episode costs for comparison)"),
]
"""The on-policy learners this plugin registers."""
