"""Point, Car, Doggo, Ant and Humanoid: their parameter schemas and the factories that build their MJCF.

Each robot's document lives in ``xmls/<robot>.xml`` and carries the published figures (Safety Gym's for Point,
Car and Doggo; the classic MuJoCo locomotion models', which the CPO paper uses, for Ant and Humanoid). A factory checks
its parameters, writes their values into that document (timestep, gears, force limits, stiffness) and
returns a :class:`safexp.RobotModel`. The parameter defaults are the reference figures, so a robot built
from default parameters is the benchmark robot.

Note on annotations: the parameter dataclasses keep evaluated field types (no postponed annotations)
because OmegaConf reads them as structured-config schemas.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files
from typing import List

import safexp
from safexp.plugin import ParameterError, bounded, choices_hint

INTEGRATORS = ("Euler", "implicitfast", "implicit", "RK4")
"""MuJoCo's integrators, as MJCF names them."""

MAX_TIMESTEP = 0.05
"""The longest physics timestep accepted, in seconds (the suite robots use 0.002 to 0.01; contacts and servos
are not resolved at steps much longer than these)."""


@dataclass
class RobotParams:
    """The parameters every robot has; each robot's record below sets its own defaults (its reference figures).

    - ``timestep``: physics timestep in seconds, at most :data:`MAX_TIMESTEP`.
    - ``frame_skip``: physics steps per environment step (1 to 1000).
    - ``keepout``: radius around the robot that layout sampling keeps clear of other objects.
    - ``integrator``: MuJoCo integrator (one of :data:`INTEGRATORS`).
    """

    timestep: float = bounded(0.002, gt=0, le=MAX_TIMESTEP)
    frame_skip: int = bounded(10, ge=1, le=1000)
    keepout: float = bounded(0.4, ge=0)
    integrator: str = "Euler"


@dataclass
class PointParams(RobotParams):
    """Parameters of the Point robot (:class:`RobotParams` and its actuators); the defaults are the Safety Gym
    figures, except the integrator.

    - ``drive_gear``: gear of the motor that pushes along body x.
    - ``turn_gear``: gear of the yaw-rate servo on the vertical hinge.
    - ``turn_kv``: velocity gain of the yaw-rate servo.
    - ``force_limit``: both actuators' force range is ±force_limit (before the gear), so the forward
      force saturates from |action| ≥ force_limit.
    - ``integrator``: ``implicitfast``, departing from Safety Gym's ``Euler``: Euler integrates the yaw servo's
      velocity feedback explicitly, and with Point's small yaw inertia (3e-5) that feedback
      (kv·gear² = 0.09) is unstable at a 0.002 s step, so below saturation the yaw rate flips sign every
      physics step instead of tracking the set point. ``implicitfast`` integrates it implicitly; saturated
      behaviour is unchanged.
    """

    integrator: str = "implicitfast"
    drive_gear: float = bounded(0.3, gt=0)
    turn_gear: float = bounded(0.3, gt=0)
    turn_kv: float = bounded(1.0, gt=0)
    force_limit: float = bounded(0.05, gt=0)


@dataclass
class CarParams(RobotParams):
    """Parameters of the Car robot (:class:`RobotParams`, with a 0.004 s timestep, and its wheels); the defaults
    are the Safety Gym figures.

    - ``wheel_gear``: gear of the two wheel motors.
    - ``torque_limit``: the wheel motors' force range is ±torque_limit (before the gear), so the wheel
      torque saturates from |action| ≥ torque_limit.
    """

    timestep: float = bounded(0.004, gt=0, le=MAX_TIMESTEP)
    wheel_gear: float = bounded(1.0, gt=0)
    torque_limit: float = bounded(0.02, gt=0)


@dataclass
class DoggoParams(RobotParams):
    """Parameters of the Doggo robot (:class:`RobotParams`, with a 0.01 s timestep, and its legs); the defaults
    are the Safety Gym figures.

    - ``motor_gear``: gear of the twelve leg motors (they have no force limit).
    - ``joint_stiffness``: spring stiffness of every leg joint and of the waist, towards each joint's
      rest angle.
    """

    timestep: float = bounded(0.01, gt=0, le=MAX_TIMESTEP)
    motor_gear: float = bounded(0.0125, gt=0)
    joint_stiffness: float = bounded(0.01, gt=0)


