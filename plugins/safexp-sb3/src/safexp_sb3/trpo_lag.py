"""TRPO-Lagrangian on sb3-contrib's TRPO.

One update (:meth:`TRPOLagrangian.train`), after :func:`~safexp_sb3.rollouts.collect_rollout` has filled the buffer
with rewards, costs and both GAEs::

    1. J_c ← mean cost of the episodes finished in this rollout;  λ_k ← multiplier step on J_c,k − d_k
    2. A ← (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k), A_r standardised, A_c centred (as PPO-Lagrangian)
    3. the natural-gradient step on the surrogate mean(ratio·A): g its gradient, H the Hessian of the mean KL
       (damped), x = H⁻¹g by conjugate gradient, step size √(2δ / xᵀHx), backtracking 0.8^j until KL < δ and
       the surrogate improved (else the old policy is kept)
    4. the reward critic (n_critic_updates passes of minibatches), the cost critic on the same minibatches (or on
       its own schedule)

The step is sb3-contrib TRPO's (its conjugate-gradient solver starts from a small random vector; its actor is every
policy parameter whose name does not contain "value"), so that with zero cost and λ = 0 this learner is stock TRPO.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import TRPO
from sb3_contrib.common.utils import conjugate_gradient_solver
from stable_baselines3.common.distributions import kl_divergence
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import explained_variance

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.constraints import ConstraintMultipliers, CostLimit, cost_limit_setting
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.hyperparameters import TRPOLagParams, TRPOParams
from safexp_sb3.multipliers import check_finite
from safexp_sb3.on_policy_costs import OnPolicyCosts, cost_critic_settings, lagrangian_advantages
from safexp_sb3.params import expected_truncation_quiet, multiplier_kwargs, stock_kwargs, stock_policy
from safexp_sb3.policy_update import ActorCriticPass, use_fused_adam
from safexp_sb3.ppo_lag import cost_kwargs
from safexp_sb3.rollout_tensors import RolloutTensors
from safexp_sb3.rollouts import check_policy_finite


class TRPOLagrangian(TRPO):
    """TRPO-Lagrangian: TRPO's natural-gradient step on the penalised advantage (module docstring).

    Its constraint, multiplier, advantage, observation and cost-critic arguments are
    :class:`safexp_sb3.ppo_lag.PPOLagrangian`'s; every other keyword argument is sb3-contrib ``TRPO``'s
    (``learning_rate`` is the reward critic's; ``target_kl`` is δ) but ``sub_sampling_factor`` (refused: the step
    uses the whole rollout).
    """

    params: TRPOLagParams | None = None

    def __init__(self, policy: Any, env: GymEnv, cost_limit: CostLimit = TRPOLagParams.cost_limit,
                 multiplier: str = TRPOLagParams.multiplier,
                 multiplier_settings: Mapping[str, Any] | None = None, normalize_advantage: bool = True,
                 normalize_observations: bool = TRPOLagParams.normalize_observations, **kwargs: Any):
        if kwargs.get("sub_sampling_factor", 1) != 1:
            raise ParameterError("TRPOLagrangian steps on the whole rollout: leave sub_sampling_factor at 1")
        cost_settings = cost_critic_settings(kwargs)
        self.standardize_reward_advantage = normalize_advantage
        super().__init__(policy, env, normalize_advantage=False, _init_setup_model=False, **kwargs)
        self.cost_limit = cost_limit_setting(cost_limit)
        self.costs = OnPolicyCosts(self, self.cost_limit, cost_settings, normalize_observations)
        self.constraints = ConstraintMultipliers(self.constraint_names, self.cost_limit, multiplier, multiplier_settings)
        self.actor_critic = ActorCriticPass(self.policy)
        use_fused_adam(self.policy)

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of every constraint, in ``constraint_names`` order."""
        return self.constraints.values.tolist()

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "TRPOLag",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> TRPOLagrangian:
        """``TRPO.learn``; the episode-cost monitor starts (or continues) with it."""
        self.costs.start(reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: CostRolloutBuffer, n_rollout_steps: int) -> bool:
        """One rollout with its costs (:meth:`safexp_sb3.on_policy_costs.OnPolicyCosts.collect`)."""
        return self.costs.collect(env, callback, rollout_buffer, n_rollout_steps)

    def policy_advantages(self) -> np.ndarray:
        """Steps 1 and 2 of the update (:func:`~safexp_sb3.on_policy_costs.lagrangian_advantages`)."""
        return lagrangian_advantages(self.rollout_buffer, self.constraints, self.cost_monitor.cost_estimate(),
                                     self.standardize_reward_advantage)

    def train(self) -> None:
        """One TRPO-Lagrangian update on the collected rollout (module docstring)."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        buffer.advantages = self.policy_advantages().astype(np.float32)
        rollout = RolloutTensors.from_buffer(buffer, self.action_space)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)

        data = rollout.shuffled()  # the natural-gradient step: on the whole rollout
        with th.no_grad():
            old_distribution = copy.copy(self.policy.get_distribution(data.observations))
        distribution = self.policy.get_distribution(data.observations)
        ratio = th.exp(distribution.log_prob(data.actions) - data.old_log_prob)
        objective = (data.advantages * ratio).mean()
        check_finite("policy objective", objective.item())
        kl = kl_divergence(distribution, old_distribution).mean()
        self.policy.optimizer.zero_grad()
        actor_params, g, grad_kl, shapes = self._compute_actor_grad(kl, objective)
        hvp = partial(self.hessian_vector_product, actor_params, grad_kl)
        direction = conjugate_gradient_solver(hvp, g, max_iter=self.cg_max_steps)
        max_step = float(np.sqrt(2 * self.target_kl / float(th.matmul(direction, hvp(direction, retain_graph=False)))))

        originals = [param.detach().clone() for param in actor_params]
        accepted, new_objective, new_kl = False, objective.item(), 0.0
        with th.no_grad():
            scale = 1.0
            for _ in range(self.line_search_max_iter):
                start = 0
                for param, original, shape in zip(actor_params, originals, shapes, strict=True):
                    n = param.numel()
                    param.data = original.data + scale * max_step * direction[start:start + n].view(shape)
                    start += n
                distribution = self.policy.get_distribution(data.observations)
                ratio = th.exp(distribution.log_prob(data.actions) - data.old_log_prob)
                candidate = (data.advantages * ratio).mean()
                candidate_kl = kl_divergence(distribution, old_distribution).mean()
                if candidate_kl < self.target_kl and candidate > objective:
                    accepted, new_objective, new_kl = True, candidate.item(), candidate_kl.item()
                    break
                scale *= self.line_search_shrinking_factor
            if not accepted:
                for param, original in zip(actor_params, originals, strict=True):
                    param.data = original.data.clone()

        value_losses, cost_losses = self.costs.fit_critics(rollout, self.n_critic_updates, self.batch_size,
                                                           self.actor_critic, actor_params)
        check_policy_finite(self)
        self._n_updates += 1

        self.constraints.record(self.logger)
        self.logger.record("train/cost_value_loss", check_finite("cost value loss", float(np.mean(cost_losses))))
        self.logger.record("train/policy_objective", new_objective)
        self.logger.record("train/value_loss", check_finite("value loss", float(np.mean(value_losses))))
        self.logger.record("train/kl_divergence_loss", new_kl)
        self.logger.record("train/explained_variance",
                           explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
        self.logger.record("train/is_line_search_success", float(accepted))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:meth:`OnPolicyCosts.checkpoint_parts`)."""
        return self.costs.checkpoint_parts({"multipliers": self.constraints})

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """``TRPO.predict`` on the observation as the policy sees it (standardised with ``normalize_observations``)."""
        return super().predict(self.costs.policy_input(observation), state, episode_start, deterministic)

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)


@expected_truncation_quiet()
def make_trpo_lag(env: GymEnv, params: TRPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                  verbose: int = 0, device: str = "cpu") -> TRPOLagrangian:
    """TRPO-Lagrangian on ``env`` from validated ``params``."""
    model = TRPOLagrangian(stock_policy(env), env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                           device=device, **stock_kwargs(params, TRPOParams), **cost_kwargs(params),
                           **multiplier_kwargs(params), normalize_observations=params.normalize_observations)
    model.params = params
    return model


@expected_truncation_quiet()
def load_trpo_lag(path: str, env: GymEnv | None = None, *, device: str = "cpu",
                  tensorboard_log: str | None = None) -> TRPOLagrangian:
    """A saved TRPO-Lagrangian learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, TRPOLagrangian, (TRPOLagParams,), make_trpo_lag, env, device=device,
                        tensorboard_log=tensorboard_log)
