"""Rendering headless without any set-up: no MUJOCO_GL, no display, nothing set by importing safexp."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import safexp.engine.render as render
from safexp.engine.env import SafetyEnv
from safexp.engine.render import RenderError

TESTKIT_SRC = Path(__file__).resolve().parents[1] / "fixtures" / "safexp-testkit" / "src"
GL_VARIABLES = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")

# Builds testkit envs (the testkit plugin alone) in a fresh process and reports on their frames as JSON.
RENDER_SCRIPT = textwrap.dedent("""
    import json, os, sys
    before = dict(os.environ)
    import safexp
    from safexp.engine.env import SafetyEnv
    from safexp.engine.render import RenderError, gl_backend
    from safexp.registry import Registry, reset_registry
    imported = dict(os.environ)
    sys.path.insert(0, {testkit!r})
    import safexp_testkit.plugin
    registry = Registry(autoload=False)
    registry.register(safexp_testkit.plugin, name="testkit")
    reset_registry(registry)
    report = {{"import_sets_nothing": imported == before}}
    try:
        for mode in ("rgb_array", "depth_array"):
            env = SafetyEnv(robot="puck", task="reach", level=1, render_mode=mode, render_width=80, render_height=60,
                            render_camera="fixedfar")
            env.reset(seed=0)
            frame = env.render()
            env.close()
            report[mode] = {{"shape": list(frame.shape), "dtype": str(frame.dtype), "finite": bool((frame == frame).all()),
                            "min": float(frame.min()), "max": float(frame.max()), "std": float(frame.std())}}
        report["backend"] = gl_backend()
    except RenderError as exc:
        report["error"] = str(exc)
    report["MUJOCO_GL"] = os.environ.get("MUJOCO_GL")
    print(json.dumps(report))
""")


def run_render_script(**variables: str) -> dict:
    """The script's report, run with no GL variable set except ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in GL_VARIABLES}
    env.update(variables)
    script = RENDER_SCRIPT.format(testkit=str(TESTKIT_SRC))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_rgb_and_depth_frames_render_headless_with_nothing_set():
    report = run_render_script()
    assert "error" not in report, report.get("error")
    assert report["import_sets_nothing"] and report["MUJOCO_GL"] is None
    assert report["backend"] in ("egl", "osmesa")
    rgb, depth = report["rgb_array"], report["depth_array"]
    assert rgb["shape"] == [60, 80, 3] and rgb["dtype"] == "uint8" and rgb["std"] > 0
    assert depth["shape"] == [60, 80] and depth["dtype"] == "float32" and depth["finite"]
    assert 0 < depth["min"] < depth["max"]  # metres from the camera: the floor near and far


@pytest.mark.parametrize("variables, message", [
    ({"MUJOCO_GL": "off"}, r"rendering is turned off \(MUJOCO_GL=off\)"),
    ({"MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "osmesa"},
     r"could not create an OpenGL context \(backend egl: ImportError: .*apt-get install libegl1"),
])
def test_no_usable_backend_is_a_render_error_with_install_hints(variables, message):
    report = run_render_script(**variables)
    assert report.get("error"), report
    assert re.search(message, report["error"]), report["error"]
    assert "MUJOCO_GL" in report["error"]


def test_rendering_in_this_process(testkit_registry):
    frames = {}
    for mode in ("rgb_array", "depth_array"):
        env = SafetyEnv(robot="puck", task="reach", level=0, render_mode=mode, render_width=64, render_height=48)
        env.reset(seed=1)
        frames[mode] = env.render()
        env.close()
        env.close()  # closing twice is harmless
    assert frames["rgb_array"].shape == (48, 64, 3) and frames["rgb_array"].std() > 0
    assert frames["depth_array"].shape == (48, 64) and np.all(frames["depth_array"] > 0)


@pytest.fixture
def no_gl_choice(monkeypatch: pytest.MonkeyPatch):
    """No GL variable set, the backend not chosen yet (restored afterwards)."""
    for name in GL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(render.sys, "platform", "linux")
    return monkeypatch


def test_headless_choice_is_egl_then_osmesa(no_gl_choice):
    no_gl_choice.setattr(render, "_egl_has_device", lambda: True)
    assert render._choose_backend() == "egl"
    no_gl_choice.setattr(render, "_egl_has_device", lambda: False)
    no_gl_choice.setattr(render, "_loadable", lambda names: object() if names == render.OSMESA_LIBRARIES else None)
    assert render._choose_backend() == "osmesa"
    no_gl_choice.setattr(render, "_loadable", lambda names: None)
    with pytest.raises(RenderError, match="no OpenGL backend found: no EGL device and no OSMesa library.*apt-get"):
        render._choose_backend()


def test_the_users_choice_and_a_display_come_first(no_gl_choice):
    no_gl_choice.setattr(render, "_egl_has_device", lambda: pytest.fail("probed EGL despite a choice"))
    no_gl_choice.setenv("PYOPENGL_PLATFORM", "osmesa")
    assert render._choose_backend() == "osmesa"  # PyOpenGL will load OSMesa: follow it
    no_gl_choice.setenv("MUJOCO_GL", "egl")
    assert render._choose_backend() == "egl"
    no_gl_choice.setenv("MUJOCO_GL", "glfw")
    assert render._choose_backend() == "default"
    no_gl_choice.delenv("MUJOCO_GL")
    no_gl_choice.setenv("DISPLAY", ":0")
    assert render._choose_backend() == "default"
