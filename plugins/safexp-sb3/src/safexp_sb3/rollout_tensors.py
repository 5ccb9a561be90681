"""A collected rollout as flat torch tensors, made once per update, and its shuffled minibatches as views.

stable-baselines3's ``RolloutBuffer.get`` copies every field out of numpy into new tensors for every minibatch.
:meth:`RolloutTensors.from_buffer` converts each field once per update; :meth:`RolloutTensors.shuffled` gathers
each field once per pass, in the order of a permutation drawn from numpy's global generator exactly as
``RolloutBuffer.get`` draws it (so the minibatches are stock's, sample for sample); :meth:`RolloutTensors.minibatches`
then cuts contiguous slices, which are views: a minibatch allocates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer

from safexp_sb3.cost_buffer import CostRolloutBuffer, CostRolloutBufferSamples


class RolloutTensors(CostRolloutBufferSamples):
    """The samples of a rollout (the fields of :class:`~safexp_sb3.cost_buffer.CostRolloutBufferSamples`),
    env-major as stable-baselines3 flattens them (``n_envs·n_steps`` rows).

    ``actions`` are as the policy evaluates them (a flat ``long`` tensor for a ``Discrete`` space); the cost fields
    have shape ``(rows, n_constraints)``; the others one value per row.
    """

    __slots__ = ()

    @classmethod
    def from_buffer(cls, buffer: CostRolloutBuffer, action_space: spaces.Space) -> RolloutTensors:
        """The filled ``buffer``'s fields, converted once (float32, as the buffer holds them). The buffer's arrays
        are first flattened env-major in place, as stable-baselines3's ``RolloutBuffer.get`` leaves them."""
        if not buffer.generator_ready:
            for name in ("observations", "actions", "values", "log_probs", "advantages", "returns",
                         *CostRolloutBuffer.COST_FIELDS):
                setattr(buffer, name, np.ascontiguousarray(RolloutBuffer.swap_and_flatten(getattr(buffer, name))))
            buffer.generator_ready = True

        def tensor(array: np.ndarray) -> th.Tensor:
            return th.from_numpy(array).to(buffer.device)

        actions = tensor(buffer.actions)
        if isinstance(action_space, spaces.Discrete):
            actions = actions.long().flatten()
        return cls(tensor(buffer.observations), actions, tensor(buffer.values).flatten(),
                   tensor(buffer.log_probs).flatten(), tensor(buffer.advantages).flatten(),
                   tensor(buffer.returns).flatten(), tensor(buffer.cost_advantages), tensor(buffer.cost_returns))

    @property
    def size(self) -> int:
        """The number of samples."""
        return self.observations.shape[0]

    def shuffled(self) -> RolloutTensors:
        """Every field gathered in the order of ``np.random.permutation(size)`` (one pass of stock's ``get``)."""
        order = th.from_numpy(np.random.permutation(self.size)).to(self.observations.device)
        return RolloutTensors(*(field[order] for field in self))

    def minibatches(self, batch_size: int) -> Iterator[RolloutTensors]:
        """Consecutive minibatches of ``batch_size`` samples (the last may be smaller), as views."""
        yield from (RolloutTensors(*fields) for fields in zip(*(field.split(batch_size) for field in self), strict=True))
