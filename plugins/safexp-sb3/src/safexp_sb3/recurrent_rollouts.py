"""What the recurrent PPO-Lagrangian (:mod:`safexp_sb3.ppo_lag_rnn`) adds to the on-policy components: rollout
buffers of LSTM sequences with costs, the cost value head on the critic's LSTM, and the collection of a rollout
with the LSTM states and the costs.

- :class:`RecurrentCostRolloutBuffer` (``Box`` observations) and :class:`RecurrentCostDictRolloutBuffer` (``Dict``):
  sb3-contrib's recurrent rollout buffers plus the cost fields of :class:`~safexp_sb3.cost_buffer.CostRolloutBuffer`
  and its cost GAE (the same method). Their minibatches are sb3-contrib's: runs of consecutive steps of one env,
  cut where an episode starts, padded to one length (``mask`` marks the real steps), each starting from the LSTM
  states stored at its first step; the cost returns are padded alike.
- :class:`CostValueHead`: ``V_c(s_t) = MLP(y_t)``, with ``y_t`` the output of the critic's LSTM at step ``t``
  (:func:`critic_lstm_output`). The cost value so follows the recurrent structure with no LSTM of its own: it
  reads the memory the reward critic keeps, and its loss trains that LSTM too (weighted by ``cost_vf_coef``).
- :func:`collect_recurrent_rollout`: sb3-contrib's recurrent collection loop written out with the costs in it, as
  :func:`safexp_sb3.rollouts.collect_rollout` is for the feed-forward learners.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.costs import EpisodeCostMonitor

LSTMState = tuple[th.Tensor, th.Tensor]
"""The hidden and cell states of an LSTM, each ``(n_layers, batch, hidden_size)``."""


class RecurrentCostRolloutBufferSamples(NamedTuple):
    """sb3-contrib's recurrent minibatch fields (every per-step field padded and flattened to ``padded_batch``
    rows), then the cost returns, shape ``(padded_batch, n_constraints)``."""

    observations: th.Tensor | dict[str, th.Tensor]
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    lstm_states: RNNStates
    episode_starts: th.Tensor
    mask: th.Tensor
    cost_returns: th.Tensor


class _CostFields:
    """The cost fields of a recurrent rollout buffer: those of :class:`CostRolloutBuffer` (shape ``(n_steps,
    n_envs, n_constraints)``), filled by the same methods, and padded into every minibatch.

    :param n_constraints: how many constraints (cost heads) to hold.
    :param cost_gamma: discount of the cost returns.
    :param cost_gae_lambda: GAE λ of the cost advantages.

    The other arguments are sb3-contrib's recurrent rollout buffers'.
    """

    COST_FIELDS = CostRolloutBuffer.COST_FIELDS

    def __init__(self, buffer_size: int, observation_space: spaces.Space, action_space: spaces.Space,
                 hidden_state_shape: tuple[int, int, int, int], device: th.device | str = "auto",
                 gae_lambda: float = 1.0, gamma: float = 0.99, n_envs: int = 1, n_constraints: int = 1,
                 cost_gamma: float = 0.99, cost_gae_lambda: float = 0.95):
        self.n_constraints = n_constraints
        self.cost_gamma = cost_gamma
        self.cost_gae_lambda = cost_gae_lambda
        super().__init__(buffer_size, observation_space, action_space, hidden_state_shape, device,  # type: ignore[call-arg]
                         gae_lambda, gamma, n_envs)

    def reset(self) -> None:
        self.allocate_cost_fields()
        super().reset()  # type: ignore[misc]

    allocate_cost_fields = CostRolloutBuffer.allocate_cost_fields
    flatten_cost_fields = CostRolloutBuffer.flatten_cost_fields
    add_costs = CostRolloutBuffer.add_costs
    compute_cost_returns_and_advantage = CostRolloutBuffer.compute_cost_returns_and_advantage

    def get(self, batch_size: int | None = None) -> Generator[RecurrentCostRolloutBufferSamples, None, None]:
        """sb3-contrib's sequence minibatches, with the cost returns."""
        self.flatten_cost_fields()
        yield from super().get(batch_size)  # type: ignore[misc]

    def _get_samples(self, batch_inds: np.ndarray, env_change: np.ndarray,
                     env: Any = None) -> RecurrentCostRolloutBufferSamples:
        stock = super()._get_samples(batch_inds, env_change)  # type: ignore[misc]
        cost_returns = self.pad(self.cost_returns[batch_inds]).reshape(-1, self.n_constraints)
        return RecurrentCostRolloutBufferSamples(*stock, cost_returns)


