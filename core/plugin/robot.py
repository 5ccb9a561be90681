"""What a robot plugin hands the engine: an MJCF document and how to drive it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RobotModel:
    """A robot, as built by a :class:`safexp.RobotSpec` factory.

    ``mjcf`` is a complete ``<mujoco>`` document the engine composes the scene around. Its conventions:

    - ``<option timestep=...>`` sets the physics timestep; ``<default>``, ``<asset>``, ``<actuator>``,
      ``<sensor>``, ``<contact>`` and ``<equality>`` sections are merged into the scene as they are;
    - ``<worldbody>`` holds exactly one top-level body, named ``robot``; its position is the robot's centre
      point (lidar origin, hazard distance) and its orientation the robot's frame;
    - the root joints are either one ``<freejoint>`` (the engine keeps the body's initial height) or slide
      joints along x and y plus a hinge about z (Point); the engine places the robot by moving them;
    - a site named ``robot`` carries the accelerometer, velocimeter, gyro and magnetometer; a camera named
      ``vision`` is the robot's eye;
    - ``head_camera`` names the camera vision observations look through by default (scene key ``vision``):
      forward-looking, on the robot, outside its geoms; ``head`` for the first-party robots;
    - every actuator has ``ctrlrange`` [-1, 1] (the action space is built from the ctrl ranges);
    - every ``<sensor>`` is observed, in document order, under its name: hinge ``jointpos`` as (sin, cos),
      ``ballquat`` as the 3×3 rotation matrix, everything else as it is.
    """

    mjcf: str
    frame_skip: int = 10
    keepout: float = 0.4
    head_camera: str = "head"

    def __post_init__(self) -> None:
        if self.frame_skip < 1:
            raise ValueError(f"RobotModel.frame_skip must be ≥ 1, got {self.frame_skip}")
