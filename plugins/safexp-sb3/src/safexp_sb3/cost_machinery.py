"""The cost machinery the safexp learners share, written once.

- :class:`CostRolloutBuffer`: stable-baselines3's ``RolloutBuffer`` plus per-constraint costs, cost values,
  cost GAE advantages and cost returns (its own ``cost_gamma`` and ``cost_gae_lambda``).
- :class:`CostCritic`: the separate cost value network V_c (its own network and optimiser, one output head per
  constraint).
- :class:`CostMonitoringMixin`: reads ``info["cost"]`` / ``info["costs"]`` every step through an
  :class:`~safexp_sb3.costs.EpisodeCostMonitor` and logs ``rollout/ep_cost_mean`` and ``rollout/cost_rate``
  (used by every learner, the unconstrained baselines and SAC included, so that all report their cost the
  same way).
- :class:`LagrangeMultipliersMixin`: one Lagrange multiplier per constraint (limits, stepping from an episode
  cost estimate, logging, saving), for the on-policy Lagrangian learners and SAC-Lagrangian alike.
- :class:`CostCriticMixin`: adds the cost critic, the cost GAE with time-limit bootstrapping and the critic's
  training to an on-policy algorithm.
- :class:`LagrangianMixin`: the on-policy Lagrangian update: the multipliers stepped from the episode cost
  before every policy update, and the penalised advantage ``(A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)`` handed to
  the stock PPO / TRPO update.

The mixins go before the stable-baselines3 class in the bases (``class PPOLagrangian(LagrangianMixin, PPO)``).
How costs enter collection without copying ``collect_rollouts``: stable-baselines3 calls
``_update_info_buffer(infos, dones)`` after every ``env.step`` and before ``rollout_buffer.add``, so the
per-step costs are written at the buffer's current position there; the cost values V_c(s_t) of the whole
rollout are computed in one batched pass once the rollout is complete.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.utils import obs_as_tensor
from torch import nn
from torch.nn import functional as F

from safexp.plugin import ParameterError
from safexp_sb3.costs import EpisodeCostMonitor, resolve_constraint_names, resolve_cost_limits
from safexp_sb3.multipliers import LagrangeMultiplier, check_finite, make_multiplier

CostLimit = float | Mapping[str, float] | Sequence[float]

UpdateResult = TypeVar("UpdateResult")


class CostRolloutBufferSamples(NamedTuple):
    """stable-baselines3's ``RolloutBufferSamples`` fields, then the cost fields (shape ``(batch, n_constraints)``)."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    cost_advantages: th.Tensor
    cost_returns: th.Tensor


