"""The typed, frozen records plugins yield from the registration hooks.

Every component — a robot, a task, a scene element ("hazard"), a cost term or a learning algorithm — is
described by one record: a unique lower-case ``name``, a ``factory`` that builds it, a ``params`` dataclass
that is its parameter schema (field names, types, defaults; its docstring documents them), and a one-line
``description``. The registry gathers these records into name → record tables (:mod:`safexp.registry`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from safexp.plugin.element import PlacementParams

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class NoParams:
    """A component without parameters."""


def kind_singular(kind: str) -> str:
    """A kind's name for one of its components: ``robots`` → ``robot``, ``hazards`` → ``hazard``."""
    return kind[:-1]


@dataclass(frozen=True)
class ComponentSpec:
    """What every component record has. Use one of the kind-specific subclasses below."""

    kind: ClassVar[str] = "component"

    name: str
    factory: Callable[..., Any]
    params: type = NoParams
    description: str = ""

    @property
    def label(self) -> str:
        """The component as error messages name it: ``robot 'point'``."""
        return f"{kind_singular(self.kind)} '{self.name}'"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"{type(self).__name__} name {self.name!r} must be lower-case letters, digits and '_', "
                "starting with a letter"
            )
        if not callable(self.factory):
            raise TypeError(f"{type(self).__name__} '{self.name}': factory {self.factory!r} is not callable")
        if not (isinstance(self.params, type) and dataclasses.is_dataclass(self.params)):
            raise TypeError(f"{type(self).__name__} '{self.name}': params must be a dataclass type, got {self.params!r}")


@dataclass(frozen=True)
class RobotSpec(ComponentSpec):
    """A robot. ``factory(params) -> safexp.RobotModel``: the robot's MJCF and how it is driven."""

    kind: ClassVar[str] = "robots"


@dataclass(frozen=True)
class NamedEnv:
    """An environment a task registers under a name of its own, ``safexp/{name}-v0`` (``safexp/PointCircle-v0``):
    one robot on one of the task's levels (with that robot's ``robot_overrides``) and its own episode length, as a
    paper defines its benchmark."""

    robot: str
    level: int
    max_episode_steps: int
    description: str = ""


def level_order(level: int | str) -> tuple[int, int | str]:
    """The sort key of a task level: the numbered levels first, in order, then the named ones alphabetically."""
    return (1, level) if isinstance(level, str) else (0, level)


@dataclass(frozen=True)
class TaskSpec(ComponentSpec):
    """A task. ``factory(params) -> safexp.Task``: the elements it places, its reward and success test.

    ``levels`` maps a suite level (0, 1, 2, ..., or a name such as ``WallsLidar``) to the scene configuration of that level (element counts,
    sizes, costs, arena extents, task parameters — the scene keys of :mod:`safexp.engine.scene`). Every installed
    robot is crossed with every level to form the environment ids ``safexp/{Robot}{Task}{level}-v0``.
    ``robot_overrides`` maps a robot name to extra scene configuration merged into every level for that robot
    (Safety Gym's smaller Push box for Car, for example). ``named_envs`` maps a benchmark name (``PointCircle``)
    to a :class:`NamedEnv`, registered as ``safexp/{name}-v0`` besides the level ids.
    """

    kind: ClassVar[str] = "tasks"

    levels: Mapping[int | str, Mapping[str, Any]] = field(default_factory=dict)
    robot_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    named_envs: Mapping[str, NamedEnv] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for level, config in self.levels.items():
            if isinstance(level, bool) or not isinstance(level, (int, str)):
                raise TypeError(f"TaskSpec '{self.name}': level {level!r} must be a number or a name")
            if not isinstance(config, Mapping):
                raise TypeError(f"TaskSpec '{self.name}': level {level!r} must map scene keys to values, got {config!r}")
            if not isinstance(config.get("costs", []), (list, tuple)):
                raise TypeError(f"TaskSpec '{self.name}': level {level!r} must list its costs (names or {{name, params}} "
                                f"mappings), got {config['costs']!r}")
        for name, env in self.named_envs.items():
            if not isinstance(env, NamedEnv):
                raise TypeError(f"TaskSpec '{self.name}': named env '{name}' must be a NamedEnv, got {env!r}")
            if env.level not in self.levels:
                raise ValueError(f"TaskSpec '{self.name}': named env '{name}' uses level {env.level}, which the "
                                 f"task does not define (levels: {[level for level, _ in self.ordered_levels()]})")
            if env.max_episode_steps < 1:
                raise ValueError(f"TaskSpec '{self.name}': named env '{name}' needs max_episode_steps ≥ 1, "
                                 f"got {env.max_episode_steps}")

    def ordered_levels(self) -> list[tuple[int | str, Mapping[str, Any]]]:
        """``(level, scene configuration)`` of every level, in :func:`level_order`."""
        return sorted(self.levels.items(), key=lambda item: level_order(item[0]))


