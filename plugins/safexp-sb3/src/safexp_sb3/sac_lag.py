"""SAC-Lagrangian and cost-monitored SAC on ``stable_baselines3.SAC`` (constrained-rl.md §6).

Two learners, registered as ``sac_lag`` and ``sac`` (:mod:`safexp_sb3.plugin`):

- :class:`CostMonitoredSAC` is stock SAC that also tracks the env's costs (``rollout/ep_cost_mean``,
  ``rollout/cost_rate``), so that the unconstrained baseline is measured the way the constrained one is.
- :class:`SACLagrangian` adds, per constraint, a cost Q network Q_c with a Polyak-averaged target, stores
  every step's costs in a :class:`CostReplayBuffer`, and penalises the actor with λ·Q_c, where λ is a
  Lagrange multiplier (:mod:`safexp_sb3.multipliers`) driven by the measured episode cost.

The equations of one gradient step (a batch of transitions ``(s, a, r, c, s', d)``, ``a' ~ π(·|s')``,
``ã ~ π(·|s)``, α the entropy coefficient, one λ_k and one Q_c,k per constraint k)::

    reward target   y   = r   + γ   (1 - d) (min_i Q_targ,i(s', a') - α log π(a'|s'))
    cost target     y_k = c_k + γ_c (1 - d)  Q_c,targ,k(s', a')           (no entropy term)
    actor loss      L_π = mean[α log π(ã|s) - min_i Q_i(s, ã) + Σ_k λ_k Q_c,k(s, ã)] / (1 + Σ_k λ_k)

(the division by ``1 + Σλ`` is optional, see ``normalize_actor_loss``). ``d`` is the termination flag;
truncation by a time limit bootstraps both targets, as stock SAC does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.policies import BasePolicy, ContinuousCritic
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.sac.policies import SACPolicy

from safexp.plugin import ParameterError
from safexp_sb3.checkpoints import CheckpointParts, load_learner, load_replay_buffer, save_learner, save_replay_buffer
from safexp_sb3.constraints import ConstraintMultipliers, CostLimit, cost_limit_setting
from safexp_sb3.costs import EpisodeCostMonitor, read_costs, resolve_constraint_names
from safexp_sb3.hyperparameters import SACLagParams, SACParams
from safexp_sb3.multipliers import check_finite
from safexp_sb3.params import cost_limit_argument, multiplier_kwargs, stock_kwargs
from safexp_sb3.rollouts import start_monitor


# -- replay buffer ---------------------------------------------------------------------------------------------


class CostReplayBufferSamples(NamedTuple):
    """A replay batch with the per-constraint costs of each transition (``costs``: shape ``(batch, K)``)."""

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    costs: th.Tensor


class CostReplayBuffer(ReplayBuffer):
    """stable-baselines3's ``ReplayBuffer`` that also stores each step's costs, read from the step ``infos``.

    :param constraint_names: the constraints, in order (:func:`safexp_sb3.costs.resolve_constraint_names`):
        ``("cost",)`` stores ``info["cost"]``, other names store ``info["costs"][name]``.
    The other parameters are ``ReplayBuffer``'s. A step without its cost raises
    :class:`safexp_sb3.costs.MissingCostError`.
    """

    costs: np.ndarray

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        constraint_names: Sequence[str] = ("cost",),
    ):
        super().__init__(buffer_size, observation_space, action_space, device, n_envs=n_envs,
                         optimize_memory_usage=optimize_memory_usage,
                         handle_timeout_termination=handle_timeout_termination)
        self.constraint_names = tuple(constraint_names)
        self.costs = np.zeros((self.buffer_size, self.n_envs, len(self.constraint_names)), dtype=np.float32)

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one vectorised step; the costs come from ``infos`` (one info per env)."""
        self.costs[self.pos] = read_costs(infos, self.constraint_names)
        super().add(obs, next_obs, action, reward, done, infos)

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> CostReplayBufferSamples:
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        if self.optimize_memory_usage:
            next_obs = self.observations[(batch_inds + 1) % self.buffer_size, env_indices, :]
        else:
            next_obs = self.next_observations[batch_inds, env_indices, :]
        # a done caused by a time limit is not a termination: the targets bootstrap through it
        terminations = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        data = (
            self._normalize_obs(self.observations[batch_inds, env_indices, :], env),
            self.actions[batch_inds, env_indices, :],
            self._normalize_obs(next_obs, env),
            terminations.reshape(-1, 1),
            self._normalize_reward(self.rewards[batch_inds, env_indices].reshape(-1, 1), env),
            self.costs[batch_inds, env_indices, :],
        )
        return CostReplayBufferSamples(*(self.to_torch(x) for x in data))


