"""PPO-Lagrangian (and PID-Lagrangian PPO: the same learner with the ``pid`` multiplier), on stable-baselines3's PPO.

One update (:meth:`PPOLagrangian.train`), after :func:`~safexp_sb3.rollouts.collect_rollout` has filled the buffer
with rewards, costs and both GAEs::

    1. J_c ← mean cost of the episodes finished in this rollout       (the episode-cost monitor)
       λ_k ← multiplier step on J_c,k − d_k, for every constraint k    (before the policy sees λ)
    2. A_r ← standardised reward advantages;  A_c ← centred cost advantages (not rescaled)
       A   ← (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)
    3. n_epochs passes of minibatches: PPO's clipped surrogate on A plus the reward critic's loss (its gradient
       derived by hand, ActorCriticPass.ppo_gradients; one Adam step, gradient norm clipped), stopping once the
       approximate KL exceeds 1.5 × target_kl; the cost critic steps on the same minibatches (or on its own
       schedule afterwards)

Defaults follow OmniSafe's configuration for the Safety Gym suite (constrained-rl.md §7): 20,000 env steps per
update, 64×64 tanh networks, γ = γ_c = 0.99, λ_GAE = λ_c = 0.95, cost limit 25.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import explained_variance

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.constraints import ConstraintMultipliers, CostLimit, cost_limit_setting
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.hyperparameters import CostParams, PIDLagParams, PPOLagParams, PPOParams
from safexp_sb3.multipliers import check_finite
from safexp_sb3.on_policy_costs import OnPolicyCosts, cost_critic_settings, lagrangian_advantages
from safexp_sb3.params import (
    cost_limit_argument,
    expected_truncation_quiet,
    multiplier_kwargs,
    stock_kwargs,
    stock_policy,
)
from safexp_sb3.policy_update import ActorCriticPass, clipped_step, use_fused_adam
from safexp_sb3.rollout_tensors import RolloutTensors
from safexp_sb3.rollouts import check_policy_finite


class PPOLagrangian(PPO):
    """PPO-Lagrangian: PPO's clipped update on the penalised advantage (module docstring).

    :param cost_limit: the episode cost limit ``d`` (undiscounted, per episode): a float for every constraint, a
        mapping constraint name → limit, or a sequence with one limit per constraint (in the env's
        ``constraint_names`` order). Safety Gym suite: 25.
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`); ``pid`` makes
        this PID-Lagrangian PPO (Stooke et al. 2020).
    :param multiplier_settings: settings replacing the preset's.
    :param normalize_advantage: standardise the reward advantages over the whole rollout (not per minibatch, as
        stock PPO does); cost advantages are always centred and never rescaled.
    :param normalize_observations: standardise the observations by their running statistics
        (:class:`~safexp_sb3.rollouts.ObservationNormaliser`).
    :param kwargs: the cost critic's ``cost_gamma``, ``cost_gae_lambda``, ``cost_critic_lr``,
        ``cost_critic_net_arch``, ``cost_critic_epochs``, ``cost_critic_batch_size``
        (:class:`safexp_sb3.hyperparameters.CostParams`), and every keyword argument of stable-baselines3 ``PPO`` but
        ``clip_range_vf`` (refused: the value loss is not clipped).

    Logged besides PPO's keys: the multipliers' (:class:`~safexp_sb3.constraints.ConstraintMultipliers`),
    ``train/cost_value_loss`` and the cost tags of :data:`safexp_sb3.costs.TENSORBOARD_TAGS`.
    """

    params: PPOLagParams | None = None

    def __init__(self, policy: Any, env: GymEnv, cost_limit: CostLimit = PPOLagParams.cost_limit,
                 multiplier: str = PPOLagParams.multiplier,
                 multiplier_settings: Mapping[str, Any] | None = None, normalize_advantage: bool = True,
                 normalize_observations: bool = PPOLagParams.normalize_observations, **kwargs: Any):
        if kwargs.get("clip_range_vf") is not None:
            raise ParameterError("PPOLagrangian does not clip the value function: leave clip_range_vf at None")
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

    # -- collection ---------------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "PPOLag",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> PPOLagrangian:
        """``PPO.learn``; the episode-cost monitor starts (or continues) with it."""
        self.costs.start(reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: CostRolloutBuffer, n_rollout_steps: int) -> bool:
        """One rollout with its costs (:meth:`safexp_sb3.on_policy_costs.OnPolicyCosts.collect`)."""
        return self.costs.collect(env, callback, rollout_buffer, n_rollout_steps)

    # -- the update ---------------------------------------------------------------------------------------------
    def policy_advantages(self) -> np.ndarray:
        """Steps 1 and 2 of the update (:func:`~safexp_sb3.on_policy_costs.lagrangian_advantages`), shape
        ``(n_steps, n_envs)``."""
        return lagrangian_advantages(self.rollout_buffer, self.constraints, self.cost_monitor.cost_estimate(),
                                     self.standardize_reward_advantage)

    def train(self) -> None:
        """One PPO-Lagrangian update on the collected rollout (module docstring)."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        buffer.advantages = self.policy_advantages().astype(np.float32)
        rollout = RolloutTensors.from_buffer(buffer, self.action_space)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        alongside = not self.costs.settings.own_schedule
        parameters = list(self.policy.parameters())

        losses, cost_losses = [], []
        continue_training = True
        for _ in range(self.n_epochs):
            epoch_start = len(losses)  # the approximate KL is logged for the last epoch, as stock PPO does
            for batch in rollout.shuffled().minibatches(self.batch_size):
                terms = self.actor_critic.ppo_gradients(batch, clip_range, self.ent_coef, self.vf_coef)
                losses.append(terms)  # policy, value, entropy loss, clip fraction, approximate KL
                if self.target_kl is not None and terms[4].item() > 1.5 * self.target_kl:
                    continue_training = False
                    break
                clipped_step(self.policy.optimizer, parameters, self.max_grad_norm)
                if alongside:
                    cost_losses.append(self.cost_critic.regression_step(batch.observations, batch.cost_returns))
            self._n_updates += 1
            if not continue_training:
                break
        if not alongside:
            cost_losses = self.costs.fit_cost_critic(buffer, self.n_epochs, self.batch_size)
        policy_loss, value_loss, entropy_loss, clip_fraction, _ = th.stack(losses).mean(dim=0).tolist()
        approx_kl = float(th.stack(losses[epoch_start:])[:, 4].mean())
        check_finite("policy loss", policy_loss)
        check_finite("value loss", value_loss)
        check_policy_finite(self)

        self.constraints.record(self.logger)
        if cost_losses:  # none when the KL limit stopped the update at its first minibatch
            self.logger.record("train/cost_value_loss", check_finite("cost value loss", float(np.mean(cost_losses))))
        self.logger.record("train/entropy_loss", entropy_loss)
        self.logger.record("train/policy_gradient_loss", policy_loss)
        self.logger.record("train/value_loss", value_loss)
        self.logger.record("train/approx_kl", approx_kl)
        self.logger.record("train/clip_fraction", clip_fraction)
        last_policy_loss, last_value_loss, last_entropy_loss = losses[-1][:3].tolist()  # stock PPO's: the last minibatch's
        self.logger.record("train/loss", last_policy_loss + self.ent_coef * last_entropy_loss
                           + self.vf_coef * last_value_loss)
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/explained_variance",
                           explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    # -- acting and checkpoints ---------------------------------------------------------------------------------
    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:meth:`OnPolicyCosts.checkpoint_parts`)."""
        return self.costs.checkpoint_parts({"multipliers": self.constraints})

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """``PPO.predict`` on the observation as the policy sees it (standardised with ``normalize_observations``)."""
        return super().predict(self.costs.policy_input(observation), state, episode_start, deterministic)

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)


def cost_kwargs(params: CostParams) -> dict[str, Any]:
    """The constraint's and the cost critic's constructor arguments of an on-policy learner (the fields of
    :class:`CostParams`)."""
    kwargs = {f.name: getattr(params, f.name) for f in fields(CostParams) if f.name not in ("cost_limit", "cost_limits")}
    kwargs["cost_limit"] = cost_limit_argument(params)
    return kwargs


@expected_truncation_quiet()
def make_ppo_lag(env: GymEnv, params: PPOLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                 verbose: int = 0, device: str = "cpu") -> PPOLagrangian:
    """PPO-Lagrangian (or PID-Lagrangian, with :class:`PIDLagParams`) on ``env`` from validated ``params``."""
    model = PPOLagrangian(stock_policy(env), env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                          device=device, normalize_observations=params.normalize_observations,
                          **stock_kwargs(params, PPOParams), **cost_kwargs(params), **multiplier_kwargs(params))
    model.params = params
    return model


@expected_truncation_quiet()
def load_ppo_lag(path: str, env: GymEnv | None = None, *, device: str = "cpu",
                 tensorboard_log: str | None = None) -> PPOLagrangian:
    """A saved PPO- or PID-Lagrangian learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, PPOLagrangian, (PPOLagParams, PIDLagParams), make_ppo_lag, env, device=device,
                        tensorboard_log=tensorboard_log)
