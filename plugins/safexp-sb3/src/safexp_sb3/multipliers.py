"""Lagrange multipliers as pluggable parts of a constrained learner.

A multiplier turns an estimate of the expected episode cost J_c into a penalty weight λ ≥ 0 for one
constraint ``J_c ≤ d`` (``d`` = ``cost_limit``, per episode, undiscounted). Every multiplier offers:

- ``update(ep_cost) -> float``: feed one J_c estimate, get the new λ;
- ``value``: the current λ;
- ``state_dict()`` / ``load_state_dict(state)``: the full internal state as plain Python numbers and lists
  (picklable, so it survives stable-baselines3's ``save``/``load``, which drops torch-saved attributes from
  the pickle);
- ``diagnostics()``: a flat ``name -> float`` dict for logging (the PID terms, for example).

Two variants (reference: constrained-rl.md §3):

- :class:`GradientMultiplier`: gradient descent on the loss ``-p·(J_c - d)`` with Adam or plain SGD, the
  parameter ``p`` mapped to λ either by ``softplus`` (safety-starter-agents) or by clamping at zero
  (OmniSafe, SafePO). Adam on a scalar moves λ by about ``lr`` per update whatever the size of the
  violation; SGD moves it by ``lr·(J_c - d)``.
- :class:`PIDMultiplier`: the PID Lagrangian of Stooke et al. (2020).

Either can first smooth the estimates it is fed (:class:`SmoothedCost`, setting ``cost_ema``): one rollout's
mean episode cost is noisy, and an exponential moving average over rollouts steadies λ at the price of lag.

:func:`make_multiplier` builds one from a named preset (:data:`MULTIPLIER_PRESETS`) plus overrides.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from safexp.plugin import ParameterError, SafexpError, choices_hint


class NonFiniteError(SafexpError, FloatingPointError):
    """A learner quantity (a loss, an advantage, a multiplier, an episode cost) became NaN or infinite."""


def check_finite(name: str, value: float) -> float:
    """Return ``value`` unchanged, or raise :class:`NonFiniteError` naming ``name`` if it is NaN or ±inf."""
    if not math.isfinite(value):
        raise NonFiniteError(f"{name} is {value}; refusing to train on a non-finite value")
    return value


class LagrangeMultiplier(Protocol):
    """What a constrained learner needs from a multiplier (see the module docstring)."""

    cost_limit: float

    @property
    def value(self) -> float: ...

    def update(self, ep_cost: float) -> float: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def diagnostics(self) -> dict[str, float]: ...


class SmoothedCost:
    """An exponential moving average of the episode cost estimates fed to a multiplier (or to CPO's ``c``).

    ``Ĵ ← ema·Ĵ + (1 - ema)·J_c``, starting at the first estimate (no bias towards zero); ``ema = 0`` passes every
    estimate through unchanged.

    :param ema: the smoothing factor, in ``[0, 1)``.
    """

    def __init__(self, ema: float = 0.0) -> None:
        if not 0.0 <= ema < 1.0:
            raise ParameterError(f"cost_ema must be in [0, 1), got {ema}")
        self.ema = float(ema)
        self.value = 0.0
        self.count = 0

    def update(self, ep_cost: float) -> float:
        """Fold in one estimate ``J_c`` (checked finite); return the smoothed estimate ``Ĵ``."""
        cost = check_finite("episode cost estimate J_c", float(ep_cost))
        self.value = cost if self.count == 0 else self.ema * self.value + (1.0 - self.ema) * cost
        self.count += 1
        return self.value

    def state_dict(self) -> dict[str, Any]:
        """``Ĵ`` and how many estimates it holds, as a float and an int."""
        return {"smoothed_cost": self.value, "cost_estimates": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (a state without it, from before smoothing existed, starts
        afresh)."""
        self.value = float(state.get("smoothed_cost", 0.0))
        self.count = int(state.get("cost_estimates", 0))

    def diagnostics(self) -> dict[str, float]:
        """``{"smoothed_cost": Ĵ}`` once smoothing is on and an estimate came in; else nothing."""
        return {"smoothed_cost": self.value} if self.ema > 0.0 and self.count else {}


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def _inverse_softplus(y: float) -> float:
    if y <= 0.0:
        raise ParameterError(f"a softplus multiplier needs a positive initial value, got {y}")
    return y + math.log(-math.expm1(-y))


class GradientMultiplier:
    """λ from gradient steps on the multiplier loss ``L(p) = -p·(J_c - d)``.

    The gradient ``dL/dp = -(J_c - d)`` raises ``p`` while the constraint is violated and lowers it while it
    holds (the softplus variant differentiates with respect to ``p`` itself, as safety-starter-agents does).

    :param cost_limit: ``d``, the episode cost limit.
    :param init: the initial λ (for ``softplus`` it must be > 0; ``p`` starts at softplus⁻¹(init)).
    :param lr: step size of the optimiser.
    :param parameterisation: ``"softplus"`` (λ = softplus(p), always > 0) or ``"clamp"`` (λ = p, clamped to
        ``[0, max_value]`` after every step).
    :param optimizer: ``"adam"`` (β₁ 0.9, β₂ 0.999, ε 1e-8, as torch's defaults) or ``"sgd"``.
    :param max_value: an upper bound on λ, or ``None`` for none.
    :param cost_ema: smoothing of the episode cost estimates before the step (:class:`SmoothedCost`; ``0``: none).
    """

    PARAMETERISATIONS = ("softplus", "clamp")
    OPTIMIZERS = ("adam", "sgd")
    ADAM_BETAS = (0.9, 0.999)
    ADAM_EPS = 1e-8

    def __init__(
        self,
        cost_limit: float,
        init: float = 1.0,
        lr: float = 0.05,
        parameterisation: str = "softplus",
        optimizer: str = "adam",
        max_value: float | None = None,
        cost_ema: float = 0.0,
    ) -> None:
        if parameterisation not in self.PARAMETERISATIONS:
            raise ParameterError(
                f"unknown multiplier parameterisation '{parameterisation}'; "
                f"{choices_hint(parameterisation, self.PARAMETERISATIONS)}"
            )
        if optimizer not in self.OPTIMIZERS:
            raise ParameterError(f"unknown multiplier optimizer '{optimizer}'; {choices_hint(optimizer, self.OPTIMIZERS)}")
        if init < 0.0:
            raise ParameterError(f"multiplier init must be >= 0, got {init}")
        if lr < 0.0:
            raise ParameterError(f"multiplier lr must be >= 0, got {lr}")
        if max_value is not None and max_value < init:
            raise ParameterError(f"multiplier max_value {max_value} is below its init {init}")
        self.cost_limit = float(cost_limit)
        self.lr = float(lr)
        self.parameterisation = parameterisation
        self.optimizer = optimizer
        self.max_value = max_value
        self.cost_estimate = SmoothedCost(cost_ema)
        self._param = _inverse_softplus(init) if parameterisation == "softplus" else float(init)
        self._adam_m = 0.0
        self._adam_v = 0.0
        self._adam_t = 0
        self._last_violation = 0.0

    @property
    def value(self) -> float:
        """The current λ."""
        lam = _softplus(self._param) if self.parameterisation == "softplus" else self._param
        return lam if self.max_value is None else min(lam, self.max_value)

    def update(self, ep_cost: float) -> float:
        """One optimiser step on ``-p·(Ĵ - d)`` for ``Ĵ`` = ``ep_cost`` smoothed (:class:`SmoothedCost`); returns
        the new λ."""
        violation = self.cost_estimate.update(ep_cost) - self.cost_limit
        self._last_violation = violation
        grad = -violation
        if self.optimizer == "adam":
            beta1, beta2 = self.ADAM_BETAS
            self._adam_t += 1
            self._adam_m = beta1 * self._adam_m + (1.0 - beta1) * grad
            self._adam_v = beta2 * self._adam_v + (1.0 - beta2) * grad * grad
            m_hat = self._adam_m / (1.0 - beta1**self._adam_t)
            v_hat = self._adam_v / (1.0 - beta2**self._adam_t)
            step = m_hat / (math.sqrt(v_hat) + self.ADAM_EPS)
        else:
            step = grad
        self._param -= self.lr * step
        if self.parameterisation == "clamp":
            self._param = max(0.0, self._param)
            if self.max_value is not None:
                self._param = min(self._param, self.max_value)
        return check_finite("Lagrange multiplier", self.value)

    def state_dict(self) -> dict[str, Any]:
        """The multiplier parameter, the optimiser moments and the smoothed cost, as plain floats and ints."""
        return {"param": self._param, "adam_m": self._adam_m, "adam_v": self._adam_v, "adam_t": self._adam_t,
                "last_violation": self._last_violation, **self.cost_estimate.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._param = float(state["param"])
        self._adam_m = float(state["adam_m"])
        self._adam_v = float(state["adam_v"])
        self._adam_t = int(state["adam_t"])
        self._last_violation = float(state["last_violation"])
        self.cost_estimate.load_state_dict(state)

    def diagnostics(self) -> dict[str, float]:
        """``{"violation": Ĵ - d}`` of the last update, and ``smoothed_cost`` when smoothing is on."""
        return {"violation": self._last_violation, **self.cost_estimate.diagnostics()}


class PIDMultiplier:
    """The PID Lagrangian of Stooke, Achiam and Abbeel (2020), on the violation ``Δ = J_c - d``.

    Per update (``J_c`` smoothed first when ``cost_ema > 0``, :class:`SmoothedCost`)::

        I   ← min(max_value, max(0, I + ki·Δ))      (integral, clipped so that it cannot wind up past the bounds)
        P   ← ema·P + (1 - ema)·Δ                  (smoothed proportional term, P starts at 0)
        C_d ← ema_d·C_d + (1 - ema_d)·J_c           (smoothed cost for the derivative, C_d starts at 0)
        D   = max(0, C_d - C_d[d_delay updates ago])   (C_d before the first update counts as 0)
        λ   = min(max_value, max(0, kp·P + I + kd·D))

    OmniSafe's ``PIDLagrangian`` computes the same terms; with its ``sum_norm`` (the policy loss divided by
    ``1 + λ``, the form these learners use) it applies no upper bound at all, where this class keeps λ and I at
    most ``max_value`` (OmniSafe's ``penalty_max``).

    :param cost_limit: ``d``, the episode cost limit.
    :param kp: proportional gain.
    :param ki: integral gain.
    :param kd: derivative gain.
    :param d_delay: how many updates back the derivative compares the smoothed cost with.
    :param ema: smoothing factor of the proportional term (``0`` = no smoothing).
    :param ema_d: smoothing factor of the cost used by the derivative term.
    :param max_value: the largest λ (the penalty maximum).
    :param init: the initial λ (the integral term starts here, so that λ starts at ``init``).
    :param cost_ema: smoothing of the episode cost estimates before the PID step (:class:`SmoothedCost`; ``0``:
        none, as OmniSafe and Stooke et al., whose P and D terms have their own smoothing).
    """

    def __init__(
        self,
        cost_limit: float,
        kp: float = 0.1,
        ki: float = 0.01,
        kd: float = 0.01,
        d_delay: int = 10,
        ema: float = 0.95,
        ema_d: float = 0.95,
        max_value: float = 100.0,
        init: float = 0.0,
        cost_ema: float = 0.0,
    ) -> None:
        for name, gain in (("kp", kp), ("ki", ki), ("kd", kd), ("init", init)):
            if gain < 0.0:
                raise ParameterError(f"PID multiplier {name} must be >= 0, got {gain}")
        for name, factor in (("ema", ema), ("ema_d", ema_d)):
            if not 0.0 <= factor < 1.0:
                raise ParameterError(f"PID multiplier {name} must be in [0, 1), got {factor}")
        if int(d_delay) < 1:
            raise ParameterError(f"PID multiplier d_delay must be >= 1, got {d_delay}")
        if max_value <= 0.0:
            raise ParameterError(f"PID multiplier max_value must be > 0, got {max_value}")
        if init > max_value:
            raise ParameterError(f"PID multiplier init {init} is above its max_value {max_value}")
        self.cost_limit = float(cost_limit)
        self.kp, self.ki, self.kd = float(kp), float(ki), float(kd)
        self.d_delay = int(d_delay)
        self.ema, self.ema_d = float(ema), float(ema_d)
        self.max_value = float(max_value)
        self.cost_estimate = SmoothedCost(cost_ema)
        self._integral = float(init)
        self._proportional = 0.0
        self._smoothed_cost = 0.0
        self._derivative = 0.0
        self._cost_history: deque[float] = deque([0.0], maxlen=self.d_delay)
        self._value = float(init)

    @property
    def value(self) -> float:
        """The current λ."""
        return self._value

    def update(self, ep_cost: float) -> float:
        """One PID step for ``J_c = ep_cost`` (smoothed first when ``cost_ema > 0``); returns the new λ."""
        cost = self.cost_estimate.update(ep_cost)
        violation = cost - self.cost_limit
        self._integral = min(self.max_value, max(0.0, self._integral + self.ki * violation))
        self._proportional = self.ema * self._proportional + (1.0 - self.ema) * violation
        self._smoothed_cost = self.ema_d * self._smoothed_cost + (1.0 - self.ema_d) * cost
        self._derivative = max(0.0, self._smoothed_cost - self._cost_history[0])
        output = self.kp * self._proportional + self._integral + self.kd * self._derivative
        self._value = min(self.max_value, max(0.0, output))
        self._cost_history.append(self._smoothed_cost)
        return check_finite("Lagrange multiplier", self._value)

    def state_dict(self) -> dict[str, Any]:
        """The three terms, the derivative's smoothed cost (``derivative_cost``) and its delay line, and the
        smoothed estimate, as plain floats, ints and a list."""
        return {"integral": self._integral, "proportional": self._proportional, "derivative_cost": self._smoothed_cost,
                "derivative": self._derivative, "cost_history": list(self._cost_history), "value": self._value,
                **self.cost_estimate.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._integral = float(state["integral"])
        self._proportional = float(state["proportional"])
        self._smoothed_cost = float(state["derivative_cost"])
        self._derivative = float(state["derivative"])
        self._cost_history = deque((float(c) for c in state["cost_history"]), maxlen=self.d_delay)
        self._value = float(state["value"])
        self.cost_estimate.load_state_dict(state)

    def diagnostics(self) -> dict[str, float]:
        """The PID terms of the last update: ``pid_p`` (kp·P), ``pid_i`` (I), ``pid_d`` (kd·D); and
        ``smoothed_cost`` when smoothing is on."""
        return {"pid_p": self.kp * self._proportional, "pid_i": self._integral, "pid_d": self.kd * self._derivative,
                **self.cost_estimate.diagnostics()}


@dataclass(frozen=True)
class MultiplierSettings:
    """Every setting a multiplier can take; ``kind`` picks the class, the others are its arguments.

    Gradient settings (``init``, ``lr``, ``parameterisation``, ``optimizer``, ``max_value``) and PID settings
    (``kp``, ``ki``, ``kd``, ``d_delay``, ``ema``, ``ema_d``, ``max_value``, ``init``) are documented on
    :class:`GradientMultiplier` and :class:`PIDMultiplier`; ``cost_ema`` (both kinds) on :class:`SmoothedCost`.
    """

    kind: str
    init: float = 0.0
    lr: float = 0.0
    parameterisation: str = "clamp"
    optimizer: str = "adam"
    max_value: float | None = None
    kp: float = 0.0
    ki: float = 0.0
    kd: float = 0.0
    d_delay: int = 1
    ema: float = 0.0
    ema_d: float = 0.0
    cost_ema: float = 0.0


GRADIENT_SETTINGS = ("init", "lr", "parameterisation", "optimizer", "max_value", "cost_ema")
PID_SETTINGS = ("kp", "ki", "kd", "d_delay", "ema", "ema_d", "max_value", "init", "cost_ema")

MULTIPLIER_PRESETS: dict[str, MultiplierSettings] = {
    "safety_starter_agents": MultiplierSettings(
        kind="gradient", init=1.0, lr=0.05, parameterisation="softplus", optimizer="adam"),
    "omnisafe": MultiplierSettings(kind="gradient", init=0.001, lr=0.035, parameterisation="clamp", optimizer="adam"),
    "sgd": MultiplierSettings(kind="gradient", init=0.0, lr=0.01, parameterisation="clamp", optimizer="sgd"),
    "pid": MultiplierSettings(kind="pid", kp=0.1, ki=0.01, kd=0.01, d_delay=10, ema=0.95, ema_d=0.95,
                              max_value=100.0, init=0.001),
    "pid_trpo": MultiplierSettings(kind="pid", kp=0.01, ki=0.01, kd=0.01, d_delay=10, ema=0.95, ema_d=0.95,
                                   max_value=100.0, init=0.001),
}
"""Reference multiplier settings by name (constrained-rl.md §3):

- ``safety_starter_agents``: λ₀ = 1, λ = softplus(p), Adam (lr 0.05) on ``p`` (its penalty_init and penalty_lr);
- ``omnisafe``: λ₀ = 0.001, λ = max(0, p), Adam (lr 0.035) on ``p`` (OmniSafe's and SafePO's Lagrange);
- ``sgd``: λ₀ = 0, λ ← max(0, λ + 0.01·(J_c − d)): λ moves 0.01 per unit of violation, however long training ran;
- ``pid``: OmniSafe's CPPOPID gains (Stooke et al. 2020): kp 0.1, ki 0.01, kd 0.01, d_delay 10, P and D
  smoothing 0.95, penalty max 100, λ₀ = 0.001;
- ``pid_trpo``: OmniSafe's TRPOPID gains: as ``pid`` with kp 0.01.

Any preset takes ``cost_ema`` (default 0) to smooth the episode cost estimates first (:class:`SmoothedCost`)."""


def multiplier_settings(preset: str, overrides: Mapping[str, Any] | None = None) -> MultiplierSettings:
    """The settings of ``preset`` with ``overrides`` (setting name → value; ``None`` values are ignored).

    :raises ParameterError: for an unknown preset, or a setting the preset's kind does not have.
    """
    if preset not in MULTIPLIER_PRESETS:
        raise ParameterError(f"unknown multiplier preset '{preset}'; {choices_hint(preset, MULTIPLIER_PRESETS)}")
    settings = MULTIPLIER_PRESETS[preset]
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    valid = GRADIENT_SETTINGS if settings.kind == "gradient" else PID_SETTINGS
    for key in given:
        if key not in valid:
            raise ParameterError(
                f"multiplier preset '{preset}' ({settings.kind}) has no setting '{key}'; {choices_hint(key, valid)}")
    return replace(settings, **given)


def make_multiplier(
    preset: str, cost_limit: float, overrides: Mapping[str, Any] | None = None
) -> GradientMultiplier | PIDMultiplier:
    """A fresh multiplier for one constraint.

    :param preset: a key of :data:`MULTIPLIER_PRESETS`.
    :param cost_limit: the constraint's episode cost limit ``d``.
    :param overrides: settings replacing the preset's (see :class:`MultiplierSettings`); ``None`` values keep
        the preset's.
    :return: a :class:`GradientMultiplier` or :class:`PIDMultiplier`.
    """
    settings = multiplier_settings(preset, overrides)
    if settings.kind == "gradient":
        return GradientMultiplier(cost_limit, **{k: getattr(settings, k) for k in GRADIENT_SETTINGS})
    pid_args = {k: getattr(settings, k) for k in PID_SETTINGS}
    if pid_args["max_value"] is None:
        raise ParameterError("the PID multiplier needs a max_value (its penalty maximum)")
    return PIDMultiplier(cost_limit, **pid_args)


__all__ = [
    "GradientMultiplier",
    "LagrangeMultiplier",
    "MULTIPLIER_PRESETS",
    "MultiplierSettings",
    "NonFiniteError",
    "PIDMultiplier",
    "SmoothedCost",
    "check_finite",
    "make_multiplier",
    "multiplier_settings",
]
