"""The per-minibatch pieces of an on-policy update, written lean: an update runs thousands of minibatches of 64 on
small networks, where the time goes to the number of tensor operations and Python calls, not to arithmetic.

- :class:`ActorCriticPass`: the actions sampled at an env step, or the values, log-probabilities and entropies of
  a minibatch, in one pass of the policy's actor and critic, with the very operations of stable-baselines3's ``ActorCriticPolicy.evaluate_actions``
  (so results are bit-identical) but without building ``torch.distributions`` objects (whose argument checks
  and broadcasting cost more than the networks) and without module-call overhead.
- :func:`clipped_gradient_step`: ``zero_grad``, ``backward``, ``clip_grad_norm_``'s very operations on a fixed
  parameter list, and the optimiser step.
- :func:`critic_passes`: the critics' minibatch passes of a trust-region update.
- :func:`use_foreach_adam`: the policy's Adam optimiser with its multi-tensor implementation, which takes the
  same steps bit for bit in about half the time of the default one on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn
from torch.nn import functional as F

from safexp_sb3.cost_critic import CostCritic
from safexp_sb3.rollout_tensors import RolloutTensors

LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
GAUSSIAN_ENTROPY_CONSTANT = 0.5 + 0.5 * math.log(2 * math.pi)
ACTIVATIONS: dict[type[nn.Module], Callable[[th.Tensor], th.Tensor]] = {nn.Tanh: th.tanh, nn.ReLU: F.relu}
"""Hidden activations called as functions (any other is called as its module)."""

Layer = Callable[[th.Tensor], th.Tensor]


def _layers(network: nn.Module) -> list[Layer]:
    """The layers of an ``nn.Sequential`` of ``Linear`` and activation modules as plain functions."""
    layers: list[Layer] = []
    for module in network:
        if isinstance(module, nn.Linear):
            layers.append(lambda x, m=module: F.linear(x, m.weight, m.bias))
        else:
            layers.append(ACTIVATIONS.get(type(module), module))
    return layers


def _run(layers: Sequence[Layer], x: th.Tensor) -> th.Tensor:
    for layer in layers:
        x = layer(x)
    return x


def _gaussian_log_prob(actions: th.Tensor, mean: th.Tensor, std: th.Tensor) -> th.Tensor:
    """``Normal(mean, std).log_prob(actions)`` summed over the action dimensions, in torch's own operations."""
    return (-((actions - mean) ** 2) / (2 * std**2) - std.log() - LOG_SQRT_2PI).sum(dim=1)


