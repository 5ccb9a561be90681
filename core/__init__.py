"""safexp: constrained reinforcement learning on MuJoCo, extended by plugins.

A plugin author needs :data:`hookimpl` and the spec records; a user needs ``gymnasium.make("safexp/...")``
(the suite ids are registered when this package is imported) and the ``safexp`` command line.
"""

from safexp.errors import SafexpError
from safexp.hookspecs import hookimpl
from safexp.robot import RobotModel
from safexp.specs import AlgorithmSpec, CostSpec, HazardSpec, NoParams, RobotSpec, TaskSpec

__version__ = "0.1.0"

__all__ = [
    "AlgorithmSpec",
    "CostSpec",
    "HazardSpec",
    "NoParams",
    "RobotModel",
    "RobotSpec",
    "SafexpError",
    "TaskSpec",
    "hookimpl",
]
