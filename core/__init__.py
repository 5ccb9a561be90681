"""safexp: constrained reinforcement learning on MuJoCo, extended by plugins.

A plugin author needs :data:`hookimpl`, the spec records and the base classes (:class:`Element`,
:class:`Task`, :class:`CostTerm`, :class:`RobotModel`); a user needs ``gymnasium.make("safexp/...")`` — the
suite ids are registered when this package is imported — or :func:`make`, and the ``safexp`` command line.
"""

import os as _os

if "MUJOCO_GL" not in _os.environ and not _os.environ.get("DISPLAY"):
    _os.environ["MUJOCO_GL"] = "egl"  # headless by default; set MUJOCO_GL=osmesa to use OSMesa instead

from typing import Any

import gymnasium

from safexp.cost import CostTerm
from safexp.element import Element, PlacementParams
from safexp.errors import SafexpError
from safexp.hookspecs import hookimpl
from safexp.robot import RobotModel
from safexp.specs import AlgorithmSpec, CostSpec, HazardSpec, NoParams, RobotSpec, TaskSpec
from safexp.task import Task

__version__ = "0.1.0"


def make(robot: str | None = None, task: str | None = None, level: int | None = None, **kwargs: Any) -> gymnasium.Env:
    """``gymnasium.make("safexp/Arena-v0", robot=..., task=..., level=..., **kwargs)``: any scene, 1000-step episodes.

    ``kwargs`` are scene keys (see :mod:`safexp.scene`), ``render_mode``, ``scene_file`` or Gymnasium's own
    ``max_episode_steps``.
    """
    from safexp.registry.catalogue import ARENA_ID

    return gymnasium.make(ARENA_ID, robot=robot, task=task, level=level, **kwargs)


def scene_config(robot: str | None = None, task: str | None = None, level: int | None = None, **kwargs: Any) -> Any:
    """Resolve and validate a scene without building its model (see :func:`safexp.scene.scene_config`)."""
    from safexp.scene import scene_config as resolve

    return resolve(robot, task, level, **kwargs)


__all__ = [
    "AlgorithmSpec",
    "CostSpec",
    "CostTerm",
    "Element",
    "HazardSpec",
    "NoParams",
    "PlacementParams",
    "RobotModel",
    "RobotSpec",
    "SafexpError",
    "Task",
    "TaskSpec",
    "hookimpl",
    "make",
    "scene_config",
]

from safexp.registry.catalogue import register_envs as _register_envs  # noqa: E402  (plugins import safexp)

_register_envs()

_LAZY = {"train": "safexp.training", "resume": "safexp.training", "evaluate": "safexp.evaluation"}


def __getattr__(name: str) -> Any:
    """``safexp.train``, ``safexp.resume`` and ``safexp.evaluate``, imported on first use (they load torch)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'safexp' has no attribute '{name}'")