@dataclass
class LeggedParams(RobotParams):
    """The health check of robots that can fall (:class:`RobotParams` and the band the episode ends outside):

    - ``healthy_height``: ``[low, high]``, the torso centre's height band; leaving it ends the episode as
      terminated (the robot fell, or jumped off the floor).
    - ``min_upright``: the least z component of the torso's up axis (1 upright, 0 on its side, −1 upside down);
      below it the episode ends as terminated. −1 disables the check.
    """

    healthy_height: List[float] = bounded(default_factory=lambda: [0.2, 1.0], ge=0)
    min_upright: float = bounded(-1.0, ge=-1.0, le=1.0)


@dataclass
class AntParams(LeggedParams):
    """Parameters of the Ant (:class:`LeggedParams`, with the classic model's 0.01 s timestep, RK4 and frame skip
    5, and its legs); the defaults are the classic figures the CPO paper's Ant tasks use.

    - ``motor_gear``: gear of the eight hip and ankle motors (torque at full action).
    - ``keepout``: 0.6, the torso and the hips (the feet reach about 0.9 from the centre).
    - ``healthy_height``: the classic [0.2, 1.0]; ``min_upright``: 0, so an Ant on its side or its back
      (whose torso may stay above 0.2 on its legs) has fallen too.
    """

    timestep: float = 0.01
    frame_skip: int = 5
    keepout: float = 0.6
    integrator: str = "RK4"
    min_upright: float = bounded(0.0, ge=-1.0, le=1.0)
    motor_gear: float = bounded(150.0, gt=0)


@dataclass
class HumanoidParams(LeggedParams):
    """Parameters of the Humanoid (:class:`LeggedParams`, with the classic 0.003 s timestep, RK4 and frame skip
    5, and its motors); the defaults are the classic figures.

    - ``gear_scale``: factor on every motor's gear, 1 giving the classic torques at full action (abdomen and
      hips x, z 40, hips y 120, knees 80, arms 10).
    - ``healthy_height``: the classic [1.0, 2.0] for the torso (it starts at 1.4).
    """

    timestep: float = 0.003
    frame_skip: int = 5
    integrator: str = "RK4"
    healthy_height: List[float] = bounded(default_factory=lambda: [1.0, 2.0], ge=0)
    gear_scale: float = bounded(1.0, gt=0)


def _check_params(robot: str, params: RobotParams) -> None:
    """Raise :class:`ParameterError` when ``params.integrator`` is not one of :data:`INTEGRATORS` (the numeric
    fields' ranges are declared with ``bounded`` and checked when the parameters are built)."""
    if params.integrator not in INTEGRATORS:
        raise ParameterError(
            f"robot '{robot}': parameter 'integrator' is '{params.integrator}'; "
            f"{choices_hint(params.integrator, INTEGRATORS)}"
        )


def _read_document(robot: str) -> ET.Element:
    """The root ``<mujoco>`` element of ``xmls/<robot>.xml``, comments kept."""
    text = files("safexp_robots").joinpath("xmls", f"{robot}.xml").read_text(encoding="utf-8")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(text, parser=parser)


def _element(root: ET.Element, path: str) -> ET.Element:
    """The element at ``path`` (ElementTree syntax) below ``root``; a missing one is a packaging bug."""
    found = root.find(path)
    if found is None:
        raise LookupError(f"robot document '{root.get('model')}' has no element '{path}'")
    return found


def _number(value: float) -> str:
    return repr(float(value))


def _symmetric_range(limit: float) -> str:
    return f"{_number(-limit)} {_number(limit)}"