# -- the two losses that make SAC Lagrangian -------------------------------------------------------------------


def cost_critic_target(costs: th.Tensor, terminations: th.Tensor, cost_gamma: float, next_cost_q: th.Tensor) -> th.Tensor:
    """The cost critics' regression target ``c + γ_c (1 - d) Q_c,targ(s', a')`` (no entropy term), elementwise; also
    the recurrent learner's, on sequences (``(batch, length, ...)``, :mod:`safexp_sb3.sac_lag_rnn`).

    :param costs: per-step costs, shape ``(batch, K)``.
    :param terminations: 1.0 where the episode terminated at this step (not truncated), shape ``(batch, 1)``.
    :param cost_gamma: the cost discount γ_c.
    :param next_cost_q: the target cost critics at ``(s', a')`` with ``a' ~ π(·|s')``, shape ``(batch, K)``.
    :return: shape ``(batch, K)``.
    """
    return costs + cost_gamma * (1.0 - terminations) * next_cost_q


def lagrangian_actor_loss(
    ent_coef: th.Tensor,
    log_prob: th.Tensor,
    min_q: th.Tensor,
    cost_q: th.Tensor,
    multipliers: th.Tensor,
    normalize: bool,
) -> th.Tensor:
    """The SAC-Lagrangian actor loss ``mean[α log π - min Q + Σ_k λ_k Q_c,k]``, optionally ``/ (1 + Σ_k λ_k)``.

    :param ent_coef: α (a scalar tensor, detached).
    :param log_prob: ``log π(ã|s)`` of actions sampled from the current policy, shape ``(batch, 1)``.
    :param min_q: ``min_i Q_i(s, ã)``, shape ``(batch, 1)``.
    :param cost_q: ``Q_c,k(s, ã)``, shape ``(batch, K)``.
    :param multipliers: λ_k, shape ``(K,)`` (constants: no gradient flows into them).
    :param normalize: divide by ``1 + Σ_k λ_k``, which keeps the loss scale bounded as λ grows.
    :return: the scalar loss.
    """
    penalty = (cost_q * multipliers).sum(dim=1, keepdim=True)
    loss = (ent_coef * log_prob - min_q + penalty).mean()
    return loss / (1.0 + multipliers.sum()) if normalize else loss


# -- policy ------------------------------------------------------------------------------------------------------