class CostRolloutBuffer(RolloutBuffer):
    """A ``RolloutBuffer`` that also holds per-constraint costs and their GAE.

    :param n_constraints: how many constraints (cost heads) to hold.
    :param cost_gamma: discount of the cost returns.
    :param cost_gae_lambda: GAE λ of the cost advantages.

    The other arguments are ``RolloutBuffer``'s. Cost arrays have shape ``(n_steps, n_envs, n_constraints)``.
    ``costs`` are the per-step costs, with ``cost_gamma·V_c(s_T)`` added on a time-limit truncation (as
    stable-baselines3 does for rewards), never on a termination.

    ``minibatch_consumer``, when set, receives every minibatch of a :meth:`get` with a ``batch_size`` once the
    caller is done with it (see :meth:`get`): the cost critic trains on the reward critic's minibatches that way.
    """

    minibatch_consumer: Callable[[CostRolloutBufferSamples], None] | None = None

    COST_FIELDS = ("costs", "cost_values", "cost_advantages", "cost_returns")

    def __init__(self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space,
                 device: th.device | str = "auto", gae_lambda: float = 1.0, gamma: float = 0.99, n_envs: int = 1,
                 n_constraints: int = 1, cost_gamma: float = 0.99, cost_gae_lambda: float = 0.97):
        self.n_constraints = n_constraints
        self.cost_gamma = cost_gamma
        self.cost_gae_lambda = cost_gae_lambda
        super().__init__(buffer_size, observation_space, action_space, device=device, gae_lambda=gae_lambda,
                         gamma=gamma, n_envs=n_envs)

    def reset(self) -> None:
        shape = (self.buffer_size, self.n_envs, self.n_constraints)
        for name in self.COST_FIELDS:
            setattr(self, name, np.zeros(shape, dtype=np.float32))
        super().reset()

    def compute_cost_returns_and_advantage(self, last_cost_values: np.ndarray, dones: np.ndarray) -> None:
        """Cost GAE(λ_c) advantages and TD(λ_c) returns, per constraint.

        Call after the rollout is complete and ``cost_values`` is filled.

        :param last_cost_values: V_c of the observation after the last step, shape ``(n_envs, n_constraints)``.
        :param dones: whether each env's last step ended its episode (then nothing is bootstrapped from it;
            truncations were already bootstrapped into ``costs``).
        """
        last_gae = np.zeros((self.n_envs, self.n_constraints), dtype=np.float32)
        for step in reversed(range(self.buffer_size)):
            if step == self.buffer_size - 1:
                next_non_terminal = 1.0 - dones.astype(np.float32)
                next_values = last_cost_values
            else:
                next_non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.cost_values[step + 1]
            mask = next_non_terminal[:, None]
            delta = self.costs[step] + self.cost_gamma * next_values * mask - self.cost_values[step]
            last_gae = delta + self.cost_gamma * self.cost_gae_lambda * mask * last_gae
            self.cost_advantages[step] = last_gae
        self.cost_returns = self.cost_advantages + self.cost_values

    def get(self, batch_size: int | None = None) -> Generator[CostRolloutBufferSamples, None, None]:
        """The stock minibatches (shuffled with numpy's global generator, as stock), with the cost fields.

        With a ``batch_size`` and a ``minibatch_consumer``, each minibatch goes to the consumer when the caller
        asks for the next one (or ends the loop normally): a caller that breaks off after looking at a minibatch
        without stepping on it, as PPO does when its KL limit is exceeded, leaves that one unconsumed too. The
        whole-rollout batch (``batch_size=None``, TRPO's policy step) never goes to the consumer.
        """
        if not self.generator_ready:
            for name in self.COST_FIELDS:
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
        for samples in super().get(batch_size):
            yield samples
            if batch_size is not None and self.minibatch_consumer is not None:
                self.minibatch_consumer(samples)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> CostRolloutBufferSamples:
        stock = super()._get_samples(batch_inds, env)
        return CostRolloutBufferSamples(*stock, self.to_torch(self.cost_advantages[batch_inds]),
                                        self.to_torch(self.cost_returns[batch_inds]))

    def cost_critic_batches(self, batch_size: int, rng: np.random.Generator) -> Generator[tuple[th.Tensor, th.Tensor]]:
        """Minibatches ``(observations, cost_returns)`` for a cost critic on its own schedule, shuffled with ``rng``.

        The cost critic has its own random generator so that its training leaves the numpy stream that
        shuffles the policy's minibatches exactly as the stock algorithm would have it.
        """
        observations = self.observations.reshape(-1, *self.obs_shape) if not self.generator_ready else self.observations
        cost_returns = (self.cost_returns.reshape(-1, self.n_constraints) if not self.generator_ready
                        else self.cost_returns)
        n = observations.shape[0]
        indices = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = indices[start:start + batch_size]
            yield self.to_torch(observations[batch]), self.to_torch(cost_returns[batch])


ACTIVATION_DERIVATIVES: dict[type[nn.Module], Callable[[nn.Module, th.Tensor], th.Tensor]] = {
    nn.Tanh: lambda module, out: 1.0 - out * out,
    nn.ReLU: lambda module, out: (out > 0).to(out.dtype),
    nn.ELU: lambda module, out: th.where(out > 0, 1.0, out + module.alpha),
}
"""The derivative of each hidden activation the cost critic backpropagates by hand, written in terms of the
activation's output (the module is passed for its settings, ELU's ``alpha``)."""


