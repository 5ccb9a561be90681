"""The hooks a safexp plugin may implement.

A plugin is a module (or object) with functions marked ``@safexp.hookimpl`` whose names match the specs
below; it is found through the ``safexp`` entry-point group (see CONTRIBUTING.md). Registration hooks return
(or yield) spec records; every plugin's records are gathered, none stops the others. A hook name that is not
listed here is an error when the plugin loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from safexp.plugin.specs import AlgorithmSpec, CommandSpec, CostSpec, HazardSpec, RobotSpec, TaskSpec

hookspec = pluggy.HookspecMarker("safexp")
hookimpl = pluggy.HookimplMarker("safexp")


@hookspec
def safexp_robots() -> Iterable[RobotSpec]:
    """Register robots.

    :return: an iterable (a list, or yield them) of :class:`safexp.RobotSpec`.

    Every plugin's records are collected; two robots of one name are an error naming both plugins.
    """


@hookspec
def safexp_tasks() -> Iterable[TaskSpec]:
    """Register tasks, with the suite levels they define.

    :return: an iterable of :class:`safexp.TaskSpec`. Collected from every plugin.
    """


@hookspec
def safexp_hazards() -> Iterable[HazardSpec]:
    """Register scene elements (hazards, vases, pillars, walls, ...).

    :return: an iterable of :class:`safexp.HazardSpec`. Collected from every plugin.
    """


@hookspec
def safexp_costs() -> Iterable[CostSpec]:
    """Register cost terms (constraints) that scene configurations can name.

    :return: an iterable of :class:`safexp.CostSpec`. Collected from every plugin.
    """


@hookspec
def safexp_algorithms() -> Iterable[AlgorithmSpec]:
    """Register learning algorithms.

    :return: an iterable of :class:`safexp.AlgorithmSpec`. Collected from every plugin.
    """


@hookspec
def safexp_env_created(env: Any) -> None:
    """Called once for every safexp environment, at the end of its construction.

    :param env: the :class:`safexp.SafetyEnv` (unwrapped); its ``scene`` holds the resolved configuration.
    :return: nothing. Every implementation is called (to log, check or instrument the env).
    """


@hookspec
def safexp_training_callbacks(algorithm: str, run_dir: str) -> Iterable[Any]:
    """Extra stable-baselines3 callbacks for a ``safexp train`` run.

    :param algorithm: the algorithm's registry name.
    :param run_dir: the run directory (TensorBoard logs, checkpoints) as a string path.
    :return: an iterable of ``stable_baselines3.common.callbacks.BaseCallback``; every plugin's are used.
    """


@hookspec
def safexp_commands() -> Iterable[CommandSpec]:
    """Add subcommands to the ``safexp`` command line.

    :return: an iterable of :class:`safexp.plugin.CommandSpec`; every plugin's are collected. A command's
        module is imported only when that command is used.

    Example::

        @hookimpl
        def safexp_commands():
            yield CommandSpec("report", "summarise a folder of runs", "safexp_reports.command")
    """
