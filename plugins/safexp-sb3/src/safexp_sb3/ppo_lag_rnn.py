"""Recurrent PPO-Lagrangian (``ppo_lag_rnn``) on sb3-contrib's ``RecurrentPPO``: the cheap on-policy recurrent
baseline of the safe-transfer experiments.

The policy is sb3-contrib's: an LSTM for the actor and one for the critic, each after the features extractor
(``MlpLstmPolicy`` for vector observations, ``MultiInputLstmPolicy`` for ``Dict`` ones, images included) and before
an MLP. The cost value ``V_c`` is a head on the critic LSTM's output
(:class:`~safexp_sb3.recurrent_rollouts.CostValueHead`): it sees the same memory as the reward value, and its loss
trains that LSTM alongside the reward value's.

One update (:meth:`RecurrentPPOLagrangian.train`), after
:func:`~safexp_sb3.recurrent_rollouts.collect_recurrent_rollout` has filled the buffer with rewards, costs, both
GAEs and the LSTM states before every step::

    1. J_c ← mean cost of the episodes finished in this rollout       (the episode-cost monitor)
       λ_k ← multiplier step on J_c,k − d_k, for every constraint k    (before the policy sees λ)
    2. A_r ← standardised reward advantages;  A_c ← centred cost advantages (not rescaled)
       A   ← (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)
    3. n_epochs passes of sequence minibatches (runs of one env's steps cut at episode starts, padded; each unrolled
       from the LSTM states stored at its first step), the means over the real steps only:
       loss = PPO's clipped surrogate on A + ent_coef·entropy loss
              + vf_coef·(V − R)² + cost_vf_coef·(V_c − R_c)²
       one Adam step of the policy (LSTMs included) and one of the cost head, gradient norm clipped over both,
       stopping once the approximate KL exceeds 1.5 × target_kl

Defaults: those of ``ppo_lag`` (OmniSafe's Safety Gym configuration) but the multiplier (``omnisafe``, not yet
screened for this learner) and an LSTM of 64 units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import explained_variance, is_vectorized_observation
from torch import nn

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.constraints import ConstraintMultipliers, CostLimit, cost_limit_setting
from safexp_sb3.costs import EpisodeCostMonitor, resolve_constraint_names
from safexp_sb3.hyperparameters import PPOLagRNNParams, PPOParams
from safexp_sb3.multipliers import check_finite
from safexp_sb3.on_policy_costs import lagrangian_advantages
from safexp_sb3.params import cost_limit_argument, expected_truncation_quiet, multiplier_kwargs, stock_kwargs
from safexp_sb3.recurrent_rollouts import (
    CostValueHead,
    RecurrentCostRolloutBuffer,
    collect_recurrent_rollout,
    recurrent_cost_buffer,
)
from safexp_sb3.rollouts import check_policy_finite, start_monitor


class RecurrentPPOLagrangian(RecurrentPPO):
    """Recurrent PPO-Lagrangian: RecurrentPPO's clipped update on the penalised advantage (module docstring).

    :param cost_limit: the episode cost limit ``d``: a float for every constraint, a mapping constraint name →
        limit, or a sequence with one limit per constraint (in the env's ``constraint_names`` order).
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`).
    :param multiplier_settings: settings replacing the preset's.
    :param cost_gamma, cost_gae_lambda, cost_head_net_arch, cost_head_lr, cost_vf_coef: the cost value
        (:class:`safexp_sb3.hyperparameters.PPOLagRNNParams`).
    :param normalize_advantage: standardise the reward advantages over the whole rollout (not per minibatch, as
        stock RecurrentPPO does); cost advantages are always centred and never rescaled.

    Every other keyword argument is sb3-contrib ``RecurrentPPO``'s (the policy keeps its default of separate actor
    and critic LSTMs and one features extractor) but ``clip_range_vf``, refused: the value loss is not clipped.
    Logged besides RecurrentPPO's keys: the multipliers' (:class:`~safexp_sb3.constraints.ConstraintMultipliers`),
    ``train/cost_value_loss`` and the cost tags of :data:`safexp_sb3.costs.TENSORBOARD_TAGS`.
    """

    params: PPOLagRNNParams | None = None

    def __init__(self, policy: Any, env: GymEnv, cost_limit: CostLimit = PPOLagRNNParams.cost_limit,
                 multiplier: str = PPOLagRNNParams.multiplier,
                 multiplier_settings: Mapping[str, Any] | None = None, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_head_net_arch: Sequence[int] = (64,), cost_head_lr: float = 1e-3,
                 cost_vf_coef: float = 0.5, normalize_advantage: bool = True, **recurrent_ppo_kwargs: Any):
        if recurrent_ppo_kwargs.get("clip_range_vf") is not None:
            raise ParameterError("RecurrentPPOLagrangian does not clip the value function: leave clip_range_vf at None")
        self.cost_gamma, self.cost_vf_coef = cost_gamma, cost_vf_coef
        self.standardize_reward_advantage = normalize_advantage
        super().__init__(policy, env, normalize_advantage=False, _init_setup_model=False, **recurrent_ppo_kwargs)
        self.cost_limit = cost_limit_setting(cost_limit)
        self.constraint_names = resolve_constraint_names(self.env, self.cost_limit)
        self.cost_monitor = EpisodeCostMonitor(self.n_envs, self.constraint_names, window=self._stats_window_size)
        self._setup_model()
        self.rollout_buffer = recurrent_cost_buffer(self.rollout_buffer, len(self.constraint_names), cost_gamma,
                                                    cost_gae_lambda)
        with th.random.fork_rng(devices=[]):  # the policy's sampling stream stays where stock RecurrentPPO has it
            self.cost_head = CostValueHead(self.policy.lstm_output_dim, len(self.constraint_names), cost_head_net_arch,
                                           self.policy_kwargs.get("activation_fn", nn.Tanh), cost_head_lr).to(self.device)
        self.constraints = ConstraintMultipliers(self.constraint_names, self.cost_limit, multiplier, multiplier_settings)
        self.predict_state: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of every constraint, in ``constraint_names`` order."""
        return self.constraints.values.tolist()

    # -- collection ---------------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1,
              tb_log_name: str = "RecurrentPPOLag", reset_num_timesteps: bool = True,
              progress_bar: bool = False) -> RecurrentPPOLagrangian:
        """``RecurrentPPO.learn``; the episode-cost monitor starts (or continues) with it."""
        start_monitor(self, self.cost_monitor, reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: RecurrentCostRolloutBuffer,
                         n_rollout_steps: int) -> bool:
        """One rollout with its LSTM states and costs (:func:`~safexp_sb3.recurrent_rollouts.collect_recurrent_rollout`)."""
        return collect_recurrent_rollout(self, env, callback, rollout_buffer, n_rollout_steps, self.cost_monitor,
                                         self.cost_head, self.cost_gamma)

    # -- the update ---------------------------------------------------------------------------------------------
    def train(self) -> None:
        """One recurrent PPO-Lagrangian update on the collected rollout (module docstring)."""
        buffer: RecurrentCostRolloutBuffer = self.rollout_buffer
        advantages = lagrangian_advantages(buffer, self.constraints, self.cost_monitor.cost_estimate(),
                                           self.standardize_reward_advantage)
        buffer.advantages = advantages.astype(np.float32)
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        trained = [*self.policy.parameters(), *self.cost_head.parameters()]

        policy_losses, value_losses, cost_losses, entropy_losses, clip_fractions = [], [], [], [], []
        continue_training = True
        for _ in range(self.n_epochs):
            approx_kl_divs = []
            for batch in buffer.get(self.batch_size):
                real = batch.mask > 1e-8  # the padding of the sequences counts nowhere
                actions = batch.actions.long().flatten() if isinstance(self.action_space, spaces.Discrete) else batch.actions
                values, log_prob, entropy = self.policy.evaluate_actions(batch.observations, actions, batch.lstm_states,
                                                                         batch.episode_starts)
                cost_values = self.cost_head.values(self.policy, batch.observations, batch.lstm_states.vf,
                                                    batch.episode_starts)
                ratio = th.exp(log_prob - batch.old_log_prob)
                surrogate = th.min(batch.advantages * ratio,
                                   batch.advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
                policy_loss = -surrogate[real].mean()
                value_loss = ((batch.returns - values.flatten()) ** 2)[real].mean()
                cost_value_loss = ((batch.cost_returns - cost_values) ** 2)[real].mean()
                entropy_loss = -th.mean(-log_prob[real]) if entropy is None else -th.mean(entropy[real])
                loss = (policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                        + self.cost_vf_coef * cost_value_loss)
                policy_losses.append(check_finite("policy loss", policy_loss.item()))
                value_losses.append(check_finite("value loss", value_loss.item()))
                cost_losses.append(check_finite("cost value loss", cost_value_loss.item()))
                entropy_losses.append(entropy_loss.item())
                clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()[real]).item())
                with th.no_grad():
                    log_ratio = log_prob - batch.old_log_prob
                    approx_kl_div = th.mean(((th.exp(log_ratio) - 1) - log_ratio)[real]).cpu().numpy()
                approx_kl_divs.append(approx_kl_div)
                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    break
                self.policy.optimizer.zero_grad()
                self.cost_head.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(trained, self.max_grad_norm)
                self.policy.optimizer.step()
                self.cost_head.optimizer.step()
            self._n_updates += 1
            if not continue_training:
                break
        check_policy_finite(self)

        self.constraints.record(self.logger)
        self.logger.record("train/cost_value_loss", float(np.mean(cost_losses)))
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(policy_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())  # as stock PPO: the last minibatch's
        self.logger.record("train/clip_range", clip_range)
        self.logger.record("train/explained_variance",
                           explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")

    # -- acting -------------------------------------------------------------------------------------------------
    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """``RecurrentPPO.predict``, carrying the actor's LSTM state from call to call.

        The state comes from ``state`` when given (as returned before), else from the state the previous call left
        for as many observations (the learner carries it for its evaluation env), else zeros. ``episode_start``
        (one flag per observation) zeroes the state of the observations that start an episode: pass it at every
        episode's first step, or call :meth:`reset_lstm_state` before each episode.

        :return: the actions and the actor LSTM's ``(hidden, cell)`` states after reading the observations.
        """
        if state is None and self.predict_state is not None and self.predict_state[0].shape[1] == self._count(observation):
            state = self.predict_state
        actions, self.predict_state = super().predict(observation, state, episode_start, deterministic)
        return actions, self.predict_state

    def reset_lstm_state(self) -> None:
        """Forget the LSTM state :meth:`predict` carries (its next call starts from zeros)."""
        self.predict_state = None

    def _count(self, observation: Any) -> int:
        if not is_vectorized_observation(observation, self.observation_space):
            return 1
        first = next(iter(observation.values())) if isinstance(observation, dict) else observation
        return len(first)

    # -- checkpoints --------------------------------------------------------------------------------------------
    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:mod:`safexp_sb3.checkpoints`). The LSTM states are not
        saved: a loaded learner starts its envs' episodes afresh, from zero states."""
        return CheckpointParts(
            modules={"policy": self.policy, "cost_head": self.cost_head},
            optimizers={"policy": self.policy.optimizer, "cost_head": self.cost_head.optimizer},
            components={"multipliers": self.constraints, "cost_monitor": self.cost_monitor},
            tensors={})

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)


@expected_truncation_quiet()
def make_ppo_lag_rnn(env: GymEnv, params: PPOLagRNNParams, *, seed: int | None = None,
                     tensorboard_log: str | None = None, verbose: int = 0, device: str = "cpu") -> RecurrentPPOLagrangian:
    """Recurrent PPO-Lagrangian on ``env`` from validated ``params``: ``MultiInputLstmPolicy`` for a ``Dict``
    observation space, else ``MlpLstmPolicy``."""
    policy = "MultiInputLstmPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpLstmPolicy"
    kwargs = stock_kwargs(params, PPOParams)
    kwargs["policy_kwargs"].update(lstm_hidden_size=params.lstm_hidden_size, n_lstm_layers=params.n_lstm_layers)
    model = RecurrentPPOLagrangian(policy, env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                                   device=device, cost_limit=cost_limit_argument(params), cost_gamma=params.cost_gamma,
                                   cost_gae_lambda=params.cost_gae_lambda, cost_head_net_arch=params.cost_head_net_arch,
                                   cost_head_lr=params.cost_head_lr, cost_vf_coef=params.cost_vf_coef,
                                   **multiplier_kwargs(params), **kwargs)
    model.params = params
    return model


@expected_truncation_quiet()
def load_ppo_lag_rnn(path: str, env: GymEnv | None = None, *, device: str = "cpu",
                     tensorboard_log: str | None = None) -> RecurrentPPOLagrangian:
    """A saved recurrent PPO-Lagrangian learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, RecurrentPPOLagrangian, (PPOLagRNNParams,), make_ppo_lag_rnn, env, device=device,
                        tensorboard_log=tensorboard_log)
