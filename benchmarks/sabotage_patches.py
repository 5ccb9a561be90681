"""A pytest plugin that breaks one learner ingredient, named by the ``SAFEXP_SABOTAGE`` environment variable
(:data:`SABOTAGES`), before any test module is imported; ``benchmarks/sabotage.py`` loads it with
``-p sabotage_patches``. Without the variable it changes nothing."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

LEARNER_MODULES = ("safexp_sb3.cost_buffer", "safexp_sb3.on_policy_costs", "safexp_sb3.ppo_lag",
                   "safexp_sb3.ppo_lag_rnn", "safexp_sb3.trpo_lag", "safexp_sb3.cpo", "safexp_sb3.sac_lag")


def _replace(name: str, replacement: Any) -> None:
    """Put ``replacement`` in place of ``name`` in every learner module that has it (they import it by name)."""
    for module_name in LEARNER_MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            setattr(module, name, replacement)


def _freeze_multipliers() -> None:
    from safexp_sb3.constraints import ConstraintMultipliers

    def update(self: Any, estimate: np.ndarray) -> np.ndarray:
        self.last_estimate = np.asarray(estimate, dtype=np.float64)
        return self.values

    ConstraintMultipliers.update = update


def lambda_frozen_at_init() -> None:
    _freeze_multipliers()


def lambda_frozen_at_1() -> None:
    from safexp_sb3.constraints import ConstraintMultipliers

    _freeze_multipliers()
    ConstraintMultipliers.values = property(lambda self: np.ones(len(self.multipliers)))


def cpo_line_search_accepts_every_step() -> None:
    _replace("cpo_accepts", lambda *args, **kwargs: True)


def cost_sign_flipped() -> None:
    from safexp_sb3 import sac_lag

    _replace("penalised_advantage", lambda reward, cost, lambdas: (reward + cost @ np.asarray(lambdas)) / (
        1.0 + np.sum(lambdas)))
    original = sac_lag.lagrangian_actor_loss
    sac_lag.lagrangian_actor_loss = lambda ent, logp, min_q, cost_q, lambdas, normalize: original(
        ent, logp, min_q, -cost_q, lambdas, normalize)


def centring_removed() -> None:
    _replace("centred", lambda cost_advantages: np.asarray(cost_advantages, dtype=np.float64))


def normalisation_removed() -> None:
    _replace("penalised_advantage", lambda reward, cost, lambdas: reward - cost @ np.asarray(lambdas))


SABOTAGES: dict[str, Callable[[], None]] = {
    "lambda frozen at its initial value": lambda_frozen_at_init,
    "lambda frozen at 1": lambda_frozen_at_1,
    "CPO line search accepts every step": cpo_line_search_accepts_every_step,
    "cost term's sign flipped": cost_sign_flipped,
    "cost-advantage centring removed": centring_removed,
    "1/(1+lambda) removed": normalisation_removed,
}


def pytest_configure(config: Any) -> None:
    name = os.environ.get("SAFEXP_SABOTAGE")
    if name:
        SABOTAGES[name]()
