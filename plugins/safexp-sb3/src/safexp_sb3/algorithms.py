"""Registry records of the on-policy learners: hyperparameter schemas, factories and loaders.

Defaults follow OmniSafe's configuration for the Safety Gym suite (the source of the reference figures in
constrained-rl.md §7): 20,000 env steps per update, 64×64 tanh networks, γ = γ_c = 0.99, λ_GAE = λ_c = 0.95,
cost limit 25. ``n_steps`` is per env: with ``n`` envs, set it to ``20000 // n`` to keep the reference batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from stable_baselines3.common.type_aliases import GymEnv
from torch import nn

from safexp import AlgorithmSpec
from safexp.errors import ParameterError, choices_hint
from safexp_sb3.cpo import CPO
from safexp_sb3.lagrangian import PPOLagrangian, TRPOLagrangian, UnconstrainedPPO, UnconstrainedTRPO

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


@dataclass
class PolicyParams:
    """Network and statistics settings every on-policy learner has.

    :param net_arch: hidden layer sizes of the policy and of the reward critic (separate networks).
    :param activation: hidden activation: ``tanh``, ``relu`` or ``elu``.
    :param stats_window_size: finished episodes averaged by ``rollout/ep_rew_mean`` and ``rollout/ep_cost_mean``
        (and by the fallback J_c estimate of the constrained learners).
    """

    net_arch: List[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    stats_window_size: int = 100


@dataclass
class PPOParams(PolicyParams):
    """Hyperparameters of PPO (``ppo``): :class:`PolicyParams` and these.

    :param learning_rate: Adam step size of the policy and the reward critic (reference 3e-4).
    :param n_steps: env steps per env per update (reference 20,000 in total).
    :param batch_size: minibatch size (reference 64).
    :param n_epochs: passes over the rollout per update (reference 40).
    :param gamma: reward discount γ.
    :param gae_lambda: GAE λ of the reward advantages.
    :param clip_range: PPO ratio clip ε.
    :param ent_coef: entropy bonus coefficient.
    :param vf_coef: weight of the reward-critic loss.
    :param max_grad_norm: gradient-norm clip (reference 40).
    :param target_kl: stop the epochs of an update early once the approximate KL exceeds 1.5 × this
        (reference 0.02); ``None`` never stops.
    :param normalize_advantage: standardise the reward advantages.
    """

    learning_rate: float = 3e-4
    n_steps: int = 20000
    batch_size: int = 64
    n_epochs: int = 40
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 40.0
    target_kl: Optional[float] = 0.02
    normalize_advantage: bool = True


@dataclass
class TRPOParams(PolicyParams):
    """Hyperparameters of TRPO (``trpo``): :class:`PolicyParams` and these.

    :param learning_rate: Adam step size of the reward critic (reference 1e-3).
    :param n_steps: env steps per env per update (reference 20,000 in total).
    :param batch_size: minibatch size of the critic regression (reference 128).
    :param n_critic_updates: passes over the rollout of the critic regression (reference 10).
    :param gamma: reward discount γ.
    :param gae_lambda: GAE λ of the reward advantages.
    :param target_kl: the KL trust region δ (reference 0.01).
    :param cg_max_steps: conjugate-gradient iterations (reference 10 to 15).
    :param cg_damping: damping added to the KL Hessian (reference 0.1).
    :param line_search_shrinking_factor: backtracking factor (reference 0.8).
    :param line_search_max_iter: backtracking steps (reference 10).
    :param normalize_advantage: standardise the reward advantages.
    """

    learning_rate: float = 1e-3
    n_steps: int = 20000
    batch_size: int = 128
    n_critic_updates: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    target_kl: float = 0.01
    cg_max_steps: int = 10
    cg_damping: float = 0.1
    line_search_shrinking_factor: float = 0.8
    line_search_max_iter: int = 10
    normalize_advantage: bool = True


@dataclass
class CostParams:
    """The constraint and the cost critic.

    :param cost_limit: episode cost limit d of every constraint (undiscounted; Safety Gym: 25 per 1000-step
        episode).
    :param cost_limits: per-constraint limits, constraint name → limit; when given it replaces ``cost_limit``
        and must name every constraint of the env.
    :param cost_gamma: discount γ_c of the cost returns.
    :param cost_gae_lambda: GAE λ_c of the cost advantages.
    :param cost_critic_lr: Adam step size of the cost critic.
    :param cost_critic_net_arch: hidden layer sizes of the cost critic (its own network, one output per
        constraint).
    :param cost_critic_epochs: passes over the rollout per cost-critic update (``None``: as the reward critic,
        ``n_epochs`` or ``n_critic_updates``).
    :param cost_critic_batch_size: minibatch size of the cost-critic update (``None``: ``batch_size``).
    """

    cost_limit: float = 25.0
    cost_limits: Dict[str, float] = field(default_factory=dict)
    cost_gamma: float = 0.99
    cost_gae_lambda: float = 0.95
    cost_critic_lr: float = 1e-3
    cost_critic_net_arch: List[int] = field(default_factory=lambda: [64, 64])
    cost_critic_epochs: Optional[int] = None
    cost_critic_batch_size: Optional[int] = None


@dataclass
class MultiplierParams:
    """The Lagrange multiplier of every constraint.

    :param multiplier: preset: ``omnisafe`` (λ clamped at 0, init 0.001, Adam lr 0.035),
        ``safety_starter_agents`` (softplus, init 1, Adam lr 0.05), ``sgd`` (clamp, init 0, plain gradient
        lr 0.01) or ``pid`` (Stooke et al.: kp 0.1, ki 0.01, kd 0.01, d_delay 10, ema 0.95, max 100).
    :param multiplier_settings: settings replacing the preset's, e.g. ``{lr: 0.01, init: 0.5}``, or
        ``{kp: 0.05}`` for ``pid`` (see :class:`safexp_sb3.multipliers.MultiplierSettings`).
    """

    multiplier: str = "omnisafe"
    multiplier_settings: Dict[str, Any] = field(default_factory=dict)


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


def _policy_kwargs(params: PolicyParams) -> dict[str, Any]:
    if params.activation not in ACTIVATIONS:
        raise ParameterError(f"unknown activation '{params.activation}'; {choices_hint(params.activation, ACTIVATIONS)}")
    return {"net_arch": list(params.net_arch), "activation_fn": ACTIVATIONS[params.activation]}


def _stock_kwargs(params: PolicyParams, schema: type) -> dict[str, Any]:
    """The stable-baselines3 keyword arguments of ``params``: the fields of ``schema`` (``PPOParams`` or
    ``TRPOParams``), the network fields turned into ``policy_kwargs``."""
    kwargs = {name: getattr(params, name) for name in schema.__dataclass_fields__
              if name not in ("net_arch", "activation")}
    kwargs["policy_kwargs"] = _policy_kwargs(params)
    return kwargs


def _cost_kwargs(params: CostParams) -> dict[str, Any]:
    kwargs = {name: getattr(params, name) for name in CostParams.__dataclass_fields__ if name != "cost_limits"}
    if params.cost_limits:
        kwargs["cost_limit"] = dict(params.cost_limits)
    kwargs["cost_critic_net_arch"] = list(params.cost_critic_net_arch)
    return kwargs


def _multiplier_kwargs(params: MultiplierParams) -> dict[str, Any]:
    return {"multiplier": params.multiplier, "multiplier_settings": dict(params.multiplier_settings)}


def make_ppo(env: GymEnv, params: PPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> UnconstrainedPPO:
    """Unconstrained PPO (logs episode costs) on ``env`` from validated ``params``."""
    return UnconstrainedPPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                            device=device, **_stock_kwargs(params, PPOParams))


def make_trpo(env: GymEnv, params: TRPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
              verbose: int = 0, device: str = "cpu") -> UnconstrainedTRPO:
    """Unconstrained TRPO (logs episode costs) on ``env`` from validated ``params``."""
    return UnconstrainedTRPO("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                             device=device, **_stock_kwargs(params, TRPOParams))


def make_ppo_lag(env: GymEnv, params: PPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                 verbose: int = 0, device: str = "cpu") -> PPOLagrangian:
    """PPO-Lagrangian (or PID-Lagrangian, with :class:`PIDLagParams`) on ``env`` from validated ``params``."""
    return PPOLagrangian("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
                         **_stock_kwargs(params, PPOParams), **_cost_kwargs(params), **_multiplier_kwargs(params))


def make_trpo_lag(env: GymEnv, params: TRPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                  verbose: int = 0, device: str = "cpu") -> TRPOLagrangian:
    """TRPO-Lagrangian on ``env`` from validated ``params``."""
    return TRPOLagrangian("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                          device=device, **_stock_kwargs(params, TRPOParams), **_cost_kwargs(params),
                          **_multiplier_kwargs(params))


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
               **_stock_kwargs(params, TRPOParams), **cost_kwargs)


def _loader(cls: type) -> Any:
    def load(path: str, env: GymEnv | None = None, *, device: str = "cpu", tensorboard_log: str | None = None) -> Any:
        return cls.load(path, env=env, device=device, tensorboard_log=tensorboard_log)

    load.__doc__ = f"Restore a saved :class:`{cls.__name__}` (cost critic, multipliers and cost statistics included)."
    return load


ON_POLICY_SPECS: list[AlgorithmSpec] = [
    AlgorithmSpec(name="ppo_lag", factory=make_ppo_lag, params=PPOLagParams, load=_loader(PPOLagrangian),
                  description="PPO-Lagrangian: PPO on (A_r - Σλ·A_c)/(1 + Σλ), one multiplier and cost head per constraint"),
    AlgorithmSpec(name="pid_lag", factory=make_ppo_lag, params=PIDLagParams, load=_loader(PPOLagrangian),
                  description="PID-Lagrangian PPO (Stooke et al. 2020): PPO-Lagrangian with a PID multiplier"),
    AlgorithmSpec(name="trpo_lag", factory=make_trpo_lag, params=TRPOLagParams, load=_loader(TRPOLagrangian),
                  description="TRPO-Lagrangian: TRPO's natural-gradient step on the penalised advantage"),
    AlgorithmSpec(name="cpo", factory=make_cpo, params=CPOParams, load=_loader(CPO),
                  description="Constrained Policy Optimization (Achiam et al. 2017), one constraint"),
    AlgorithmSpec(name="ppo", factory=make_ppo, params=PPOParams, load=_loader(UnconstrainedPPO),
                  description="PPO, unconstrained (logs episode costs for comparison)"),
    AlgorithmSpec(name="trpo", factory=make_trpo, params=TRPOParams, load=_loader(UnconstrainedTRPO),
                  description="TRPO, unconstrained (logs episode costs for comparison)"),
]
"""The on-policy learners this plugin registers."""