class CostCritic(nn.Module):
    """The cost value network V_c: an MLP on the flattened (preprocessed) observation, one output per constraint.

    :param observation_space: the env's observation space (``Box``, ``Discrete`` or ``MultiDiscrete``...).
    :param n_constraints: the number of output heads.
    :param net_arch: hidden layer sizes.
    :param activation_fn: hidden activation.
    :param learning_rate: Adam step size of its own optimiser (``self.optimizer``: torch's fused Adam, the same
        update as the default implementation with a step about 2.5 times faster on a CPU).

    :meth:`regression_step` takes one step on a minibatch. It runs on every minibatch of every update, next to
    a PPO minibatch step of about the same network size, so its cost is most of what the cost machinery costs
    a learner: with the activations of :data:`ACTIVATION_DERIVATIVES` it computes the gradient of the squared
    error by hand (a dozen tensor operations, no autograd graph), which makes the step about 1.6 times faster
    on the 64×64 networks of the references; other activations go through autograd.
    """

    def __init__(self, observation_space: spaces.Space, n_constraints: int, net_arch: Sequence[int],
                 activation_fn: type[nn.Module], learning_rate: float):
        super().__init__()
        if isinstance(observation_space, spaces.Dict):
            raise ParameterError("the safexp on-policy learners take Box/Discrete observations, not a Dict space; "
                                 "flatten the observation (gymnasium.wrappers.FlattenObservation)")
        self.observation_space = observation_space
        in_dim = int(spaces.flatdim(observation_space))
        layers: list[nn.Module] = []
        for width in net_arch:
            layers += [nn.Linear(in_dim, width), activation_fn()]
            in_dim = width
        layers.append(nn.Linear(in_dim, n_constraints))
        self.net = nn.Sequential(*layers)
        self.optimizer = th.optim.Adam(self.parameters(), lr=learning_rate, fused=True)
        self._linears: list[nn.Linear] = list(self.net[::2])
        self._activation: nn.Module | None = self.net[1] if len(self.net) > 1 else None
        self._derivative = ACTIVATION_DERIVATIVES.get(activation_fn)

    def _features(self, observations: th.Tensor) -> th.Tensor:
        return preprocess_obs(observations, self.observation_space, normalize_images=True).float().flatten(start_dim=1)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """V_c of a batch of raw observations (as the rollout buffer stores them): shape ``(batch, n_constraints)``."""
        return self.net(self._features(observations))

    def regression_step(self, observations: th.Tensor, cost_returns: th.Tensor) -> float:
        """One Adam step on the mean squared error between V_c(``observations``) and ``cost_returns`` (both
        ``(batch, n_constraints)``); returns the loss before the step."""
        if self._derivative is None:
            loss = F.mse_loss(self(observations), cost_returns)
            self.optimizer.zero_grad()
            loss.backward()
        else:
            with th.no_grad():
                loss = self._backpropagate_squared_error(self._features(observations), cost_returns)
        self.optimizer.step()
        return loss.item()

    def _backpropagate_squared_error(self, features: th.Tensor, targets: th.Tensor) -> th.Tensor:
        """Set every parameter's ``grad`` to the gradient of mean((V_c − targets)²), computed layer by layer
        backwards from the hidden outputs kept on the way forward; returns the loss."""
        inputs = []
        x = features
        for k, linear in enumerate(self._linears):
            inputs.append(x)
            x = th.addmm(linear.bias, x, linear.weight.T)
            if k < len(self._linears) - 1:
                x = self._activation(x)
        error = x - targets
        grad_out = error * (2.0 / error.numel())  # d loss / d V_c
        for k in reversed(range(len(self._linears))):
            linear, layer_input = self._linears[k], inputs[k]
            linear.weight.grad = grad_out.T @ layer_input
            linear.bias.grad = grad_out.sum(dim=0)
            if k > 0:  # through the linear layer, then the activation that produced its input
                grad_out = (grad_out @ linear.weight) * self._derivative(self._activation, layer_input)
        return (error * error).mean()


