"""safexp: constrained reinforcement learning on MuJoCo, extended by plugins.

A user needs ``gymnasium.make("safexp/...")`` (the suite ids are registered when this package is imported) or
:func:`make`, and the ``safexp`` command line. A plugin author needs :mod:`safexp.plugin`, whose names are also
re-exported here (:data:`hookimpl`, the spec records, :class:`Element`, :class:`Task`, :class:`CostTerm`,
:class:`RobotModel`, ...).

The package: :mod:`safexp.plugin` (the plugin API), :mod:`safexp.engine` (scene → MJCF → world → env),
:mod:`safexp.registry` (plugin discovery, component tables, the env catalogue), :mod:`safexp.cli` (the command
line, which plugins extend). Importing it loads no learning library and sets no environment variable.
"""

import importlib
import sys
from typing import Any

import gymnasium

from safexp.plugin import (
    AlgorithmSpec,
    CommandSpec,
    CostSpec,
    CostTerm,
    Element,
    HazardSpec,
    NoParams,
    ParameterError,
    PlacementParams,
    RobotModel,
    RobotSpec,
    SafexpError,
    Task,
    TaskSpec,
    UnknownComponentError,
    hookimpl,
)
from safexp.engine.feedback import FeedbackObservation
from safexp.registry.catalogue import ARENA_ID, register_envs

__version__ = "0.1.0"

_MOVED_MODULES = {
    "safexp.world": "safexp.engine.world", "safexp.scene": "safexp.engine.scene",
    "safexp.specs": "safexp.plugin.specs", "safexp.hookspecs": "safexp.plugin.hookspecs",
    "safexp.errors": "safexp.plugin.errors", "safexp.element": "safexp.plugin.element",
    "safexp.task": "safexp.plugin.task", "safexp.robot": "safexp.plugin.robot", "safexp.cost": "safexp.plugin.cost",
    "safexp.env": "safexp.engine.env", "safexp.render": "safexp.engine.render",
}
"""Module paths that plugins written before the package had sub-packages import (``from safexp.world import
World``, ``import safexp.world``, the entry point ``safexp.env:SafetyEnv`` of pickled env specs), each the
module it moved to. New code imports :mod:`safexp.plugin`."""
for _old, _new in _MOVED_MODULES.items():
    sys.modules[_old] = importlib.import_module(_new)
    setattr(sys.modules[__name__], _old.rpartition(".")[2], sys.modules[_new])


def make(robot: str | None = None, task: str | None = None, level: int | None = None, **kwargs: Any) -> gymnasium.Env:
    """``gymnasium.make("safexp/Arena-v0", robot=..., task=..., level=..., **kwargs)``: any scene, 1000-step episodes.

    ``kwargs`` are scene keys (see :mod:`safexp.engine.scene`), ``render_mode``, ``scene_file`` or Gymnasium's own
    ``max_episode_steps``.
    """
    return gymnasium.make(ARENA_ID, robot=robot, task=task, level=level, **kwargs)


def scene_config(robot: str | None = None, task: str | None = None, level: int | None = None, **kwargs: Any) -> Any:
    """Resolve and validate a scene without building its model (see :func:`safexp.engine.scene.scene_config`)."""
    from safexp.engine.scene import scene_config as resolve

    return resolve(robot, task, level, **kwargs)


__all__ = [
    "AlgorithmSpec",
    "CommandSpec",
    "CostSpec",
    "CostTerm",
    "Element",
    "FeedbackObservation",
    "HazardSpec",
    "NoParams",
    "ParameterError",
    "PlacementParams",
    "RobotModel",
    "RobotSpec",
    "SafexpError",
    "Task",
    "TaskSpec",
    "UnknownComponentError",
    "hookimpl",
    "make",
    "scene_config",
]



_MOVED_TO_PLUGINS = {"train": "safexp_experiments.train", "resume": "safexp_experiments.resume",
                     "evaluate": "safexp_experiments.evaluate"}


def __getattr__(name: str) -> Any:
    """Names that moved out of the core into a plugin say where they went (the core imports no plugin)."""
    if name in _MOVED_TO_PLUGINS:
        raise AttributeError(f"safexp.{name} moved to the experiment plugin: use {_MOVED_TO_PLUGINS[name]} "
                             "(pip install safexp-experiments; `make` installs it)")
    raise AttributeError(f"module 'safexp' has no attribute '{name}'")


def _register_suite() -> None:
    """Register the suite ids. A plugin's fault never fails this import: loading records it (``safexp
    plugins`` shows it), and in strict mode the ids are left unregistered with a warning saying why."""
    import warnings

    from safexp.registry import get_registry

    get_registry().loaded_listeners.append(register_envs)  # plugins that load later add their ids then
    try:
        register_envs()
    except SafexpError as exc:
        warnings.warn(f"safexp: suite env ids not registered: {exc}", RuntimeWarning, stacklevel=3)


_register_suite()
