"""The per-minibatch pieces of an on-policy update, written lean: an update runs thousands of minibatches of 64 on
small networks, where the time goes to the number of tensor operations and Python calls, not to arithmetic.

- :class:`ActorCriticPass`: the actions sampled at an env step (the actor alone), or the values, log-probabilities
  and entropies of a minibatch or a whole rollout, in one pass of the policy's actor and critic, with the
  operations of stable-baselines3's ``ActorCriticPolicy.evaluate_actions`` (so a minibatch's results are
  bit-identical) but without building ``torch.distributions`` objects (whose argument checks and broadcasting
  cost more than the networks) and without module-call overhead; and :meth:`ActorCriticPass.ppo_gradients` and
  :meth:`ActorCriticPass.value_gradients`, the gradients of PPO's minibatch loss and of the critic's squared
  error derived by hand (:mod:`safexp_sb3.mlp_gradients`), which agree with autograd's to rounding at about
  half its cost.
- :func:`clipped_step`: ``clip_grad_norm_``'s very operations on a fixed parameter list, and the optimiser step.
- :func:`critic_passes`: the critics' minibatch passes of a trust-region update.
- :func:`use_fused_adam`: the policy's Adam optimiser in torch's fused implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn
from torch.nn import functional as F

from safexp_sb3.cost_critic import CostCritic
from safexp_sb3.mlp_gradients import MLPLayers
from safexp_sb3.rollout_tensors import RolloutTensors

LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
GAUSSIAN_ENTROPY_CONSTANT = 0.5 + 0.5 * math.log(2 * math.pi)


def _gaussian_log_prob(actions: th.Tensor, mean: th.Tensor, std: th.Tensor) -> th.Tensor:
    """``Normal(mean, std).log_prob(actions)`` summed over the action dimensions, in torch's own operations."""
    return (-((actions - mean) ** 2) / (2 * std**2) - std.log() - LOG_SQRT_2PI).sum(dim=1)


def _ratio_statistics(ratio: th.Tensor, log_ratio: th.Tensor, clip_range: float) -> tuple[th.Tensor, th.Tensor]:
    """PPO's diagnostics of a minibatch's probability ratios ``ρ``: the fraction clipped (``|ρ − 1| > ε``) and the
    approximate KL ``mean((ρ − 1) − log ρ)``."""
    return ((ratio - 1).abs() > clip_range).float().mean(), ((ratio - 1) - log_ratio).mean()


