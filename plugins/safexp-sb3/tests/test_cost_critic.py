"""The cost critic's regression step: the hand-derived gradient of the squared error is autograd's, for every
activation it covers, every depth and several heads; an activation it does not cover goes through autograd."""

import copy

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from safexp_sb3.cost_critic import CostCritic
from safexp_sb3.mlp_gradients import ACTIVATION_DERIVATIVES

BOX = spaces.Box(-np.inf, np.inf, (7,), np.float32)


def _batch(n_constraints: int, seed: int = 0) -> tuple[th.Tensor, th.Tensor]:
    generator = th.Generator().manual_seed(seed)
    return th.randn(32, 7, generator=generator), th.randn(32, n_constraints, generator=generator) * 3.0


def _autograd_gradients(critic: CostCritic, observations: th.Tensor, targets: th.Tensor) -> list[th.Tensor]:
    critic.zero_grad()
    F.mse_loss(critic(observations), targets).backward()
    return [p.grad.clone() for p in critic.parameters()]


@pytest.mark.parametrize("activation", sorted(ACTIVATION_DERIVATIVES, key=lambda cls: cls.__name__),
                         ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(("net_arch", "n_constraints"), [([16, 16], 1), ([8], 3), ([], 2)])
def test_hand_derived_gradient_is_autograds(activation, net_arch, n_constraints):
    th.manual_seed(1)
    critic = CostCritic(BOX, n_constraints, net_arch, activation, learning_rate=1e-3)
    observations, targets = _batch(n_constraints)
    expected = _autograd_gradients(critic, observations, targets)
    with th.no_grad():
        loss = critic._backpropagate_squared_error(critic._features(observations), targets)
    assert loss.item() == pytest.approx(F.mse_loss(critic(observations), targets).item(), rel=1e-6)
    for got, want in zip((p.grad for p in critic.parameters()), expected):
        th.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def test_relu_and_elu_derivatives_see_negative_pre_activations():
    """The batch drives part of every hidden unit below zero, where ReLU's and ELU's slopes differ from 1."""
    th.manual_seed(2)
    for activation in (nn.ReLU, nn.ELU):
        critic = CostCritic(BOX, 1, [16], activation, learning_rate=1e-3)
        observations, _ = _batch(1)
        hidden = critic.net[0](observations)
        assert (hidden < 0).any() and (hidden > 0).any()


def test_regression_step_matches_an_autograd_adam_step_and_lowers_the_loss():
    th.manual_seed(3)
    critic = CostCritic(BOX, 2, [16, 16], nn.Tanh, learning_rate=1e-2)
    reference = copy.deepcopy(critic)
    reference._layers = None  # the autograd path
    observations, targets = _batch(2)
    losses = [critic.regression_step(observations, targets) for _ in range(50)]
    reference_losses = [reference.regression_step(observations, targets) for _ in range(50)]
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-4)
    for got, want in zip(critic.parameters(), reference.parameters()):
        th.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    assert losses[-1] < 0.5 * losses[0]


def test_an_activation_without_a_derivative_trains_through_autograd():
    th.manual_seed(4)
    critic = CostCritic(BOX, 1, [16], nn.GELU, learning_rate=1e-2)
    assert critic._layers is None
    observations, targets = _batch(1)
    losses = [critic.regression_step(observations, targets) for _ in range(50)]
    assert losses[-1] < 0.5 * losses[0]
