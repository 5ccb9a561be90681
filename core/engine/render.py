"""Offscreen rendering, headless through EGL or OSMesa, whatever was imported first.

MuJoCo fixes its default OpenGL backend from ``MUJOCO_GL`` when it is imported (GLFW when unset, which needs a
display), so the choice cannot wait for a variable set later. safexp does not rely on it: the first renderer of
the process chooses the backend (:func:`gl_backend`) —

- ``MUJOCO_GL`` when the user set it (``egl``, ``osmesa``, ``glfw``, ...);
- with a display (``DISPLAY`` or ``WAYLAND_DISPLAY``), or off Linux, MuJoCo's own default;
- headless, EGL when its library offers a device, else OSMesa —

and :class:`OffscreenRenderer` makes that backend's GL context itself and draws with MuJoCo's rendering
functions. Nothing is set in the environment, except ``PYOPENGL_PLATFORM``, which MuJoCo's EGL and OSMesa
modules set when first imported (only if unset) so that PyOpenGL loads the matching library.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Any

import mujoco
import numpy as np

from safexp.plugin.errors import SafexpError
from safexp.engine.world import World

GL_HELP = (
    "headless rendering needs EGL (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0, or a GPU driver's EGL) or "
    "OSMesa (apt-get install libosmesa6); without MUJOCO_GL and a display safexp uses EGL if it finds a device, "
    "else OSMesa. Set MUJOCO_GL=egl, osmesa or glfw to choose; PYOPENGL_PLATFORM, if set, must name the same backend"
)
DISABLED = ("disable", "disabled", "off", "false", "0")
EGL_LIBRARIES = ("libEGL.so.1", "libEGL.so")
OSMESA_LIBRARIES = ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so")


class RenderError(SafexpError):
    """No OpenGL context could be created."""


_chosen_backend: str | None = None  # PyOpenGL loads one platform per process: the first choice holds


def gl_backend() -> str:
    """The OpenGL backend renderers of this process use: ``egl``, ``osmesa``, or ``default`` (MuJoCo's choice at
    import, GLFW on Linux). Chosen on the first call (see the module docstring), the same afterwards."""
    global _chosen_backend
    if _chosen_backend is None:
        _chosen_backend = _choose_backend()
    return _chosen_backend


def _choose_backend() -> str:
    requested = os.environ.get("MUJOCO_GL", "").strip().lower()
    if requested in DISABLED:
        raise RenderError(f"rendering is turned off (MUJOCO_GL={requested}); unset MUJOCO_GL or set it to egl, "
                          "osmesa or glfw")
    if requested in ("egl", "osmesa"):
        return requested
    if requested or not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "default"
    platform = os.environ.get("PYOPENGL_PLATFORM", "").strip().lower()  # PyOpenGL follows it: so must we
    if platform in ("egl", "osmesa"):
        return platform
    if _egl_has_device():
        return "egl"
    if _loadable(OSMESA_LIBRARIES):
        return "osmesa"
    raise RenderError(f"no OpenGL backend found: no EGL device and no OSMesa library, and no display; {GL_HELP}")


def _loadable(names: tuple[str, ...]) -> ctypes.CDLL | None:
    """The first of the shared libraries ``names`` that loads, or ``None``."""
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _egl_has_device() -> bool:
    """Whether libEGL loads and lists at least one device (what MuJoCo's headless EGL context is made on).

    Asked through ctypes, before PyOpenGL is imported: once PyOpenGL has loaded EGL it cannot switch to OSMesa.
    """
    egl = _loadable(EGL_LIBRARIES)
    if egl is None:
        return False
    get_proc_address = egl.eglGetProcAddress
    get_proc_address.argtypes, get_proc_address.restype = [ctypes.c_char_p], ctypes.c_void_p
    address = get_proc_address(b"eglQueryDevicesEXT")
    if not address:
        return False
    query_devices = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int))(address)
    count = ctypes.c_int(0)
    return bool(query_devices(0, None, ctypes.byref(count))) and count.value > 0


def _context_class(backend: str) -> Any:
    """The GL context class of ``backend`` (importing MuJoCo's EGL or OSMesa module loads PyOpenGL for it)."""
    if backend == "egl":
        from mujoco.egl import GLContext
    elif backend == "osmesa":
        from mujoco.osmesa import GLContext
    else:
        GLContext = getattr(mujoco, "GLContext", None)
        if GLContext is None:
            raise RenderError(f"this MuJoCo build has no OpenGL context; {GL_HELP}")
    return GLContext


class OffscreenRenderer:
    """Draws a model's scenes into an offscreen buffer of ``width`` × ``height``, with a GL context of its own.

    :meth:`render` returns RGB frames (height, width, 3) of ``uint8``, or with ``depth`` the distance (metres,
    ``float32``, (height, width)) from the camera plane to what each pixel shows; :meth:`render_rgbd` both.
    A ``plain`` renderer draws for a policy, not for people: no shadows, reflections, skybox, fog, haze or
    multisampling, and no sites (the cost light among them); it changes nothing another renderer draws.
    """

    PLAIN_OFF = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX,
                 mujoco.mjtRndFlag.mjRND_FOG, mujoco.mjtRndFlag.mjRND_HAZE)
    """The scene flags a plain renderer turns off."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int, depth: bool, context_class: Any,
                 plain: bool = False) -> None:
        self.model, self.width, self.height, self.depth = model, width, height, depth
        self._gl: Any = None
        self._context: Any = None
        self._gl = context_class(width, height)
        self._gl.make_current()
        quality = model.vis.quality
        samples, shadow_size = quality.offsamples, quality.shadowsize
        if plain:  # read when the context is made: no multisampling (a small frame draws ~2× faster), no shadow map
            quality.offsamples, quality.shadowsize = 0, 0
        try:
            self._context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        finally:
            quality.offsamples, quality.shadowsize = samples, shadow_size
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR  # near → 1, far → 0 (reversed Z)
        self.scene = mujoco.MjvScene(model, maxgeom=10_000)
        if depth:  # flat colours: depth is read the same, without lighting work
            self.scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
            self.scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        self._option = mujoco.MjvOption()
        if plain:
            for flag in self.PLAIN_OFF:
                self.scene.flags[flag] = False
            self._option.sitegroup[:] = 0
        self._rect = mujoco.MjrRect(0, 0, width, height)

    def update_scene(self, data: mujoco.MjData, camera: mujoco.MjvCamera) -> None:
        """Take the geoms of ``data``'s state, seen from ``camera``."""
        mujoco.mjv_updateScene(self.model, data, self._option, None, camera, mujoco.mjtCatBit.mjCAT_ALL, self.scene)

    def render(self) -> np.ndarray:
        """Draw the scene and read the image back, top row first: depth in metres or RGB, as made."""
        if self.depth:
            return self._draw(rgb=None, depth=np.empty((self.height, self.width), dtype=np.float32))[1]
        return self._draw(rgb=np.empty((self.height, self.width, 3), dtype=np.uint8), depth=None)[0]

    def render_rgbd(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw the scene once and read both buffers: RGB (``uint8``) and depth (metres), top row first."""
        return self._draw(np.empty((self.height, self.width, 3), dtype=np.uint8),
                          np.empty((self.height, self.width), dtype=np.float32))

    def _draw(self, rgb: np.ndarray | None, depth: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Draw, read into the given buffers, and return them flipped to top row first (depth in metres)."""
        if self._context is None:
            raise RenderError("render() called after close()")
        self._gl.make_current()
        mujoco.mjr_render(self._rect, self.scene, self._context)
        mujoco.mjr_readPixels(rgb, depth, self._rect, self._context)
        # OpenGL's rows run bottom to top
        return (None if rgb is None else np.ascontiguousarray(rgb[::-1]),
                None if depth is None else np.ascontiguousarray(self._metres(depth)[::-1]))

    def _metres(self, window_depth: np.ndarray) -> np.ndarray:
        """Distances from the depth buffer's values w (1 at the near plane n, 0 at the far plane f)."""
        extent = self.model.stat.extent
        near = float(np.float32(self.model.vis.map.znear * extent))  # the float32 planes OpenGL projects with
        far = float(np.float32(self.model.vis.map.zfar * extent))
        w = window_depth.astype(np.float64)
        if self.scene.camera[0].orthographic:
            return (far - w * (far - near)).astype(np.float32)
        # Perspective, reversed Z: w = n (f − d) / (d (f − n)), so d = f n / (n + w (f − n)).
        return (far * near / (near + w * (far - near))).astype(np.float32)

    def close(self) -> None:
        """Free the GL resources (the renderer cannot draw afterwards)."""
        if self._context is not None:
            with self._gl.as_current():
                self._context.free()
            self._context = None
        if self._gl is not None:
            self._gl.free()
            self._gl = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the GL libraries may be gone already
            self.close()


def make_renderer(model: mujoco.MjModel, width: int, height: int, depth: bool, plain: bool = False) -> OffscreenRenderer:
    """A renderer for ``model`` (``plain``: for a policy, see :class:`OffscreenRenderer`); a missing GL backend
    raises :class:`RenderError` saying what to install."""
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, height)
    backend = gl_backend()
    try:
        return OffscreenRenderer(model, width, height, depth, _context_class(backend), plain)
    except Exception as exc:  # GL context creation fails with backend-specific exception types
        if backend == "default":
            backend = f"MuJoCo's default, MUJOCO_GL={os.environ.get('MUJOCO_GL') or 'unset'}"
        raise RenderError(f"could not create an OpenGL context (backend {backend}: {type(exc).__name__}: {exc}); "
                          f"{GL_HELP}") from None


def render_frame(renderer: OffscreenRenderer, world: World, camera: str) -> np.ndarray:
    """Render the current state from ``camera`` (``track`` follows the robot; others are model cameras)."""
    view = mujoco.MjvCamera()
    if camera == "track":
        view.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        view.trackbodyid = world.robot_body
        view.distance, view.elevation, view.azimuth = 3.0, -50.0, 90.0
    else:
        camera_id = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)  # checked when env is built
        view.type = mujoco.mjtCamera.mjCAMERA_FIXED
        view.fixedcamid = camera_id
    renderer.update_scene(world.data, view)
    return renderer.render()
