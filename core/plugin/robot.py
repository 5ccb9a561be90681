"""What a robot plugin hands the engine: an MJCF document and how to drive it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safexp.engine.world import World


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

    Health (robots that can fall, like Ant and Humanoid): ``healthy_height`` is the band ``(low, high)`` the
    ``robot`` body's height must stay in, and ``min_upright`` the least z component of its up axis (its cosine
    to the world's vertical: 0 means lying on its side, −1 upside down). The engine ends the episode as
    *terminated* on the first step :meth:`is_healthy` is false, adding the task's ``reward_fall``. ``None``
    (the default) checks nothing: the robot cannot fall.
    """

    mjcf: str
    frame_skip: int = 10
    keepout: float = 0.4
    head_camera: str = "head"
    healthy_height: tuple[float, float] | None = None
    min_upright: float | None = None

    def __post_init__(self) -> None:
        if self.frame_skip < 1:
            raise ValueError(f"RobotModel.frame_skip must be ≥ 1, got {self.frame_skip}")
        if self.healthy_height is not None and not self.healthy_height[0] < self.healthy_height[1]:
            raise ValueError(f"RobotModel.healthy_height must be (low, high) with low < high, got {self.healthy_height}")
        if self.min_upright is not None and not -1.0 <= self.min_upright <= 1.0:
            raise ValueError(f"RobotModel.min_upright must be in [-1, 1], got {self.min_upright}")

    @property
    def can_fall(self) -> bool:
        """Whether the robot declares a health check (a height band or an upright limit)."""
        return self.healthy_height is not None or self.min_upright is not None

    def is_healthy(self, world: World) -> bool:
        """Whether the robot in ``world`` stands: its body height within ``healthy_height`` and its up axis at
        least ``min_upright`` (each only when declared). Always ``True`` for a robot that cannot fall."""
        if self.healthy_height is not None:
            low, high = self.healthy_height
            if not low <= float(world.robot_pos[2]) <= high:
                return False
        return self.min_upright is None or float(world.robot_mat[2, 2]) >= self.min_upright
