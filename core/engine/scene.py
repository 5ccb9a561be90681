"""Scene configuration: which robot, task, elements and costs make an environment, and every setting.

A scene is configured by a flat mapping — the keyword arguments of ``gymnasium.make("safexp/...")`` or a YAML
file — resolved in three layers: the task's suite level (``TaskSpec.levels``, plus its ``robot_overrides``
for the robot), then the file, then keyword arguments. Keys:

- ``robot``, ``task``, ``level``: component names and the suite level (``None``: no level defaults);
- ``robot_params``, ``task_params``: the robot's and the task's parameters (their spec's schema);
- ``<element name>`` (``hazards``, ``vases``, ...): that element's parameters; ``num: 0`` removes it;
- ``costs``: a list of ``{name, params, constraint, enabled}``; an entry whose name is already present
  updates it (``enabled: false`` removes it), any other is added;
- every field of :class:`SceneSettings` (arena extents, lidar, observations, cost indicator, rendering);
- ``vision``: images from a camera on the robot observed next to the vector (:class:`VisionSettings`;
  ``true`` for the defaults).

Unknown keys, names and parameters fail with the valid choices, nearest first.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

from safexp.plugin.cost import DEFAULT_CONSTRAINT
from safexp.plugin.errors import ParameterError, UnknownComponentError, choices_hint, yaml_problem
from safexp.engine.layout import check_inside_arena
from safexp.plugin.params import bounded, build_params, validate_params
from safexp.registry import Registry, get_registry


VISION_MODES = ("depth", "rgb", "rgbd")
"""What a vision observation holds: a depth image, an RGB image, or both."""
DEPTH_METHODS = ("raycast", "gl")
"""How depth images are made: MuJoCo's ray casting (exact, no OpenGL) or OpenGL's depth buffer."""


@dataclass
class VisionSettings:
    """Images from a camera on the robot, observed next to the vector (scene key ``vision``).

    - ``mode``: ``depth``, ``rgb`` or ``rgbd`` (:data:`VISION_MODES`): the observation's ``depth`` entry is
      float32 metres, shape (height, width, 1), clipped to ``far``; its ``rgb`` entry uint8, (height, width, 3);
    - ``size``: ``[width, height]`` in pixels;
    - ``camera``: the model camera to look through (default: the robot's head camera,
      ``RobotModel.head_camera``, ``head`` for the first-party robots);
    - ``far``: metres; depth beyond it, or where nothing is hit, reads ``far``;
    - ``lidar``: keep the elements' lidar in the vector (``False``: sensors and compass only);
    - ``depth_method``: ``raycast`` (MuJoCo's ``mj_multiRay``: exact, needs no OpenGL) or ``gl`` (OpenGL's depth
      buffer, as rendering draws it) (:data:`DEPTH_METHODS`); RGB is always drawn with OpenGL.
    """

    mode: str = "depth"
    size: List[int] = bounded(default_factory=lambda: [50, 50], ge=1, le=4096)
    camera: Optional[str] = None
    far: float = bounded(5.0, gt=0)
    lidar: bool = True
    depth_method: str = "raycast"
MAX_IMAGE_SIDE = 8192
"""The largest rendered image side, in pixels (within every OpenGL implementation's framebuffer limit)."""


@dataclass
class SceneSettings:
    """The engine's own settings of a scene.

    - ``extents``: the arena ``[xmin, ymin, xmax, ymax]``, the default placement area of every object;
    - ``placement_margin``: extra distance between any two objects' keepouts when sampling layouts;
    - ``robot_keepout``: the robot's keepout (default: the robot model's, 0.4 for the suite robots);
    - ``robot_placements`` / ``robot_location``: rectangles or a fixed ``[x, y]`` for the robot;
    - ``lidar_bins``, ``lidar_max_dist``, ``lidar_alias``: the pseudo-lidar of every observed element;
    - ``compass``: observe the unit vector to the goal in the robot frame;
    - ``cost_indicator``: report costs as indicators (1.0 when unsafe, Safety Gym's default) or raw values;
    - ``action_noise``: standard deviation of Gaussian noise added to actions before clipping;
    - ``render_width``, ``render_height``, ``render_camera``: image size and camera (``track`` follows the
      robot; ``fixednear``, ``fixedfar`` look over the arena; ``vision`` is the robot's eye);
    - ``vision``: :class:`VisionSettings`, or ``None`` for the vector observation alone.

    Every position and rectangle (the robot's, and each element's ``locations`` and ``placements``) must lie
    inside ``extents``.
    """

    extents: List[float] = field(default_factory=lambda: [-1.0, -1.0, 1.0, 1.0])
    placement_margin: float = bounded(0.0, ge=0)
    robot_keepout: Optional[float] = bounded(None, ge=0)
    robot_placements: Optional[List[List[float]]] = None
    robot_location: Optional[List[float]] = None
    lidar_bins: int = bounded(16, ge=1, le=1024)
    lidar_max_dist: float = bounded(3.0, gt=0)
    lidar_alias: bool = True
    compass: bool = False
    cost_indicator: bool = True
    action_noise: float = bounded(0.0, ge=0)
    render_width: int = bounded(256, ge=1, le=MAX_IMAGE_SIDE)
    render_height: int = bounded(256, ge=1, le=MAX_IMAGE_SIDE)
    render_camera: str = "track"
    vision: Optional[VisionSettings] = None


@dataclass(frozen=True)
class CostEntry:
    """One cost term of a scene: the cost component, its validated parameters and its constraint group."""

    name: str
    params: Any
    constraint: str = DEFAULT_CONSTRAINT


@dataclass(frozen=True)
class Scene:
    """A fully resolved and validated scene: everything the engine needs to build an environment."""

    robot: str
    robot_params: Any
    task: str
    task_params: Any
    level: int | None
    elements: Mapping[str, Any]  # element name → validated params (PlacementParams subclass)
    costs: tuple[CostEntry, ...]
    settings: SceneSettings
    raw: Mapping[str, Any]  # the merged, unvalidated configuration (for saving and display)


_COMPONENT_KEYS = ("robot", "task", "level", "robot_params", "task_params", "costs")
SETTINGS_KEYS = tuple(f.name for f in dataclasses.fields(SceneSettings))
_COST_KEYS = ("name", "params", "constraint", "enabled")


def load_scene_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a scene YAML file (same keys as the keyword arguments)."""
    import yaml  # here, not at the top: importing safexp (and every command's start) stays fast
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"scene file '{path}' does not exist")
    try:
        loaded = OmegaConf.to_container(OmegaConf.load(file), resolve=True)
    except (OmegaConfBaseException, yaml.YAMLError, ValueError, OSError) as exc:
        raise ParameterError(f"scene file '{path}' does not parse: {yaml_problem(exc)}") from None
    if not isinstance(loaded, dict):
        raise ParameterError(f"scene file '{path}' must hold a mapping of scene keys, got {type(loaded).__name__}")
    return loaded


def merge_scene(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``update`` with the scene's merge rules (mappings merge, ``costs`` merge by name)."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if key == "costs":
            merged["costs"] = _merge_costs(merged.get("costs", []), value)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_scene(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_costs(base: list[Any], update: Any) -> list[dict[str, Any]]:
    if isinstance(update, Mapping) or not isinstance(update, (list, tuple)):
        raise ParameterError(f"'costs' must be a list of {{name, params, constraint}} entries, got {update!r}")
    entries = {e["name"]: dict(e) for e in base}
    for entry in update:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ParameterError(f"each 'costs' entry needs a 'name' (and optionally params, constraint), got {entry!r}")
        unknown = [k for k in entry if k not in _COST_KEYS]
        if unknown:
            raise ParameterError(f"cost entry '{entry['name']}' has no key '{unknown[0]}'; {choices_hint(unknown[0], _COST_KEYS)}")
        name = entry["name"]
        entries[name] = merge_scene(entries.get(name, {}), entry)
    return list(entries.values())


def resolve_scene(config: Mapping[str, Any], registry: Registry | None = None) -> Scene:
    """Validate a merged scene configuration (with ``robot``, ``task`` and any ``level``) into a :class:`Scene`."""
    registry = registry or get_registry()
    for key in ("robot", "task"):
        if not config.get(key):
            raise ParameterError(f"a scene needs a '{key}'; {choices_hint('', registry.components(key + 's'))}")
        if not isinstance(config[key], str):
            raise ParameterError(f"'{key}' must be a {key} name, got {config[key]!r}; "
                                 f"{choices_hint(str(config[key]), registry.components(key + 's'))}")
    robot_spec = registry.get("robots", config["robot"])
    task_spec = registry.get("tasks", config["task"])
    level = config.get("level")
    full = dict(config)
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, (int, str)) or level not in task_spec.levels:
            levels = ", ".join(str(known) for known, _ in task_spec.ordered_levels())
            raise UnknownComponentError(f"task '{task_spec.name}' has no level {level!r}; valid levels: {levels}")
        defaults = merge_scene(task_spec.levels[level], task_spec.robot_overrides.get(robot_spec.name, {}))
        full = merge_scene(defaults, {k: v for k, v in config.items()})
    element_names = registry.components("hazards")
    valid_keys = (*_COMPONENT_KEYS, *SETTINGS_KEYS, *element_names)
    for key in full:
        if key not in valid_keys:
            raise ParameterError(f"unknown scene key '{key}'; {choices_hint(str(key), valid_keys)}")
    settings_values = {k: full[k] for k in SETTINGS_KEYS if k in full and k != "vision"}
    settings = validate_params(SceneSettings, settings_values, "the scene settings")
    settings.vision = _vision_settings(full.get("vision"))
    _check_rects("extents", [settings.extents])
    arena = settings.extents
    _check_points("robot_location", [settings.robot_location] if settings.robot_location is not None else [])
    _check_rects("robot_placements", settings.robot_placements or [])
    check_inside_arena("robot_location", [settings.robot_location] if settings.robot_location is not None else [], arena)
    check_inside_arena("robot_placements", settings.robot_placements or [], arena)
    elements = {}
    for name in element_names:
        if name in full and full[name] is not None:
            params = build_params(registry.get("hazards", name), full[name], key=name)
            _check_points(f"{name}.locations", params.locations or [])
            _check_rects(f"{name}.placements", params.placements or [])
            check_inside_arena(f"{name}.locations", params.locations or [], arena)
            check_inside_arena(f"{name}.placements", params.placements or [], arena)
            if params.num > 0:
                elements[name] = params
    costs = []
    for entry in full.get("costs", []):
        if not entry.get("enabled", True):
            continue
        spec = registry.get("costs", entry["name"])
        params = build_params(spec, entry.get("params"), key=f"costs.{spec.name}.params")
        costs.append(CostEntry(spec.name, params, entry.get("constraint", DEFAULT_CONSTRAINT)))
    return Scene(
        robot=robot_spec.name,
        robot_params=build_params(robot_spec, full.get("robot_params"), key="robot_params"),
        task=task_spec.name,
        task_params=build_params(task_spec, full.get("task_params"), key="task_params"),
        level=level,
        elements=elements,
        costs=tuple(costs),
        settings=settings,
        raw=full,
    )


def _vision_settings(value: Any) -> VisionSettings | None:
    """The validated ``vision`` key: ``None``/``false`` for none, ``true`` for the defaults, or a mapping."""
    if value is None or value is False:
        return None
    vision = validate_params(VisionSettings, {} if value is True else value, "the scene's vision")
    if vision.mode not in VISION_MODES:
        raise ParameterError(f"unknown vision mode '{vision.mode}'; {choices_hint(vision.mode, VISION_MODES)}")
    if vision.depth_method not in DEPTH_METHODS:
        raise ParameterError(f"unknown vision depth_method '{vision.depth_method}'; "
                             f"{choices_hint(vision.depth_method, DEPTH_METHODS)}")
    if len(vision.size) != 2:
        raise ParameterError(f"vision size must be [width, height], got {list(vision.size)}")
    return vision


def _check_rects(key: str, rects: list) -> None:
    """Each of ``rects`` must be ``[xmin, ymin, xmax, ymax]`` with min < max."""
    for rect in rects:
        if len(rect) != 4 or rect[0] >= rect[2] or rect[1] >= rect[3]:
            raise ParameterError(f"{key} must be [xmin, ymin, xmax, ymax] with min < max, got {list(rect)}")


def _check_points(key: str, points: list) -> None:
    """Each of ``points`` must be ``[x, y]``."""
    for point in points:
        if len(point) != 2:
            raise ParameterError(f"{key} must be [x, y] positions, got {list(point)}")


def scene_config(robot: str | None = None, task: str | None = None, level: int | None = None,
                 scene_file: str | Path | None = None, **overrides: Any) -> Scene:
    """Resolve and validate a scene without building its model.

    :param robot: robot name (``point``, ...); may come from ``scene_file`` instead.
    :param task: task name (``goal``, ...); may come from ``scene_file`` instead.
    :param level: suite level whose defaults to start from, or ``None``.
    :param scene_file: a YAML file of scene keys, applied before ``overrides``.
    :param overrides: scene keys (see the module docstring).
    :return: the validated :class:`Scene`. Build envs from it with ``SafetyEnv.from_scene(scene)`` or
        ``gymnasium.make("safexp/Arena-v0", scene=scene)``: they resolve nothing again.
    """
    config: dict[str, Any] = merge_scene({}, load_scene_file(scene_file)) if scene_file else {}  # checks its costs
    given = {"robot": robot, "task": task, "level": level}
    config = merge_scene(config, {k: v for k, v in given.items() if v is not None})
    config = merge_scene(config, overrides)
    return resolve_scene(config)
