"""Vision observations: the images a policy sees through a camera on the robot (scene key ``vision``).

:class:`VisionSensor` makes, every step, the image entries of an env's ``Dict`` observation:

- ``depth``: float32 metres from the camera plane (the z-distance MuJoCo's depth buffer holds), shape
  (height, width, 1), clipped to ``far``; where nothing is hit it reads ``far``. Metres rather than a
  normalised byte: exact (a 1/255 step of a 5 m range is 2 cm), comparable across ``far`` settings, and the
  space's upper bound tells a learner how to normalise it;
- ``rgb``: uint8, shape (height, width, 3), what a colour camera sees under the scene's lights.

Depth is made by ray casting by default: one ray through each pixel's centre (``mj_multiRay``), reading the
same geoms OpenGL draws (geom groups 0–2, alpha above 0); exact, no OpenGL context needed, as fast as the
fastest GL depth at 50×50 (see README "Vision observations"). ``depth_method="gl"`` reads OpenGL's depth
buffer instead. RGB is drawn with OpenGL by a *plain* renderer (:class:`safexp.engine.render.OffscreenRenderer`:
no shadows, reflections, skybox, fog, multisampling or sites), one per env, made on the first frame and reused.
Neither changes what ``env.render()`` shows, nor is changed by it.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import mujoco
import numpy as np

from safexp.engine.scene import VisionSettings
from safexp.engine.world import World
from safexp.plugin.errors import ParameterError, choices_hint


def camera_id(model: mujoco.MjModel, camera: str, robot: str) -> int:
    """The id of ``camera`` in ``model``; a missing one raises a :class:`ParameterError` naming the cameras there
    and how a robot declares its head camera."""
    found = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if found < 0:
        names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) or f"camera{i}" for i in range(model.ncam)]
        raise ParameterError(
            f"vision needs the camera '{camera}', but robot '{robot}' and the scene have no camera of that name; "
            f"{choices_hint(camera, names)}. Choose one with vision={{'camera': ...}}, or give the robot a "
            f"<camera name=\"{camera}\"> in its MJCF (a robot names its head camera with RobotModel(head_camera=...))")
    return found


class RayDepth:
    """Depth images by ray casting: one ray from the camera through each pixel's centre.

    The rays' directions in the camera frame are fixed (MuJoCo cameras look along −z, x right, y up, ``fovy``
    the vertical field of view); each is scaled so that its z component is −1, so the distance ``mj_multiRay``
    returns, in units of the direction's length, is the depth along the camera axis, as OpenGL's depth buffer
    holds it.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, camera: int, width: int, height: int,
                 far: float) -> None:
        self.model, self.data, self.camera, self.far = model, data, camera, far
        half_height = math.tan(math.radians(model.cam_fovy[camera]) / 2)
        half_width = half_height * width / height
        x = ((np.arange(width) + 0.5) / width * 2 - 1) * half_width
        y = (1 - (np.arange(height) + 0.5) / height * 2) * half_height
        grid_x, grid_y = np.meshgrid(x, y)
        self._directions = np.stack([grid_x, grid_y, -np.ones_like(grid_x)], axis=-1).reshape(-1, 3)
        self._shape = (height, width, 1)
        self._count = width * height
        # mj_multiRay drops geoms beyond the cutoff by Euclidean distance: the corner rays are the longest.
        self._cutoff = far * float(np.linalg.norm(self._directions, axis=1).max())
        self._geomgroup = np.asarray(mujoco.MjvOption().geomgroup, dtype=np.uint8)  # what rendering draws
        self._position, self._rotation = data.cam_xpos[camera], data.cam_xmat[camera].reshape(3, 3)  # views
        self._world_directions = np.empty_like(self._directions)  # buffers reused every call
        self._geom = np.empty(self._count, dtype=np.int32)
        self._distance = np.empty(self._count)
        self._missed = np.empty(self._count, dtype=bool)

    def __call__(self) -> np.ndarray:
        """The depth image (height, width, 1), float32 metres clipped to ``far``, of the current state."""
        np.matmul(self._directions, self._rotation.T, out=self._world_directions)
        mujoco.mj_multiRay(self.model, self.data, self._position, self._world_directions.reshape(-1),
                           self._geomgroup, 1, -1, self._geom, self._distance, None, self._count, self._cutoff)
        np.less(self._distance, 0.0, out=self._missed)  # −1: no hit
        np.copyto(self._distance, self.far, where=self._missed)
        depth = np.empty(self._shape, dtype=np.float32)
        np.minimum(self._distance, self.far, out=depth.reshape(-1), casting="same_kind")
        return depth


class VisionSensor:
    """The image entries of one env's observation, from one camera (see the module docstring).

    :param world: the env's world (its model and data are read at each call).
    :param settings: the scene's validated :class:`~safexp.engine.scene.VisionSettings`.
    :param camera: the camera's name (the settings' or the robot's head camera).
    :param robot: the robot's name, for error messages.

    :attr:`spaces` maps each entry (``depth``, ``rgb``) to its ``Box``; calling the sensor returns the entries
    of the current state.
    """

    def __init__(self, world: World, settings: VisionSettings, camera: str, robot: str) -> None:
        self.world, self.settings = world, settings
        self.camera = camera_id(world.model, camera, robot)
        width, height = settings.size
        self.spaces: dict[str, gymnasium.spaces.Box] = {}
        if settings.mode in ("depth", "rgbd"):
            self.spaces["depth"] = gymnasium.spaces.Box(0.0, settings.far, (height, width, 1), np.float32)
        if settings.mode in ("rgb", "rgbd"):
            self.spaces["rgb"] = gymnasium.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self._ray_depth = (RayDepth(world.model, world.data, self.camera, width, height, settings.far)
                           if "depth" in self.spaces and settings.depth_method == "raycast" else None)
        self._renderer: Any = None
        self._view = mujoco.MjvCamera()
        self._view.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._view.fixedcamid = self.camera

    def __call__(self) -> dict[str, np.ndarray]:
        """The images of the current state, by entry name."""
        images: dict[str, np.ndarray] = {}
        if self._ray_depth is not None:
            images["depth"] = self._ray_depth()
        gl_depth = "depth" in self.spaces and self._ray_depth is None
        if "rgb" in self.spaces or gl_depth:
            renderer = self._gl_renderer(depth_only="rgb" not in self.spaces)
            renderer.update_scene(self.world.data, self._view)
            if "rgb" in self.spaces and gl_depth:
                images["rgb"], depth = renderer.render_rgbd()
            elif gl_depth:
                depth = renderer.render()
            else:
                images["rgb"] = renderer.render()
            if gl_depth:
                images["depth"] = np.minimum(depth, self.settings.far)[..., None]
        return images

    def _gl_renderer(self, depth_only: bool) -> Any:
        """The env's plain OpenGL renderer, made on the first frame (a missing GL backend raises then)."""
        if self._renderer is None:
            from safexp.engine.render import make_renderer

            width, height = self.settings.size
            self._renderer = make_renderer(self.world.model, width, height, depth=depth_only, plain=True)
        return self._renderer

    def close(self) -> None:
        """Free the OpenGL renderer, if one was made."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
