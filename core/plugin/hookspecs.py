"""The hooks a safexp plugin may implement.

A plugin is a module (or object) with functions marked ``@hookimpl`` (``from safexp.plugin import hookimpl``;
``safexp.hookimpl`` is the same marker) whose names match the specs below; it is found through the ``safexp``
entry-point group (see CONTRIBUTING.md). Registration hooks return (or yield) spec records; every plugin's
records are gathered, none stops the others, and a name two plugins register is a conflict that disables that
name only. A hook name that is not listed here is an error when the plugin loads. The examples below import
what they use from :mod:`safexp.plugin`.
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

    :return: an iterable (a list, or yield them) of :class:`safexp.plugin.RobotSpec`; ``factory(params)``
        returns a :class:`safexp.plugin.RobotModel` (its MJCF contract: CONTRIBUTING.md, "The robot contract").

    Every plugin's records are collected; two robots of one name are a conflict: that name is left out and
    looking it up raises an error naming both plugins.

    Example::

        @hookimpl
        def safexp_robots():
            yield RobotSpec("puck", build_puck, PuckParams, "a sliding puck pushed along x and y")
    """


@hookspec
def safexp_tasks() -> Iterable[TaskSpec]:
    """Register tasks, with the suite levels they define.

    :return: an iterable of :class:`safexp.plugin.TaskSpec`; ``factory(params)`` returns a
        :class:`safexp.plugin.Task`. Collected from every plugin; each level is crossed with every robot into
        the env ids ``safexp/{Robot}{Task}{level}-v0``.

    Example::

        @hookimpl
        def safexp_tasks():
            yield TaskSpec("reach", Reach, ReachParams, "get within 0.3 of the goal",
                           levels={0: {}, 1: {"hazards": {"num": 4}, "costs": ["hazards"]}})
    """


@hookspec
def safexp_hazards() -> Iterable[HazardSpec]:
    """Register scene elements (hazards, vases, pillars, walls, ...).

    :return: an iterable of :class:`safexp.plugin.HazardSpec`; ``factory(params)`` returns a
        :class:`safexp.plugin.Element`, and ``params`` extends :class:`safexp.plugin.PlacementParams`.
        Collected from every plugin; the name is the scene key (``ice={"num": 3}``) and the lidar's
        (``ice_lidar``).

    Example::

        @hookimpl
        def safexp_hazards():
            yield HazardSpec("ice", Ice, IceParams, "slippery-looking patches on the floor")
    """


@hookspec
def safexp_costs() -> Iterable[CostSpec]:
    """Register cost terms (constraints) that scene configurations can name.

    :return: an iterable of :class:`safexp.plugin.CostSpec`; ``factory(params)`` returns a
        :class:`safexp.plugin.CostTerm`. Collected from every plugin; a scene names the term in its ``costs``
        list (``costs=[{"name": "on_ice", "constraint": "ice"}]``).

    Example::

        @hookimpl
        def safexp_costs():
            yield CostSpec("on_ice", OnIce, OnIceParams, "robot's centre on an ice patch")
    """


@hookspec
def safexp_algorithms() -> Iterable[AlgorithmSpec]:
    """Register learning algorithms.

    :return: an iterable of :class:`safexp.plugin.AlgorithmSpec`; ``factory(env, params, *, seed,
        tensorboard_log, verbose, device)`` builds a learner and ``load(path, env, *, device, tensorboard_log)``
        restores one. Collected from every plugin. Import the learning library inside the hook, so that it is
        loaded only when an algorithm is looked up.

    Example::

        @hookimpl
        def safexp_algorithms():
            from safexp_mylib.learners import MyPPOLagParams, load_my_ppo_lag, make_my_ppo_lag

            yield AlgorithmSpec("my_ppo_lag", make_my_ppo_lag, MyPPOLagParams, "PPO-Lagrangian on mylib",
                                load=load_my_ppo_lag)
    """


@hookspec
def safexp_env_created(env: Any) -> None:
    """Called once for every safexp environment, at the end of its construction.

    :param env: the :class:`safexp.engine.env.SafetyEnv` (unwrapped); its ``scene`` holds the resolved
        configuration.
    :return: nothing. Every implementation is called (to log, check or instrument the env); one that raises
        becomes its plugin's load error and is not called again (strict mode: the construction fails).

    Example::

        @hookimpl
        def safexp_env_created(env):
            print(f"built {env.scene.robot}/{env.scene.task} with constraints {env.constraint_names}")
    """


@hookspec
def safexp_training_callbacks(algorithm: str, run_dir: str) -> Iterable[Any]:
    """Extra callbacks of the learning backend for a ``safexp train`` run (safexp-experiments calls it).

    :param algorithm: the algorithm's registry name.
    :param run_dir: the run directory (TensorBoard logs, checkpoints) as a string path.
    :return: an iterable of the backend's own callback objects — for the safexp-sb3 learners,
        ``stable_baselines3.common.callbacks.BaseCallback`` — handed to :meth:`safexp.plugin.Learner.learn` as
        ``native_callbacks``; every plugin's are used. They see the step's ``infos``, ``dones`` and ``rewards``
        one per env of the run, always in the same order; in an actor–learner run, whose actors step in turns,
        the envs of the other actors read ``{}``, ``False`` and 0. An implementation that raises becomes its plugin's load
        error and the run goes on without it (strict mode: the run fails).

    Example::

        @hookimpl
        def safexp_training_callbacks(algorithm, run_dir):
            if algorithm == "ppo_lag":
                yield EarlyStopOnCost(limit=25.0, log_dir=run_dir)
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
