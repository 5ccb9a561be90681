"""The cost value network V_c of the on-policy learners: its own network and optimiser, one output per constraint."""

from __future__ import annotations

from collections.abc import Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs
from torch import nn
from torch.nn import functional as F

from safexp_sb3.mlp_gradients import MLPLayers


class CostCritic(nn.Module):
    """The cost value network V_c: an MLP on the flattened (preprocessed) observation, one output per constraint.

    :param observation_space: the env's observation space (``Box``, ``Discrete`` or ``MultiDiscrete``...; not a
        ``Dict``: the learners refuse one first, :func:`safexp_sb3.rollouts.set_up_costs`).
    :param n_constraints: the number of output heads.
    :param net_arch: hidden layer sizes.
    :param activation_fn: hidden activation.
    :param learning_rate: Adam step size of its own optimiser (``self.optimizer``: torch's fused Adam, the same
        update as the default implementation with a step about 2.5 times faster on a CPU).

    :meth:`regression_step` takes one step on a minibatch. It runs on every minibatch of every update, next to
    a PPO minibatch step of about the same network size, so its cost is most of what the cost machinery costs
    a learner: with the activations of :data:`~safexp_sb3.mlp_gradients.ACTIVATION_DERIVATIVES` it computes the
    gradient of the squared error by hand (:class:`~safexp_sb3.mlp_gradients.MLPLayers`, no autograd graph),
    which makes the step about 1.6 times faster on the 64×64 networks of the references; other activations go
    through autograd.
    """

    def __init__(self, observation_space: spaces.Space, n_constraints: int, net_arch: Sequence[int],
                 activation_fn: type[nn.Module], learning_rate: float):
        super().__init__()
        self.observation_space = observation_space
        in_dim = int(spaces.flatdim(observation_space))
        layers: list[nn.Module] = []
        for width in net_arch:
            layers += [nn.Linear(in_dim, width), activation_fn()]
            in_dim = width
        layers.append(nn.Linear(in_dim, n_constraints))
        self.net = nn.Sequential(*layers)
        self.optimizer = th.optim.Adam(self.parameters(), lr=learning_rate, fused=True)
        layers = MLPLayers.of(self.net)
        self._layers = layers if layers is not None and layers.has_backward else None  # None: autograd

    def _features(self, observations: th.Tensor) -> th.Tensor:
        return preprocess_obs(observations, self.observation_space, normalize_images=True).float().flatten(start_dim=1)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """V_c of a batch of raw observations (as the rollout buffer stores them): shape ``(batch, n_constraints)``."""
        return self.net(self._features(observations))

    def regression_step(self, observations: th.Tensor, cost_returns: th.Tensor) -> float:
        """One Adam step on the mean squared error between V_c(``observations``) and ``cost_returns`` (both
        ``(batch, n_constraints)``); returns the loss before the step."""
        if self._layers is None:
            loss = F.mse_loss(self(observations), cost_returns)
            self.optimizer.zero_grad()
            loss.backward()
        else:
            with th.no_grad():
                loss = self._backpropagate_squared_error(self._features(observations), cost_returns)
        self.optimizer.step()
        return loss.item()

    def _backpropagate_squared_error(self, features: th.Tensor, targets: th.Tensor) -> th.Tensor:
        """Set every parameter's ``grad`` to the gradient of mean((V_c − targets)²) (:class:`MLPLayers`);
        returns the loss."""
        values, inputs = self._layers.forward(features)
        error = values - targets
        self._layers.backward(inputs, error * (2.0 / error.numel()))  # d loss / d V_c
        return (error * error).mean()
