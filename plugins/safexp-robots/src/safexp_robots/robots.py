"""Point, Car and Doggo: their parameter schemas and the factories that build their MJCF.

Each robot's document lives in ``xmls/<robot>.xml`` and carries the Safety Gym figures. A factory checks
its parameters, writes their values into that document (timestep, gears, force limits, stiffness) and
returns a :class:`safexp.RobotModel`. The parameter defaults are the reference figures, so a robot built
from default parameters is the benchmark robot.

Note on annotations: the parameter dataclasses keep evaluated field types (no postponed annotations)
because OmegaConf reads them as structured-config schemas.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files

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
    """Write the timestep and integrator into the document and wrap it with the stepping figures."""
    option = _element(root, "option")
    option.set("timestep", _number(params.timestep))
    option.set("integrator", params.integrator)
    return safexp.RobotModel(
        mjcf=ET.tostring(root, encoding="unicode"), frame_skip=params.frame_skip, keepout=params.keepout
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