class SACLagPolicy(SACPolicy):
    """SAC's policy (actor, twin reward critics and their target) plus ``n_costs`` cost critics and their target.

    The cost critics are one ``ContinuousCritic`` holding one Q network per constraint (its ``n_critics`` is
    ``n_costs``), with its own features extractor and its own optimiser (``cost_critic.optimizer``, the
    policy's optimiser class and learning rate). ``cost_critic_target`` is a Polyak-averaged copy.

    :param n_costs: the number of constraints K. The other parameters are ``SACPolicy``'s.
    """

    cost_critic: ContinuousCritic
    cost_critic_target: ContinuousCritic

    def __init__(self, *args: Any, n_costs: int = 1, **kwargs: Any) -> None:
        self.n_costs = int(n_costs)  # read by _build, which SACPolicy.__init__ calls
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        # Built on a forked torch RNG: deterministic for a seed, and the stream the actor samples from stays
        # where stock SAC would have it (with zero costs and λ = 0 the learner is then stock SAC, bit for bit).
        with th.random.fork_rng(devices=[]):
            self.cost_critic = self._make_cost_critic()
            self.cost_critic_target = self._make_cost_critic()
        self.cost_critic_target.load_state_dict(self.cost_critic.state_dict())
        self.cost_critic.optimizer = self.optimizer_class(
            self.cost_critic.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]
        self.cost_critic_target.set_training_mode(False)

    def _make_cost_critic(self) -> ContinuousCritic:
        kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor=None)
        kwargs.update(n_critics=self.n_costs, share_features_extractor=False)
        return ContinuousCritic(**kwargs).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "n_costs": self.n_costs}

    def set_training_mode(self, mode: bool) -> None:
        """Put the actor and both kinds of critics in training (``True``) or evaluation mode."""
        super().set_training_mode(mode)
        self.cost_critic.set_training_mode(mode)


# -- learners ----------------------------------------------------------------------------------------------------


class CostMonitorCallback(BaseCallback):
    """Feeds every env step's ``infos`` and ``dones`` to an episode-cost monitor (:mod:`safexp_sb3.costs`): how
    the off-policy learners count their costs without changing stable-baselines3's collection loop."""

    def __init__(self, monitor: EpisodeCostMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def _on_step(self) -> bool:
        self.monitor.record(self.locals["infos"], self.locals["dones"])
        return True


def _with_monitor(monitor: EpisodeCostMonitor, callback: MaybeCallback) -> CallbackList:
    """The monitor's callback first (so it sees a step even when a later callback stops on it), then ``callback``."""
    others = [] if callback is None else list(callback) if isinstance(callback, list) else [
        callback if isinstance(callback, BaseCallback) else ConvertCallback(callback)]
    return CallbackList([CostMonitorCallback(monitor), *others])


class CostMonitoredSAC(SAC):
    """Stock SAC (``stable_baselines3.SAC``, unchanged updates) whose per-step costs are monitored.

    The cost monitor (:class:`~safexp_sb3.costs.EpisodeCostMonitor`; a step without a cost counts as zero here)
    logs the cost tags of :data:`safexp_sb3.costs.TENSORBOARD_TAGS` at every log dump. All parameters are
    ``SAC``'s.
    """

    params: SACParams | None = None
    require_cost = False

    def __init__(self, policy: Any, env: GymEnv, cost_limit: CostLimit = 0.0, _init_setup_model: bool = True,
                 **sac_kwargs: Any) -> None:
        super().__init__(policy, env, _init_setup_model=False, **sac_kwargs)
        self.constraint_names = resolve_constraint_names(self.env, cost_limit)
        self.cost_monitor = EpisodeCostMonitor(self.n_envs, self.constraint_names, window=self._stats_window_size,
                                               require_cost=self.require_cost)
        if _init_setup_model:
            self._setup_model()

    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 4,
              tb_log_name: str = "SAC", reset_num_timesteps: bool = True, progress_bar: bool = False) -> CostMonitoredSAC:
        """``SAC.learn`` with the cost monitor's callback in front of ``callback``."""
        start_monitor(self, self.cost_monitor, reset_num_timesteps)
        return super().learn(total_timesteps, _with_monitor(self.cost_monitor, callback), log_interval, tb_log_name,
                             reset_num_timesteps, progress_bar)

    def dump_logs(self) -> None:
        """Record the cost tags, then write the log (stock SAC's keys and the ones recorded so far)."""
        self.cost_monitor.log(self.logger)
        super().dump_logs()

    def checkpoint_parts(self) -> CheckpointParts:
        """What a checkpoint holds besides the common part (:mod:`safexp_sb3.checkpoints`)."""
        optimizers = {"actor": self.actor.optimizer, "critic": self.critic.optimizer}
        tensors = {}
        if self.ent_coef_optimizer is not None:
            optimizers["ent_coef"] = self.ent_coef_optimizer
            tensors["log_ent_coef"] = self.log_ent_coef
        return CheckpointParts(modules={"policy": self.policy}, optimizers=optimizers,
                               components={"cost_monitor": self.cost_monitor}, tensors=tensors)

    def save(self, path: Any, exclude: Any = None, include: Any = None) -> None:
        """Write a checkpoint that loads without unpickling (:func:`safexp_sb3.checkpoints.save_learner`)."""
        save_learner(self, path)

    def save_replay_buffer(self, path: Any) -> None:
        """Write the replay buffer as a NumPy archive (:func:`safexp_sb3.checkpoints.save_replay_buffer`)."""
        save_replay_buffer(self.replay_buffer, path)

    def load_replay_buffer(self, path: Any, truncate_last_traj: bool = True) -> None:
        """Read back :meth:`save_replay_buffer`'s archive (no unpickling)."""
        load_replay_buffer(self.replay_buffer, path)


