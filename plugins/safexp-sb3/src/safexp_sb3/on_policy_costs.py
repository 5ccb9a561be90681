"""The cost side of an on-policy learner (PPO-, PID-, TRPO-Lagrangian, CPO), as one component the learner calls.

A learner builds one :class:`OnPolicyCosts` in its ``__init__`` and calls it, by name, where its costs come in:
``start`` before ``learn``, ``collect`` as its ``collect_rollouts``, ``policy_input`` in ``predict``,
``fit_cost_critic`` when the cost critic trains on its own schedule, ``fit_critics`` for a trust-region update's
critics, ``checkpoint_parts`` when it is saved. The update itself (``train``) stays in the learner's own file.
:func:`lagrangian_advantages` is the advantage step the Lagrangian learners share (:func:`prepared_advantages`,
its first part, is CPO's too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from safexp_sb3.checkpoints import CheckpointParts
from safexp_sb3.constraints import ConstraintMultipliers
from safexp_sb3.cost_buffer import CostRolloutBuffer, centred, penalised_advantage, standardised
from safexp_sb3.multipliers import check_finite
from safexp_sb3.policy_update import ActorCriticPass, critic_passes
from safexp_sb3.rollout_tensors import RolloutTensors
from safexp_sb3.rollouts import (
    CostCriticSettings,
    RandomStream,
    collect_rollout,
    fit_cost_critic,
    observation_normaliser,
    set_up_costs,
    start_monitor,
)


def cost_critic_settings(kwargs: dict[str, Any]) -> CostCriticSettings:
    """Take the cost critic's keyword arguments (the fields of :class:`~safexp_sb3.rollouts.CostCriticSettings`:
    ``cost_gamma``, ``cost_gae_lambda``, ``cost_critic_lr``, ``cost_critic_net_arch``, ``cost_critic_epochs``,
    ``cost_critic_batch_size``) out of a learner's ``kwargs`` (removed from it) and return them as settings; the
    ones not given keep their defaults."""
    given = {f.name: kwargs.pop(f.name) for f in fields(CostCriticSettings) if f.name in kwargs}
    if "cost_critic_net_arch" in given:
        given["cost_critic_net_arch"] = tuple(given["cost_critic_net_arch"])
    return CostCriticSettings(**given)


class OnPolicyCosts:
    """Everything an on-policy learner's costs need outside its update: the constraints, the episode-cost monitor,
    the cost critic, the observation normaliser, and the collection of rollouts with costs.

    Building it finishes building ``model`` (constructed with ``_init_setup_model=False``), which then has
    ``constraint_names``, ``cost_monitor``, ``cost_critic``, ``cost_critic_rng`` and ``obs_normaliser``
    (:func:`~safexp_sb3.rollouts.set_up_costs`).

    :param model: the learner.
    :param cost_limit: its cost limit setting (names the constraints when the env does not).
    :param settings: the cost critic's settings.
    :param normalize_observations: standardise what the policy and the critics see by running statistics.
    """

    def __init__(self, model: OnPolicyAlgorithm, cost_limit: Any, settings: CostCriticSettings,
                 normalize_observations: bool) -> None:
        self.model, self.settings = model, settings
        set_up_costs(model, cost_limit, settings)
        model.obs_normaliser = observation_normaliser(model, normalize_observations)

    def start(self, reset_num_timesteps: bool) -> None:
        """Before ``learn``: the monitor starts or continues (:func:`~safexp_sb3.rollouts.start_monitor`)."""
        start_monitor(self.model, self.model.cost_monitor, reset_num_timesteps)

    def collect(self, env: VecEnv, callback: BaseCallback, buffer: CostRolloutBuffer, n_rollout_steps: int) -> bool:
        """One rollout with its costs (:func:`~safexp_sb3.rollouts.collect_rollout`); ``False`` if a callback
        stopped it."""
        model = self.model
        return collect_rollout(model, env, callback, buffer, n_rollout_steps, model.cost_monitor, model.cost_critic,
                               self.settings.cost_gamma, model.obs_normaliser)

    def policy_input(self, observation: Any) -> Any:
        """``observation`` as the policy sees it: standardised with ``normalize_observations``, else unchanged."""
        normaliser = self.model.obs_normaliser
        return observation if normaliser is None else normaliser(observation)

    def fit_cost_critic(self, buffer: CostRolloutBuffer, epochs: int, batch_size: int) -> list[float]:
        """The cost critic on its own schedule after the update: ``cost_critic_epochs`` passes (else ``epochs``, the
        reward critic's) in minibatches of ``cost_critic_batch_size`` (else ``batch_size``); returns the losses."""
        settings = self.settings
        return fit_cost_critic(self.model.cost_critic, buffer, settings.cost_critic_epochs or epochs,
                               settings.cost_critic_batch_size or batch_size, self.model.cost_critic_rng)

    def fit_critics(self, rollout: RolloutTensors, passes: int, batch_size: int, actor_critic: ActorCriticPass,
                    actor_parameters: Sequence[th.Tensor]) -> tuple[list[float], list[float]]:
        """The critics of a trust-region update (TRPO-Lagrangian, CPO): ``passes`` passes of the reward critic over
        ``rollout`` in minibatches of ``batch_size`` (:func:`~safexp_sb3.policy_update.critic_passes`), the cost
        critic alongside on the same minibatches, or after them on its own schedule; returns the reward and the
        cost critic's losses."""
        model, own_schedule = self.model, self.settings.own_schedule
        value_losses, cost_losses = critic_passes(rollout, passes, batch_size, actor_critic, model.policy.optimizer,
                                                  actor_parameters, None if own_schedule else model.cost_critic)
        if own_schedule:
            cost_losses = self.fit_cost_critic(model.rollout_buffer, passes, batch_size)
        return value_losses, cost_losses

    def checkpoint_parts(self, components: Mapping[str, Any], optional: frozenset[str] = frozenset()) -> CheckpointParts:
        """What a checkpoint of the learner holds besides the common part (:mod:`safexp_sb3.checkpoints`): the
        policy, the cost critic, their optimisers, the cost monitor, the observation statistics (with
        ``normalize_observations``), the random stream of the cost critic's own schedule (when it has one) and the
        learner's own ``components`` (its multipliers, CPO's margin), of which those named in ``optional`` may be
        missing from a checkpoint (older ones: they keep their fresh state)."""
        model = self.model
        own = {"cost_monitor": model.cost_monitor, **components}
        if model.obs_normaliser is not None:
            own["obs_normaliser"] = model.obs_normaliser
        if self.settings.own_schedule:
            own["cost_critic_rng"] = RandomStream(model.cost_critic_rng)
        return CheckpointParts(modules={"policy": model.policy, "cost_critic": model.cost_critic},
                               optimizers={"policy": model.policy.optimizer, "cost_critic": model.cost_critic.optimizer},
                               components=own, tensors={},
                               optional_components=frozenset({"cost_critic_rng"}) | optional)  # older checkpoints lack it


def lagrangian_advantages(buffer: CostRolloutBuffer, constraints: ConstraintMultipliers, cost_estimate: Any,
                          standardize_reward_advantage: bool) -> np.ndarray:
    """Steps 1 and 2 of a Lagrangian update: step the multipliers on this rollout's episode-cost estimate (kept when
    ``None``: no episode has ended yet), then the penalised advantage ``(A_r − Σλ·A_c) / (1 + Σλ)`` of every
    sample, shape ``(n_steps, n_envs)``, from the standardised (or raw) reward advantages and the centred cost
    advantages."""
    if cost_estimate is not None:
        constraints.update(cost_estimate)
    reward_adv, cost_adv = prepared_advantages(buffer, standardize_reward_advantage)
    return penalised_advantage(reward_adv, cost_adv, constraints.values)


def prepared_advantages(buffer: CostRolloutBuffer, standardize_reward_advantage: bool) -> tuple[np.ndarray, np.ndarray]:
    """The rollout's advantages as a constrained update uses them: the reward advantages standardised (or raw, when
    not ``standardize_reward_advantage``), shape ``(n_steps, n_envs)``, and the cost advantages centred, shape
    ``(n_steps, n_envs, n_constraints)``.

    :raises NonFiniteError: when either holds a NaN or an infinity.
    """
    reward_adv = standardised(buffer.advantages) if standardize_reward_advantage else buffer.advantages
    check_finite("reward advantage", float(np.sum(reward_adv)))
    cost_adv = centred(buffer.cost_advantages)
    check_finite("cost advantage", float(np.sum(cost_adv)))
    return reward_adv, cost_adv
