"""Constrained Policy Optimization (Achiam et al. 2017) on sb3-contrib's TRPO.

Conventions (constrained-rl.md §5): minimisation. ``g`` is the gradient of the policy loss
``−mean(ratio·A_r)``, ``b`` the gradient of the cost surrogate ``mean(ratio·A_c)`` (cost advantages centred,
not rescaled, so the surrogate is in cost units), ``H`` the Hessian of the mean KL (with TRPO's damping), ``δ``
the KL trust region (``target_kl``) and ``c = (J_c − d) / mean episode length`` the constraint value in
per-step units. The update is ``θ ← θ_old − 0.8^j·x`` with the step ``x`` of :func:`cpo_step`, for the first
``j`` that passes the acceptance test (KL ≤ δ; the loss improved, in cases 2 to 4; the cost surrogate rose by
at most ``max(−c, 0)``); if none passes, the old parameters are kept.

CPO handles exactly one constraint.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import TRPO
from sb3_contrib.common.utils import flat_grad
from stable_baselines3.common.distributions import kl_divergence
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from safexp.plugin import ParameterError
from safexp_sb3.cost_machinery import CostCriticMixin
from safexp_sb3.multipliers import check_finite

EPS = 1e-8
"""Guards the divisions by λ and s of the CPO step, as the reference implementations do."""


def conjugate_gradient(hvp: Callable[[th.Tensor], th.Tensor], rhs: th.Tensor, iterations: int = 10,
                       residual_tol: float = 1e-10) -> th.Tensor:
    """Approximately solve ``H x = rhs`` by conjugate gradient, starting from ``x = 0``.

    :param hvp: ``v ↦ H v`` for a symmetric positive-definite ``H``.
    :param rhs: the right-hand side.
    :param iterations: the most CG iterations (an ``n``-dimensional system is solved exactly in ``n``).
    :param residual_tol: stop once the squared residual norm falls below this.
    :return: ``x ≈ H⁻¹ rhs``.
    """
    x = th.zeros_like(rhs)
    residual = rhs.clone()
    direction = rhs.clone()
    residual_sq = residual.dot(residual)
    for _ in range(iterations):
        if residual_sq < residual_tol:
            break
        h_direction = hvp(direction)
        alpha = residual_sq / direction.dot(h_direction)
        x += alpha * direction
        residual -= alpha * h_direction
        new_residual_sq = residual.dot(residual)
        direction = residual + (new_residual_sq / residual_sq) * direction
        residual_sq = new_residual_sq
    return x


@dataclass(frozen=True)
class CPOStep:
    """The CPO step and its diagnostics.

    ``step`` is ``x`` with ``θ_new = θ_old − x`` (the full step, before backtracking). ``case`` is 0 (infeasible
    recovery), 1 (feasible recovery), 2 (the constraint boundary cuts the trust region), 3 (the whole trust
    region is feasible) or 4 (no cost gradient, current policy feasible: a plain TRPO step). ``A``, ``B``,
    ``r`` and ``s`` are NaN in case 4, where they are not computed.
    """

    step: th.Tensor
    case: int
    lambda_star: float
    nu_star: float
    A: float
    B: float
    c: float
    q: float
    r: float
    s: float


def _project(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


def cpo_step(g: th.Tensor, b: th.Tensor, hvp: Callable[[th.Tensor], th.Tensor], c: float, delta: float,
             cg_iterations: int = 10) -> CPOStep:
    """Solve CPO's trust-region subproblem (minimisation convention) in closed form through its dual.

    With ``θ_new = θ_old − x``: minimise the linearised loss ``−gᵀx`` subject to ``½xᵀHx ≤ δ`` and the
    linearised constraint ``c − bᵀx ≤ 0``::

        v = H⁻¹g, q = gᵀv
        |b|² ≤ 1e-8 and c < 0:  case 4, λ* = √(q/2δ), ν* = 0
        else: w = H⁻¹b, r = gᵀw, s = bᵀw, A = q − r²/s, B = 2δ − c²/s
              case 3: c < 0, B < 0;  case 2: c < 0, B ≥ 0;  case 1: c ≥ 0, B ≥ 0;  case 0: c ≥ 0, B < 0
        cases 3, 4: λ* = √(q/2δ), ν* = 0
        cases 1, 2: L_A, L_B = [0, r/c], [r/c, ∞) (swapped when c ≥ 0)
                    λ_a = proj(√(A/B), L_A), λ_b = proj(√(q/2δ), L_B)
                    f_a(λ) = −½(A/λ + Bλ) − rc/s,  f_b(λ) = −½(q/λ + 2δλ)
                    λ* = λ_a if f_a(λ_a) ≥ f_b(λ_b) else λ_b,  ν* = max(0, λ*c − r)/s
        case 0:     λ* = 0, ν* = √(2δ/s)
        x = (v + ν*w)/λ* (cases 1-4), x = ν*w (case 0)

    Divisions by λ and s carry :data:`EPS`.

    :param g: flat gradient of the policy loss.
    :param b: flat gradient of the cost surrogate.
    :param hvp: ``v ↦ H v`` (KL Hessian-vector product).
    :param c: constraint value ``(J_c − d) / mean episode length``.
    :param delta: the KL trust region δ.
    :param cg_iterations: conjugate-gradient iterations per solve.
    :return: the :class:`CPOStep`.
    """
    v = conjugate_gradient(hvp, g, cg_iterations)
    q = float(g.dot(v))
    nan = math.nan
    if float(b.dot(b)) <= 1e-8 and c < 0:
        lam = math.sqrt(q / (2 * delta))
        return CPOStep(v / (lam + EPS), 4, lam, 0.0, nan, nan, c, q, nan, nan)
    w = conjugate_gradient(hvp, b, cg_iterations)
    r = float(g.dot(w))
    s = float(b.dot(w))
    A = q - r * r / (s + EPS)
    B = 2 * delta - c * c / (s + EPS)
    if c < 0 and B < 0:
        case = 3
    elif c < 0:
        case = 2
    elif B >= 0:
        case = 1
    else:
        case = 0
    if case == 3:
        lam, nu = math.sqrt(q / (2 * delta)), 0.0
    elif case in (1, 2):
        boundary = r / c if c != 0 else math.inf
        interval_a, interval_b = ((0.0, boundary), (boundary, math.inf)) if c < 0 else ((boundary, math.inf), (0.0, boundary))
        lam_a = _project(math.sqrt(max(A, 0.0) / (B + EPS)), *interval_a)
        lam_b = _project(math.sqrt(q / (2 * delta)), *interval_b)
        f_a = -0.5 * (A / (lam_a + EPS) + B * lam_a) - r * c / (s + EPS)
        f_b = -0.5 * (q / (lam_b + EPS) + 2 * delta * lam_b)
        lam = lam_a if f_a >= f_b else lam_b
        nu = max(0.0, lam * c - r) / (s + EPS)
    else:
        lam, nu = 0.0, math.sqrt(2 * delta / (s + EPS))
    step = nu * w if case == 0 else (v + nu * w) / (lam + EPS)
    return CPOStep(step, case, lam, nu, A, B, c, q, r, s)


class CPO(CostCriticMixin, TRPO):
    """Constrained Policy Optimization: the CPO step (:func:`cpo_step`) in place of TRPO's natural-gradient
    step, with its own backtracking line search and acceptance test (module docstring).

    :param cost_limit: the episode cost limit ``d`` (one constraint; Safety Gym suite: 25).
    :param cost_gamma: discount of the cost returns (reference 0.99).
    :param cost_gae_lambda: GAE λ of the cost advantages (OmniSafe 0.95, safety-starter-agents 0.97).
    :param cost_critic_lr: Adam step size of the cost critic (reference 1e-3).
    :param cost_critic_net_arch: hidden layers of the cost critic (default ``[64, 64]``).
    :param cost_critic_epochs: ``None`` (the default) trains the cost critic alongside the reward critic, on its
        minibatches; a number gives it its own schedule of that many passes over the rollout.
    :param cost_critic_batch_size: ``None`` (the default): as the reward critic; a number gives the cost critic
        its own schedule with minibatches of that size.
    :param normalize_advantage: standardise the reward advantages over the rollout.

    Every other keyword argument is sb3-contrib ``TRPO``'s; ``target_kl`` is CPO's δ, ``cg_max_steps`` its CG
    iterations, ``line_search_shrinking_factor`` (0.8) and ``line_search_max_iter`` (10) its backtracking.

    Logged: ``train/cpo/{A,B,c,q,r,s,lambda_star,nu_star,case,backtracks}`` and ``train/kl_divergence``,
    ``train/policy_loss``, ``train/cost_surrogate_change``, ``train/is_line_search_success``,
    ``train/value_loss``, ``train/cost_value_loss``, ``train/ep_cost_estimate``.
    """

    reward_critic_passes = "n_critic_updates"

    def __init__(self, policy: Any, env: Any, cost_limit: float = 25.0, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_critic_lr: float = 1e-3, cost_critic_net_arch: list[int] | None = None,
                 cost_critic_epochs: int | None = None, cost_critic_batch_size: int | None = None,
                 normalize_advantage: bool = True, **trpo_kwargs: Any):
        if not isinstance(cost_limit, (int, float)):
            raise ParameterError(f"CPO handles one constraint: cost_limit must be one number, got {cost_limit!r}; "
                                 "use a Lagrangian learner (ppo_lag, trpo_lag, pid_lag) for several constraints")
        self.cost_limit = float(cost_limit)
        self._init_cost_critic_settings(cost_gamma, cost_gae_lambda, cost_critic_lr, cost_critic_net_arch,
                                        cost_critic_epochs, cost_critic_batch_size, normalize_advantage)
        super().__init__(policy, env, normalize_advantage=False, **trpo_kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if len(self.constraint_names) != 1:
            raise ParameterError(f"CPO handles one constraint, but the env has {len(self.constraint_names)} "
                                 f"({', '.join(self.constraint_names)}); use ppo_lag, trpo_lag or pid_lag, which "
                                 "keep one multiplier per constraint")

    def _constraint_value(self) -> float:
        """``c = (J_c − d) / mean episode length``; before any episode has ended, the rollout's cost per step
        minus ``d / n_steps`` (the rollout stands in for an episode)."""
        estimate = self.cost_monitor.cost_estimate()
        length = self.cost_monitor.mean_episode_length()
        if estimate is None or length is None:
            return float(self.cost_monitor.cost_rate[0]) - self.cost_limit / self.n_steps
        self.logger.record("train/ep_cost_estimate", float(estimate[0]))
        return (float(estimate[0]) - self.cost_limit) / length

    def train(self) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        c = check_finite("CPO constraint value c", self._constraint_value())
        reward_adv, cost_adv = self._advantages()
        self.rollout_buffer.advantages = reward_adv.astype(np.float32)
        self.rollout_buffer.cost_advantages = cost_adv.astype(np.float32)

        for data in self.rollout_buffer.get(batch_size=None):  # one batch: the whole rollout
            actions = data.actions.long().flatten() if isinstance(self.action_space, spaces.Discrete) else data.actions
            cost_advantages = data.cost_advantages[:, 0]
            with th.no_grad():
                old_distribution = copy.copy(self.policy.get_distribution(data.observations))
            distribution = self.policy.get_distribution(data.observations)
            ratio = th.exp(distribution.log_prob(actions) - data.old_log_prob)
            loss = -(ratio * data.advantages).mean()
            cost_surrogate = (ratio * cost_advantages).mean()
            kl = kl_divergence(distribution, old_distribution).mean()
            check_finite("policy loss", loss.item())
            self.policy.optimizer.zero_grad()
            params, g, grad_kl, shapes = self._compute_actor_grad(kl, loss)
            b = flat_grad(cost_surrogate, params, retain_graph=True)
            check_finite("policy loss gradient norm", float(g.norm()))
            check_finite("cost surrogate gradient norm", float(b.norm()))
            hvp = partial(self.hessian_vector_product, params, grad_kl)
            solution = cpo_step(g, b, hvp, c, self.target_kl, self.cg_max_steps)
            check_finite("CPO step norm", float(solution.step.norm()))
            accepted, backtracks, new_kl, new_loss, cost_change = self._line_search(
                params, shapes, solution, data, actions, cost_advantages, old_distribution, loss.item(),
                cost_surrogate.item(), c)

        value_losses = self._train_critics(partial(self._train_reward_critic, params))
        self._n_updates += 1
        for name in ("A", "B", "c", "q", "r", "s", "lambda_star", "nu_star", "case"):
            self.logger.record(f"train/cpo/{name}", float(getattr(solution, name)))
        self.logger.record("train/cpo/backtracks", backtracks)
        self.logger.record("train/is_line_search_success", float(accepted))
        self.logger.record("train/kl_divergence", new_kl)
        self.logger.record("train/policy_loss", new_loss)
        self.logger.record("train/cost_surrogate_change", cost_change)
        self.logger.record("train/value_loss", float(np.mean(value_losses)))
        self.logger.record("train/explained_variance",
                           explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    def _line_search(self, params: list[th.nn.Parameter], shapes: list[tuple[int, ...]], solution: CPOStep,
                     data: Any, actions: th.Tensor, cost_advantages: th.Tensor, old_distribution: Any,
                     old_loss: float, old_cost_surrogate: float, c: float) -> tuple[bool, int, float, float, float]:
        """Backtrack ``θ_old − 0.8^j·x`` until the acceptance test passes; restore ``θ_old`` if it never does.

        :return: (accepted, backtracks, KL, loss, cost surrogate change) of the kept parameters.
        """
        originals = [p.detach().clone() for p in params]
        with th.no_grad():
            for j in range(self.line_search_max_iter):
                scale = self.line_search_shrinking_factor**j
                start = 0
                for param, original, shape in zip(params, originals, shapes, strict=True):
                    n = param.numel()
                    param.data = original - scale * solution.step[start:start + n].view(shape)
                    start += n
                distribution = self.policy.get_distribution(data.observations)
                ratio = th.exp(distribution.log_prob(actions) - data.old_log_prob)
                new_loss = -(ratio * data.advantages).mean().item()
                cost_change = (ratio * cost_advantages).mean().item() - old_cost_surrogate
                new_kl = kl_divergence(distribution, old_distribution).mean().item()
                loss_ok = solution.case <= 1 or new_loss <= old_loss
                if new_kl <= self.target_kl and loss_ok and cost_change <= max(-c, 0.0) and math.isfinite(new_loss):
                    return True, j, new_kl, new_loss, cost_change
            for param, original in zip(params, originals, strict=True):
                param.data = original.clone()
        return False, self.line_search_max_iter, 0.0, old_loss, 0.0

    def _train_reward_critic(self, actor_params: list[th.nn.Parameter]) -> list[float]:
        """TRPO's critic regression on the reward returns (actor parameters shared with the critic untouched)."""
        losses = []
        for _ in range(self.n_critic_updates):
            for data in self.rollout_buffer.get(self.batch_size):
                loss = F.mse_loss(data.returns, self.policy.predict_values(data.observations).flatten())
                check_finite("value loss", loss.item())
                self.policy.optimizer.zero_grad()
                loss.backward()
                for param in actor_params:
                    param.grad = None
                self.policy.optimizer.step()
                losses.append(loss.item())
        return losses