class CostMonitoringMixin:
    """Episode costs read off every step and logged, for any stable-baselines3 algorithm.

    Attributes it adds: ``constraint_names`` (tuple), ``cost_monitor``
    (:class:`~safexp_sb3.costs.EpisodeCostMonitor`). Logged at every rollout: ``rollout/ep_cost_mean``
    (mean episode cost, summed over constraints, over the last ``stats_window_size`` episodes) and
    ``rollout/cost_rate`` (cumulative cost / env steps since the start of training); with several
    constraints, also ``rollout/ep_cost_mean/<name>`` and ``rollout/cost_rate/<name>``.
    """

    require_cost: bool = False
    constraint_names: tuple[str, ...] | None = None
    cost_monitor: EpisodeCostMonitor | None = None

    def _cost_limit_for_names(self) -> CostLimit:
        return 0.0

    def _setup_cost_monitor(self) -> None:
        if self.constraint_names is None:
            self.constraint_names = resolve_constraint_names(self.env, self._cost_limit_for_names())
        n_envs = self.env.num_envs if self.env is not None else 1
        if self.cost_monitor is None:
            self.cost_monitor = EpisodeCostMonitor(n_envs, self.constraint_names, window=self._stats_window_size,
                                                   require_cost=self.require_cost)

    def _setup_model(self) -> None:
        self._setup_cost_monitor()
        super()._setup_model()

    def _setup_learn(self, total_timesteps: int, callback: Any = None, reset_num_timesteps: bool = True,
                     tb_log_name: str = "run", progress_bar: bool = False) -> tuple[int, Any]:
        env_is_reset = reset_num_timesteps or self._last_obs is None
        result = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        if reset_num_timesteps:
            self.cost_monitor.reset_totals()
        if env_is_reset:
            self.cost_monitor.reset_episodes(self.env.num_envs)
        return result

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        super()._update_info_buffer(infos, dones)
        if dones is None:
            # Every step of stable-baselines3's collection loops (on- and off-policy) comes with its dones; only
            # a caller outside them (sb3-contrib's ARS, which runs whole episodes) omits them, and its infos are
            # not env steps of the training run.
            return
        step_costs = self.cost_monitor.record(infos, dones)
        self._on_step_costs(step_costs, infos, dones)

    def _on_step_costs(self, step_costs: np.ndarray, infos: list[dict[str, Any]], dones: np.ndarray) -> None:
        """Hook for subclasses: the step's costs ``(n_envs, n_constraints)`` before the buffer's ``add``."""

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: RolloutBuffer, n_rollout_steps: int) -> bool:
        complete = super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
        self._log_rollout_costs()
        if complete:
            self._on_rollout_complete()
        return complete

    def _on_rollout_complete(self) -> None:
        """Hook for subclasses: the rollout buffer is full and the reward GAE is computed."""

    def _log_rollout_costs(self) -> None:
        window = self.cost_monitor.window_mean()
        rate = self.cost_monitor.cost_rate
        if window is not None:
            self.logger.record("rollout/ep_cost_mean", float(np.sum(window)))
        self.logger.record("rollout/cost_rate", float(np.sum(rate)))
        if len(self.constraint_names) > 1:
            for k, name in enumerate(self.constraint_names):
                if window is not None:
                    self.logger.record(f"rollout/ep_cost_mean/{name}", float(window[k]))
                self.logger.record(f"rollout/cost_rate/{name}", float(rate[k]))

    def _constraint_key(self, key: str, k: int) -> str:
        """``key`` for a single constraint, ``key/<name>`` with several."""
        return key if len(self.constraint_names) == 1 else f"{key}/{self.constraint_names[k]}"


