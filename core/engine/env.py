"""The constrained Gymnasium environment.

``step(action)`` follows Safety Gym (reference section 5): clip the action to the control range (after
optional Gaussian noise), run ``frame_skip`` physics steps (moving obstacles updated before each), one forward
pass, the task's dense reward clipped to ±10, **then** the goal bonus, the cost terms, and goal resampling (or,
for a task whose success ends the episode, ``terminated``). A robot that can fall (Ant, Humanoid) is checked
last: an unhealthy pose terminates the episode (CPO's tasks).
Cost is never folded into the reward: it is ``info["cost"]`` (see :class:`safexp.engine.costs.CostMonitor`).
MuJoCo's warnings are logged to :data:`MUJOCO_LOGGER` rather than written to ``MUJOCO_LOG.TXT``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import gymnasium
import mujoco
import numpy as np

from safexp.engine.compose import COST_LIGHT, compile_mjcf, compose_mjcf
from safexp.engine.costs import CostMonitor
from safexp.plugin.cost import CostTerm
from safexp.plugin.element import Element
from safexp.plugin.errors import ParameterError, PluginLoadError, SafexpError, choices_hint
from safexp.plugin.robot import RobotModel
from safexp.plugin.task import Task
from safexp.engine.observation import ObservationBuilder
from safexp.registry import get_registry
from safexp.engine.scene import Scene, scene_config
from safexp.engine.vision import VisionSensor
from safexp.engine.world import World

EXCEPTION_REWARD = -10.0

MUJOCO_LOGGER = logging.getLogger("safexp.mujoco")
"""Where MuJoCo's warnings go (an unstable simulation, a full contact buffer), instead of MuJoCo's own
``MUJOCO_LOG.TXT`` in the working directory."""


def _log_mujoco_warning(message: str) -> None:
    MUJOCO_LOGGER.warning(message)


if mujoco.get_mju_user_warning() is None:  # a handler the program installed itself stays
    mujoco.set_mju_user_warning(_log_mujoco_warning)


class ActionError(SafexpError, ValueError):
    """An action of the wrong shape or with non-finite values."""


def all_finite(values: np.ndarray) -> bool:
    """Whether a float vector holds no NaN or infinity: one sum of its entries as Python floats, checked entry by
    entry only when the sum is not finite (finite entries above ~1e308 can add up to infinity). Python float
    arithmetic overflows silently, so huge actions raise no NumPy overflow warnings."""
    entries = values.tolist()
    return math.isfinite(sum(entries)) or all(map(math.isfinite, entries))


def control_rate(timestep: float, frame_skip: int) -> float:
    """Env steps per simulated second, 1 / (timestep × frame_skip): a whole number of Hz when it is one (50 for the
    Point robot's 0.002 s × 10), for video writers."""
    rate = 1.0 / (timestep * frame_skip)
    return int(round(rate)) if abs(rate - round(rate)) < 1e-9 * rate else rate


def _made(kind: str, name: str, made: Any, expected: type, made_by: str = "its plugin's factory") -> Any:
    """What a plugin's component was built as (by ``made_by``), checked against the base class its record promises.

    :raises PluginLoadError: naming the component, when it is not an instance of ``expected``.
    """
    if not isinstance(made, expected):
        raise PluginLoadError(f"{kind} '{name}': {made_by} returned a {type(made).__name__}, not a "
                              f"safexp.plugin.{expected.__name__}; report it to the plugin's authors")
    return made


class SafetyEnv(gymnasium.Env):
    """A robot, a task, scene elements and cost terms in one compiled MuJoCo model.

    Two ways to build one:

    - from scene keys, as ``gymnasium.make("safexp/PointGoal1-v0", hazards={"num": 4})`` does: the keys are
      resolved and validated into a :class:`~safexp.engine.scene.Scene` (:func:`~safexp.engine.scene.scene_config`),
      then the env is built from it;
    - from a :class:`~safexp.engine.scene.Scene` resolved once beforehand, with no resolution at all:
      ``SafetyEnv.from_scene(scene)``, ``SafetyEnv(scene=scene)`` or ``gymnasium.make("safexp/Arena-v0",
      scene=scene)``. Tools that build many envs of one scene (a vectorised learner, an evaluation) validate
      the configuration once with :func:`safexp.scene_config` and hand the same scene to every env (no env
      modifies it, and it pickles, so subprocess workers can receive it too).

    :param robot: robot name (``point``, ``car``, ``doggo``, or a third-party one).
    :param task: task name (``goal``, ...).
    :param level: suite level whose scene defaults to start from (``None``: only ``scene_file``/overrides).
    :param render_mode: ``"rgb_array"``, ``"depth_array"`` or ``None``.
    :param scene_file: a YAML file of scene keys, applied before the keyword overrides.
    :param scene: an already resolved scene; then no scene keys may be given (``robot``, ``task`` and ``level``
        may only repeat the scene's own, as a suite id's registration passes them).
    :param overrides: scene keys (see :mod:`safexp.engine.scene`): element parameters, ``costs``, settings, ...

    Observations are a vector, or with the scene key ``vision`` a ``gymnasium.spaces.Dict`` of ``vector`` (the
    same vector, lidar optional) and the images ``depth`` and/or ``rgb`` (:mod:`safexp.engine.vision`).

    Attributes users read: :attr:`scene` (the resolved configuration), :attr:`obs_layout` (observation vector
    part → slice), :attr:`constraint_names` (the keys of ``info["costs"]``, in order), :attr:`world`, and
    ``metadata["render_fps"]``, the env's control rate (1 / (timestep × frame_skip)).
    """

    metadata = {"render_modes": ["rgb_array", "depth_array"], "render_fps": 30}

    def __init__(self, robot: str | None = None, task: str | None = None, level: int | None = None,
                 render_mode: str | None = None, scene_file: str | Path | None = None, scene: Scene | None = None,
                 **overrides: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ParameterError(f"unknown render_mode '{render_mode}'; {choices_hint(render_mode, self.metadata['render_modes'])}")
        if scene is None:
            scene = scene_config(robot, task, level, scene_file, **overrides)
        else:
            _check_scene_alone(scene, {"robot": robot, "task": task, "level": level}, scene_file, overrides)
        self._build(scene, render_mode)

    @classmethod
    def from_scene(cls, scene: Scene, render_mode: str | None = None) -> SafetyEnv:
        """The env of an already resolved and validated scene (from :func:`safexp.scene_config`), built without
        resolving anything again."""
        return cls(scene=scene, render_mode=render_mode)

    def _build(self, scene: Scene, render_mode: str | None) -> None:
        registry = get_registry()
        self.scene: Scene = scene
        settings = scene.settings
        robot_model = _made("robot", scene.robot, registry.get("robots", scene.robot).factory(scene.robot_params),
                            RobotModel)
        self.task = _made("task", scene.task, registry.get("tasks", scene.task).factory(scene.task_params), Task)
        elements: dict[str, Element] = {}
        for name, element in self.task.elements().items():
            _made("element", name, element, Element, made_by=f"task '{scene.task}''s elements()")
            element.name = name
            elements[name] = element
        for name, params in scene.elements.items():
            if name in elements:
                raise ParameterError(f"element '{name}' is already placed by task '{scene.task}'; remove it from the scene")
            element = _made("hazard", name, registry.get("hazards", name).factory(params), Element)
            element.name = name
            elements[name] = element
        self.mjcf = compose_mjcf(robot_model, elements, list(settings.extents))
        owners = {"robot": "robot_params"}
        owners.update({f"{name}{i}": name if name in scene.elements else "task_params"
                       for name, element in elements.items() for i in range(element.params.num)})
        model = compile_mjcf(self.mjcf, owners)
        cameras = ["track", *(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam))]
        if settings.render_camera not in cameras:
            raise ParameterError(f"unknown render_camera '{settings.render_camera}'; "
                                 f"{choices_hint(settings.render_camera, cameras)}")
        self.frame_skip = robot_model.frame_skip
        self.robot_model = robot_model
        self.metadata = {**type(self).metadata, "render_fps": control_rate(model.opt.timestep, self.frame_skip)}
        keepout = settings.robot_keepout if settings.robot_keepout is not None else robot_model.keepout
        self.world = World(model, elements, self.task, list(settings.extents), keepout, settings.robot_placements,
                           settings.robot_location, settings.placement_margin)
        terms: list[CostTerm] = []
        for entry in scene.costs:
            term = _made("cost", entry.name, registry.get("costs", entry.name).factory(entry.params), CostTerm)
            term.name, term.constraint = entry.name, entry.constraint
            term.bind(self.world)
            terms.append(term)
        self.costs = CostMonitor(terms, settings.cost_indicator)
        self.constraint_names = self.costs.constraint_names
        vision = settings.vision
        self._observe = ObservationBuilder(self.world, settings.lidar_bins, settings.lidar_max_dist,
                                           settings.lidar_alias, settings.compass, lidar=vision is None or vision.lidar)
        self.obs_layout = self._observe.layout
        vector_space = gymnasium.spaces.Box(-np.inf, np.inf, (self._observe.size,), np.float64)
        if vision is None:
            self._vision: VisionSensor | None = None
            self.observation_space: gymnasium.Space = vector_space
        else:
            self._vision = VisionSensor(self.world, vision, vision.camera or robot_model.head_camera, scene.robot)
            self.observation_space = gymnasium.spaces.Dict({"vector": vector_space, **self._vision.spaces})
        ctrl = model.actuator_ctrlrange.astype(np.float32)
        self.action_space = gymnasium.spaces.Box(ctrl[:, 0], ctrl[:, 1], dtype=np.float32)
        self._ctrl_low, self._ctrl_high = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
        self._action_shape = self.action_space.shape
        # Views into the MuJoCo structs, resolved once (each attribute lookup on them builds a new wrapper).
        self._model, self._data, self._opt = model, self.world.data, model.opt
        self._ctrl, self._qvel = self.world.data.ctrl, self.world.data.qvel
        self._action_noise = settings.action_noise
        self._checks_health = robot_model.can_fall
        self._task_truncates = type(self.task).truncated is not Task.truncated
        self._substep_elements = [e for e in elements.values() if type(e).before_substep is not Element.before_substep]
        self._light_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, COST_LIGHT)
        self._last_cost = 0.0
        self.render_mode = render_mode
        self._renderer: Any = None
        registry.call_each("safexp_env_created", env=self)

    # -- gymnasium API -------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        world = self.world
        world.rng = self.np_random
        mujoco.mj_resetData(world.model, world.data)
        world.show_all_in_lidar()
        world.place_layout()
        mujoco.mj_forward(world.model, world.data)
        world.after_physics()
        self.task.reset(world)
        self.costs.reset(world)
        self._last_cost = 0.0
        info = self.costs.zero()
        info["goal_met"] = False
        return self._observation(), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        world, data, task = self.world, self._data, self.task
        ctrl = self._check_action(action)
        if self._action_noise > 0:
            ctrl = ctrl + self.np_random.normal(0.0, self._action_noise, size=ctrl.shape)
        np.maximum(ctrl, self._ctrl_low, out=self._ctrl)
        np.minimum(self._ctrl, self._ctrl_high, out=self._ctrl)
        expected_time = data.time + self.frame_skip * self._opt.timestep * 0.5
        if self._substep_elements:
            for _ in range(self.frame_skip):
                for element in self._substep_elements:
                    element.before_substep(world)
                mujoco.mj_step(self._model, data)
        else:
            mujoco.mj_step(self._model, data, nstep=self.frame_skip)
        mujoco.mj_forward(self._model, data)
        world.after_physics()
        # MuJoCo resets the data (time included) when it detects divergence; without auto-reset, NaNs remain.
        if data.time < expected_time or not all_finite(self._qvel):
            info = self.costs.zero()
            info.update(goal_met=False, cost_exception=1.0)
            self._last_cost = 0.0
            return self._finite_observation(), EXCEPTION_REWARD, False, True, info
        clip = task.reward_clip
        reward = min(max(float(task.reward(world)), -clip), clip)
        info = self.costs.evaluate(world)
        self._last_cost = info["cost"]
        task.tick(world)
        terminated = truncated = False
        info["goal_met"] = goal_met = task.goal_met(world)
        if goal_met:
            reward += task.reward_goal
            if task.goal_ends_episode:
                terminated = True  # the task is done (the far end of a hallway): a terminal state
            elif not task.on_goal_met(world):
                truncated = True  # no room for a new goal: the episode ends, not as a terminal state
        if self._checks_health and not self.robot_model.is_healthy(world):
            terminated = True  # the robot fell: a terminal state
            reward += task.reward_fall
        if self._task_truncates and task.truncated(world):
            truncated = True
        return self._observation(), reward, terminated, truncated, info

    def _observation(self) -> np.ndarray | dict[str, np.ndarray]:
        """The vector, or with vision the ``Dict`` observation's entries."""
        vector = self._observe()
        if self._vision is None:
            return vector
        return {"vector": vector, **self._vision()}

    def _finite_observation(self) -> np.ndarray | dict[str, np.ndarray]:
        """The observation with NaN and infinities replaced by 0 (after a physics failure)."""
        obs = self._observation()
        if isinstance(obs, dict):
            return {key: np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0) for key, value in obs.items()}
        return np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)

    def _check_action(self, action: Any) -> np.ndarray:
        try:
            ctrl = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ActionError(f"action must be an array of {self._action_shape[0]} numbers, got {action!r}") from None
        if ctrl.shape != self._action_shape:
            raise ActionError(f"action must have shape {self._action_shape} for robot '{self.scene.robot}', got shape {ctrl.shape}")
        if not all_finite(ctrl):
            raise ActionError(f"action has non-finite values: {ctrl.tolist()}")
        return ctrl

    # -- rendering -----------------------------------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        """A frame from ``render_camera``; the robot's warning light is red on steps with cost."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        from safexp.engine.render import make_renderer, render_frame

        if self._renderer is None:
            self._renderer = make_renderer(self.world.model, self.scene.settings.render_width,
                                           self.scene.settings.render_height, self.render_mode == "depth_array")
        self.world.model.site_rgba[self._light_site, 3] = 0.5 if self._last_cost > 0 else 0.0
        return render_frame(self._renderer, self.world, self.scene.settings.render_camera)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self._vision is not None:
            self._vision.close()


def _check_scene_alone(scene: Scene, names: dict[str, Any], scene_file: str | Path | None,
                       overrides: dict[str, Any]) -> None:
    """A resolved ``scene`` comes with no scene keys: only ``robot``, ``task`` and ``level`` equal to its own (a
    suite id's registration passes them)."""
    if not isinstance(scene, Scene):
        raise ParameterError(f"scene must be a Scene from safexp.scene_config(...), got {type(scene).__name__}; "
                             "pass scene keys as keyword arguments instead")
    differing = [f"{key}={value!r} (the scene's: {getattr(scene, key)!r})" for key, value in names.items()
                 if value is not None and value != getattr(scene, key)]
    extra = (["scene_file"] if scene_file is not None else []) + sorted(overrides)
    if differing or extra:
        given = ", ".join(differing + extra)
        raise ParameterError(f"a resolved scene is built as it is, but scene keys were given too: {given}; put them in "
                             "the scene (safexp.scene_config(..., **keys)) or use the Arena id, safexp/Arena-v0")
