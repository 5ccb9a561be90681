"""The plugin API: everything a safexp plugin imports, and only that.

- :data:`hookimpl` marks hook implementations (the hooks are in :mod:`safexp.plugin.hookspecs`);
- the records registration hooks yield: :class:`RobotSpec`, :class:`TaskSpec`, :class:`HazardSpec`,
  :class:`CostSpec`, :class:`AlgorithmSpec`, :class:`CommandSpec`, :class:`NoParams`, and a task's
  :class:`NamedEnv` (a benchmark id of its own);
- the base classes of components: :class:`RobotModel`, :class:`Task`, :class:`Element` (with
  :class:`PlacementParams`), :class:`CostTerm`; and the learner contract :class:`Learner`;
- the world a task, element or cost term reads every step: :class:`World` (with :func:`geom_ids` and
  :func:`rows_index` for per-step lookups resolved once), changed only through its methods (``resample``,
  ``hide_from_lidar``, ``show_in_lidar``); an element's own state likewise changes through that element's
  methods, never by another plugin writing its attributes;
- parameter helpers: :func:`build_params`, :func:`validate_params`, :func:`merge_scene`, and :func:`bounded`
  with :func:`invalid_value` for declared ranges;
- the errors to raise for bad input: :class:`SafexpError`, :class:`ParameterError`,
  :class:`UnknownComponentError`, and :func:`choices_hint` / :func:`nearest_first` to name the valid choices
  (:func:`yaml_problem` for a file that does not parse);
- for tooling plugins (commands): :func:`get_registry` (the component tables), :func:`suite_envs`,
  :func:`suite_name` and :func:`title` (the catalogue's naming).

A first-party plugin imports from here (or the top-level ``safexp``) and nothing else of safexp.
"""

from safexp.engine.scene import merge_scene
from safexp.engine.world import World, geom_ids, rows_index
from safexp.plugin.cost import DEFAULT_CONSTRAINT, CostTerm
from safexp.plugin.element import Element, PlacementParams
from safexp.plugin.errors import (
    DuplicateComponentError,
    ParameterError,
    PluginLoadError,
    SafexpError,
    UnknownComponentError,
    choices_hint,
    nearest_first,
    yaml_problem,
)
from safexp.plugin.hookspecs import hookimpl
from safexp.plugin.learner import Learner, TrainingCallback
from safexp.plugin.params import Range, bounded, build_params, invalid_value, validate_params
from safexp.plugin.robot import RobotModel
from safexp.plugin.specs import (
    AlgorithmSpec,
    CommandSpec,
    ComponentSpec,
    CostSpec,
    HazardSpec,
    NamedEnv,
    NoParams,
    RobotSpec,
    TaskSpec,
)
from safexp.plugin.task import Task
from safexp.registry import get_registry
from safexp.registry.catalogue import suite_envs, suite_name, title

__all__ = [
    "DEFAULT_CONSTRAINT",
    "AlgorithmSpec",
    "CommandSpec",
    "ComponentSpec",
    "CostSpec",
    "CostTerm",
    "DuplicateComponentError",
    "Element",
    "HazardSpec",
    "Learner",
    "NamedEnv",
    "NoParams",
    "ParameterError",
    "PlacementParams",
    "PluginLoadError",
    "Range",
    "RobotModel",
    "RobotSpec",
    "SafexpError",
    "Task",
    "TaskSpec",
    "TrainingCallback",
    "UnknownComponentError",
    "World",
    "bounded",
    "build_params",
    "choices_hint",
    "geom_ids",
    "get_registry",
    "hookimpl",
    "invalid_value",
    "merge_scene",
    "nearest_first",
    "rows_index",
    "suite_envs",
    "suite_name",
    "title",
    "validate_params",
    "yaml_problem",
]
