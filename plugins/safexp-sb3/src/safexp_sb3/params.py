"""From a validated hyperparameter record (:mod:`safexp_sb3.hyperparameters`) to a learner's constructor arguments.

The factories of the learners (``make_<name>`` in each learner's module) turn a params record into keyword
arguments with the functions here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from gymnasium import spaces
from stable_baselines3.common.type_aliases import GymEnv
from torch import nn

from safexp.plugin import ParameterError, choices_hint
from safexp_sb3.hyperparameters import CostLimitParams, MultiplierParams, PolicyParams

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}
"""Hidden activations by the name a params record gives them."""

NETWORK_FIELDS = ("net_arch", "activation")
"""The fields of :class:`PolicyParams` that become ``policy_kwargs`` instead of constructor arguments."""


def network_kwargs(params: PolicyParams) -> dict[str, Any]:
    """The ``policy_kwargs`` of ``params``: ``net_arch`` and the ``activation_fn`` class.

    :raises ParameterError: for an activation name not in :data:`ACTIVATIONS`, naming the valid ones.
    """
    if params.activation not in ACTIVATIONS:
        raise ParameterError(f"unknown activation '{params.activation}'; {choices_hint(params.activation, ACTIVATIONS)}")
    return {"net_arch": list(params.net_arch), "activation_fn": ACTIVATIONS[params.activation]}


def stock_kwargs(params: PolicyParams, schema: type[PolicyParams]) -> dict[str, Any]:
    """The keyword arguments of the stock stable-baselines3 / sb3-contrib constructor that ``schema`` describes.

    :param params: a validated params record (an instance of ``schema`` or of a record built on it).
    :param schema: the record whose fields are the stock learner's arguments (``PPOParams``, ``TRPOParams``,
        ``SACParams``); fields that other records add to ``params`` (cost, multiplier) are left out.
    :return: one entry per field of ``schema``, except :data:`NETWORK_FIELDS`, which become ``policy_kwargs``
        (:func:`network_kwargs`).
    """
    kwargs = {f.name: getattr(params, f.name) for f in fields(schema) if f.name not in NETWORK_FIELDS}
    kwargs["policy_kwargs"] = network_kwargs(params)
    return kwargs


def stock_policy(env: GymEnv) -> str:
    """The stock policy class for ``env``'s observations: ``MultiInputPolicy`` for a ``Dict`` space (images among
    its entries: a CNN each), else ``MlpPolicy``."""
    return "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"


def cost_limit_argument(params: CostLimitParams) -> float | dict[str, float]:
    """The ``cost_limit`` argument of a constrained learner: the ``cost_limits`` mapping when it names any
    constraint, else the one ``cost_limit`` of every constraint."""
    return dict(params.cost_limits) if params.cost_limits else float(params.cost_limit)


def multiplier_kwargs(params: MultiplierParams) -> dict[str, Any]:
    """The ``multiplier`` and ``multiplier_settings`` arguments of a Lagrangian learner (the settings that are set)."""
    settings = {f.name: getattr(params.multiplier_settings, f.name) for f in fields(params.multiplier_settings)}
    return {"multiplier": params.multiplier,
            "multiplier_settings": {name: value for name, value in settings.items() if value is not None}}


_TRUNCATED_MINIBATCH = re.compile(r"after every (?P<full>\d+) untruncated mini-batches")
EXPECTED_FULL_MINIBATCHES = 10
"""From this many full minibatches before the short last one, a truncated minibatch is expected, not news."""


@contextmanager
def expected_truncation_quiet() -> Iterator[None]:
    """Drop stable-baselines3's truncated-minibatch warning where it is expected, keep every other warning.

    PPO and TRPO warn whenever ``n_steps × n_envs`` is not a multiple of ``batch_size``. The reference settings
    (20,000 steps, minibatches of 64 or 128) always leave one short minibatch after hundreds of full ones, so the
    warning would fire on every run; with fewer than :data:`EXPECTED_FULL_MINIBATCHES` full ones, the short one
    weighs on the update and the warning is kept.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:  # also when the learner's constructor raises: its warnings may say why
        for warning in caught:
            match = _TRUNCATED_MINIBATCH.search(str(warning.message))
            if not (match and int(match["full"]) >= EXPECTED_FULL_MINIBATCHES):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