class LagrangeMultipliersMixin(CostMonitoringMixin):
    """One Lagrange multiplier per constraint, for any stable-baselines3 algorithm (on- and off-policy).

    The bookkeeping every Lagrangian learner shares: the episode cost limit of each constraint, one
    multiplier per constraint (a :mod:`safexp_sb3.multipliers` preset plus overrides; the multipliers check
    their input and their value for NaN and ±inf), a step of every multiplier from an episode cost estimate,
    and the logging of λ and the multipliers' diagnostics. The multipliers are plain attributes, pickled with
    the model: a loaded learner continues from their saved state. When to step them is the learner's choice
    (the on-policy learners before every policy update, SAC-Lagrangian whenever episodes end).

    Call :meth:`_init_multiplier_settings` in the learner's constructor, before the stable-baselines3 one.
    Attributes it adds: ``cost_limit`` (as given: a float, a mapping name → limit or a list), ``multipliers``
    (one :class:`~safexp_sb3.multipliers.LagrangeMultiplier` per constraint, in ``constraint_names`` order).
    Logged, with ``/<name>`` per constraint when there are several: ``train/ep_cost_estimate`` (by
    :meth:`_step_multipliers`), ``train/lagrange_multiplier`` and the diagnostics (``train/cost_violation`` of
    a gradient multiplier; ``train/pid_p``, ``train/pid_i``, ``train/pid_d`` of a PID one) by
    :meth:`_record_multipliers`.
    """

    require_cost = True
    multipliers: list[LagrangeMultiplier] | None = None

    def _init_multiplier_settings(self, cost_limit: CostLimit, multiplier: str,
                                  multiplier_settings: Mapping[str, Any] | None) -> None:
        """Keep the constraint's and the multipliers' settings; a bad preset or setting fails here.

        :param cost_limit: the episode cost limit: a float for every constraint, a mapping constraint name →
            limit or a sequence in ``constraint_names`` order (checked against the env's constraints by
            :func:`~safexp_sb3.costs.resolve_cost_limits` once the env is known).
        :param multiplier: a key of :data:`~safexp_sb3.multipliers.MULTIPLIER_PRESETS`.
        :param multiplier_settings: settings replacing the preset's.
        """
        self.cost_limit = dict(cost_limit) if isinstance(cost_limit, Mapping) else (
            float(cost_limit) if isinstance(cost_limit, (int, float)) else list(cost_limit))
        self.multiplier_preset = multiplier
        self.multiplier_settings = dict(multiplier_settings or {})
        make_multiplier(multiplier, 0.0, self.multiplier_settings)

    def _cost_limit_for_names(self) -> CostLimit:
        return self.cost_limit

    def _setup_cost_monitor(self) -> None:
        """The monitor, then one multiplier per constraint (unless the model was loaded with its own)."""
        super()._setup_cost_monitor()
        if self.multipliers is None:
            limits = resolve_cost_limits(self.constraint_names, self.cost_limit)
            self.multipliers = [make_multiplier(self.multiplier_preset, float(limit), self.multiplier_settings)
                                for limit in limits]

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of every constraint, in the order of ``constraint_names``."""
        return [m.value for m in self.multipliers]

    def _step_multipliers(self, estimate: np.ndarray) -> None:
        """One step of every multiplier from the episode cost estimate J_c, shape ``(n_constraints,)``; logs
        ``train/ep_cost_estimate``."""
        for k, multiplier in enumerate(self.multipliers):
            multiplier.update(float(estimate[k]))
            self.logger.record(self._constraint_key("train/ep_cost_estimate", k), float(estimate[k]))

    def _record_multipliers(self) -> None:
        """Log every λ and its multiplier's diagnostics (see the class docstring for the keys)."""
        for k, multiplier in enumerate(self.multipliers):
            self.logger.record(self._constraint_key("train/lagrange_multiplier", k), multiplier.value)
            for term, value in multiplier.diagnostics().items():
                key = "train/cost_violation" if term == "violation" else f"train/{term}"
                self.logger.record(self._constraint_key(key, k), value)