class SACLagrangian(CostMonitoredSAC):
    """SAC-Lagrangian: SAC whose actor also minimises λ·Q_c, one cost critic and one multiplier per constraint.

    See the module docstring for the update equations. Constraints: an env with an attribute
    ``constraint_names`` (and ``info["costs"]`` holding each) gets one cost critic, one multiplier and one
    limit per name; any other env has one constraint read from ``info["cost"]``.

    Each training phase (:meth:`train`) first steps the multipliers from the mean cost of the episodes finished
    since the previous phase (with ``train_freq`` 1: the episode that just ended), then takes its gradient steps
    with that λ. Episodes that end during the first ``multiplier_warmup_steps`` env steps are dropped
    (:meth:`collect_rollouts`). This episode-cost form (the one FSRL and users report to behave better) replaces
    the per-step λ-gradient on ``d_step - Q_c`` of Knight & Achiam's paper, which this learner does not offer
    (``sac_lag_rnn`` does, by default: its ``multiplier_source`` ``q_cost``).

    :param policy: ``"MlpPolicy"`` (a :class:`SACLagPolicy`) or a ``SACLagPolicy`` subclass.
    :param env: the env (or a ``VecEnv``); every step's info must carry its cost.
    :param cost_limit: the episode cost limit d: a float for every constraint, or a mapping constraint name →
        limit (every constraint must have one). Safety Gym's 25 per 1000-step episode by default.
    :param cost_gamma: the discount γ_c of the cost critics' target.
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`).
    :param multiplier_settings: settings replacing the preset's; one multiplier per constraint is built from them.
    :param multiplier_warmup_steps: env steps before the first multiplier update (λ keeps its initial value);
        the default equals the default ``learning_starts``, so that the episodes of uniformly random actions
        that fill the replay buffer never move λ.
    :param normalize_actor_loss: divide the actor loss by ``1 + Σλ`` (OmniSafe's form).
    :param sac_kwargs: ``stable_baselines3.SAC``'s parameters. The cost critics use the reward critics'
        ``learning_rate``, ``tau`` and ``target_update_interval``. ``replay_buffer_class`` is always
        :class:`CostReplayBuffer`; n-step returns are not supported.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": SACLagPolicy}
    policy: SACLagPolicy
    params: SACLagParams | None = None
    require_cost = True

    def __init__(
        self,
        policy: str | type[SACLagPolicy],
        env: GymEnv | str | None,
        cost_limit: CostLimit = 25.0,
        cost_gamma: float = 0.99,
        multiplier: str = "omnisafe",
        multiplier_settings: Mapping[str, Any] | None = None,
        multiplier_warmup_steps: int = 10_000,
        normalize_actor_loss: bool = True,
        **sac_kwargs: Any,
    ) -> None:
        if not 0.0 <= cost_gamma <= 1.0:
            raise ParameterError(f"cost_gamma must be in [0, 1], got {cost_gamma}")
        self.cost_gamma = float(cost_gamma)
        self.multiplier_warmup_steps = int(multiplier_warmup_steps)
        self.normalize_actor_loss = bool(normalize_actor_loss)
        self.cost_limit = cost_limit_setting(cost_limit)
        super().__init__(policy, env, cost_limit=self.cost_limit, _init_setup_model=False, **sac_kwargs)
        self.constraints = ConstraintMultipliers(self.constraint_names, self.cost_limit, multiplier, multiplier_settings)
        self.policy_kwargs["n_costs"] = len(self.constraint_names)
        self.replay_buffer_class = CostReplayBuffer
        self.replay_buffer_kwargs = {**self.replay_buffer_kwargs, "constraint_names": self.constraint_names}
        self._setup_model()
        self.cost_critic = self.policy.cost_critic
        self.cost_critic_target = self.policy.cost_critic_target

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of every constraint, in ``constraint_names`` order."""
        return self.constraints.values.tolist()

    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 4,
              tb_log_name: str = "SACLag", reset_num_timesteps: bool = True, progress_bar: bool = False) -> SACLagrangian:
        """``SAC.learn`` with the cost monitor's callback; TensorBoard runs named ``SACLag`` by default."""
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def collect_rollouts(self, *args: Any, **kwargs: Any) -> Any:
        """``SAC.collect_rollouts``; episodes that end within the multiplier's warm-up are dropped, so they never
        reach the multiplier."""
        rollout = super().collect_rollouts(*args, **kwargs)
        if self.num_timesteps < self.multiplier_warmup_steps:
            self.cost_monitor.new_episodes_estimate()
        return rollout

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """One SAC-Lagrangian training phase: the multipliers from the episodes finished since the last phase, then
        ``gradient_steps`` gradient steps with that λ (constant during the steps)."""
        estimate = self.cost_monitor.new_episodes_estimate()  # the episodes of the warm-up were dropped
        if estimate is not None:
            self.constraints.update(estimate)
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer, self.cost_critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        multipliers = th.as_tensor(self.constraints.values, dtype=th.float32, device=self.device)

        ent_coefs, ent_coef_losses, actor_losses, critic_losses, cost_critic_losses = [], [], [], [], []
        for gradient_step in range(gradient_steps):
            batch: CostReplayBufferSamples = self.replay_buffer.sample(  # type: ignore[union-attr,assignment]
                batch_size, env=self._vec_normalize_env)
            actions_pi, log_prob = self.actor.action_log_prob(batch.observations)
            log_prob = log_prob.reshape(-1, 1)

            # entropy coefficient α (learned by default), as stock SAC does it
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                ent_coef_losses.append(check_finite("entropy coefficient loss", ent_coef_loss.item()))
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())

            with th.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
                next_q = th.cat(self.critic_target(batch.next_observations, next_actions), dim=1)
                next_q = next_q.min(dim=1, keepdim=True).values - ent_coef * next_log_prob.reshape(-1, 1)
                reward_target = batch.rewards + (1 - batch.dones) * self.gamma * next_q
                next_cost_q = th.cat(self.cost_critic_target(batch.next_observations, next_actions), dim=1)
                cost_target = cost_critic_target(batch.costs, batch.dones, self.cost_gamma, next_cost_q)

            q_values = self.critic(batch.observations, batch.actions)
            critic_loss = 0.5 * sum(th.nn.functional.mse_loss(q, reward_target) for q in q_values)
            critic_losses.append(check_finite("critic loss", critic_loss.item()))  # type: ignore[union-attr]
            self.critic.optimizer.zero_grad()
            critic_loss.backward()  # type: ignore[union-attr]
            self.critic.optimizer.step()

            cost_q = th.cat(self.cost_critic(batch.observations, batch.actions), dim=1)
            cost_critic_loss = 0.5 * ((cost_q - cost_target) ** 2).mean(dim=0).sum()
            cost_critic_losses.append(check_finite("cost critic loss (cost_value_loss)", cost_critic_loss.item()))
            self.cost_critic.optimizer.zero_grad()
            cost_critic_loss.backward()
            self.cost_critic.optimizer.step()

            min_q_pi = th.cat(self.critic(batch.observations, actions_pi), dim=1).min(dim=1, keepdim=True).values
            cost_q_pi = th.cat(self.cost_critic(batch.observations, actions_pi), dim=1)
            actor_loss = lagrangian_actor_loss(ent_coef, log_prob, min_q_pi, cost_q_pi, multipliers,
                                               self.normalize_actor_loss)
            actor_losses.append(check_finite("actor loss", actor_loss.item()))
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()

            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
                polyak_update(self.cost_critic.parameters(), self.cost_critic_target.parameters(), self.tau)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        self.logger.record("train/cost_value_loss", np.mean(cost_critic_losses))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
        self.constraints.record(self.logger)

    def checkpoint_parts(self) -> CheckpointParts:
        """SAC's parts plus the cost critics' optimiser and the multipliers."""
        parts = super().checkpoint_parts()
        return CheckpointParts(modules=parts.modules,
                               optimizers={**parts.optimizers, "cost_critic": self.cost_critic.optimizer},
                               components={**parts.components, "multipliers": self.constraints},
                               tensors=parts.tensors)