class RecurrentCostRolloutBuffer(_CostFields, RecurrentRolloutBuffer):
    """sb3-contrib's ``RecurrentRolloutBuffer`` with per-constraint costs and their GAE (:class:`_CostFields`)."""


class RecurrentCostDictRolloutBuffer(_CostFields, RecurrentDictRolloutBuffer):
    """sb3-contrib's ``RecurrentDictRolloutBuffer`` with per-constraint costs and their GAE (:class:`_CostFields`)."""


def recurrent_cost_buffer(stock: RecurrentRolloutBuffer | RecurrentDictRolloutBuffer, n_constraints: int,
                          cost_gamma: float, cost_gae_lambda: float) -> _CostFields:
    """The cost buffer replacing the ``stock`` buffer ``RecurrentPPO`` built: same sizes, spaces, discount and
    device, for ``Box`` or ``Dict`` observations like it."""
    buffer_class = (RecurrentCostDictRolloutBuffer if isinstance(stock, RecurrentDictRolloutBuffer)
                    else RecurrentCostRolloutBuffer)
    return buffer_class(stock.buffer_size, stock.observation_space, stock.action_space, stock.hidden_state_shape,
                        stock.device, stock.gae_lambda, stock.gamma, stock.n_envs, n_constraints=n_constraints,
                        cost_gamma=cost_gamma, cost_gae_lambda=cost_gae_lambda)


def critic_lstm_output(policy: RecurrentActorCriticPolicy, observations: th.Tensor | dict[str, th.Tensor],
                       lstm_states: LSTMState, episode_starts: th.Tensor) -> tuple[th.Tensor, LSTMState]:
    """The critic LSTM's output at every step of a batch of sequences, and its states after the last step.

    :param observations: ``n_seq × length`` observations, sequence after sequence (a rollout step: ``length`` 1).
    :param lstm_states: the critic's states before each sequence, each ``(n_layers, n_seq, hidden_size)``.
    :param episode_starts: ``(n_seq × length,)`` flags; the state is zeroed before a step that starts an episode.
    :return: the outputs, ``(n_seq × length, hidden_size)``, and the states after the sequences.
    """
    features = policy.extract_features(observations, policy.vf_features_extractor)
    return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, policy.lstm_critic)


class CostValueHead(nn.Module):
    """The cost value ``V_c``: an MLP on the critic LSTM's output, one output per constraint, with its own Adam.

    :param lstm_output_dim: the critic LSTM's hidden size.
    :param n_constraints: the number of outputs.
    :param net_arch: hidden layer sizes.
    :param activation_fn: hidden activation.
    :param learning_rate: Adam step size of the head's parameters (``self.optimizer``).
    """

    def __init__(self, lstm_output_dim: int, n_constraints: int, net_arch: Sequence[int],
                 activation_fn: type[nn.Module], learning_rate: float):
        super().__init__()
        layers: list[nn.Module] = []
        in_dim = lstm_output_dim
        for width in net_arch:
            layers += [nn.Linear(in_dim, width), activation_fn()]
            in_dim = width
        layers.append(nn.Linear(in_dim, n_constraints))
        self.net = nn.Sequential(*layers)
        self.optimizer = th.optim.Adam(self.parameters(), lr=learning_rate)

    def forward(self, critic_output: th.Tensor) -> th.Tensor:
        """``V_c`` from the critic LSTM's outputs ``(batch, hidden_size)``: shape ``(batch, n_constraints)``."""
        return self.net(critic_output)

    def values(self, policy: RecurrentActorCriticPolicy, observations: th.Tensor | dict[str, th.Tensor],
               lstm_states: LSTMState, episode_starts: th.Tensor) -> th.Tensor:
        """``V_c`` of every step of a batch of sequences (the arguments of :func:`critic_lstm_output`)."""
        return self(critic_lstm_output(policy, observations, lstm_states, episode_starts)[0])


