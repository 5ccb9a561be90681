"""The learner contract: what the experiment runner (``safexp train``, evaluation, videos) may call on a learner.

An :class:`~safexp.plugin.AlgorithmSpec` builds a learner; a backend plugin (``safexp-sb3`` for
stable-baselines3) adapts it to :class:`Learner`, so the runner never touches a learning library itself.
The runner hands :meth:`Learner.learn` its :class:`TrainingCallback` objects (cost accounting, evaluation,
checkpoints, progress); the backend calls them from inside its training loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, Protocol, runtime_checkable

import numpy as np


class TrainingCallback(Protocol):
    """Called by a learner while it trains. The runner's callbacks implement both methods."""

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        """After every (vectorised) env step.

        :param learner: the learner, its :attr:`~Learner.num_timesteps` already counting this step.
        :param infos: each env's ``info`` of this step (``info["cost"]`` for safexp envs), always in the same
            env order; a learner that steps its envs in groups (an actor–learner run) gives ``{}`` for the envs
            that did not step.
        :return: ``False`` to stop learning after this step.
        """
        ...

    def on_update_end(self, learner: Learner) -> None:
        """After each update, that is after the data of a collection phase (an on-policy rollout; a collection
        round of an off-policy learner) has been learned from, multipliers included: the consistent point to
        log and to checkpoint, where a checkpoint loses no collected work. Not called for a collection phase
        that a callback cut short (no update follows it)."""
        ...


@runtime_checkable
class Learner(Protocol):
    """A learner as the experiment runner uses it."""

    @property
    def num_timesteps(self) -> int:
        """Env steps learned from so far (summed over the vectorised envs)."""
        ...

    @property
    def steps_per_collection(self) -> int:
        """Env steps of one collection phase (an on-policy rollout: ``n_steps × n_envs``), summed over the envs:
        :meth:`learn` runs whole phases, so it stops at the first multiple of this at or past ``total_steps``."""
        ...

    def learn(self, total_steps: int, callbacks: Sequence[TrainingCallback], native_callbacks: Sequence[Any] = ()) -> None:
        """Train until :attr:`num_timesteps` reaches ``total_steps`` or a callback returns ``False``.

        :param native_callbacks: the backend's own callback objects (from plugins' ``safexp_training_callbacks``).
        """
        ...

    def predict(self, observation: Any, deterministic: bool = True, episode_start: bool = False) -> np.ndarray:
        """The action for one observation of one env.

        :param episode_start: whether ``observation`` is the first of an episode: a recurrent policy, which
            carries its memory from call to call, starts it afresh.
        """
        ...

    def save(self, file: BinaryIO) -> None:
        """Write the learner (weights, optimiser states, multipliers, step count) to a binary file."""
        ...

    @property
    def has_replay_buffer(self) -> bool:
        """Whether the learner keeps a replay buffer that a checkpoint must save too."""
        ...

    def save_replay_buffer(self, file: BinaryIO) -> None:
        """Write the replay buffer (off-policy learners)."""
        ...

    def load_replay_buffer(self, path: str) -> None:
        """Read back a replay buffer written by :meth:`save_replay_buffer`."""
        ...

    def log_to(self, directory: str) -> None:
        """Write the learner's logs (its own scalars and those of :meth:`record`) as TensorBoard event files in
        ``directory``."""
        ...

    def record(self, tag: str, value: float) -> None:
        """Log one scalar (TensorBoard) with the learner's own, written at the next :meth:`dump`."""
        ...

    def dump(self, step: int) -> None:
        """Write the scalars recorded so far at env step ``step``."""
        ...

    def recent_episodes(self) -> list[tuple[float, float]]:
        """(return, cost) of the most recent training episodes (up to 100)."""
        ...

    def cost_rate(self) -> float | None:
        """All cost of the training env steps so far divided by their number (Safety Gym's training cost rate, summed
        over the constraints), as the learner counted it; ``None`` before the first step."""
        ...

    def multipliers(self) -> dict[str, float]:
        """The current Lagrange multiplier of each constraint (empty for unconstrained learners)."""
        ...

    def rng_state(self) -> Any:
        """The state of the random streams the learner draws from (for exact resumes), made of numbers, strings,
        lists, tuples, string-keyed dicts, NumPy arrays and torch tensors: checkpoints store it as JSON."""
        ...

    def set_rng_state(self, state: Any) -> None:
        """Put back a state from :meth:`rng_state`."""
        ...

    def close(self) -> None:
        """Close the learner's envs."""
        ...
