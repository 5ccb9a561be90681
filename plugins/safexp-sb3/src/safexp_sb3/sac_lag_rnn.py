"""Recurrent SAC-Lagrangian (``sac_lag_rnn``): Algorithm 1 of Knight & Achiam's safe-transfer paper.

The agent (:class:`RecurrentAgent`): an observation encoder (a Nature CNN and a linear embedding per image entry,
an MLP on the vector entries), a GRU, a tanh-squashed Gaussian policy head and three Q heads, two for the
reward and one for the cost (one output per constraint), all with SeLU activations. A target copy of the whole
agent is Polyak-averaged after every gradient step.

Acting (:meth:`RecurrentSACLagrangian.learn`): every env carries a GRU state, reset to zero when its episode
ends. Every step is stored in a :class:`SequenceReplayBuffer` together with the GRU state the actor had *before*
reading its observation; an episode's final observation gets a row of its own, so that the last transition of
a time-limited episode can bootstrap from it.

Learning (:meth:`RecurrentSACLagrangian.train`), on a batch of sequences of ``L + 1`` rows
(observations ``o_0..o_L``, transitions ``0..L-1``), each unrolled from its stored state ``h_0`` (no burn-in),
by the agent (``z_t``) and by its target (``z'_t``), with ``a'_t ~ π(·|z_{t+1})`` and ``ã_t ~ π(·|z_t)``::

    reward target   y_t   = r_t   + γ   (1 − d_t) (min_i Q'_i(z'_{t+1}, a'_t) − α log π(a'_t|z_{t+1}))
    cost target     y_c,t = c_t   + γ_c (1 − d_t)  Q'_c(z'_{t+1}, a'_t)
    critic loss     Σ_i mean_m (Q_i(z_t, a_t) − y_t)² + mean_m (Q_c(z_t, a_t) − y_c,t)²   (into encoder and GRU)
    actor loss      mean_m [α log π(ã_t|z_t) − min_i Q_i(z_t, ã_t) + Σ_k λ_k Q_c,k(z_t, ã_t)]   (z_t detached)
    multiplier      λ_k ← step on −λ_k ((1 − γ_c) mean_m Q_c,k(z_t, ã_t) − c_k)   (multiplier_source q_cost)

``d_t`` is the termination flag (a time-limit truncation bootstraps) and ``mean_m`` the mean over the valid
transitions: those of the sequence's first episode whose next row has been stored (a sequence never crosses an
episode boundary unmasked). ``c_k`` is the per-step cost limit (the paper's 0.01, i.e. 10 per 1000 steps).

Checkpoints hold tensors, state dicts and plain values only (``torch.save``; read back with
``torch.load(..., weights_only=True)``), the replay buffer too.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.preprocessing import is_image_space_channels_first, maybe_transpose
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, TrainFreq, TrainFrequencyUnit
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from safexp.plugin import ParameterError, SafexpError, choices_hint, validate_params
from safexp_sb3.checkpoints import space_from_state, space_state
from safexp_sb3.constraints import ConstraintMultipliers
from safexp_sb3.costs import read_costs, resolve_constraint_names
from safexp_sb3.multipliers import check_finite
from safexp_sb3.params import cost_limit_argument, multiplier_kwargs
from safexp_sb3.rnn_hyperparameters import SACLagRNNParams
from safexp_sb3.sac_lag import cost_critic_target

CHECKPOINT_FORMAT = "safexp.sac_lag_rnn/1"
"""Written into every checkpoint of this learner, checked on load."""

MULTIPLIER_SOURCES = ("q_cost", "episode_cost")
LOG_STD_BOUNDS = (-20.0, 2.0)

# -- observations ------------------------------------------------------------------------------------------------


def observation_entries(space: spaces.Space) -> dict[str, spaces.Box]:
    """The entries of an observation space by name: a ``Dict`` space's own, or ``{"obs": space}`` for a Box.

    :raises ParameterError: for a space that is neither a Box nor a Dict of Boxes, or an entry of rank other
        than 1 (a vector) or 3 (an image).
    """
    entries = dict(space.spaces) if isinstance(space, spaces.Dict) else {"obs": space}
    for name, entry in entries.items():
        if not isinstance(entry, spaces.Box) or len(entry.shape) not in (1, 3):
            raise ParameterError(f"sac_lag_rnn reads vectors (1-D Box) and images (3-D Box); observation entry "
                                 f"'{name}' is {entry}")
    return entries


def as_entries(observation: Any) -> dict[str, np.ndarray]:
    """An observation (a dict, or an array for a Box space) as a dict of arrays keyed like
    :func:`observation_entries`."""
    return dict(observation) if isinstance(observation, Mapping) else {"obs": observation}


# -- the agent ---------------------------------------------------------------------------------------------------


def selu_mlp(sizes: Sequence[int], output: int | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] → sizes[1] → ...`` with SeLU after each, then a linear ``→ output`` if given."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.SELU()]
    if output is not None:
        layers.append(nn.Linear(sizes[-1], output))
    return nn.Sequential(*layers)


class NatureCNN(nn.Module):
    """The Nature DQN convolutions (32 8×8/4, 64 4×4/2, 64 3×3/1) and a linear embedding, SeLU after each.

    :param space: the image entry's space, channels first or last (:func:`is_image_space_channels_first`); a
        ``uint8`` image is scaled to ``[0, 1]``, a float image (depth in metres) is read as it is.
    :param embedding: the output width.
    :raises ParameterError: for an image smaller than 36×36 (the convolutions' smallest input).
    """

    def __init__(self, space: spaces.Box, embedding: int) -> None:
        super().__init__()
        self.channels_first = is_image_space_channels_first(space)
        channels, height, width = space.shape if self.channels_first else np.roll(space.shape, 1)
        if min(height, width) < 36:
            raise ParameterError(f"the Nature CNN needs images of at least 36×36 pixels, got {height}×{width}")
        self.scale = 1.0 / 255.0 if space.dtype == np.uint8 else 1.0
        self.convolutions = nn.Sequential(
            nn.Conv2d(int(channels), 32, 8, stride=4), nn.SELU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.SELU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.SELU(), nn.Flatten())
        with th.no_grad():
            flat = self.convolutions(th.zeros(1, int(channels), int(height), int(width))).shape[1]
        self.embedding = nn.Sequential(nn.Linear(flat, embedding), nn.SELU())

    def forward(self, images: th.Tensor) -> th.Tensor:
        """``(N, C, H, W)`` or ``(N, H, W, C)`` images (as the space) → ``(N, embedding)``."""
        images = images.float() * self.scale
        if not self.channels_first:
            images = images.permute(0, 3, 1, 2)
        return self.embedding(self.convolutions(images))


class ObservationEncoder(nn.Module):
    """A :class:`NatureCNN` per image entry and one SeLU MLP on all vector entries, outputs concatenated.

    :param space: the observation space (a Box or a Dict of Boxes, :func:`observation_entries`).
    :param cnn_embedding: the output width of each image's CNN.
    :param vector_net_arch: the vector MLP's layer sizes (its last is its output width).
    """

    def __init__(self, space: spaces.Space, cnn_embedding: int, vector_net_arch: Sequence[int]) -> None:
        super().__init__()
        entries = observation_entries(space)
        self.image_keys = [name for name, entry in entries.items() if len(entry.shape) == 3]
        self.vector_keys = [name for name, entry in entries.items() if len(entry.shape) == 1]
        self.cnns = nn.ModuleDict({name: NatureCNN(entries[name], cnn_embedding) for name in self.image_keys})
        vector_size = sum(entries[name].shape[0] for name in self.vector_keys)
        self.vector_mlp = selu_mlp([vector_size, *vector_net_arch]) if self.vector_keys else None
        self.output_size = cnn_embedding * len(self.image_keys) + (
            (vector_net_arch[-1] if vector_net_arch else vector_size) if self.vector_keys else 0)

    def forward(self, observations: Mapping[str, th.Tensor]) -> th.Tensor:
        """A dict of ``(N, *entry shape)`` tensors → ``(N, output_size)``."""
        features = [self.cnns[name](observations[name]) for name in self.image_keys]
        if self.vector_mlp is not None:
            features.append(self.vector_mlp(th.cat([observations[name].float() for name in self.vector_keys], 1)))
        return th.cat(features, dim=1)


class RecurrentAgent(nn.Module):
    """Encoder, GRU, policy head and Q heads (see the module docstring); actions live in ``[-1, 1]^n``.

    :param space: the observation space.
    :param action_dim: the action's size.
    :param n_costs: the number of constraints (outputs of the cost Q head).
    The other parameters are :class:`~safexp_sb3.rnn_hyperparameters.SACLagRNNParams`'s.
    """

    def __init__(self, space: spaces.Space, action_dim: int, n_costs: int, cnn_embedding: int,
                 vector_net_arch: Sequence[int], gru_hidden: int, head_net_arch: Sequence[int]) -> None:
        super().__init__()
        self.encoder = ObservationEncoder(space, cnn_embedding, vector_net_arch)
        self.gru = nn.GRUCell(self.encoder.output_size, gru_hidden)
        self.policy = selu_mlp([gru_hidden, *head_net_arch], 2 * action_dim)
        self.reward_q = nn.ModuleList([selu_mlp([gru_hidden + action_dim, *head_net_arch], 1) for _ in range(2)])
        self.cost_q = selu_mlp([gru_hidden + action_dim, *head_net_arch], n_costs)
        self.hidden_size, self.action_dim = gru_hidden, action_dim

    def initial_state(self, n: int) -> th.Tensor:
        """The GRU state at an episode's start: zeros of shape ``(n, gru_hidden)``."""
        return th.zeros(n, self.hidden_size, device=next(self.parameters()).device)

    def step(self, observations: Mapping[str, th.Tensor], hidden: th.Tensor) -> th.Tensor:
        """The GRU state after reading one observation per row: ``(N, gru_hidden)``."""
        return self.gru(self.encoder(observations), hidden)

    def unroll(self, observations: Mapping[str, th.Tensor], hidden: th.Tensor) -> th.Tensor:
        """GRU states ``z_0..z_{T-1}`` after reading each of ``(N, T, ...)`` observations from ``hidden``
        ``(N, gru_hidden)``; shape ``(N, T, gru_hidden)``. The encoder runs on all ``N·T`` observations at once."""
        n, length = next(iter(observations.values())).shape[:2]
        flat = {name: value.reshape(n * length, *value.shape[2:]) for name, value in observations.items()}
        inputs = self.encoder(flat).reshape(n, length, -1)
        states = []
        for t in range(length):
            hidden = self.gru(inputs[:, t], hidden)
            states.append(hidden)
        return th.stack(states, dim=1)

    def act(self, state: th.Tensor, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor]:
        """A tanh-squashed Gaussian action for each GRU state and its log-probability: ``(..., n)``, ``(..., 1)``.
        ``deterministic`` gives ``tanh(mean)`` (the log-probability is then that of the mean)."""
        mean, log_std = self.policy(state).chunk(2, dim=-1)
        std = log_std.clamp(*LOG_STD_BOUNDS).exp()
        gaussian = th.distributions.Normal(mean, std)
        raw = mean if deterministic else gaussian.rsample()
        action = th.tanh(raw)
        log_prob = gaussian.log_prob(raw) - th.log1p(-action.pow(2) + 1e-6)
        return action, log_prob.sum(dim=-1, keepdim=True)

    def q_values(self, state: th.Tensor, action: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """``Q_1``, ``Q_2`` (``(..., 1)`` each) and ``Q_c`` (``(..., n_costs)``) of ``action`` in ``state``."""
        inputs = th.cat([state, action], dim=-1)
        return self.reward_q[0](inputs), self.reward_q[1](inputs), self.cost_q(inputs)

    @contextlib.contextmanager
    def q_heads_frozen(self) -> Iterator[None]:
        """Inside the block the Q heads' weights take no gradient: a loss built there (the actor's)
        differentiates through the heads to their inputs only, skipping the weight gradients the critic's own
        step computes anyway."""
        heads = [*self.reward_q.parameters(), *self.cost_q.parameters()]
        for param in heads:
            param.requires_grad_(False)
        try:
            yield
        finally:
            for param in heads:
                param.requires_grad_(True)

    def critic_parameters(self) -> list[nn.Parameter]:
        """What the critic loss trains: encoder, GRU and the three Q heads."""
        return [*self.encoder.parameters(), *self.gru.parameters(), *self.reward_q.parameters(),
                *self.cost_q.parameters()]


# -- acting ------------------------------------------------------------------------------------------------------


def observation_tensors(space: spaces.Space, observation: Mapping[str, np.ndarray],
                        device: th.device | str) -> dict[str, th.Tensor]:
    """A batch of observations (entries keyed like :func:`observation_entries`) as tensors on ``device``, images
    transposed to the space's layout."""
    entries = observation_entries(space)
    return {name: th.as_tensor(maybe_transpose(np.asarray(value), entries[name]), device=device)
            for name, value in observation.items()}


def scale_action(space: spaces.Box, action: np.ndarray) -> np.ndarray:
    """Actions in ``[-1, 1]^n`` (one per row) mapped onto the action space's bounds."""
    return (space.low + 0.5 * (action + 1.0) * (space.high - space.low)).reshape(-1, *space.shape)


def acting_step(agent: RecurrentAgent, observations: Mapping[str, th.Tensor], hidden: th.Tensor,
                uniform: bool) -> tuple[th.Tensor, np.ndarray]:
    """The GRU states after reading one observation per env (``(N, H)``), and the actions the agent samples in
    them (``(N, n)`` in ``[-1, 1]``; uniformly at random when ``uniform``, the exploration before
    ``learning_starts``). Draws from torch's global RNG."""
    with th.no_grad():
        hidden_after = agent.step(observations, hidden)
        if uniform:
            action = th.rand(hidden.shape[0], agent.action_dim) * 2.0 - 1.0
        else:
            action, _ = agent.act(hidden_after)
    return hidden_after, action.cpu().numpy().reshape(hidden.shape[0], -1)


def carried_over(hidden_after: np.ndarray, episodes: np.ndarray, dones: np.ndarray,
                 id_stride: int) -> tuple[np.ndarray, np.ndarray]:
    """The GRU states and episode ids the envs carry into their next step: zeros and a new id (the old one plus
    ``id_stride``, the number of rings, so ids stay unique across rings) where an episode just ended."""
    hidden = (hidden_after * (1.0 - np.asarray(dones, dtype=np.float32)[:, None])).astype(np.float32)
    return hidden, np.where(dones, episodes + id_stride, episodes)


# -- the sequence replay buffer ----------------------------------------------------------------------------------


class SequenceBatch(NamedTuple):
    """``B`` sequences of ``L + 1`` rows (transitions ``0..L-1`` and the observation after the last).

    ``observations``: name → ``(B, L+1, ...)``; ``hidden``: the stored GRU state before row 0, ``(B, H)``;
    ``actions`` ``(B, L, n)``, ``rewards`` ``(B, L, 1)``, ``costs`` ``(B, L, K)``, ``terminations`` ``(B, L, 1)``;
    ``mask`` ``(B, L, 1)``: 1 for a transition of the sequence's first episode whose next row is stored.
    """

    observations: dict[str, th.Tensor]
    hidden: th.Tensor
    actions: th.Tensor
    rewards: th.Tensor
    costs: th.Tensor
    terminations: th.Tensor
    mask: th.Tensor


class SequenceReplayBuffer:
    """Rows of every env in its own ring of ``capacity`` rows, sampled as fixed-length sequences.

    A row holds an observation, the GRU state the actor had before reading it, the episode it belongs to, and,
    for a step row, the action taken and the reward, costs and termination that followed. An episode's final
    observation (the env's ``terminal_observation``) is stored as a row without action (``has_action`` 0), so
    that the last step of a truncated episode bootstraps from it.

    :param space: the observation space (:func:`observation_entries`).
    :param action_dim: the action's size.
    :param n_costs: the number of constraints.
    :param hidden_size: the GRU state's size.
    :param capacity: rows per env.
    :param n_envs: the number of envs.
    """

    ARRAYS = ("hidden", "actions", "rewards", "costs", "terminations", "has_action", "episodes")

    def __init__(self, space: spaces.Space, action_dim: int, n_costs: int, hidden_size: int, capacity: int,
                 n_envs: int) -> None:
        self.capacity, self.n_envs = int(capacity), int(n_envs)
        shape = (self.n_envs, self.capacity)
        self.observations = {name: np.zeros((*shape, *entry.shape), dtype=entry.dtype)
                             for name, entry in observation_entries(space).items()}
        self.hidden = np.zeros((*shape, hidden_size), dtype=np.float32)
        self.actions = np.zeros((*shape, action_dim), dtype=np.float32)
        self.rewards = np.zeros((*shape, 1), dtype=np.float32)
        self.costs = np.zeros((*shape, n_costs), dtype=np.float32)
        self.terminations = np.zeros((*shape, 1), dtype=np.float32)
        self.has_action = np.zeros(shape, dtype=np.bool_)
        self.episodes = np.zeros(shape, dtype=np.int64)
        self.rows_written = np.zeros(self.n_envs, dtype=np.int64)  # per env, ever: the next row's age index

    def add(self, env: int, observation: Mapping[str, np.ndarray], hidden: np.ndarray, episode: int,
            action: np.ndarray | None = None, reward: float = 0.0, costs: Sequence[float] = (),
            terminated: bool = False) -> None:
        """Append one row to env ``env``'s ring: a step row when ``action`` is given, else a final-observation row."""
        row = self.rows_written[env] % self.capacity
        for name, value in observation.items():
            self.observations[name][env, row] = value
        self.hidden[env, row] = hidden
        self.episodes[env, row] = episode
        self.has_action[env, row] = action is not None
        if action is not None:
            self.actions[env, row] = action
            self.rewards[env, row] = reward
            self.costs[env, row] = costs
            self.terminations[env, row] = float(terminated)
        self.rows_written[env] += 1

    def stored_rows(self, env: int) -> int:
        """The rows env ``env`` holds now."""
        return int(min(self.rows_written[env], self.capacity))

    def sample(self, batch_size: int, sequence_length: int, device: th.device) -> SequenceBatch:
        """``batch_size`` sequences of ``sequence_length`` transitions, each starting at a stored row drawn
        uniformly (torch's RNG) over all envs' rows (:meth:`sequences`)."""
        stored = th.tensor([self.stored_rows(env) for env in range(self.n_envs)], dtype=th.float64)
        envs = th.multinomial(stored, batch_size, replacement=True).numpy()
        starts = (th.rand(batch_size, dtype=th.float64).numpy() * stored.numpy()[envs]).astype(np.int64)
        return self.sequences(envs, starts, sequence_length, device)

    def sequences(self, envs: np.ndarray, starts: np.ndarray, sequence_length: int,
                  device: th.device) -> SequenceBatch:
        """The sequences of ``sequence_length`` transitions of env ``envs[i]`` starting at its ``starts[i]``-th
        oldest stored row; see :class:`SequenceBatch` for the mask (rows past the newest are masked too)."""
        stored_of = np.array([self.stored_rows(env) for env in envs], dtype=np.int64)
        ages = starts[:, None] + np.arange(sequence_length + 1)[None, :]
        present = ages < stored_of[:, None]
        oldest = self.rows_written[envs] - stored_of
        rows = (oldest[:, None] + np.minimum(ages, stored_of[:, None] - 1)) % self.capacity
        env_rows = envs[:, None]
        same_episode = self.episodes[env_rows, rows] == self.episodes[envs, rows[:, 0]][:, None]
        valid = present & same_episode
        mask = self.has_action[env_rows, rows][:, :-1] & valid[:, :-1] & valid[:, 1:]

        def tensor(array: np.ndarray) -> th.Tensor:
            return th.as_tensor(array, device=device)

        steps = rows[:, :-1]
        return SequenceBatch(
            observations={name: tensor(value[env_rows, rows]) for name, value in self.observations.items()},
            hidden=tensor(self.hidden[envs, rows[:, 0]]),
            actions=tensor(self.actions[env_rows, steps]),
            rewards=tensor(self.rewards[env_rows, steps]),
            costs=tensor(self.costs[env_rows, steps]),
            terminations=tensor(self.terminations[env_rows, steps]),
            mask=tensor(mask[..., None].astype(np.float32)),
        )

    def state_dict(self) -> dict[str, Any]:
        """Every array as a tensor (observations under ``obs/<name>``) and the write counters."""
        state = {f"obs/{name}": th.from_numpy(value) for name, value in self.observations.items()}
        state.update({name: th.from_numpy(getattr(self, name)) for name in self.ARRAYS})
        state["rows_written"] = th.from_numpy(self.rows_written)
        return state

    def load_state_dict(self, state: Mapping[str, th.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned into a buffer of the same shapes.

        :raises SafexpError: when a saved array's shape differs (another env, capacity or network).
        """
        targets = {**{f"obs/{name}": value for name, value in self.observations.items()},
                   **{name: getattr(self, name) for name in (*self.ARRAYS, "rows_written")}}
        for name, target in targets.items():
            saved = state[name].numpy()
            if saved.shape != target.shape:
                raise SafexpError(f"the saved replay buffer's '{name}' has shape {saved.shape}, this learner's "
                                  f"{target.shape}: it was saved with another env, buffer_size or gru_hidden")
            target[...] = saved


# -- the learner -------------------------------------------------------------------------------------------------


class RecurrentSACLagrangian(BaseAlgorithm):
    """Recurrent SAC-Lagrangian (see the module docstring), with stable-baselines3's learner surface (``learn``,
    ``predict``, ``save``, the logger, the episode buffer, the replay buffer) so that
    :class:`safexp_sb3.learner.SB3Learner` drives it like the other learners.

    :param env: the env or ``VecEnv``; every step's info carries its cost (``info["cost"]``, or ``info["costs"]``
        for an env with named ``constraint_names``). Add the feedback wrapper (``safexp.FeedbackObservation``)
        to feed the previous reward and costs to the GRU, as the paper does.
    :param params: the hyperparameters (:class:`~safexp_sb3.rnn_hyperparameters.SACLagRNNParams`).
    :param seed: seeds torch, numpy and the action space.
    :param tensorboard_log: a TensorBoard directory, or ``None``.
    :param verbose: stable-baselines3's verbosity.
    :param device: the torch device.
    :param observation_space, action_space, constraint_names: without ``env``: the spaces and constraints.
    :param n_envs: without ``env``: the number of replay rings (the envs of remote actors; 1 to act).
    :raises ParameterError: for an unknown ``multiplier_source``, multiplier preset or setting, a cost limit that
        names unknown constraints, or an observation this agent cannot read.
    """

    policy_aliases: dict[str, type] = {}

    def __init__(self, env: GymEnv | None, params: SACLagRNNParams, *, seed: int | None = None,
                 tensorboard_log: str | None = None, verbose: int = 0, device: str = "cpu",
                 observation_space: spaces.Space | None = None, action_space: spaces.Box | None = None,
                 constraint_names: Sequence[str] | None = None, n_envs: int = 1) -> None:
        if params.multiplier_source not in MULTIPLIER_SOURCES:
            raise ParameterError(f"unknown multiplier_source '{params.multiplier_source}'; "
                                 f"{choices_hint(params.multiplier_source, MULTIPLIER_SOURCES)}")
        super().__init__(RecurrentAgent, env, params.learning_rate, stats_window_size=params.stats_window_size,
                         tensorboard_log=tensorboard_log, verbose=verbose, device=device, seed=seed,
                         support_multi_env=True, supported_action_spaces=(spaces.Box,))
        self.params = params
        self.train_freq = TrainFreq(params.train_freq, TrainFrequencyUnit.STEP)  # what SB3Learner reads
        if env is None:  # loading for evaluation: the spaces and constraints come from the checkpoint
            self.observation_space, self.action_space = observation_space, action_space
            self.n_envs = n_envs  # 1 to act; or the envs of remote actors (safexp_sb3.actor_learner), given
        cost_limit = cost_limit_argument(params)
        self.constraint_names = tuple(constraint_names or resolve_constraint_names(self.env, cost_limit))
        settings = multiplier_kwargs(params)
        self.constraints = ConstraintMultipliers(self.constraint_names, cost_limit, settings["multiplier"],
                                                 settings["multiplier_settings"], estimate_name="cost_rate_estimate")
        self._setup_model()

    def _setup_model(self) -> None:
        """Seed, then build the agent, its target, the two optimisers, the replay buffer and the actors' state.

        :raises ParameterError: for an observation the agent cannot read, or an action space that is not a Box
            with finite bounds (the squashed actions are mapped onto them; with an env, stable-baselines3 would
            refuse it too, but remote actors leave the learner without one).
        """
        observation_entries(self.observation_space)
        space = self.action_space
        if not isinstance(space, spaces.Box) or not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ParameterError(f"sac_lag_rnn squashes its actions into a Box with finite bounds, got {space}")
        self.set_random_seed(self.seed)
        p = self.params
        action_dim = int(np.prod(self.action_space.shape))
        self.agent = RecurrentAgent(self.observation_space, action_dim, len(self.constraint_names), p.cnn_embedding,
                                    p.vector_net_arch, p.gru_hidden, p.head_net_arch).to(self.device)
        self.target = copy.deepcopy(self.agent).requires_grad_(False)
        self.critic_optimizer = th.optim.Adam(self.agent.critic_parameters(), lr=p.learning_rate)
        self.actor_optimizer = th.optim.Adam(self.agent.policy.parameters(), lr=p.learning_rate)
        self.replay_buffer = SequenceReplayBuffer(self.observation_space, action_dim, len(self.constraint_names),
                                                  p.gru_hidden, p.buffer_size, self.n_envs)
        self.actor_hidden = self.agent.initial_state(self.n_envs)  # the GRU state of each training env
        self.actor_episodes = np.arange(self.n_envs, dtype=np.int64)  # episode ids, unique across envs
        self.predict_hidden: th.Tensor | None = None  # the GRU state `predict` carries between calls
        self.episode_costs = np.zeros((self.n_envs, len(self.constraint_names)))
        self.episode_lengths = np.zeros(self.n_envs, dtype=np.int64)
        self.finished_costs: deque = deque(maxlen=p.stats_window_size)  # each finished episode's cost per constraint
        self.unfed_episode_rates: list[np.ndarray] = []  # for multiplier_source=episode_cost
        self.lifetime_cost = np.zeros(len(self.constraint_names))

    @property
    def lagrange_multipliers(self) -> list[float]:
        """The current λ of each constraint (in ``constraint_names`` order)."""
        return self.constraints.values.tolist()

    # -- acting ------------------------------------------------------------------------------------------------
    def _tensors(self, observation: Mapping[str, np.ndarray]) -> dict[str, th.Tensor]:
        """A batch of observations as tensors on the device (:func:`observation_tensors`)."""
        return observation_tensors(self.observation_space, observation, self.device)

    def _scale_action(self, action: np.ndarray) -> np.ndarray:
        """An action in ``[-1, 1]^n`` mapped onto the action space's bounds (:func:`scale_action`)."""
        return scale_action(self.action_space, action)

    def predict(self, observation: Any, state: np.ndarray | None = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Actions for one observation or a batch (leading dimension), and the GRU states after reading them.

        The GRU state comes from ``state`` when given (shape ``(N, gru_hidden)``, as returned before), else from
        the state the previous call left (the learner carries it for one evaluation env). ``episode_start``
        (``(N,)`` bools) zeroes the state of the rows whose episode starts with this observation; pass it at
        every episode's first step, or call :meth:`reset_hidden_state` before each episode.

        :return: the actions in the action space's bounds and the new states (as numpy arrays).
        """
        entries = observation_entries(self.observation_space)
        observation = as_entries(observation)
        first = next(iter(entries))
        single = np.asarray(observation[first]).ndim == len(entries[first].shape)
        if single:
            observation = {name: np.asarray(value)[None] for name, value in observation.items()}
        n = np.asarray(next(iter(observation.values()))).shape[0]
        with th.no_grad():
            if state is not None:
                hidden = th.as_tensor(state, dtype=th.float32, device=self.device).reshape(n, -1)
            elif self.predict_hidden is not None and self.predict_hidden.shape[0] == n:
                hidden = self.predict_hidden
            else:
                hidden = self.agent.initial_state(n)
            if episode_start is not None:
                hidden = hidden * (1.0 - th.as_tensor(np.asarray(episode_start, dtype=np.float32),
                                                      device=self.device).reshape(n, 1))
            hidden = self.agent.step(self._tensors(observation), hidden)
            action, _ = self.agent.act(hidden, deterministic)
        self.predict_hidden = hidden
        actions = self._scale_action(action.cpu().numpy())
        return (actions[0] if single else actions), hidden.cpu().numpy()

    def reset_hidden_state(self) -> None:
        """Forget the GRU state :meth:`predict` carries (the next call starts an episode)."""
        self.predict_hidden = None

    def _collect_step(self, callback: Any) -> bool:
        """One step of every training env: act (uniformly at random before ``learning_starts``), store the rows,
        carry or reset the GRU states, record episodes. Returns ``False`` when a callback asks to stop."""
        observation = as_entries(self._last_obs)
        hidden_before = self.actor_hidden
        hidden_after, action = acting_step(self.agent, self._tensors(observation), hidden_before,
                                           self.num_timesteps < self.params.learning_starts)
        new_obs, rewards, dones, infos = self.env.step(self._scale_action(action))
        self.num_timesteps += self.n_envs
        hidden_before, hidden_after = hidden_before.cpu().numpy(), hidden_after.cpu().numpy()
        self._store_step(0, observation, hidden_before, hidden_after, action, rewards, dones, infos,
                         self.actor_episodes)
        hidden_next, self.actor_episodes = carried_over(hidden_after, self.actor_episodes, dones, self.n_envs)
        self.actor_hidden = th.as_tensor(hidden_next, device=self.device)
        self._last_obs = new_obs
        callback.update_locals(locals())
        return bool(callback.on_step())

    def _store_step(self, first_ring: int, observation: Mapping[str, np.ndarray], hidden_before: np.ndarray,
                    hidden_after: np.ndarray, action: np.ndarray, rewards: np.ndarray, dones: np.ndarray,
                    infos: Sequence[Mapping[str, Any]], episodes: np.ndarray) -> None:
        """Store one vectorised step of ``len(dones)`` envs in the rings ``first_ring, first_ring + 1, ...`` and
        record its costs and finished episodes.

        :param observation: each entry ``(E, ...)``, what the envs showed before the step.
        :param hidden_before: ``(E, H)``, the GRU states before reading ``observation``; ``hidden_after`` after.
        :param action: ``(E, n)`` in ``[-1, 1]``; ``rewards``, ``dones``: ``(E,)``; ``infos``: the envs' infos
            (``terminal_observation`` for a finished episode); ``episodes``: ``(E,)``, each env's episode id.
        """
        costs = np.asarray(read_costs(infos, self.constraint_names), dtype=np.float64)
        for env in range(len(dones)):
            ring = first_ring + env
            terminated = bool(dones[env]) and not infos[env].get("TimeLimit.truncated", False)
            self.replay_buffer.add(ring, {k: v[env] for k, v in observation.items()}, hidden_before[env],
                                   int(episodes[env]), action[env], float(rewards[env]), costs[env], terminated)
            if dones[env]:
                self.replay_buffer.add(ring, as_entries(infos[env]["terminal_observation"]), hidden_after[env],
                                       int(episodes[env]))
        self._record_episode_costs(costs, dones, first_ring)
        self._update_info_buffer(list(infos), dones)

    def _start_episodes(self) -> None:
        """Every training env starts a new episode (its envs were just reset): zero GRU states and running
        episode statistics, and fresh episode ids, so that no stored sequence runs on into the new episodes."""
        self.actor_hidden = self.agent.initial_state(self.n_envs)
        self.actor_episodes = self.actor_episodes + self.n_envs
        self.episode_costs[:] = 0.0
        self.episode_lengths[:] = 0

    def _record_episode_costs(self, costs: np.ndarray, dones: np.ndarray, first_ring: int = 0) -> None:
        """Add one step's costs (of the envs of rings ``first_ring, first_ring + 1, ...``) to the running episodes
        and the lifetime total; file finished episodes (their cost per step); with
        ``multiplier_source=episode_cost``, step the multipliers once episodes ended."""
        rings = slice(first_ring, first_ring + len(dones))
        self.lifetime_cost += costs.sum(axis=0)
        self.episode_costs[rings] += costs
        self.episode_lengths[rings] += 1
        for env in first_ring + np.flatnonzero(dones):
            rate = self.episode_costs[env] / self.episode_lengths[env]
            self.finished_costs.append(self.episode_costs[env].copy())
            if self.params.multiplier_source == "episode_cost":
                self.unfed_episode_rates.append(rate)
            self.episode_costs[env] = 0.0
            self.episode_lengths[env] = 0
            self._episode_num += 1
        if self.params.multiplier_source == "episode_cost" and self.unfed_episode_rates:
            if self.num_timesteps >= self.params.learning_starts:
                self.constraints.update(np.mean(self.unfed_episode_rates, axis=0))
            self.unfed_episode_rates.clear()

    # -- learning ----------------------------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int | None = None,
              tb_log_name: str = "SACLagRNN", reset_num_timesteps: bool = True,
              progress_bar: bool = False) -> RecurrentSACLagrangian:
        """Collect and train until ``total_timesteps`` more env steps are taken (stable-baselines3's ``learn``).

        Every ``train_freq`` steps per env (a collection phase, framed by the callback's rollout start and end),
        ``gradient_steps`` gradient steps once ``learning_starts`` steps are taken and the buffer holds a row.
        """
        envs_reset = reset_num_timesteps or self._last_obs is None  # stable-baselines3's setup then resets them
        total_timesteps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name,
                                                      progress_bar)
        if envs_reset:
            self._start_episodes()
        log_every = log_interval or self.params.log_interval
        callback.on_training_start(locals(), globals())
        logged_at_episode = self._episode_num
        while self.num_timesteps < total_timesteps:
            callback.on_rollout_start()
            for _ in range(self.params.train_freq):
                if not self._collect_step(callback):
                    callback.on_training_end()
                    return self
            callback.on_rollout_end()
            if self.num_timesteps >= self.params.learning_starts:
                self.train(self.params.gradient_steps)
            if self._episode_num - logged_at_episode >= log_every:
                logged_at_episode = self._episode_num
                self.dump_logs()
        callback.on_training_end()
        return self

    def train(self, gradient_steps: int) -> None:
        """``gradient_steps`` steps of Algorithm 1 (module docstring) on sampled sequences."""
        p = self.params
        losses: dict[str, list[float]] = {"critic_loss": [], "cost_value_loss": [], "actor_loss": [], "cost_q": []}
        for _ in range(gradient_steps):
            multipliers = th.as_tensor(self.lagrange_multipliers, dtype=th.float32, device=self.device)  # this step's λ
            batch = self.replay_buffer.sample(p.batch_size, p.sequence_length, self.device)
            valid = batch.mask.sum().clamp(min=1.0)
            states = self.agent.unroll(batch.observations, batch.hidden)  # z_0..z_L, (B, L+1, H)
            reward_target, cost_target = self.targets(batch, states)

            q1, q2, cost_q = self.agent.q_values(states[:, :-1], batch.actions)
            reward_loss = (((q1 - reward_target) ** 2 + (q2 - reward_target) ** 2) * batch.mask).sum() / valid
            cost_loss = (((cost_q - cost_target) ** 2) * batch.mask).sum() / valid
            self.critic_optimizer.zero_grad()
            (reward_loss + cost_loss).backward()
            self.critic_optimizer.step()

            detached = states[:, :-1].detach()
            actions_pi, log_prob = self.agent.act(detached)
            with self.agent.q_heads_frozen():
                q1_pi, q2_pi, cost_q_pi = self.agent.q_values(detached, actions_pi)
            penalty = (cost_q_pi * multipliers).sum(dim=-1, keepdim=True)
            actor_loss = ((p.ent_coef * log_prob - th.min(q1_pi, q2_pi) + penalty) * batch.mask).sum() / valid
            if p.normalize_actor_loss:
                actor_loss = actor_loss / (1.0 + multipliers.sum())
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()

            mean_cost_q = ((cost_q_pi.detach() * batch.mask).sum(dim=(0, 1)) / valid).cpu().numpy()
            if p.multiplier_source == "q_cost":
                self.constraints.update((1.0 - p.cost_gamma) * mean_cost_q)
            polyak_update(self.agent.parameters(), self.target.parameters(), p.tau)
            losses["critic_loss"].append(check_finite("critic loss", reward_loss.item()))
            losses["cost_value_loss"].append(check_finite("cost critic loss", cost_loss.item()))
            losses["actor_loss"].append(check_finite("actor loss", actor_loss.item()))
            losses["cost_q"].append(float(mean_cost_q.sum()))
        self._n_updates += gradient_steps
        for key, values in losses.items():
            self.logger.record(f"train/{key}", float(np.mean(values)))
        self.constraints.record(self.logger)

    def targets(self, batch: SequenceBatch, states: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """The reward and cost Q targets ``y_t`` ``(B, L, 1)`` and ``y_c,t`` ``(B, L, K)`` of a batch (module
        docstring), given the agent's GRU states ``z_0..z_L`` on it; no gradient flows through them."""
        p = self.params
        with th.no_grad():
            target_states = self.target.unroll(batch.observations, batch.hidden)
            next_actions, next_log_prob = self.agent.act(states[:, 1:])
            q1_next, q2_next, cost_q_next = self.target.q_values(target_states[:, 1:], next_actions)
            soft_value = th.min(q1_next, q2_next) - p.ent_coef * next_log_prob
            reward_target = batch.rewards + p.gamma * (1.0 - batch.terminations) * soft_value
            return reward_target, cost_critic_target(batch.costs, batch.terminations, p.cost_gamma, cost_q_next)

    def recent_episodes(self) -> list[tuple[float, float]]:
        """(return, cost) of the most recent finished episodes (the statistics window), oldest first; what the
        runner's progress line and summary read through ``Learner.recent_episodes``."""
        returns = [float(info["r"]) for info in self.ep_info_buffer or ()]
        return list(zip(returns, (float(np.sum(cost)) for cost in self.finished_costs)))

    def training_cost_rate(self) -> float | None:
        """All cost of the training steps so far over their number (summed over the constraints); ``None``
        before the first step."""
        return float(self.lifetime_cost.sum()) / self.num_timesteps if self.num_timesteps else None

    def dump_logs(self) -> None:
        """Record the episode statistics (return, cost, cost rate, lifetime cost) and write the log."""
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", float(np.mean([info["r"] for info in self.ep_info_buffer])))
            self.logger.record("rollout/ep_len_mean", float(np.mean([info["l"] for info in self.ep_info_buffer])))
        if self.finished_costs:
            self.logger.record("rollout/ep_cost_mean", float(np.sum(np.mean(self.finished_costs, axis=0))))
        self.logger.record("rollout/cost_rate", self.training_cost_rate() or 0.0)
        self.logger.record("rollout/lifetime_cost", float(self.lifetime_cost.sum()))
        elapsed = (time.time_ns() - self.start_time) / 1e9  # stable-baselines3 keeps start_time in nanoseconds
        self.logger.record("time/fps", int((self.num_timesteps - self._num_timesteps_at_start) / max(elapsed, 1e-9)))
        self.logger.record("time/episodes", self._episode_num)
        self.logger.dump(step=self.num_timesteps)

    # -- saving ------------------------------------------------------------------------------------------------
    def save(self, path: str | BinaryIO, exclude: Any = None, include: Any = None) -> None:
        """Write the learner to ``path`` (a file name or a binary file) with ``torch.save``: weights, target,
        optimiser states, multipliers, the GRU state of :meth:`predict`, step and episode counters
        and ids, cost statistics, the hyperparameters and the spaces — tensors and plain values only."""
        p = self.params
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "params": asdict(p),
            "observation_space": space_state(self.observation_space),
            "action_space": space_state(self.action_space),
            "constraint_names": list(self.constraint_names),
            "agent": self.agent.state_dict(),
            "target": self.target.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "multipliers": self.constraints.state_dict(),
            "actor_episodes": th.from_numpy(self.actor_episodes),
            "predict_hidden": None if self.predict_hidden is None else self.predict_hidden.cpu(),
            "num_timesteps": int(self.num_timesteps),
            "n_updates": int(self._n_updates),
            "episode_num": int(self._episode_num),
            "finished_costs": [list(map(float, cost)) for cost in self.finished_costs],
            "lifetime_cost": th.from_numpy(self.lifetime_cost),
            "episode_infos": [{k: float(v) for k, v in info.items()} for info in (self.ep_info_buffer or ())],
        }
        th.save(checkpoint, path)

    @classmethod
    def load(cls, path: str | BinaryIO, env: GymEnv | None = None, device: str = "cpu",
             tensorboard_log: str | None = None, n_envs: int = 1, **_: Any) -> RecurrentSACLagrangian:
        """A learner saved by :meth:`save`, on ``env`` (to train on; its spaces must match) or on none (to act,
        or to learn from ``n_envs`` envs of remote actors).

        :raises SafexpError: for a file that is not a checkpoint of this learner, or an env whose spaces differ.
        """
        checkpoint = th.load(path, map_location="cpu", weights_only=True)  # weights reach the device as they load
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise SafexpError(f"{path} is not a sac_lag_rnn checkpoint (format {CHECKPOINT_FORMAT})")
        params = validate_params(SACLagRNNParams, checkpoint["params"], f"the checkpoint {path}")
        observation_space = space_from_state(_space_state_with_kinds(checkpoint["observation_space"]))
        action_space = space_from_state(_space_state_with_kinds(checkpoint["action_space"]))
        model = cls(env, params, tensorboard_log=tensorboard_log, device=device,
                    observation_space=observation_space, action_space=action_space,
                    constraint_names=checkpoint["constraint_names"], n_envs=n_envs)
        if env is not None and (model.observation_space != observation_space or model.action_space != action_space):
            raise SafexpError(f"the env's spaces ({model.observation_space}, {model.action_space}) differ from the "
                              f"saved learner's ({observation_space}, {action_space})")
        model.agent.load_state_dict(checkpoint["agent"])
        model.target.load_state_dict(checkpoint["target"])
        model.critic_optimizer.load_state_dict(checkpoint["critic_optimizer"])
        model.actor_optimizer.load_state_dict(checkpoint["actor_optimizer"])
        multipliers = checkpoint["multipliers"]
        if isinstance(multipliers, list):  # saved before the multipliers were a ConstraintMultipliers: no estimate
            multipliers = {"multipliers": multipliers, "last_estimate": None}
        model.constraints.load_state_dict(multipliers)
        if model.n_envs == len(checkpoint["actor_episodes"]):  # ids go on from the saved ones (a reloaded buffer)
            model.actor_episodes = checkpoint["actor_episodes"].numpy().copy()
        else:
            model.actor_episodes += int(checkpoint["actor_episodes"].max()) + 1
        model.predict_hidden = (None if checkpoint["predict_hidden"] is None
                                else checkpoint["predict_hidden"].to(model.device))
        model.num_timesteps = checkpoint["num_timesteps"]
        model._n_updates = checkpoint["n_updates"]
        model._episode_num = checkpoint["episode_num"]
        model.finished_costs.extend(np.asarray(cost) for cost in checkpoint["finished_costs"])
        model.lifetime_cost = checkpoint["lifetime_cost"].numpy().copy()
        model.ep_info_buffer = deque(checkpoint["episode_infos"], maxlen=params.stats_window_size)
        model.ep_success_buffer = deque(maxlen=params.stats_window_size)
        return model

    def save_replay_buffer(self, path: str | BinaryIO) -> None:
        """Write the replay buffer with ``torch.save`` (tensors and counters only)."""
        th.save(self.replay_buffer.state_dict(), path)

    def load_replay_buffer(self, path: str | BinaryIO, truncate_last_traj: bool = True) -> None:
        """Read a replay buffer written by :meth:`save_replay_buffer` (same env count, capacity and network)."""
        self.replay_buffer.load_state_dict(th.load(path, map_location="cpu", weights_only=True))


# -- spaces in the layout of checkpoints saved before this learner shared checkpoints.space_state ---------------


def _space_state_with_kinds(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """``state`` in :func:`~safexp_sb3.checkpoints.space_state`'s layout; earlier checkpoints of this learner held a
    ``Box`` without its ``kind`` and a ``Dict`` as ``{"dict": {name: Box}}``."""
    if "kind" in state:
        return state
    if "dict" in state:
        entries = state["dict"].items()
        return {"kind": "Dict", "spaces": {name: _space_state_with_kinds(entry) for name, entry in entries}}
    return {"kind": "Box", **state}


# -- registry records --------------------------------------------------------------------------------------------


def make_sac_lag_rnn(env: GymEnv, params: SACLagRNNParams, *, seed: int | None = None,
                     tensorboard_log: str | None = None, verbose: int = 0,
                     device: str = "cpu") -> RecurrentSACLagrangian:
    """:class:`RecurrentSACLagrangian` on ``env`` from validated ``params``."""
    return RecurrentSACLagrangian(env, params, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose,
                                  device=device)


def load_sac_lag_rnn(path: str, env: VecEnv | None = None, *, device: str = "cpu",
                     tensorboard_log: str | None = None) -> RecurrentSACLagrangian:
    """Restore a saved :class:`RecurrentSACLagrangian` onto ``env`` (or none, to act)."""
    return RecurrentSACLagrangian.load(path, env=env, device=device, tensorboard_log=tensorboard_log)