def collect_recurrent_rollout(model: RecurrentPPO, env: VecEnv, callback: BaseCallback,
                              rollout_buffer: RecurrentCostRolloutBuffer | RecurrentCostDictRolloutBuffer,
                              n_rollout_steps: int, monitor: EpisodeCostMonitor, cost_head: CostValueHead,
                              cost_gamma: float) -> bool:
    """Fill ``rollout_buffer`` with ``n_rollout_steps`` steps per env of ``model``'s recurrent policy, costs included.

    Every env carries its actor and critic LSTM states from step to step (``model._last_lstm_states``); the policy
    zeroes them at a step that starts an episode. The buffer stores, with each step, the states *before* it. The
    cost value of a step is the cost head on the critic LSTM's output at that step (for one step, the top layer's
    new hidden state). A time-limit truncation adds ``γ·V(s_T)`` to the reward and ``γ_c·V_c(s_T)`` to the costs,
    both read from the critic LSTM continued one step on the final observation; a termination adds nothing.

    :param model: the learner (its policy, last observation, episode starts, LSTM states, step count and logger).
    :param monitor: records every step's costs; its cost tags are logged at the end.
    :param cost_head: the cost value head.
    :param cost_gamma: the cost discount.
    :return: ``False`` if a callback stopped the collection (the rollout is then incomplete), else ``True``.
    """
    policy: RecurrentActorCriticPolicy = model.policy
    policy.set_training_mode(False)
    n_steps = 0
    rollout_buffer.reset()
    if model.use_sde:
        policy.reset_noise(env.num_envs)
    callback.on_rollout_start()
    cost_values = []
    while n_steps < n_rollout_steps:
        if model.use_sde and model.sde_sample_freq > 0 and n_steps % model.sde_sample_freq == 0:
            policy.reset_noise(env.num_envs)
        with th.no_grad():
            episode_starts = th.as_tensor(model._last_episode_starts, dtype=th.float32, device=model.device)
            actions, values, log_probs, lstm_states = policy(obs_as_tensor(model._last_obs, model.device),
                                                             model._last_lstm_states, episode_starts)
            cost_values.append(cost_head(lstm_states.vf[0][-1]).cpu().numpy())
        actions = actions.cpu().numpy()
        env_actions = actions
        if isinstance(model.action_space, spaces.Box):
            env_actions = np.clip(actions, model.action_space.low, model.action_space.high)
        new_obs, rewards, dones, infos = env.step(env_actions)
        model.num_timesteps += env.num_envs
        step_costs = monitor.record(infos, dones)  # every step taken is counted, also one a callback stops on
        callback.update_locals(locals())
        if not callback.on_step():
            monitor.log(model.logger)
            return False
        model._update_info_buffer(infos, dones)
        n_steps += 1
        if isinstance(model.action_space, spaces.Discrete):
            actions = actions.reshape(-1, 1)
        _bootstrap_truncations(model, infos, dones, rewards, step_costs, lstm_states.vf, cost_head, cost_gamma)
        rollout_buffer.add_costs(step_costs)
        rollout_buffer.add(model._last_obs, actions, rewards, model._last_episode_starts, values, log_probs,
                           lstm_states=model._last_lstm_states)
        model._last_obs = new_obs
        model._last_episode_starts = dones
        model._last_lstm_states = lstm_states

    with th.no_grad():
        last_obs = obs_as_tensor(new_obs, model.device)
        episode_starts = th.as_tensor(dones, dtype=th.float32, device=model.device)
        last_values = policy.predict_values(last_obs, lstm_states.vf, episode_starts)
        last_cost_values = cost_head.values(policy, last_obs, lstm_states.vf, episode_starts).cpu().numpy()
    rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
    rollout_buffer.compute_cost_returns_and_advantage(np.stack(cost_values), last_cost_values, dones)
    monitor.log(model.logger)
    callback.update_locals(locals())
    callback.on_rollout_end()
    return True


def _bootstrap_truncations(model: RecurrentPPO, infos: Sequence[dict[str, Any]], dones: np.ndarray,
                           rewards: np.ndarray, step_costs: np.ndarray, critic_states: LSTMState,
                           cost_head: CostValueHead, cost_gamma: float) -> None:
    """On a time-limit truncation, add ``γ·V(s_T)`` to the reward and ``γ_c·V_c(s_T)`` to the costs (in place),
    from the critic LSTM's states after the step (``critic_states``) continued on the final observation."""
    for idx in np.flatnonzero(dones):
        info = infos[idx]
        if info.get("terminal_observation") is None or not info.get("TimeLimit.truncated", False):
            continue
        terminal = model.policy.obs_to_tensor(info["terminal_observation"])[0]
        states = (critic_states[0][:, idx:idx + 1].contiguous(), critic_states[1][:, idx:idx + 1].contiguous())
        no_start = th.zeros(1, dtype=th.float32, device=model.device)
        with th.no_grad():
            rewards[idx] += model.gamma * model.policy.predict_values(terminal, states, no_start)[0]
            step_costs[idx] += cost_gamma * cost_head.values(model.policy, terminal, states, no_start)[0].cpu().numpy()
