"""The unconstrained on-policy baselines, ``ppo`` and ``trpo``: stock stable-baselines3 PPO and sb3-contrib TRPO
(their own ``train()``, unchanged), collecting through :func:`safexp_sb3.rollouts.collect_rollout` so that their
costs are counted and logged exactly as the constrained learners' are (a step without ``info["cost"]`` counts as
zero), and saving checkpoints that load without unpickling.
"""

from __future__ import annotations

from typing import Any

from sb3_contrib import TRPO
from stable_baselines3 import PPO
from stable_baselines3.common.type_aliases import GymEnv

from safexp_sb3.checkpoints import CheckpointParts, load_learner, save_learner
from safexp_sb3.costs import EpisodeCostMonitor, resolve_constraint_names
from safexp_sb3.hyperparameters import PPOParams, TRPOParams
from safexp_sb3.params import expected_truncation_quiet, stock_kwargs, stock_policy
from safexp_sb3.rollouts import collect_rollout, start_monitor


def _monitor(model: PPO | TRPO) -> EpisodeCostMonitor:
    model.constraint_names = resolve_constraint_names(model.env, 0.0)
    return EpisodeCostMonitor(model.n_envs, model.constraint_names, window=model._stats_window_size,
                              require_cost=False)


class UnconstrainedPPO(PPO):
    """Stock stable-baselines3 PPO whose costs are monitored and logged. Arguments: ``PPO``'s."""

    params: PPOParams | None = None

    def __init__(self, policy: Any, env: GymEnv, **ppo_kwargs: Any):
        super().__init__(policy, env, **ppo_kwargs)
        self.cost_monitor = _monitor(self)

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "PPO",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> UnconstrainedPPO:
        """``PPO.learn``; the episode-cost monitor starts (or continues) with it."""
        start_monitor(self, self.cost_monitor, reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int) -> bool:
        """One rollout, its costs monitored (:func:`safexp_sb3.rollouts.collect_rollout`)."""
        return collect_rollout(self, env, callback, rollout_buffer, n_rollout_steps, self.cost_monitor)

    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:mod:`safexp_sb3.checkpoints`)."""
        return CheckpointParts(modules={"policy": self.policy}, optimizers={"policy": self.policy.optimizer},
                               components={"cost_monitor": self.cost_monitor}, tensors={})

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)


class UnconstrainedTRPO(TRPO):
    """Stock sb3-contrib TRPO whose costs are monitored and logged. Arguments: ``TRPO``'s."""

    params: TRPOParams | None = None

    def __init__(self, policy: Any, env: GymEnv, **trpo_kwargs: Any):
        super().__init__(policy, env, **trpo_kwargs)
        self.cost_monitor = _monitor(self)

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "TRPO",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> UnconstrainedTRPO:
        """``TRPO.learn``; the episode-cost monitor starts (or continues) with it."""
        start_monitor(self, self.cost_monitor, reset_num_timesteps)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int) -> bool:
        """One rollout, its costs monitored (:func:`safexp_sb3.rollouts.collect_rollout`)."""
        return collect_rollout(self, env, callback, rollout_buffer, n_rollout_steps, self.cost_monitor)

    checkpoint_parts = UnconstrainedPPO.checkpoint_parts
    save = UnconstrainedPPO.save


@expected_truncation_quiet()
def make_ppo(env: GymEnv, params: PPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> UnconstrainedPPO:
    """Unconstrained PPO (costs monitored) on ``env`` from validated ``params``."""
    model = UnconstrainedPPO(stock_policy(env), env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                             device=device, **stock_kwargs(params, PPOParams))
    model.params = params
    return model


@expected_truncation_quiet()
def make_trpo(env: GymEnv, params: TRPOParams, *, seed: int | None = None, tensorboard_log: str | None = None,
              verbose: int = 0, device: str = "cpu") -> UnconstrainedTRPO:
    """Unconstrained TRPO (costs monitored) on ``env`` from validated ``params``."""
    model = UnconstrainedTRPO(stock_policy(env), env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                              device=device, **stock_kwargs(params, TRPOParams))
    model.params = params
    return model


@expected_truncation_quiet()
def load_ppo(path: str, env: GymEnv | None = None, *, device: str = "cpu",
             tensorboard_log: str | None = None) -> UnconstrainedPPO:
    """A saved unconstrained PPO learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, UnconstrainedPPO, (PPOParams,), make_ppo, env, device=device,
                        tensorboard_log=tensorboard_log)


@expected_truncation_quiet()
def load_trpo(path: str, env: GymEnv | None = None, *, device: str = "cpu",
              tensorboard_log: str | None = None) -> UnconstrainedTRPO:
    """A saved unconstrained TRPO learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, UnconstrainedTRPO, (TRPOParams,), make_trpo, env, device=device,
                        tensorboard_log=tensorboard_log)