@dataclass(frozen=True)
class HazardSpec(ComponentSpec):
    """A scene element placed in the arena (hazards, vases, pillars, walls, ...).

    ``factory(params) -> safexp.Element``, ``params`` a dataclass extending :class:`safexp.plugin.PlacementParams`
    (how many to place, where). An element only places bodies and feeds the lidar; the cost of touching or entering
    it is a separate :class:`CostSpec`, so an element can exist without a cost.
    """

    kind: ClassVar[str] = "hazards"

    params: type = PlacementParams

    def __post_init__(self) -> None:
        super().__post_init__()
        if not issubclass(self.params, PlacementParams):
            raise TypeError(f"HazardSpec '{self.name}': params must extend safexp.plugin.PlacementParams (num, "
                            f"locations, placements, keepout), got {self.params.__name__}")


@dataclass(frozen=True)
class CostSpec(ComponentSpec):
    """A constraint term. ``factory(params) -> safexp.CostTerm``: a per-step raw cost read off the world."""

    kind: ClassVar[str] = "costs"


@dataclass(frozen=True)
class AlgorithmSpec(ComponentSpec):
    """A learning algorithm.

    ``factory(env, params, **run) -> model`` builds a learner on a vectorised env; ``params`` is the
    validated hyperparameter dataclass instance and ``run`` holds run options every algorithm accepts:
    ``seed``, ``tensorboard_log``, ``verbose``, ``device``. ``load(path, env, **run) -> model`` restores a
    saved learner (``env`` may be ``None`` to only act). The model offers the stable-baselines3 surface
    (``learn``, ``predict``, ``save``, ``num_timesteps``, ``logger``, ``ep_info_buffer``, and for off-policy
    learners ``replay_buffer``); the ``safexp-sb3`` backend adapts it to :class:`safexp.plugin.Learner`, the
    contract the experiment runner uses, and builds its vectorised envs.
    """

    kind: ClassVar[str] = "algorithms"

    load: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.load is not None and not callable(self.load):
            raise TypeError(f"AlgorithmSpec '{self.name}': load {self.load!r} is not callable")


SPEC_TYPES: dict[str, type[ComponentSpec]] = {
    spec.kind: spec for spec in (RobotSpec, TaskSpec, HazardSpec, CostSpec, AlgorithmSpec)
}
"""Component kind (as the command line names it) → record type."""


_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class CommandSpec:
    """A ``safexp`` subcommand, added by a plugin through ``safexp_commands``.

    ``module`` is the dotted name of a module with ``add_arguments(parser)`` (an :mod:`argparse` parser) and
    ``run(args) -> int`` (the exit code). It is imported only when the command runs or shows its own help, so
    ``safexp --help`` stays fast whatever the command needs.
    """

    name: str
    help: str
    module: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _COMMAND_NAME.match(self.name):
            raise ValueError(f"CommandSpec name {self.name!r} must be lower-case letters, digits and '-', "
                             "starting with a letter")
        if not isinstance(self.module, str) or not self.module:
            raise TypeError(f"CommandSpec '{self.name}': module must be a dotted module name, got {self.module!r}")