class CostCriticMixin(CostMonitoringMixin):
    """A cost critic and cost GAE for an on-policy algorithm (see the module docstring).

    The cost critic regresses V_c on the cost returns. By default it takes one step on every minibatch the
    reward critic steps on, in the same loop (as OmniSafe does): PPO's ``n_epochs`` passes of ``batch_size``,
    ending with them when PPO's KL limit stops the update early; TRPO's ``n_critic_updates`` passes. With
    ``cost_critic_epochs`` or ``cost_critic_batch_size`` set it has its own schedule instead: that many passes
    in minibatches of that size (the unset one as the reward critic's) after the update, shuffled by its own
    random generator, so that the numpy stream the stock update shuffles with is left as stock has it.

    Call :meth:`_init_cost_critic_settings` in the learner's constructor, before the stable-baselines3 one;
    ``reward_critic_passes`` names the stock attribute holding the reward critic's passes per update.
    """

    require_cost = True
    reward_critic_passes: str = "n_epochs"
    cost_critic: CostCritic

    def _init_cost_critic_settings(self, cost_gamma: float, cost_gae_lambda: float, cost_critic_lr: float,
                                   cost_critic_net_arch: Sequence[int] | None, cost_critic_epochs: int | None,
                                   cost_critic_batch_size: int | None, normalize_advantage: bool) -> None:
        """Check and keep the cost critic's settings (documented on the learners) and whether the reward
        advantages are standardised."""
        for name, value in (("cost_gamma", cost_gamma), ("cost_gae_lambda", cost_gae_lambda)):
            if not 0.0 <= value <= 1.0:
                raise ParameterError(f"{name} must be in [0, 1], got {value}")
        for name, count in (("cost_critic_epochs", cost_critic_epochs),
                            ("cost_critic_batch_size", cost_critic_batch_size)):
            if count is not None and count < 1:
                raise ParameterError(f"{name} must be >= 1 (or None: as the reward critic), got {count}")
        self.cost_gamma = cost_gamma
        self.cost_gae_lambda = cost_gae_lambda
        self.cost_critic_lr = cost_critic_lr
        self.cost_critic_net_arch = list(cost_critic_net_arch) if cost_critic_net_arch is not None else [64, 64]
        self.cost_critic_epochs = cost_critic_epochs
        self.cost_critic_batch_size = cost_critic_batch_size
        self.standardize_reward_advantage = normalize_advantage
        self._cost_critic_rng: np.random.Generator | None = None

    def _setup_model(self) -> None:
        self._setup_cost_monitor()
        self.rollout_buffer_class = CostRolloutBuffer
        self.rollout_buffer_kwargs = {"n_constraints": len(self.constraint_names), "cost_gamma": self.cost_gamma,
                                      "cost_gae_lambda": self.cost_gae_lambda}
        super()._setup_model()
        # Built on a forked torch RNG: the critic's initialisation is deterministic for a seed but leaves the
        # stream the policy samples actions from exactly where the stock algorithm would have it.
        with th.random.fork_rng(devices=[]):
            activation = self.policy_kwargs.get("activation_fn", nn.Tanh)
            self.cost_critic = CostCritic(self.observation_space, len(self.constraint_names),
                                          self.cost_critic_net_arch, activation, self.cost_critic_lr).to(self.device)
        if self._cost_critic_rng is None:
            self._cost_critic_rng = np.random.default_rng(self.seed)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "cost_critic", "cost_critic.optimizer"], variables

    def _on_step_costs(self, step_costs: np.ndarray, infos: list[dict[str, Any]], dones: np.ndarray) -> None:
        costs = self.rollout_buffer.costs[self.rollout_buffer.pos]
        costs[:] = step_costs
        if not dones.any():
            return
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            if info.get("terminal_observation") is not None and info.get("TimeLimit.truncated", False):
                terminal = obs_as_tensor(np.asarray(info["terminal_observation"])[None], self.device)
                with th.no_grad():
                    costs[idx] += self.cost_gamma * self.cost_critic(terminal)[0].cpu().numpy()

    def _on_rollout_complete(self) -> None:
        buffer: CostRolloutBuffer = self.rollout_buffer
        with th.no_grad():
            flat_obs = buffer.observations.reshape(-1, *buffer.obs_shape)
            values = self.cost_critic(obs_as_tensor(flat_obs, self.device)).cpu().numpy()
            last = self.cost_critic(obs_as_tensor(self._last_obs, self.device)).cpu().numpy()
        buffer.cost_values = values.reshape(buffer.buffer_size, buffer.n_envs, buffer.n_constraints)
        buffer.compute_cost_returns_and_advantage(last, self._last_episode_starts)

    def _train_critics(self, reward_update: Callable[[], UpdateResult]) -> UpdateResult:
        """Run ``reward_update`` (the stock update, or the part of it that trains the reward critic) and train the
        cost critic, alongside it or on its own schedule (class docstring); logs ``train/cost_value_loss``, the
        mean over the cost critic's steps.

        :return: what ``reward_update`` returned.
        """
        losses: list[float] = []
        own_schedule = self.cost_critic_epochs is not None or self.cost_critic_batch_size is not None
        if not own_schedule:
            self.rollout_buffer.minibatch_consumer = lambda batch: losses.append(
                self._cost_critic_step(batch.observations, batch.cost_returns))
        try:
            result = reward_update()
        finally:
            self.rollout_buffer.minibatch_consumer = None
        if own_schedule:
            for _ in range(self.cost_critic_epochs or getattr(self, self.reward_critic_passes)):
                for observations, cost_returns in self.rollout_buffer.cost_critic_batches(
                        self.cost_critic_batch_size or self.batch_size, self._cost_critic_rng):
                    losses.append(self._cost_critic_step(observations, cost_returns))
        if losses:  # none when PPO's KL limit stopped the update at its first minibatch
            self.logger.record("train/cost_value_loss", float(np.mean(losses)))
        return result

    def _cost_critic_step(self, observations: th.Tensor, cost_returns: th.Tensor) -> float:
        """One Adam step of the cost critic on the squared error to ``cost_returns``; returns the loss."""
        return check_finite("cost value loss", self.cost_critic.regression_step(observations, cost_returns))

    def _advantages(self) -> tuple[np.ndarray, np.ndarray]:
        """Reward advantages (standardised over the whole rollout if ``standardize_reward_advantage``) and cost
        advantages (centred per constraint, not rescaled), shapes ``(n_steps, n_envs)`` and
        ``(n_steps, n_envs, n_constraints)``."""
        buffer: CostRolloutBuffer = self.rollout_buffer
        reward_adv = buffer.advantages.astype(np.float64)
        if self.standardize_reward_advantage:
            reward_adv = (reward_adv - reward_adv.mean()) / (reward_adv.std() + 1e-8)
        cost_adv = buffer.cost_advantages.astype(np.float64)
        cost_adv = cost_adv - cost_adv.mean(axis=(0, 1))
        check_finite("reward advantage", float(np.sum(reward_adv)))
        check_finite("cost advantage", float(np.sum(cost_adv)))
        return reward_adv, cost_adv

    def _check_train_logs(self) -> None:
        """Raise if a loss the stock ``train()`` logged, or a policy parameter, is NaN or infinite."""
        for key, value in self.logger.name_to_value.items():
            if key.startswith("train/") and isinstance(value, (float, int, np.floating)):
                check_finite(key, float(value))
        for name, param in self.policy.named_parameters():
            if not th.isfinite(param).all():
                check_finite(f"policy parameter '{name}'", math.nan)


