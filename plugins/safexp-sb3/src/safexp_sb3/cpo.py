"""Constrained Policy Optimization (Achiam et al. 2017) on sb3-contrib's TRPO.

Conventions (constrained-rl.md §5): minimisation. ``g`` is the gradient of the policy loss
``−mean(ratio·A_r)``, ``b`` the gradient of the cost surrogate ``mean(ratio·A_c)`` (cost advantages centred,
not rescaled, so the surrogate is in cost units), ``H`` the Hessian of the mean KL (with TRPO's damping), ``δ``
the KL trust region (``target_kl``) and ``c = (J_c − d) / mean episode length`` the constraint value in
per-step units. The update is ``θ ← θ_old − 0.8^j·x`` with the step ``x`` of :func:`cpo_step`, for the first
``j`` that passes the acceptance test (KL ≤ δ; the loss improved, in cases 2 to 4; the cost surrogate rose by
at most ``max(−c, 0)``); if none passes, the old parameters are kept.

One update (:meth:`CPO.train`), after :func:`~safexp_sb3.rollouts.collect_rollout` has filled the buffer::

    1. c ← (J_c − d + margin) / mean episode length     (J_c of this rollout's episodes, smoothed over updates
       with cost_ema; the margin, with learn_margin, first moves by margin_lr·(J_c − d) and stays ≥ 0, as
       safety-starter-agents' learn_margin)
    2. A_r standardised, A_c centred (cost units)
    3. g, b, H on the whole rollout; x = cpo_step(g, b, H, c, δ); the backtracking line search (cpo_accepts)
    4. the reward critic and the cost critic (TRPO's n_critic_updates passes of minibatches)

CPO handles exactly one constraint.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import TRPO
from sb3_contrib.common.utils import flat_grad
from stable_baselines3.common.distributions import kl_divergence
from stable_baselines3.common.utils import explained_variance

from stable_baselines3.common.type_aliases import GymEnv

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.hyperparameters import CPOParams, TRPOParams
from safexp_sb3.multipliers import SmoothedCost, check_finite
from safexp_sb3.on_policy_costs import OnPolicyCosts, cost_critic_settings, prepared_advantages
from safexp_sb3.params import expected_truncation_quiet, stock_kwargs, stock_policy
from safexp_sb3.policy_update import ActorCriticPass, use_fused_adam
from safexp_sb3.ppo_lag import cost_kwargs
from safexp_sb3.rollout_tensors import RolloutTensors
from safexp_sb3.rollouts import check_policy_finite

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


def cpo_accepts(case: int, kl: float, loss: float, old_loss: float, cost_change: float, c: float,
                delta: float) -> bool:
    """CPO's line-search acceptance test for a candidate step: the KL within δ, the loss improved (cases 2 to 4;
    the recovery cases 0 and 1 may lose reward), the cost surrogate risen by at most ``max(−c, 0)`` and a finite
    loss."""
    loss_ok = case <= 1 or loss <= old_loss
    return kl <= delta and loss_ok and cost_change <= max(-c, 0.0) and math.isfinite(loss)


class LearnedMargin:
    """safety-starter-agents' ``learn_margin``: ``margin ← max(0, margin + lr·(J_c − d))`` at every update, added
    to CPO's constraint value, so that a policy that keeps ending above the limit aims further below it.

    :param lr: the step per unit of violation (0 keeps the margin at 0).
    """

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)
        self.value = 0.0

    def update(self, violation: float) -> float:
        """Move the margin by ``lr·violation`` (``violation = J_c − d``), not below 0; return it."""
        self.value = max(0.0, self.value + self.lr * violation)
        return self.value

    def state_dict(self) -> dict[str, float]:
        """The margin, as a float."""
        return {"value": self.value}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.value = float(state["value"])


class CPO(TRPO):
    """Constrained Policy Optimization: the CPO step (:func:`cpo_step`) in place of TRPO's natural-gradient
    step, with its own backtracking line search and acceptance test (module docstring).

    :param cost_limit: the episode cost limit ``d`` (one constraint; Safety Gym suite: 25).
    :param learn_margin: learn a safety margin added to ``c`` (:class:`LearnedMargin`); on by default.
    :param margin_lr: the margin's step per unit of violation (safety-starter-agents: 0.05).
    :param cost_ema: smoothing of the episode-cost estimates over updates before ``c`` is formed
        (:class:`~safexp_sb3.multipliers.SmoothedCost`; 0: none).
    :param normalize_advantage: standardise the reward advantages over the rollout.
    :param normalize_observations: standardise the observations by their running statistics
        (:class:`~safexp_sb3.rollouts.ObservationNormaliser`).
    :param kwargs: the cost critic's (as :class:`safexp_sb3.ppo_lag.PPOLagrangian`'s) and every keyword argument of
        sb3-contrib ``TRPO``; ``target_kl`` is CPO's δ, ``cg_max_steps`` its CG iterations,
        ``line_search_shrinking_factor`` (0.8) and ``line_search_max_iter`` (10) its backtracking;
        ``sub_sampling_factor`` is refused (the step uses the whole rollout).

    Logged: ``train/cpo/{A,B,c,q,r,s,lambda_star,nu_star,case,backtracks,margin}`` (and ``train/cpo/smoothed_cost``
    with ``cost_ema``) and ``train/kl_divergence``,
    ``train/policy_loss``, ``train/cost_surrogate_change``, ``train/is_line_search_success``,
    ``train/value_loss``, ``train/cost_value_loss``, ``train/ep_cost_estimate``.
    """

    params: CPOParams | None = None

    def __init__(self, policy: Any, env: GymEnv, cost_limit: float = CPOParams.cost_limit,
                 learn_margin: bool = CPOParams.learn_margin, margin_lr: float = CPOParams.margin_lr,
                 cost_ema: float = CPOParams.cost_ema, normalize_advantage: bool = True,
                 normalize_observations: bool = CPOParams.normalize_observations, **kwargs: Any):
        if not isinstance(cost_limit, (int, float)):
            raise ParameterError(f"CPO handles one constraint: cost_limit must be one number, got {cost_limit!r}; "
                                 "use a Lagrangian learner (ppo_lag, trpo_lag, pid_lag) for several constraints")
        if kwargs.get("sub_sampling_factor", 1) != 1:
            raise ParameterError("CPO steps on the whole rollout: leave sub_sampling_factor at 1")
        cost_settings = cost_critic_settings(kwargs)
        self.cost_limit = float(cost_limit)
        self.standardize_reward_advantage = normalize_advantage
        self.margin = LearnedMargin(margin_lr if learn_margin else 0.0)
        self.smoothed_cost = SmoothedCost(cost_ema)
        super().__init__(policy, env, normalize_advantage=False, _init_setup_model=False, **kwargs)
        self.costs = OnPolicyCosts(self, self.cost_limit, cost_settings, normalize_observations)
        if len(self.constraint_names) != 1:
            raise ParameterError(f"CPO handles one constraint, but the env has {len(self.constraint_names)} "
                                 f"({', '.join(self.constraint_names)}); use ppo_lag, trpo_lag or pid_lag, which "
                                 "keep one multiplier per constraint")
        self.actor_critic = ActorCriticPass(self.policy)
        use_fused_adam(self.policy)

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "CPO",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> CPO:
        """``TRPO.learn``; the episode-cost monitor starts (or continues) with it."""
        self.costs.start(reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: CostRolloutBuffer, n_rollout_steps: int) -> bool:
        """One rollout with its costs (:meth:`safexp_sb3.on_policy_costs.OnPolicyCosts.collect`)."""
        return self.costs.collect(env, callback, rollout_buffer, n_rollout_steps)

    def constraint_value(self) -> float:
        """Step 1: ``c = (J_c − d + margin) / mean episode length`` (``J_c`` smoothed over updates with ``cost_ema``,
        the margin moved first); before any episode has
        ended, the cost per step so far (the monitor's cost rate, all steps since training started) minus
        ``d / n_steps`` (a rollout stands in for an episode)."""
        estimate = self.cost_monitor.cost_estimate()
        length = self.cost_monitor.mean_episode_length()
        if estimate is None or length is None:
            return float(self.cost_monitor.cost_rate[0]) - self.cost_limit / self.n_steps
        self.logger.record("train/ep_cost_estimate", float(estimate[0]))
        violation = self.smoothed_cost.update(float(estimate[0])) - self.cost_limit
        return (violation + self.margin.update(violation)) / length

    def train(self) -> None:
        """One CPO update on the collected rollout (module docstring)."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        c = check_finite("CPO constraint value c", self.constraint_value())
        reward_adv, cost_adv = prepared_advantages(buffer, self.standardize_reward_advantage)
        buffer.advantages, buffer.cost_advantages = reward_adv.astype(np.float32), cost_adv.astype(np.float32)
        rollout = RolloutTensors.from_buffer(buffer, self.action_space)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)

        data = rollout.shuffled()  # the policy step: on the whole rollout
        actions = data.actions
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
        solution = cpo_step(g, b, partial(self.hessian_vector_product, params, grad_kl), c, self.target_kl,
                            self.cg_max_steps)
        check_finite("CPO step norm", float(solution.step.norm()))
        accepted, backtracks, new_kl, new_loss, cost_change = self.line_search(
            params, shapes, solution, data, actions, cost_advantages, old_distribution, loss.item(),
            cost_surrogate.item(), c)

        value_losses, cost_losses = self.costs.fit_critics(rollout, self.n_critic_updates, self.batch_size,
                                                           self.actor_critic, params)
        check_policy_finite(self)
        self._n_updates += 1

        for name in ("A", "B", "c", "q", "r", "s", "lambda_star", "nu_star", "case"):
            self.logger.record(f"train/cpo/{name}", float(getattr(solution, name)))
        self.logger.record("train/cpo/backtracks", backtracks)
        self.logger.record("train/cpo/margin", self.margin.value)
        for name, value in self.smoothed_cost.diagnostics().items():
            self.logger.record(f"train/cpo/{name}", value)
        self.logger.record("train/is_line_search_success", float(accepted))
        self.logger.record("train/kl_divergence", new_kl)
        self.logger.record("train/policy_loss", new_loss)
        self.logger.record("train/cost_surrogate_change", cost_change)
        self.logger.record("train/value_loss", check_finite("value loss", float(np.mean(value_losses))))
        self.logger.record("train/cost_value_loss", check_finite("cost value loss", float(np.mean(cost_losses))))
        self.logger.record("train/explained_variance",
                           explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    def line_search(self, params: list[th.nn.Parameter], shapes: list[tuple[int, ...]], solution: CPOStep,
                    data: Any, actions: th.Tensor, cost_advantages: th.Tensor, old_distribution: Any,
                    old_loss: float, old_cost_surrogate: float, c: float) -> tuple[bool, int, float, float, float]:
        """Backtrack ``θ_old − 0.8^j·x`` until :func:`cpo_accepts`; restore ``θ_old`` if no step passes.

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
                if cpo_accepts(solution.case, new_kl, new_loss, old_loss, cost_change, c, self.target_kl):
                    return True, j, new_kl, new_loss, cost_change
            for param, original in zip(params, originals, strict=True):
                param.data = original.clone()
        return False, self.line_search_max_iter, 0.0, old_loss, 0.0

    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:meth:`OnPolicyCosts.checkpoint_parts`)."""
        return self.costs.checkpoint_parts({"margin": self.margin, "smoothed_cost": self.smoothed_cost},
                                           optional=frozenset({"smoothed_cost"}))  # older checkpoints lack it

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """``TRPO.predict`` on the observation as the policy sees it (standardised with ``normalize_observations``)."""
        return super().predict(self.costs.policy_input(observation), state, episode_start, deterministic)

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)


@expected_truncation_quiet()
def make_cpo(env: GymEnv, params: CPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> CPO:
    """CPO on ``env`` from validated ``params``."""
    kwargs = cost_kwargs(params)
    if isinstance(kwargs["cost_limit"], dict):
        if len(kwargs["cost_limit"]) != 1:
            raise ParameterError(f"CPO handles one constraint, but cost_limits names {len(params.cost_limits)} "
                                 f"({', '.join(params.cost_limits)}); use ppo_lag, trpo_lag or pid_lag")
        kwargs["cost_limit"] = float(next(iter(params.cost_limits.values())))
    model = CPO(stock_policy(env), env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
                learn_margin=params.learn_margin, margin_lr=params.margin_lr, cost_ema=params.cost_ema,
                normalize_observations=params.normalize_observations, **stock_kwargs(params, TRPOParams),
                **kwargs)
    model.params = params
    return model


@expected_truncation_quiet()
def load_cpo(path: str, env: GymEnv | None = None, *, device: str = "cpu", tensorboard_log: str | None = None) -> CPO:
    """A saved CPO learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, CPO, (CPOParams,), make_cpo, env, device=device, tensorboard_log=tensorboard_log)
