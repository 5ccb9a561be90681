"""The hook implementations of the ``safexp-sb3`` plugin: the learners it registers.

On-policy (:mod:`safexp_sb3.algorithms`): ``ppo_lag``, ``pid_lag``, ``trpo_lag``, ``cpo`` and the unconstrained
``ppo`` and ``trpo``. Off-policy (:mod:`safexp_sb3.sac_lag`): ``sac_lag`` and ``sac``.
"""

from __future__ import annotations

from collections.abc import Iterable

import safexp
from safexp import AlgorithmSpec
from safexp_sb3.algorithms import ON_POLICY_SPECS
from safexp_sb3.sac_lag import SAC_SPECS


@safexp.hookimpl
def safexp_algorithms() -> Iterable[AlgorithmSpec]:
    """Register the learners.

    :return: the :class:`safexp.AlgorithmSpec` records of the on-policy and the off-policy learners.
    """
    return [*ON_POLICY_SPECS, *SAC_SPECS]