class LagrangianMixin(LagrangeMultipliersMixin, CostCriticMixin):
    """The on-policy Lagrangian update: one multiplier per constraint (:class:`LagrangeMultipliersMixin`) and the
    penalised advantage, around a stock policy update.

    ``train()``: (1) step every multiplier from the episode cost estimate J_c (mean cost of the episodes
    finished during this rollout, else of the last ``stats_window_size`` episodes; no step before the first
    episode ends); (2) write ``A = (A_r − Σ_k λ_k·A_c,k) / (1 + Σ_k λ_k)`` into the buffer's advantages;
    (3) run the stock algorithm's update with its own advantage normalisation switched off (the reward part
    is already standardised over the whole rollout), the cost critic trained alongside the reward critic or on
    its own schedule (:class:`CostCriticMixin`).

    Logged: the multipliers' keys (``train/lagrange_multiplier``, ``train/ep_cost_estimate`` and the
    diagnostics, see :class:`LagrangeMultipliersMixin`) and ``train/cost_value_loss``.

    Its constructor takes the constraint's, the multipliers' and the cost critic's arguments (documented on
    :class:`~safexp_sb3.lagrangian.PPOLagrangian`) and hands the rest to the stable-baselines3 class.
    """

    def __init__(self, policy: Any, env: Any, cost_limit: CostLimit = 25.0, multiplier: str = "omnisafe",
                 multiplier_settings: Mapping[str, Any] | None = None, cost_gamma: float = 0.99,
                 cost_gae_lambda: float = 0.95, cost_critic_lr: float = 1e-3,
                 cost_critic_net_arch: Sequence[int] | None = None, cost_critic_epochs: int | None = None,
                 cost_critic_batch_size: int | None = None, normalize_advantage: bool = True, **stock_kwargs: Any):
        self._init_multiplier_settings(cost_limit, multiplier, multiplier_settings)
        self._init_cost_critic_settings(cost_gamma, cost_gae_lambda, cost_critic_lr, cost_critic_net_arch,
                                        cost_critic_epochs, cost_critic_batch_size, normalize_advantage)
        super().__init__(policy, env, normalize_advantage=False, **stock_kwargs)

    def _write_penalised_advantages(self) -> None:
        reward_adv, cost_adv = self._advantages()
        lambdas = np.asarray(self.lagrange_multipliers, dtype=np.float64)
        penalised = (reward_adv - cost_adv @ lambdas) / (1.0 + lambdas.sum())
        check_finite("penalised advantage", float(np.sum(penalised)))
        self.rollout_buffer.advantages = penalised.astype(np.float32)

    def train(self) -> None:
        estimate = self.cost_monitor.cost_estimate()
        if estimate is not None:
            self._step_multipliers(estimate)
        self._record_multipliers()
        self._write_penalised_advantages()
        self._train_critics(super().train)
        self._check_train_logs()
