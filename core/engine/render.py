"""Offscreen rendering with MuJoCo's renderer, headless through EGL or OSMesa."""

from __future__ import annotations

import os

import mujoco
import numpy as np

from safexp.plugin.errors import ParameterError, SafexpError, choices_hint
from safexp.engine.world import World

GL_HELP = (
    "headless rendering needs an OpenGL backend: install EGL (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0) "
    "and set MUJOCO_GL=egl, or OSMesa (apt-get install libosmesa6) and set MUJOCO_GL=osmesa. MuJoCo picks its "
    "backend when first imported: set MUJOCO_GL in the environment, or import safexp before mujoco"
)


class RenderError(SafexpError):
    """No OpenGL context could be created."""


def make_renderer(model: mujoco.MjModel, width: int, height: int, depth: bool) -> mujoco.Renderer:
    """A renderer for ``model``; a missing GL backend raises :class:`RenderError` saying what to install."""
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, height)
    try:
        renderer = mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # GL context creation fails with backend-specific exception types
        backend = os.environ.get("MUJOCO_GL", "default")
        raise RenderError(f"could not create an OpenGL context (MUJOCO_GL={backend}: {exc}); {GL_HELP}") from None
    if depth:
        renderer.enable_depth_rendering()
    return renderer


def render_frame(renderer: mujoco.Renderer, world: World, camera: str) -> np.ndarray:
    """Render the current state from ``camera`` (``track`` follows the robot; others are model cameras)."""
    if camera == "track":
        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        cam.trackbodyid = world.robot_body
        cam.distance, cam.elevation, cam.azimuth = 3.0, -50.0, 90.0
        renderer.update_scene(world.data, camera=cam)
    else:
        names = [mujoco.mj_id2name(world.model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(world.model.ncam)]
        if camera not in names:
            raise ParameterError(f"unknown render_camera '{camera}'; {choices_hint(camera, ['track', *names])}")
        renderer.update_scene(world.data, camera=camera)
    return renderer.render()
