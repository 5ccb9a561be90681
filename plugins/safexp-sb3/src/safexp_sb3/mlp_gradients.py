"""Backpropagation by hand through the small MLPs of the on-policy learners.

An on-policy update runs thousands of minibatch steps on 64×64 networks, where the time goes to the number of
tensor operations and autograd's bookkeeping, not to arithmetic. For a plain MLP (linear layers with one hidden
activation between them) the gradient of a loss with respect to every weight takes a dozen tensor operations
when written out: :class:`MLPLayers` runs the forward pass keeping each layer's input, and takes the gradient
of the loss with respect to the network's output back through the layers, setting every parameter's ``grad``.
The results agree with autograd's to rounding (``tests/test_policy_update.py``, ``tests/test_cost_critic.py``); a
network this does not cover (another layer type) gets ``None`` from :meth:`MLPLayers.of`, one with another
activation runs forward but has no :meth:`~MLPLayers.backward`, and its learner uses autograd.
"""

from __future__ import annotations

from collections.abc import Callable

import torch as th
from torch import nn
from torch.nn import functional as F

ACTIVATIONS: dict[type[nn.Module], Callable[[th.Tensor], th.Tensor]] = {nn.Tanh: th.tanh, nn.ReLU: F.relu}
"""Hidden activations called as functions, which saves a module call per layer (any other is called as its
module)."""

ACTIVATION_DERIVATIVES: dict[type[nn.Module], Callable[[nn.Module, th.Tensor], th.Tensor]] = {
    nn.Tanh: lambda module, out: 1.0 - out * out,
    nn.ReLU: lambda module, out: (out > 0).to(out.dtype),
    nn.ELU: lambda module, out: th.where(out > 0, 1.0, out + module.alpha),
}
"""The derivative of each hidden activation backpropagated by hand, written in terms of the activation's output
(the module is passed for its settings, ELU's ``alpha``)."""


class MLPLayers:
    """The linear layers of a plain MLP and its hidden activation (the same module after every layer but the last).

    :param linears: the layers, input first.
    :param activation: the hidden activation (``None`` for a single layer).
    """

    def __init__(self, linears: list[nn.Linear], activation: nn.Module | None) -> None:
        self.activation = activation
        self.layers = [(linear.weight, linear.bias) for linear in linears]  # updates and loads work in place
        self.last = len(linears) - 1
        self.apply_activation = ACTIVATIONS.get(type(activation), activation)
        self.derivative = ACTIVATION_DERIVATIVES.get(type(activation)) if activation is not None else None
        self.has_backward = activation is None or self.derivative is not None
        """Whether :meth:`backward` can run: the activation is one of :data:`ACTIVATION_DERIVATIVES`."""

    @classmethod
    def of(cls, *modules: nn.Module) -> MLPLayers | None:
        """The MLP formed by ``modules`` in order (``nn.Sequential`` blocks of ``Linear`` and activation modules,
        or ``Linear`` layers), or ``None`` unless it alternates linear layers and one activation (the same type
        and settings throughout), ending with a linear layer."""
        flat = [m for module in modules for m in (module if isinstance(module, nn.Sequential) else [module])]
        linears, activations = flat[::2], flat[1::2]
        if not linears or not all(isinstance(m, nn.Linear) for m in linears) or len(activations) != len(linears) - 1:
            return None
        if any(isinstance(m, nn.Linear) for m in activations) or len({repr(m) for m in activations}) > 1:
            return None
        return cls(linears, activations[0] if activations else None)

    def forward(self, x: th.Tensor) -> tuple[th.Tensor, list[th.Tensor]]:
        """The network's output on ``x`` ``(batch, in)``, and the input of each linear layer (kept for
        :meth:`backward`)."""
        inputs = []
        for k, (weight, bias) in enumerate(self.layers):
            inputs.append(x)
            x = th.addmm(bias, x, weight.T)
            if k < self.last:
                x = self.apply_activation(x)
        return x, inputs

    def backward(self, inputs: list[th.Tensor], grad_output: th.Tensor) -> None:
        """Set every weight's and bias's ``grad`` from ``grad_output``, the gradient of the loss with respect to
        the output of the :meth:`forward` that returned ``inputs`` (only where :attr:`has_backward`)."""
        for k in range(self.last, -1, -1):
            (weight, bias), layer_input = self.layers[k], inputs[k]
            weight.grad = grad_output.T @ layer_input
            bias.grad = grad_output.sum(dim=0)
            if k > 0:  # through the linear layer, then the activation that produced its input
                grad_output = (grad_output @ weight) * self.derivative(self.activation, layer_input)