class ActorCriticPass:
    """The actions of ``policy(observations)``, ``policy.evaluate_actions`` and ``policy.predict_values``, lean where
    the policy allows it.

    The lean pass applies to stable-baselines3's ``ActorCriticPolicy`` with a flat ``Box`` observation (its
    ``FlattenExtractor``, one shared extractor) and a flat ``Box`` action, plain MLPs for actor and critic
    (:class:`~safexp_sb3.mlp_gradients.MLPLayers`) and a diagonal Gaussian without state-dependent exploration,
    the policy of every safexp on-policy learner on a vector observation; any other policy goes through its own
    methods and autograd.

    :param policy: the learner's policy (its parameter tensors are kept: loads and updates, which work in place,
        count; replacing a parameter by a new one does not).
    """

    def __init__(self, policy: ActorCriticPolicy) -> None:
        self.policy = policy
        self.actor = self.critic = None
        if (type(policy) is ActorCriticPolicy and isinstance(policy.features_extractor, FlattenExtractor)
                and policy.share_features_extractor and isinstance(policy.observation_space, spaces.Box)
                and len(policy.observation_space.shape) == 1 and len(policy.action_space.shape) == 1
                and isinstance(policy.action_dist, DiagGaussianDistribution)):
            self.actor = MLPLayers.of(policy.mlp_extractor.policy_net, policy.action_net)
            self.critic = MLPLayers.of(policy.mlp_extractor.value_net, policy.value_net)
        self.lean = self.actor is not None and self.critic is not None
        self.by_hand = self.lean and self.actor.has_backward and self.critic.has_backward
        """Whether :meth:`ppo_gradients` and :meth:`value_gradients` are derived by hand (else autograd)."""

    def sample(self, observations: th.Tensor) -> th.Tensor:
        """The actions ``policy(observations)`` samples (call it under ``torch.no_grad``; lean policies only), from
        the actor alone and drawn from torch's generator exactly as the policy draws them: collection evaluates the
        values and log-probabilities of a whole rollout in one batched pass after it (:meth:`evaluate`)."""
        mean, _ = self.actor.forward(observations.float())
        std = self.policy.log_std.exp()  # broadcast over the batch: the same values as the policy's ones_like · σ
        return mean + th.empty(mean.shape, dtype=mean.dtype, device=mean.device).normal_() * std

    def evaluate(self, observations: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """``(values, log_prob, entropy)`` of a batch, each of shape ``(batch,)``: the values flattened, the
        log-probabilities of ``actions``, the entropies (``None`` for a distribution without one)."""
        if not self.lean:
            values, log_prob, entropy = self.policy.evaluate_actions(observations, actions)
            return values.flatten(), log_prob, entropy
        observations = observations.float()
        mean, _ = self.actor.forward(observations)
        values = self.critic.forward(observations)[0].flatten()
        std = th.ones_like(mean) * self.policy.log_std.exp()
        log_prob = _gaussian_log_prob(actions, mean, std)
        entropy = (GAUSSIAN_ENTROPY_CONSTANT + th.log(std)).sum(dim=1)
        return values, log_prob, entropy

    def values(self, observations: th.Tensor) -> th.Tensor:
        """The reward critic's values of a batch, shape ``(batch,)``."""
        if not self.lean:
            return self.policy.predict_values(observations).flatten()
        return self.critic.forward(observations.float())[0].flatten()

    def ppo_gradients(self, batch: RolloutTensors, clip_range: float, ent_coef: float, vf_coef: float) -> th.Tensor:
        """Set the ``grad`` of every policy parameter to the gradient of PPO's loss on ``batch``::

            L = −mean(min(A·ρ, A·clip(ρ, 1 − ε, 1 + ε))) − c_ent·mean(H) + c_vf·mean((R − V)²),   ρ = π(a|s) / π_old(a|s)

        with ``A`` the batch's advantages, ``R`` its returns, ``H`` the policy's entropy (the mean of −log π
        for a distribution without one) and ``ε`` = ``clip_range``.

        :return: ``[policy loss, value loss, entropy loss, clip fraction, approximate KL]`` (one tensor) before
            the step; the approximate KL is ``mean((ρ − 1) − log ρ)``.

        A lean policy whose actor and critic are plain MLPs (:class:`~safexp_sb3.mlp_gradients.MLPLayers`) gets
        the gradient by hand: with ``g = −(A/N)·ρ`` where ``A·ρ ≤ A·clip(ρ)`` and 0 where the clipped term is the
        minimum (``d L/d log π``), ``d L/dμ = g·(a − μ)/σ²``, ``d L/d log σ = Σ_batch g·((a − μ)²/σ² − 1) − c_ent``
        and ``d L/dV = 2·c_vf·(V − R)/N``, taken back through both networks. Any other policy uses autograd.
        """
        if not self.by_hand:
            return self._ppo_gradients_by_autograd(batch, clip_range, ent_coef, vf_coef)
        with th.no_grad():
            observations = batch.observations.float()
            mean, actor_inputs = self.actor.forward(observations)
            values, critic_inputs = self.critic.forward(observations)
            log_std = self.policy.log_std
            std = log_std.exp()  # broadcast over the batch, as in sample
            log_prob = _gaussian_log_prob(batch.actions, mean, std)
            log_ratio = log_prob - batch.old_log_prob
            ratio = th.exp(log_ratio)
            advantages, n = batch.advantages, ratio.shape[0]
            unclipped = advantages * ratio
            clipped = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
            error = values.flatten() - batch.returns
            entropy = (GAUSSIAN_ENTROPY_CONSTANT + log_std).sum()  # the same for every sample
            terms = th.stack([-th.min(unclipped, clipped).mean(), (error * error).mean(), -entropy,
                              *_ratio_statistics(ratio, log_ratio, clip_range)])

            grad_log_prob = th.where(unclipped <= clipped, unclipped, 0.0) * (-1.0 / n)
            inverse_variance = 1.0 / (std * std)
            deviation = batch.actions - mean
            self.actor.backward(actor_inputs, grad_log_prob[:, None] * deviation * inverse_variance)
            log_std.grad = ((grad_log_prob[:, None] * (deviation * deviation * inverse_variance - 1.0)).sum(dim=0)
                            - ent_coef)
            self.critic.backward(critic_inputs, (error * (2.0 * vf_coef / n))[:, None])
        return terms

    def value_gradients(self, observations: th.Tensor, returns: th.Tensor) -> th.Tensor:
        """Set the ``grad`` of the reward critic's parameters to the gradient of its squared error
        ``mean((V − R)²)`` on a batch (by hand, as :meth:`ppo_gradients`, where the policy allows it); returns the
        error before the step. The actor's gradients are left as they are by hand, cleared by autograd."""
        if not self.by_hand:
            value_loss = F.mse_loss(returns, self.values(observations))
            self.policy.zero_grad()
            value_loss.backward()
            return value_loss.detach()
        with th.no_grad():
            values, inputs = self.critic.forward(observations.float())
            error = values.flatten() - returns
            self.critic.backward(inputs, (error * (2.0 / error.shape[0]))[:, None])
            return (error * error).mean()

    def _ppo_gradients_by_autograd(self, batch: RolloutTensors, clip_range: float, ent_coef: float,
                                   vf_coef: float) -> th.Tensor:
        """:meth:`ppo_gradients` through autograd."""
        values, log_prob, entropy = self.evaluate(batch.observations, batch.actions)
        log_ratio = log_prob - batch.old_log_prob
        ratio = th.exp(log_ratio)
        policy_loss = -th.min(batch.advantages * ratio,
                              batch.advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)).mean()
        value_loss = F.mse_loss(batch.returns, values)
        entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
        self.policy.zero_grad()
        (policy_loss + ent_coef * entropy_loss + vf_coef * value_loss).backward()
        with th.no_grad():
            return th.stack([policy_loss, value_loss, entropy_loss, *_ratio_statistics(ratio, log_ratio, clip_range)])


