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
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import BasePolicy, ContinuousCritic
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.sac.policies import SACPolicy

from safexp.plugin import ParameterError
from safexp_sb3.cost_machinery import CostLimit, CostMonitoringMixin, LagrangeMultipliersMixin
from safexp_sb3.costs import read_costs
from safexp_sb3.multipliers import check_finite
from safexp_sb3.hyperparameters import SACLagParams, SACParams
from safexp_sb3.params import (
    cost_limit_argument,
    model_loader,
    multiplier_kwargs,
    stock_kwargs,
)

SelfSACLagrangian = TypeVar("SelfSACLagrangian", bound="SACLagrangian")


# -- replay buffer ---------------------------------------------------------------------------------------------


class CostReplayBufferSamples(NamedTuple):
    """A replay batch with the per-constraint costs of each transition (``costs``: shape ``(batch, K)``)."""

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    costs: th.Tensor
    discounts: th.Tensor | None = None


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
    """The cost critics' regression target ``c + γ_c (1 - d) Q_c,targ(s', a')`` (no entropy term).

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


class CostMonitoredSAC(CostMonitoringMixin, SAC):
    """Stock SAC (``stable_baselines3.SAC``, unchanged updates) that tracks the env's per-step costs.

    The cost tracking is :class:`safexp_sb3.cost_machinery.CostMonitoringMixin`'s (a step without a cost counts
    as zero): ``rollout/ep_cost_mean`` (mean total cost of the last ``stats_window_size`` finished episodes)
    and ``rollout/cost_rate`` (total cost of all training steps so far / number of steps), plus ``/<name>``
    per constraint when there are several, recorded at every log dump. The monitor is pickled with the model,
    so its statistics survive ``save``/``load``.

    All parameters are ``SAC``'s.
    """

    # The mixin's collect_rollouts wraps the on-policy loop (another signature); keep SAC's and log at dumps.
    collect_rollouts = SAC.collect_rollouts

    def dump_logs(self) -> None:
        """Record the cost statistics, then write the log (stock SAC's keys and the ones recorded so far)."""
        self._log_rollout_costs()
        super().dump_logs()


class SACLagrangian(LagrangeMultipliersMixin, CostMonitoredSAC):
    """SAC-Lagrangian: SAC whose actor also minimises λ·Q_c, one cost critic and one multiplier per constraint.

    See the module docstring for the update equations. Constraints: an env with an attribute
    ``constraint_names`` (and ``info["costs"]`` holding each) gets one cost critic, one multiplier and one
    limit per name; any other env has one constraint read from ``info["cost"]``.

    The multipliers are updated whenever episodes end (once per vectorised step in which one or more end),
    from the mean cost of the episodes finished since the previous update (``EpisodeCostMonitor.cost_estimate``
    of :mod:`safexp_sb3.costs`: with one env, the episode that just ended), once ``multiplier_warmup_steps``
    env steps have been taken; episodes that end during the warm-up are dropped. This episode-cost form (the
    one FSRL and users report to behave better) replaces the per-step λ-gradient on ``d_step - Q_c`` of Knight
    & Achiam's paper, which is not offered. Within a ``train`` call λ is constant.

    :param policy: ``"MlpPolicy"`` (a :class:`SACLagPolicy`) or a ``SACLagPolicy`` subclass.
    :param env: the env (or a ``VecEnv``); every step's info must carry its cost.
    :param cost_limit: the episode cost limit d: a float for every constraint, or a mapping constraint name →
        limit (every constraint must have one). Safety Gym's 25 per 1000-step episode by default.
    :param cost_gamma: the discount γ_c of the cost critics' target.
    :param multiplier: the multiplier preset (:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`): ``omnisafe``
        (the default: λ clamped at 0, init 0.001, Adam lr 0.035), ``safety_starter_agents``, ``sgd`` or ``pid``.
    :param multiplier_settings: settings replacing the preset's (``init``, ``lr``, ``kp``, ... — see
        :class:`safexp_sb3.multipliers.MultiplierSettings`); one multiplier per constraint is built from them.
    :param multiplier_warmup_steps: env steps before the first multiplier update (λ keeps its initial value);
        the default equals the default ``learning_starts``, so that the episodes of uniformly random actions
        that fill the replay buffer never move λ.
    :param normalize_actor_loss: divide the actor loss by ``1 + Σλ`` (OmniSafe's form).
    :param sac_kwargs: ``stable_baselines3.SAC``'s parameters (``learning_rate``, ``buffer_size``,
        ``learning_starts``, ``batch_size``, ``tau``, ``gamma``, ``ent_coef``, ...). The cost critics use the
        reward critics' ``learning_rate``, ``tau`` and ``target_update_interval``. ``replay_buffer_class`` is
        always :class:`CostReplayBuffer`; n-step returns are not supported.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": SACLagPolicy}
    policy: SACLagPolicy
    cost_critic: ContinuousCritic
    cost_critic_target: ContinuousCritic

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
        self._init_multiplier_settings(cost_limit, multiplier, multiplier_settings)
        self.cost_gamma = float(cost_gamma)
        self.multiplier_warmup_steps = int(multiplier_warmup_steps)
        self.normalize_actor_loss = bool(normalize_actor_loss)
        super().__init__(policy, env, **sac_kwargs)

    def _setup_cost_monitor(self) -> None:
        """The monitor and the multipliers (:class:`~safexp_sb3.cost_machinery.LagrangeMultipliersMixin`), then
        what SAC's setup must know: the cost critics' count and the cost-aware replay buffer."""
        super()._setup_cost_monitor()
        names = self.constraint_names or ()
        self.policy_kwargs["n_costs"] = len(names)
        self.replay_buffer_class = CostReplayBuffer
        self.replay_buffer_kwargs = {**self.replay_buffer_kwargs, "constraint_names": names}

    def _create_aliases(self) -> None:
        super()._create_aliases()
        self.cost_critic = self.policy.cost_critic
        self.cost_critic_target = self.policy.cost_critic_target

    def _on_step_costs(self, step_costs: np.ndarray, infos: list[dict[str, Any]], dones: np.ndarray) -> None:
        """After every env step (the monitor has recorded it): when episodes ended, one multiplier step from the
        episodes finished since the last one; during the warm-up those episodes are dropped and λ stays."""
        if not dones.any():
            return
        estimate = self.cost_monitor.cost_estimate()  # forgets the episodes it averaged
        if estimate is not None and self.num_timesteps >= self.multiplier_warmup_steps:
            self._step_multipliers(estimate)

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """``gradient_steps`` SAC-Lagrangian gradient steps with the current λ (constants during the steps)."""
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer, self.cost_critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        multipliers = th.as_tensor(self.lagrange_multipliers, dtype=th.float32, device=self.device)

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
        self._record_multipliers()

    def learn(
        self: SelfSACLagrangian,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "SACLag",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfSACLagrangian:
        """``SAC.learn`` with TensorBoard runs named ``SACLag`` by default."""
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "cost_critic", "cost_critic_target"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "cost_critic.optimizer"], variables


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
    return CostMonitoredSAC("MlpPolicy", env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                            device=device, **_sac_kwargs(params))


def make_sac_lag(env: GymEnv, params: SACLagParams, *, seed: int | None = None, tensorboard_log: str | None = None,
                 verbose: int = 0, device: str = "cpu") -> SACLagrangian:
    """:class:`SACLagrangian` on ``env`` from validated ``params``."""
    return SACLagrangian(
        "MlpPolicy", env,
        cost_limit=cost_limit_argument(params),
        cost_gamma=params.cost_gamma,
        multiplier_warmup_steps=params.multiplier_warmup_steps,
        normalize_actor_loss=params.normalize_actor_loss,
        seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device,
        **multiplier_kwargs(params), **_sac_kwargs(params),
    )


load_sac_lag = model_loader(SACLagrangian)
load_sac = model_loader(CostMonitoredSAC)
