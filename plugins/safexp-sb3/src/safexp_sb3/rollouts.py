"""What the on-policy learners (PPO-, PID-, TRPO-Lagrangian, CPO and the unconstrained PPO / TRPO) share around
their update: the cost critic's settings and construction, the collection of a rollout with its costs, and the
cost critic's fit on its own schedule.

:func:`collect_rollout` is stable-baselines3's on-policy collection loop written out with the costs in it:
after every env step the episode-cost monitor records the step's costs (the one place a run counts its cost),
the costs go into the rollout buffer next to the rewards (a time-limit truncation bootstraps both, from the
reward critic and the cost critic), and at the end the cost values of the whole rollout are computed in one
batched pass and the cost GAE is computed. A lean policy (:class:`~safexp_sb3.policy_update.ActorCriticPass`)
runs only its actor at an env step, drawing the action exactly as the policy would; the reward values and the
log-probabilities of the whole rollout come in one batched pass at its end, as the cost values do (equal to the
per-step ones to rounding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointError
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.cost_critic import CostCritic
from safexp_sb3.costs import EpisodeCostMonitor, resolve_constraint_names
from safexp_sb3.multipliers import check_finite
from safexp_sb3.policy_update import ActorCriticPass


@dataclass(frozen=True)
class CostCriticSettings:
    """The cost critic of an on-policy learner (documented on :class:`safexp_sb3.hyperparameters.CostParams`).

    :raises ParameterError: for a discount or GAE λ outside [0, 1], or a schedule setting below 1.
    """

    cost_gamma: float = 0.99
    cost_gae_lambda: float = 0.95
    cost_critic_lr: float = 1e-3
    cost_critic_net_arch: tuple[int, ...] = (64, 64)
    cost_critic_epochs: int | None = None
    cost_critic_batch_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("cost_gamma", "cost_gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("cost_critic_epochs", "cost_critic_batch_size"):
            count = getattr(self, name)
            if count is not None and count < 1:
                raise ParameterError(f"{name} must be >= 1 (or None: as the reward critic), got {count}")

    @property
    def own_schedule(self) -> bool:
        """Whether the cost critic trains on its own schedule after the update (else on the reward critic's
        minibatches, alongside it)."""
        return self.cost_critic_epochs is not None or self.cost_critic_batch_size is not None


def cost_buffer_kwargs(n_constraints: int, settings: CostCriticSettings) -> dict[str, Any]:
    """The ``rollout_buffer_kwargs`` of a :class:`CostRolloutBuffer` for ``n_constraints`` constraints."""
    return {"n_constraints": n_constraints, "cost_gamma": settings.cost_gamma,
            "cost_gae_lambda": settings.cost_gae_lambda}


def build_cost_critic(model: OnPolicyAlgorithm, n_constraints: int, settings: CostCriticSettings) -> CostCritic:
    """The cost critic of ``model`` (its policy's activation), built on a forked torch RNG: its initialisation is
    deterministic for a seed but leaves the stream the policy samples actions from where the stock algorithm
    would have it."""
    with th.random.fork_rng(devices=[]):
        activation = model.policy_kwargs.get("activation_fn", nn.Tanh)
        return CostCritic(model.observation_space, n_constraints, settings.cost_critic_net_arch, activation,
                          settings.cost_critic_lr).to(model.device)


def set_up_costs(model: OnPolicyAlgorithm, cost_limit: Any, settings: CostCriticSettings) -> None:
    """Finish building an on-policy learner constructed with ``_init_setup_model=False``: its constraints
    (``constraint_names``, from the env or the limits), its episode-cost monitor (``cost_monitor``), its rollout
    buffer with costs, stable-baselines3's own setup (policy, seeding), then its cost critic (``cost_critic``) and
    the random generator of the cost critic's own schedule (``cost_critic_rng``).

    :raises ParameterError: for a ``Dict`` observation space (images among them): the cost critic and the rollout
        buffer take one flat observation.
    """
    if isinstance(model.observation_space, spaces.Dict):
        raise ParameterError(f"ppo_lag, pid_lag, trpo_lag and cpo take a Box or Discrete observation, not a Dict "
                             f"space (entries {', '.join(model.observation_space.spaces)}): ppo_lag_rnn and sac_lag_rnn "
                             "encode image observations; or flatten it (gymnasium.wrappers.FlattenObservation)")
    model.constraint_names = resolve_constraint_names(model.env, cost_limit)
    model.cost_monitor = EpisodeCostMonitor(model.n_envs, model.constraint_names, window=model._stats_window_size)
    model.rollout_buffer_class = CostRolloutBuffer
    model.rollout_buffer_kwargs = cost_buffer_kwargs(len(model.constraint_names), settings)
    model._setup_model()
    model.cost_critic = build_cost_critic(model, len(model.constraint_names), settings)
    model.cost_critic_rng = np.random.default_rng(model.seed)


def observation_normaliser(model: OnPolicyAlgorithm, enabled: bool) -> ObservationNormaliser | None:
    """The :class:`ObservationNormaliser` of ``model`` when ``enabled`` (``normalize_observations``), else ``None``.

    :raises ParameterError: when enabled on a non-``Box`` observation space.
    """
    if not enabled:
        return None
    if not isinstance(model.observation_space, spaces.Box):
        raise ParameterError(f"normalize_observations needs a Box observation space, not "
                             f"{type(model.observation_space).__name__}")
    return ObservationNormaliser(model.observation_space.shape)


def start_monitor(model: Any, monitor: EpisodeCostMonitor, reset_num_timesteps: bool) -> None:
    """Before ``learn``: the monitor forgets its totals when the step count restarts, and its running episodes when
    stable-baselines3 is about to reset the env (a new count, or no last observation)."""
    if reset_num_timesteps:
        monitor.reset_totals()
    if reset_num_timesteps or model._last_obs is None:
        monitor.reset_episodes(model.env.num_envs if model.env is not None else monitor.n_envs)


def collect_rollout(model: OnPolicyAlgorithm, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                    n_rollout_steps: int, monitor: EpisodeCostMonitor, cost_critic: CostCritic | None = None,
                    cost_gamma: float = 0.99, normaliser: ObservationNormaliser | None = None) -> bool:
    """Fill ``rollout_buffer`` with ``n_rollout_steps`` steps per env of ``model``'s policy, costs included.

    :param model: the learner (its policy, last observation, step count and logger).
    :param monitor: records every step's costs; its cost tags are logged at the end.
    :param cost_critic: with a :class:`CostRolloutBuffer`, the cost critic whose values bootstrap truncations and
        feed the cost GAE; ``None`` for an unconstrained learner (plain buffer, costs only monitored).
    :param cost_gamma: the cost discount.
    :param normaliser: with ``normalize_observations``, the running statistics: updated with every new
        observation, and what the policy, the critics and the buffer see is standardised by them.
    :return: ``False`` if a callback stopped the collection (the rollout is then incomplete), else ``True``.

    The callbacks see stable-baselines3's collection locals at every step, but for a lean policy ``values`` and
    ``log_probs``: those are evaluated after the rollout.
    """
    policy = model.policy
    policy.set_training_mode(False)
    n_steps = 0
    rollout_buffer.reset()
    if model.use_sde:
        policy.reset_noise(env.num_envs)
    callback.on_rollout_start()
    box_actions = isinstance(model.action_space, spaces.Box)
    seen = (lambda observations: observations) if normaliser is None else normaliser
    actor_critic = ActorCriticPass(policy)
    lean = actor_critic.lean  # the actor alone per env step; values and log-probabilities after the rollout
    if normaliser is not None and normaliser.count == 0:
        normaliser.update(model._last_obs)
    while n_steps < n_rollout_steps:
        if model.use_sde and model.sde_sample_freq > 0 and n_steps % model.sde_sample_freq == 0:
            policy.reset_noise(env.num_envs)
        observations = seen(model._last_obs)
        with th.no_grad():
            if lean:
                actions = actor_critic.sample(obs_as_tensor(observations, model.device))
            else:
                actions, values, log_probs = policy(obs_as_tensor(observations, model.device))
        actions = actions.cpu().numpy()
        env_actions = actions
        if box_actions:
            env_actions = (policy.unscale_action(actions) if policy.squash_output
                           else np.clip(actions, model.action_space.low, model.action_space.high))
        new_obs, rewards, dones, infos = env.step(env_actions)
        model.num_timesteps += env.num_envs
        step_costs = monitor.record(infos, dones)  # every step taken is counted, also one a callback stops on
        if normaliser is not None:
            normaliser.update(new_obs)
        callback.update_locals(locals())
        if not callback.on_step():
            monitor.log(model.logger)
            return False
        model._update_info_buffer(infos, dones)
        n_steps += 1
        if isinstance(model.action_space, spaces.Discrete):
            actions = actions.reshape(-1, 1)
        _bootstrap_truncations(model, infos, dones, rewards, step_costs, cost_critic, cost_gamma, seen)
        if cost_critic is not None:
            rollout_buffer.add_costs(step_costs)
        if lean:
            _store_step(rollout_buffer, observations, actions, rewards, model._last_episode_starts)
        else:
            rollout_buffer.add(observations, actions, rewards, model._last_episode_starts, values, log_probs)
        model._last_obs = new_obs
        model._last_episode_starts = dones

    if lean:
        _evaluate_rollout(rollout_buffer, actor_critic)
    with th.no_grad():
        last_values = policy.predict_values(obs_as_tensor(seen(new_obs), model.device))
    rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
    if cost_critic is not None:
        _compute_cost_advantages(model, rollout_buffer, cost_critic, seen(new_obs), dones)
    monitor.log(model.logger)
    callback.update_locals(locals())
    callback.on_rollout_end()
    return True


def _store_step(buffer: RolloutBuffer, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                episode_starts: np.ndarray) -> None:
    """``buffer.add`` without the values and log-probabilities (:func:`_evaluate_rollout` fills them in)."""
    position = buffer.pos
    buffer.observations[position] = observations.reshape(buffer.observations.shape[1:])
    buffer.actions[position] = actions.reshape(buffer.actions.shape[1:])
    buffer.rewards[position] = rewards
    buffer.episode_starts[position] = episode_starts
    buffer.pos += 1
    buffer.full = buffer.pos == buffer.buffer_size


def _evaluate_rollout(buffer: RolloutBuffer, actor_critic: ActorCriticPass) -> None:
    """The reward critic's values and the policy's log-probabilities of every stored step, in one batched pass
    (equal to the per-step ones to rounding: the same networks on more rows at once)."""
    with th.no_grad():
        observations = th.from_numpy(buffer.observations.reshape(-1, *buffer.obs_shape)).to(buffer.device)
        actions = th.from_numpy(buffer.actions.reshape(-1, buffer.action_dim)).to(buffer.device)
        values, log_probs, _ = actor_critic.evaluate(observations, actions)
    buffer.values[:] = values.cpu().numpy().reshape(buffer.values.shape)
    buffer.log_probs[:] = log_probs.cpu().numpy().reshape(buffer.log_probs.shape)


def _bootstrap_truncations(model: OnPolicyAlgorithm, infos: Sequence[dict[str, Any]], dones: np.ndarray,
                           rewards: np.ndarray, step_costs: np.ndarray, cost_critic: CostCritic | None,
                           cost_gamma: float, seen: Callable[[np.ndarray], np.ndarray]) -> None:
    """On a time-limit truncation, add ``γ·V(s_T)`` to the reward and ``γ_c·V_c(s_T)`` to the costs (in place);
    ``seen`` is what the critics see of an observation (standardised or not)."""
    for idx in np.flatnonzero(dones):
        info = infos[idx]
        if info.get("terminal_observation") is None or not info.get("TimeLimit.truncated", False):
            continue
        terminal = model.policy.obs_to_tensor(seen(info["terminal_observation"]))[0]
        with th.no_grad():
            rewards[idx] += model.gamma * model.policy.predict_values(terminal)[0]  # as stock: a float32 tensor
            if cost_critic is not None:
                step_costs[idx] += cost_gamma * cost_critic(terminal)[0].cpu().numpy()


def _compute_cost_advantages(model: OnPolicyAlgorithm, buffer: CostRolloutBuffer, cost_critic: CostCritic,
                             last_obs: np.ndarray, dones: np.ndarray) -> None:
    with th.no_grad():
        flat_obs = buffer.observations.reshape(-1, *buffer.obs_shape)
        values = cost_critic(obs_as_tensor(flat_obs, model.device)).cpu().numpy()
        last = cost_critic(obs_as_tensor(last_obs, model.device)).cpu().numpy()
    buffer.compute_cost_returns_and_advantage(values.reshape(buffer.buffer_size, buffer.n_envs, buffer.n_constraints),
                                              last, dones)


def fit_cost_critic(cost_critic: CostCritic, buffer: CostRolloutBuffer, epochs: int, batch_size: int,
                    rng: np.random.Generator) -> list[float]:
    """The cost critic on its own schedule: ``epochs`` passes over the rollout in minibatches of ``batch_size``
    shuffled by ``rng``; returns the losses."""
    losses = []
    for _ in range(epochs):
        for observations, cost_returns in buffer.cost_critic_batches(batch_size, rng):
            losses.append(check_finite("cost value loss", cost_critic.regression_step(observations, cost_returns)))
    return losses


class RandomStream:
    """A NumPy random generator as a checkpoint component (``state_dict``/``load_state_dict``): its bit generator's
    state, plain ints and strings, so that a resumed run draws what an uninterrupted one would.

    :param rng: the generator, restored in place.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def state_dict(self) -> dict[str, Any]:
        """The bit generator's state (its ``state`` property)."""
        return self.rng.bit_generator.state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        :raises CheckpointError: for a state of another kind of bit generator, or a damaged one.
        """
        try:
            self.rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"the checkpoint's random generator state does not fit a "
                                  f"{type(self.rng.bit_generator).__name__} ({exc})") from None


def check_policy_finite(model: OnPolicyAlgorithm) -> None:
    """Raise :class:`~safexp_sb3.multipliers.NonFiniteError` if a policy parameter is NaN or infinite."""
    for name, param in model.policy.named_parameters():
        if not th.isfinite(param).all():
            check_finite(f"policy parameter '{name}'", float("nan"))


class ObservationNormaliser:
    """Running mean and variance of the observations (every env's, every step), and observations standardised
    by them, clipped to ``±clip``: OmniSafe's observation normalisation, for the on-policy learners' option
    ``normalize_observations``. The learner standardises what its policy and critics see (collection, the
    update's batch, ``predict``); the statistics are saved in its checkpoints.

    :param shape: the observation shape.
    :param clip: the bound of a standardised observation (stable-baselines3's ``VecNormalize`` uses 10).
    """

    EPSILON = 1e-8

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0) -> None:
        self.clip = float(clip)
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0.0
        self.std = np.sqrt(self.var + self.EPSILON)

    def update(self, observations: np.ndarray) -> None:
        """Add a batch of observations (first axis: the envs) to the statistics (Chan et al.'s parallel update;
        one observation, an env step's with one env, is its own mean, with variance 0)."""
        batch = np.asarray(observations, dtype=np.float64).reshape(-1, *self.mean.shape)
        n = batch.shape[0]
        batch_mean, batch_var = (batch[0], 0.0) if n == 1 else (batch.mean(axis=0), batch.var(axis=0))
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total
        self.std = np.sqrt(self.var + self.EPSILON)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """``observations`` standardised and clipped (float32), the statistics unchanged."""
        standard = (np.asarray(observations, dtype=np.float64) - self.mean) / self.std
        return np.minimum(np.maximum(standard, -self.clip), self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        """The statistics as plain lists and a float."""
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.mean = np.asarray(state["mean"], dtype=np.float64).reshape(self.mean.shape)
        self.var = np.asarray(state["var"], dtype=np.float64).reshape(self.var.shape)
        self.count = float(state["count"])
        self.std = np.sqrt(self.var + self.EPSILON)
