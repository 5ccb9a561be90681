"""The factories and loaders of the on-policy learners (their records are in :mod:`safexp_sb3.plugin`, their
parameter schemas in :mod:`safexp_sb3.hyperparameters`).

Defaults follow OmniSafe's configuration for the Safety Gym suite (the source of the reference figures in
constrained-rl.md §7): 20,000 env steps per update, 64×64 tanh networks, γ = γ_c = 0.99, λ_GAE = λ_c = 0.95,
cost limit 25. ``n_steps`` is per env: with ``n`` envs, set it to ``20000 // n`` to keep the reference batch.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from stable_baselines3.common.type_aliases import GymEnv

from safexp.plugin import ParameterError
from safexp_sb3.cpo import CPO
from safexp_sb3.hyperparameters import CostParams, CPOParams, PPOLagParams, PPOParams, TRPOLagParams, TRPOParams
from safexp_sb3.lagrangian import PPOLagrangian, TRPOLagrangian, UnconstrainedPPO, UnconstrainedTRPO
from safexp_sb3.params import (
    cost_limit_argument,
    expected_truncation_quiet,
    model_loader,
    multiplier_kwargs,
    stock_kwargs,
)


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


load_ppo_lag = model_loader(PPOLagrangian)
load_trpo_lag = model_loader(TRPOLagrangian)
load_cpo = model_loader(CPO)
load_ppo = model_loader(UnconstrainedPPO)
load_trpo = model_loader(UnconstrainedTRPO)
