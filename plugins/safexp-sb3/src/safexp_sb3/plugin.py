"""The hook implementations of the ``safexp-sb3`` plugin: the learners it registers.

On-policy (:mod:`safexp_sb3.algorithms`): ``ppo_lag``, ``pid_lag``, ``trpo_lag``, ``cpo`` and the unconstrained
``ppo`` and ``trpo``. Off-policy (:mod:`safexp_sb3.sac_lag`): ``sac_lag`` and ``sac``.

The learner modules are imported inside the hook, not at the top: ``import safexp`` loads every plugin (it
registers the suite env ids), so a user who first imports, say, ``safexp_sb3.cpo`` would otherwise have this
module import ``safexp_sb3.cpo`` again while it is half initialised.
"""

from __future__ import annotations

from collections.abc import Iterable

import safexp
from safexp import AlgorithmSpec


@safexp.hookimpl
def safexp_algorithms() -> Iterable[AlgorithmSpec]:
    """Register the learners.

    :return: the :class:`safexp.AlgorithmSpec` records of the on-policy and the off-policy learners.
    """
    from safexp_sb3.algorithms import ON_POLICY_SPECS
    from safexp_sb3.sac_lag import SAC_SPECS

    return [*ON_POLICY_SPECS, *SAC_SPECS]