# -- registry records ----------------------------------------------------------------------------------------------


def _entropy_setting(name: str, value: str) -> str:
    """``value`` if SAC accepts it for ``ent_coef``/``target_entropy``; else a ParameterError saying what does."""
    text = str(value).strip()
    if text == "auto":
        return text
    number = text[len("auto_"):] if name == "ent_coef" and text.startswith("auto_") else text
    try:
        float(number)
    except ValueError:
        accepted = "'auto', 'auto_<initial value>' or a number" if name == "ent_coef" else "'auto' or a number"
        raise ParameterError(f"parameter '{name}' must be {accepted}, got '{value}'") from None
    return text


def _sac_kwargs(params: SACParams) -> dict[str, Any]:
    """The ``SAC`` keyword arguments of a params record (the fields of :class:`SACParams`)."""
    kwargs = stock_kwargs(params, SACParams)
    for name in ("ent_coef", "target_entropy"):
        kwargs[name] = _entropy_setting(name, kwargs[name])
    return kwargs


def make_sac(env: GymEnv, params: SACParams, *, seed: int | None = None, tensorboard_log: str | None = None,
             verbose: int = 0, device: str = "cpu") -> CostMonitoredSAC:
    """Unconstrained SAC (:class:`CostMonitoredSAC`, logs episode costs) on ``env`` from validated ``params``."""
    model = CostMonitoredSAC("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                             device=device, **_sac_kwargs(params))
    model.params = params
    return model


def make_sac_lag(env: GymEnv, params: SACLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                 verbose: int = 0, device: str = "cpu") -> SACLagrangian:
    """:class:`SACLagrangian` on ``env`` from validated ``params``."""
    model = SACLagrangian(
        "MlpPolicy", env,
        cost_limit=cost_limit_argument(params),
        cost_gamma=params.cost_gamma,
        multiplier_warmup_steps=params.multiplier_warmup_steps,
        normalize_actor_loss=params.normalize_actor_loss,
        seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
        **multiplier_kwargs(params), **_sac_kwargs(params),
    )
    model.params = params
    return model


def load_sac_lag(path: str, env: GymEnv | None = None, *, device: str = "cpu",
                 tensorboard_log: str | None = None) -> SACLagrangian:
    """A saved SAC-Lagrangian learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, SACLagrangian, (SACLagParams,), make_sac_lag, env, device=device,
                        tensorboard_log=tensorboard_log)


def load_sac(path: str, env: GymEnv | None = None, *, device: str = "cpu",
             tensorboard_log: str | None = None) -> CostMonitoredSAC:
    """A saved unconstrained SAC learner (:func:`safexp_sb3.checkpoints.load_learner`)."""
    return load_learner(path, CostMonitoredSAC, (SACParams,), make_sac, env, device=device,
                        tensorboard_log=tensorboard_log)