class ActorCriticPass:
    """``policy(observations)``, ``policy.evaluate_actions`` and ``policy.predict_values``, lean where the policy allows it.

    The lean pass applies to stable-baselines3's ``ActorCriticPolicy`` with a flat ``Box`` observation (its
    ``FlattenExtractor``, one shared extractor) and a diagonal Gaussian without state-dependent exploration, the
    policy of every safexp on-policy learner on a vector observation; any other policy goes through its own
    methods.

    :param policy: the learner's policy (its parameters are read at every call, so loads and in-place updates
        count).
    """

    def __init__(self, policy: ActorCriticPolicy) -> None:
        self.policy = policy
        self.lean = (type(policy) is ActorCriticPolicy and isinstance(policy.features_extractor, FlattenExtractor)
                     and policy.share_features_extractor and isinstance(policy.observation_space, spaces.Box)
                     and len(policy.observation_space.shape) == 1
                     and isinstance(policy.action_dist, DiagGaussianDistribution)
                     and all(isinstance(m, nn.Sequential) for m in (policy.mlp_extractor.policy_net,
                                                                    policy.mlp_extractor.value_net)))
        if self.lean:
            self.actor = [*_layers(policy.mlp_extractor.policy_net), _layers(nn.Sequential(policy.action_net))[0]]
            self.critic = [*_layers(policy.mlp_extractor.value_net), _layers(nn.Sequential(policy.value_net))[0]]

    def act(self, observations: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """``policy(observations)`` (call it under ``torch.no_grad``): sampled actions, values of shape
        ``(batch, 1)`` and log-probabilities, the actions drawn from torch's generator exactly as the policy draws
        them."""
        if not self.lean:
            return self.policy(observations)
        observations = observations.float()
        mean = _run(self.actor, observations)
        values = _run(self.critic, observations)
        std = th.ones_like(mean) * self.policy.log_std.exp()
        actions = mean + th.empty(mean.shape, dtype=mean.dtype, device=mean.device).normal_() * std
        return actions, values, _gaussian_log_prob(actions, mean, std)

    def evaluate(self, observations: th.Tensor, actions: th.Tensor, with_entropy: bool = True
                 ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """``(values, log_prob, entropy)`` of a batch, each of shape ``(batch,)``: the values flattened, the
        log-probabilities of ``actions``, the entropies (``None`` when not ``with_entropy``, or for a distribution
        without one)."""
        if not self.lean:
            values, log_prob, entropy = self.policy.evaluate_actions(observations, actions)
            return values.flatten(), log_prob, entropy if with_entropy else None
        observations = observations.float()
        mean = _run(self.actor, observations)
        values = _run(self.critic, observations).flatten()
        std = th.ones_like(mean) * self.policy.log_std.exp()
        log_prob = _gaussian_log_prob(actions, mean, std)
        entropy = (GAUSSIAN_ENTROPY_CONSTANT + th.log(std)).sum(dim=1) if with_entropy else None
        return values, log_prob, entropy

    def values(self, observations: th.Tensor) -> th.Tensor:
        """The reward critic's values of a batch, shape ``(batch,)``."""
        if not self.lean:
            return self.policy.predict_values(observations).flatten()
        return _run(self.critic, observations.float()).flatten()


def clipped_gradient_step(optimizer: th.optim.Optimizer, parameters: Sequence[th.Tensor], loss: th.Tensor,
                          max_grad_norm: float) -> None:
    """One optimiser step on ``loss`` with the gradients of ``parameters`` rescaled to a global norm of at most
    ``max_grad_norm``: ``torch.nn.utils.clip_grad_norm_``'s operations, without its per-call grouping."""
    optimizer.zero_grad()
    loss.backward()
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = th.linalg.vector_norm(th.stack(th._foreach_norm(grads, 2.0)), 2.0)
    th._foreach_mul_(grads, th.clamp(max_grad_norm / (total_norm + 1e-6), max=1.0))
    optimizer.step()


def use_foreach_adam(policy: nn.Module) -> None:
    """Rebuild ``policy.optimizer`` (a fresh ``Adam``, before any step) with ``foreach=True``, its settings kept;
    any other optimiser is left as it is."""
    optimizer = policy.optimizer
    if type(optimizer) is th.optim.Adam and not optimizer.state and not optimizer.defaults.get("fused"):
        policy.optimizer = th.optim.Adam(policy.parameters(), **{**optimizer.defaults, "foreach": True})


def critic_passes(rollout: RolloutTensors, passes: int, batch_size: int, actor_critic: ActorCriticPass,
                  optimizer: th.optim.Optimizer, actor_parameters: Sequence[th.Tensor],
                  cost_critic: CostCritic | None) -> tuple[list[float], list[float]]:
    """The critics of a trust-region update (TRPO-Lagrangian, CPO): ``passes`` passes over ``rollout`` in shuffled
    minibatches of ``batch_size``; on each, one ``optimizer`` step on the reward critic's squared error (the
    actor's gradients cleared, so the step leaves the actor alone), then one step of ``cost_critic`` (``None``:
    the cost critic trains on its own schedule). Returns the value losses and the cost value losses."""
    value_losses, cost_losses = [], []
    for _ in range(passes):
        for batch in rollout.shuffled().minibatches(batch_size):
            value_loss = F.mse_loss(batch.returns, actor_critic.values(batch.observations))
            value_losses.append(value_loss.detach())
            optimizer.zero_grad()
            value_loss.backward()
            for param in actor_parameters:
                param.grad = None
            optimizer.step()
            if cost_critic is not None:
                cost_losses.append(cost_critic.regression_step(batch.observations, batch.cost_returns))
    return th.stack(value_losses).tolist(), cost_losses
