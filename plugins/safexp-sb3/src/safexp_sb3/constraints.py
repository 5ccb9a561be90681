"""The Lagrange multipliers of a learner: one per constraint, stepped from the episode cost estimate J_c (or,
for ``sac_lag_rnn``, whose limits are per step, a cost-per-step estimate).

:class:`ConstraintMultipliers` is the component the Lagrangian learners (PPO-, PID-, TRPO-, SAC-Lagrangian and
the recurrent ones) call explicitly in their ``train()``: :meth:`~ConstraintMultipliers.update` with this
rollout's J_c, then :attr:`~ConstraintMultipliers.values` in the penalty. The multipliers themselves are
:mod:`safexp_sb3.multipliers`'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from safexp_sb3.costs import resolve_cost_limits
from safexp_sb3.multipliers import LagrangeMultiplier, make_multiplier

CostLimit = float | Mapping[str, float] | Sequence[float]


def cost_limit_setting(cost_limit: CostLimit) -> float | dict[str, float] | list[float]:
    """``cost_limit`` as plain data: a float, a dict constraint name → limit, or a list in constraint order."""
    if isinstance(cost_limit, Mapping):
        return {str(k): float(v) for k, v in cost_limit.items()}
    if isinstance(cost_limit, (int, float)):
        return float(cost_limit)
    return [float(v) for v in cost_limit]


class ConstraintMultipliers:
    """One Lagrange multiplier per constraint.

    :param constraint_names: the constraints, in order (:func:`safexp_sb3.costs.resolve_constraint_names`).
    :param cost_limit: the cost limit (per episode; per step for a learner that says so with ``estimate_name``):
        a float for every constraint, a mapping name → limit or a sequence in ``constraint_names`` order
        (:func:`safexp_sb3.costs.resolve_cost_limits` checks it).
    :param preset: a key of :data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`.
    :param settings: settings replacing the preset's.
    :param estimate_name: what the estimate given to :meth:`update` is, its TensorBoard tag under ``train/``:
        ``ep_cost_estimate`` (an episode cost J_c, the default) or, for a learner whose limits are per step,
        ``cost_rate_estimate``.

    Logged by :meth:`record` (``/<name>`` appended per constraint when there are several):
    ``train/<estimate_name>`` (the estimate of the last :meth:`update`), ``train/lagrange_multiplier`` and the
    multiplier's diagnostics (``train/cost_violation`` of a gradient multiplier; ``train/pid_p``, ``train/pid_i``,
    ``train/pid_d`` of a PID one; ``train/smoothed_cost``, the smoothed estimate, with ``cost_ema`` > 0).
    """

    def __init__(self, constraint_names: Sequence[str], cost_limit: CostLimit, preset: str,
                 settings: Mapping[str, Any] | None = None, estimate_name: str = "ep_cost_estimate") -> None:
        self.constraint_names = tuple(constraint_names)
        self.cost_limits = resolve_cost_limits(self.constraint_names, cost_limit)
        self.multipliers: list[LagrangeMultiplier] = [make_multiplier(preset, float(limit), settings)
                                                      for limit in self.cost_limits]
        self.last_estimate: np.ndarray | None = None
        self.estimate_name = estimate_name

    @property
    def values(self) -> np.ndarray:
        """The current λ of every constraint, shape ``(n_constraints,)``."""
        return np.array([m.value for m in self.multipliers], dtype=np.float64)

    def update(self, estimate: np.ndarray) -> np.ndarray:
        """One step of every multiplier from the cost estimate (J_c, or a cost per step: ``estimate_name``), shape
        ``(n_constraints,)``; returns the new λ."""
        self.last_estimate = np.asarray(estimate, dtype=np.float64)
        for multiplier, cost in zip(self.multipliers, self.last_estimate, strict=True):
            multiplier.update(float(cost))
        return self.values

    def record(self, logger: Any) -> None:
        """Log λ, the last estimate and the multipliers' diagnostics (class docstring) with a stable-baselines3 logger."""
        for k, multiplier in enumerate(self.multipliers):
            suffix = "" if len(self.multipliers) == 1 else f"/{self.constraint_names[k]}"
            logger.record(f"train/lagrange_multiplier{suffix}", multiplier.value)
            if self.last_estimate is not None:
                logger.record(f"train/{self.estimate_name}{suffix}", float(self.last_estimate[k]))
            for term, value in multiplier.diagnostics().items():
                key = "train/cost_violation" if term == "violation" else f"train/{term}"
                logger.record(key + suffix, value)

    def state_dict(self) -> dict[str, Any]:
        """Every multiplier's state and the last J_c, as plain lists, floats and dicts."""
        return {"multipliers": [m.state_dict() for m in self.multipliers],
                "last_estimate": None if self.last_estimate is None else self.last_estimate.tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for multiplier, saved in zip(self.multipliers, state["multipliers"], strict=True):
            multiplier.load_state_dict(saved)
        last = state["last_estimate"]
        self.last_estimate = None if last is None else np.asarray(last, dtype=np.float64)