def _robot_model(root: ET.Element, params: RobotParams) -> safexp.RobotModel:
    """Write the timestep and integrator into the document and wrap it with the stepping figures (and, for a
    robot that can fall, its health band)."""
    option = _element(root, "option")
    option.set("timestep", _number(params.timestep))
    option.set("integrator", params.integrator)
    health = {}
    if isinstance(params, LeggedParams):
        if len(params.healthy_height) != 2 or params.healthy_height[0] >= params.healthy_height[1]:
            raise ParameterError(f"robot '{root.get('model')}': parameter 'healthy_height' must be [low, high] with low < high, "
                                 f"got {list(params.healthy_height)}")
        health = {"healthy_height": (float(params.healthy_height[0]), float(params.healthy_height[1])),
                  "min_upright": float(params.min_upright)}
    return safexp.RobotModel(
        mjcf=ET.tostring(root, encoding="unicode"), frame_skip=params.frame_skip, keepout=params.keepout, **health
    )


def build_point(params: PointParams) -> safexp.RobotModel:
    """Build the Point robot.

    :param params: its validated parameters.
    :return: the robot model; actions are (push along body x, yaw rate set point).
    :raises ParameterError: a parameter out of range.
    """
    _check_params("point", params)
    root = _read_document("point")
    forward = _element(root, "actuator/motor[@name='point_forward']")
    forward.set("gear", f"{_number(params.drive_gear)} 0 0 0 0 0")
    forward.set("forcerange", _symmetric_range(params.force_limit))
    turn = _element(root, "actuator/velocity[@name='point_turn']")
    turn.set("gear", _number(params.turn_gear))
    turn.set("kv", _number(params.turn_kv))
    turn.set("forcerange", _symmetric_range(params.force_limit))
    return _robot_model(root, params)


def build_car(params: CarParams) -> safexp.RobotModel:
    """Build the Car robot.

    :param params: its validated parameters.
    :return: the robot model; actions are (left wheel torque, right wheel torque), positive drives forward.
    :raises ParameterError: a parameter out of range.
    """
    _check_params("car", params)
    root = _read_document("car")
    for motor in root.iterfind("actuator/motor"):
        motor.set("gear", _number(params.wheel_gear))
        motor.set("forcerange", _symmetric_range(params.torque_limit))
    return _robot_model(root, params)


def build_doggo(params: DoggoParams) -> safexp.RobotModel:
    """Build the Doggo robot.

    :param params: its validated parameters.
    :return: the robot model; actions are the torques of hip z (legs 1-4), hip y (legs 1-4) and the
        ankles (legs 1-4); legs 1 front left, 2 rear left, 3 rear right, 4 front right.
    :raises ParameterError: a parameter out of range.
    """
    _check_params("doggo", params)
    root = _read_document("doggo")
    doggo_defaults = _element(root, "default/default[@class='doggo']")
    _element(doggo_defaults, "motor").set("gear", _number(params.motor_gear))
    _element(doggo_defaults, "joint").set("stiffness", _number(params.joint_stiffness))
    return _robot_model(root, params)


def build_ant(params: AntParams) -> safexp.RobotModel:
    """Build the Ant.

    :param params: its validated parameters.
    :return: the robot model; actions are the torques of the hips (legs 1-4), then the ankles (legs 1-4); legs 1
        front left, 2 rear left, 3 rear right, 4 front right. It falls outside ``healthy_height`` or when tipped
        past ``min_upright``.
    :raises ParameterError: a parameter out of range.
    """
    _check_params("ant", params)
    root = _read_document("ant")
    _element(root, "default/default[@class='ant']/motor").set("gear", _number(params.motor_gear))
    return _robot_model(root, params)


def build_humanoid(params: HumanoidParams) -> safexp.RobotModel:
    """Build the Humanoid.

    :param params: its validated parameters.
    :return: the robot model; 17 actions (abdomen y, z, x; right hip x, z, y, knee; left hip x, z, y, knee; right
        shoulder 1, 2, elbow; left shoulder 1, 2, elbow). It falls when its torso leaves ``healthy_height``.
    :raises ParameterError: a parameter out of range.
    """
    _check_params("humanoid", params)
    root = _read_document("humanoid")
    for motor in root.iterfind("actuator/motor"):
        motor.set("gear", _number(float(motor.get("gear")) * params.gear_scale))
    return _robot_model(root, params)
