"""The hook implementations of the ``safexp-sb3`` plugin: the learners it registers.

One module per learner: ``ppo_lag`` and ``pid_lag`` (:mod:`safexp_sb3.ppo_lag`), ``ppo_lag_rnn``
(:mod:`safexp_sb3.ppo_lag_rnn`), ``trpo_lag``
(:mod:`safexp_sb3.trpo_lag`), ``cpo`` (:mod:`safexp_sb3.cpo`), ``sac_lag`` and ``sac`` (:mod:`safexp_sb3.sac_lag`),
``sac_lag_rnn`` (:mod:`safexp_sb3.sac_lag_rnn`), and the unconstrained ``ppo`` and ``trpo``
(:mod:`safexp_sb3.baselines`).

The records name their parameter schemas (:mod:`safexp_sb3.hyperparameters` and, for the recurrent learners,
:mod:`safexp_sb3.rnn_hyperparameters`: plain dataclasses) and reach their
factories and loaders through :func:`imported_on_call`, so registering the learners — ``safexp plugins``,
``safexp list algorithms``, validating a config — imports neither torch nor stable-baselines3.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from safexp.plugin import AlgorithmSpec, hookimpl
from safexp_sb3.hyperparameters import (
    CPOParams,
    PIDLagParams,
    PPOLagParams,
    PPOLagRNNParams,
    PPOParams,
    SACLagParams,
    SACParams,
    TRPOLagParams,
    TRPOParams,
)
from safexp_sb3.rnn_hyperparameters import SACLagRNNParams


def imported_on_call(target: str) -> Callable[..., Any]:
    """A function that imports ``module:name`` on its first call and calls it (the learner modules load torch)."""
    module, name = target.split(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{target}``, imported on the first call."
    return call


def _learner(name: str, module: str, params: type, description: str, factory: str | None = None) -> AlgorithmSpec:
    return AlgorithmSpec(name=name, factory=imported_on_call(f"{module}:make_{factory or name}"), params=params,
                         load=imported_on_call(f"{module}:load_{factory or name}"), description=description)


@hookimpl
def safexp_algorithms() -> Iterator[AlgorithmSpec]:
    """Register the learners: the on-policy ones, then the off-policy ones."""
    yield _learner("ppo_lag", "safexp_sb3.ppo_lag", PPOLagParams,
                   "PPO-Lagrangian: PPO on (A_r - Σλ·A_c)/(1 + Σλ), one multiplier and cost head per constraint")
    yield _learner("pid_lag", "safexp_sb3.ppo_lag", PIDLagParams,
                   "PID-Lagrangian PPO (Stooke et al. 2020): PPO-Lagrangian with a PID multiplier", factory="ppo_lag")
    yield _learner("ppo_lag_rnn", "safexp_sb3.ppo_lag_rnn", PPOLagRNNParams,
                   "Recurrent PPO-Lagrangian: RecurrentPPO (LSTM) on the penalised advantage, cost head on the critic LSTM")
    yield _learner("trpo_lag", "safexp_sb3.trpo_lag", TRPOLagParams,
                   "TRPO-Lagrangian: TRPO's natural-gradient step on the penalised advantage")
    yield _learner("cpo", "safexp_sb3.cpo", CPOParams, "Constrained Policy Optimization (Achiam et al. 2017), one constraint")
    yield _learner("ppo", "safexp_sb3.baselines", PPOParams, "PPO, unconstrained (logs episode costs for comparison)")
    yield _learner("trpo", "safexp_sb3.baselines", TRPOParams, "TRPO, unconstrained (logs episode costs for comparison)")
    yield _learner("sac_lag", "safexp_sb3.sac_lag", SACLagParams,
                   "SAC-Lagrangian: SAC with a cost critic and a Lagrange multiplier per constraint")
    yield _learner("sac", "safexp_sb3.sac_lag", SACParams, "Soft Actor-Critic, unconstrained (logs episode costs for comparison)")
    yield _learner("sac_lag_rnn", "safexp_sb3.sac_lag_rnn", SACLagRNNParams,
                   "Recurrent SAC-Lagrangian (Knight & Achiam): CNN/MLP encoder, GRU, per-step cost limit")