def clipped_step(optimizer: th.optim.Optimizer, parameters: Sequence[th.Tensor], max_grad_norm: float) -> None:
    """One optimiser step with the gradients of ``parameters`` rescaled to a global norm of at most
    ``max_grad_norm``: ``torch.nn.utils.clip_grad_norm_``'s operations, without its per-call grouping."""
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = th.linalg.vector_norm(th.stack(th._foreach_norm(grads, 2.0)), 2.0)
    th._foreach_mul_(grads, th.clamp(max_grad_norm / (total_norm + 1e-6), max=1.0))
    optimizer.step()


def use_fused_adam(policy: nn.Module) -> None:
    """Rebuild ``policy.optimizer`` (a fresh ``Adam``, before any step) as torch's fused Adam, its settings kept:
    the same update to rounding in one kernel, several times faster than the default implementation on a CPU's
    small tensors. Any other optimiser is left as it is."""
    optimizer = policy.optimizer
    if type(optimizer) is th.optim.Adam and not optimizer.state and not optimizer.defaults.get("fused"):
        policy.optimizer = th.optim.Adam(policy.parameters(), **{**optimizer.defaults, "foreach": None, "fused": True})


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
            value_losses.append(actor_critic.value_gradients(batch.observations, batch.returns))
            for param in actor_parameters:
                param.grad = None
            optimizer.step()
            if cost_critic is not None:
                cost_losses.append(cost_critic.regression_step(batch.observations, batch.cost_returns))
    return th.stack(value_losses).tolist(), cost_losses
