"""PPO-Lagrangian (and PID-Lagrangian PPO: the same learner with the ``pid`` multiplier), on stable-baselines3's PPO.

One update (:meth:`PPOLagrangian.train`), after :func:`~safexp_sb3.rollouts.collect_rollout` has filled the buffer
with rewards, costs and both GAEs::

    1. J_c ← mean cost of the episodes finished in this rollout       (the episode-cost monitor)
       λ_k ← multiplier step on J_c,k − d_k, for every constraint k    (before the policy sees λ)
    2. A_r ← standardised reward advantages;  A_c ← centred cost advantages (not rescaled)
       A   ← (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)
    3. n_epochs passes of minibatches: PPO's clipped surrogate on A plus the reward critic's loss (one Adam step,
       gradient norm clipped), stopping once the approximate KL exceeds 1.5 × target_kl; the cost critic steps on
       the same minibatches (or on its own schedule afterwards)

Defaults follow OmniSafe's configuration for the Safety Gym suite (constrained-rl.md §7): 20,000 env steps per
update, 64×64 tanh networks, γ = γ_c = 0.99, λ_GAE = λ_c = 0.95, cost limit 25.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.constraints import ConstraintMultipliers, CostLimit, cost_limit_setting, lagrangian_advantages
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.hyperparameters import CostParams, PIDLagParams, PPOLagParams, PPOParams
from safexp_sb3.multipliers import check_finite
from safexp_sb3.params import cost_limit_argument, expected_truncation_quiet, multiplier_kwargs, stock_kwargs
from safexp_sb3.rollouts import (
    CostCriticSettings,
    check_policy_finite,
    collect_rollout,
    fit_cost_critic,
    observation_normaliser,
    set_up_costs,
    start_monitor,
)


class PPOLagrangian(PPO):
    """PPO-Lagrangian: PPO's clipped update on the penalised advantage (module docstring).

    :param cost_limit: the episode cost limit ``d`` (undiscounted, per episode): a float for every constraint, a
        mapping constraint name → limit, or a sequence with one limit per constraint (in the env's
        ``constraint_names`` order). Safety Gym suite: 25.
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`); ``pid`` makes
        this PID-Lagrangian PPO (Stooke et al. 2020).
    :param multiplier_settings: settings replacing the preset's.
    :param cost_gamma, cost_gae_lambda, cost_critic_lr, cost_critic_net_arch, cost_critic_epochs,
        cost_critic_batch_size: the cost critic (:class:`safexp_sb3.hyperparameters.CostParams`).
    :param normalize_advantage: standardise the reward advantages over the whole rollout (not per minibatch, as
        stock PPO does); cost advantages are always centred and never rescaled.
    :param normalize_observations: standardise the observations by their running statistics
        (:class:`~safexp_sb3.rollouts.ObservationNormaliser`).

    Every other keyword argument is stable-baselines3 ``PPO``'s. Logged besides PPO's keys: the multipliers'
    (:class:`~safexp_sb3.constraints.ConstraintMultipliers`), ``train/cost_value_loss`` and the cost tags of
    :data:`safexp_sb3.costs.TENSORBOARD_TAGS`.
    """

    params: PPOLagParams | None = None

    def __init__(self, policy: Any, env: GymEnv, cost_limit: CostLimit = 25.0, multiplier: str = "omnisafe",
                 multiplier_settings: Mapping[str, Any] | None = None, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_critic_lr: float = 1e-3,
                 cost_critic_net_arch: Sequence[int] = (64, 64), cost_critic_epochs: int | None = None,
                 cost_critic_batch_size: int | None = None, normalize_advantage: bool = True,
                 normalize_observations: bool = False, **ppo_kwargs: Any):
        self.cost_settings = CostCriticSettings(cost_gamma, cost_gae_lambda, cost_critic_lr,
                                                tuple(cost_critic_net_arch), cost_critic_epochs, cost_critic_batch_size)
        self.standardize_reward_advantage = normalize_advantage
        super().__init__(policy, env, normalize_advantage=False, _init_setup_model=False, **ppo_kwargs)
        self.cost_limit = cost_limit_setting(cost_limit)
        set_up_costs(self, self.cost_limit, self.cost_settings)
        self.obs_normaliser = observation_normaliser(self, normalize_observations)
        self.constraints = ConstraintMultipliers(self.constraint_names, self.cost_limit, multiplier, multiplier_settings)

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of every constraint, in ``constraint_names`` order."""
        return self.constraints.values.tolist()

    # -- collection ---------------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "PPOLag",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> PPOLagrangian:
        """``PPO.learn``; the episode-cost monitor starts (or continues) with it."""
        start_monitor(self, self.cost_monitor, reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: CostRolloutBuffer, n_rollout_steps: int) -> bool:
        """One rollout with its costs (:func:`safexp_sb3.rollouts.collect_rollout`)."""
        return collect_rollout(self, env, callback, rollout_buffer, n_rollout_steps, self.cost_monitor,
                               self.cost_critic, self.cost_settings.cost_gamma, self.obs_normaliser)

    # -- the update ---------------------------------------------------------------------------------------------
    def policy_advantages(self) -> np.ndarray:
        """Steps 1 and 2 of the update: step the multipliers from this rollout's J_c, then the penalised advantage
        ``(A_r − Σλ·A_c) / (1 + Σλ)`` of every sample, shape ``(n_steps, n_envs)``."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        return lagrangian_advantages(self.constraints, self.cost_monitor, buffer.advantages, buffer.cost_advantages,
                                     self.standardize_reward_advantage)

    def train(self) -> None:
        """One PPO-Lagrangian update on the collected rollout (module docstring)."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        buffer.advantages = self.policy_advantages().astype(np.float32)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        alongside = not self.cost_settings.own_schedule

        policy_losses, value_losses, entropy_losses, clip_fractions, cost_losses = [], [], [], [], []
        continue_training = True
        for _ in range(self.n_epochs):
            approx_kl_divs = []
            for batch in buffer.get(self.batch_size):
                actions = batch.actions.long().flatten() if isinstance(self.action_space, spaces.Discrete) else batch.actions
                values, log_prob, entropy = self.policy.evaluate_actions(batch.observations, actions)
                ratio = th.exp(log_prob - batch.old_log_prob)
                surrogate = th.min(batch.advantages * ratio,
                                   batch.advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
                policy_loss = -surrogate.mean()
                value_loss = F.mse_loss(batch.returns, values.flatten())
                entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                policy_losses.append(check_finite("policy loss", policy_loss.item()))
                value_losses.append(check_finite("value loss", value_loss.item()))
                entropy_losses.append(entropy_loss.item())
                clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()).item())
                with th.no_grad():
                    log_ratio = log_prob - batch.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                approx_kl_divs.append(approx_kl_div)
                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    break
                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
                if alongside:
                    cost_losses.append(check_finite("cost value loss", self.cost_critic.regression_step(
                        batch.observations, batch.cost_returns)))
            self._n_updates += 1
            if not continue_training:
                break
        if not alongside:
            cost_losses = fit_cost_critic(self.cost_critic, buffer, self.cost_settings.cost_critic_epochs or self.n_epochs,
                                          self.cost_settings.cost_critic_batch_size or self.batch_size,
                                          self.cost_critic_rng)
        check_policy_finite(self)

        self.constraints.record(self.logger)
        if cost_losses:  # none when the KL limit stopped the update at its first minibatch
            self.logger.record("train/cost_value_loss", float(np.mean(cost_losses)))
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(policy_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/explained_variance",
                           explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    # -- checkpoints --------------------------------------------------------------------------------------------
    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:mod:`safexp_sb3.checkpoints`)."""
        return CheckpointParts(
            modules={"policy": self.policy, "cost_critic": self.cost_critic},
            optimizers={"policy": self.policy.optimizer, "cost_critic": self.cost_critic.optimizer},
            components=self._components({"multipliers": self.constraints, "cost_monitor": self.cost_monitor}),
            tensors={})

    def _components(self, components: dict[str, Any]) -> dict[str, Any]:
        return components if self.obs_normaliser is None else {**components, "obs_normaliser": self.obs_normaliser}

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """``PPO.predict`` on the observation as the policy sees it (standardised with ``normalize_observations``)."""
        if self.obs_normaliser is not None:
            observation = self.obs_normaliser(observation)
        return super().predict(observation, state, episode_start, deterministic)

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
    model = PPOLagrangian("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
                          normalize_observations=params.normalize_observations, **stock_kwargs(params, PPOParams),
                          **cost_kwargs(params), **multiplier_kwargs(params))
    model.params = params
    return model


@expected_truncation_quiet()
def load_ppo_lag(path: str, env: GymEnv | None = None, *, device: str = "cpu",
                 tensorboard_log: str | None = None) -> PPOLagrangian:
    """A saved PPO- or PID-Lagrangian learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, PPOLagrangian, (PPOLagParams, PIDLagParams), make_ppo_lag, env, device=device,
                        tensorboard_log=tensorboard_log)
