"""Vision observations on the testkit puck: exact depth and colour of a known panel, validation, the two depth
methods agreeing, and rendering for people left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import safexp
from safexp.engine.env import SafetyEnv
from safexp.engine.scene import scene_config
from safexp.plugin import Element, HazardSpec, ParameterError, PlacementParams

TESTKIT_SRC = Path(__file__).resolve().parents[1] / "fixtures" / "safexp-testkit" / "src"
PANEL_X, PANEL_HALF_THICKNESS = 1.0, 0.02
PANEL_RGB = (0.8, 0.4, 0.2)


@dataclass
class PanelParams(PlacementParams):
    """A panel 2 m wide, 1 m tall, facing −x."""

    num: int = 1
    lidar: bool = False


class Panels(Element):
    random_yaw = False

    def body_xml(self, index: int) -> str:
        return (f'<geom type="box" size="{PANEL_HALF_THICKNESS} 1 0.5" pos="0 0 0.5" material="panel" '
                'contype="0" conaffinity="0"/>')

    def extra_xml(self) -> dict[str, str]:  # no specular light: the lit face shows its colour exactly
        red, green, blue = PANEL_RGB
        return {"asset": f'<material name="panel" rgba="{red} {green} {blue} 1" specular="0" shininess="0"/>'}


class PanelPlugin:
    @safexp.hookimpl
    def safexp_hazards(self):
        yield HazardSpec("panels", Panels, PanelParams, "a flat panel facing -x")


@pytest.fixture
def panel_registry(testkit_registry):
    testkit_registry.register(PanelPlugin(), name="panels")
    return testkit_registry


def facing_the_panel(**vision) -> tuple[SafetyEnv, dict]:
    """A puck at the origin looking along +x (its ``vision`` camera, level, 45° field of view) at the panel whose
    face is 0.98 m away, its antenna (which the camera sits in) swung back out of view; returns the env and the
    observation after one step without action."""
    env = SafetyEnv(robot="puck", task="reach", level=0, robot_location=[0.0, 0.0],
                    beacons={"num": 1, "locations": [[-0.8, 0.8]]}, panels={"locations": [[PANEL_X, 0.0]]},
                    vision={"camera": "vision", **vision})
    env.reset(seed=0)
    yaw = env.world.model.joint("yaw")
    env.world.data.qpos[yaw.qposadr[0]] = 0.0
    antenna = env.world.model.joint("antenna").qposadr[0]
    env.world.data.qpos[antenna : antenna + 4] = (np.cos(-np.pi / 4), 0.0, np.sin(-np.pi / 4), 0.0)  # up → −x
    obs, *_ = env.step(np.zeros(2))
    return env, obs


@pytest.mark.parametrize("method", ["raycast", "gl"])
def test_depth_of_a_wall_in_front_of_the_camera_is_its_distance(panel_registry, method):
    env, obs = facing_the_panel(mode="depth", size=[50, 50], far=3.0, depth_method=method)
    camera_x = env.world.data.cam_xpos[env.world.model.camera("vision").id][0]
    expected = PANEL_X - PANEL_HALF_THICKNESS - camera_x
    depth = obs["depth"][..., 0]
    assert obs["depth"].shape == (50, 50, 1) and obs["depth"].dtype == np.float32
    # The upper half of the view sees only the panel, a plane square to the camera axis: one depth everywhere.
    np.testing.assert_allclose(depth[:25], expected, atol=1e-4 if method == "raycast" else 2e-3)
    # Below the horizon the floor comes first; the bottom row sees it 0.15 m below the camera at 22.5° down.
    bottom_row_angle = np.arctan((1 - 0.5 / 50 * 2) * np.tan(np.radians(22.5)))
    np.testing.assert_allclose(depth[-1, 25], 0.15 / np.tan(bottom_row_angle), rtol=2e-3)
    env.close()


def test_depth_is_clipped_to_far(panel_registry):
    env, obs = facing_the_panel(mode="depth", size=[20, 20], far=0.5)
    assert obs["depth"].max() == np.float32(0.5)
    assert env.observation_space["depth"].high.max() == np.float32(0.5)
    env.close()


def test_rgb_of_a_panel_is_its_colour(panel_registry):
    env, obs = facing_the_panel(mode="rgb", size=[40, 30])
    rgb = obs["rgb"]
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8
    # Ambient 0.4 + head light 0.6 square to the face, the sun's light grazing it: the material's colour.
    expected = np.round(255 * np.array(PANEL_RGB))
    assert np.abs(rgb[:15].astype(int) - expected).max() <= 1, rgb[:15].reshape(-1, 3)[:3]
    env.close()


def test_rgbd_gives_both_entries_and_the_vector_keeps_its_layout(panel_registry):
    env, obs = facing_the_panel(mode="rgbd", size=[16, 12], lidar=True)
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Dict) and set(space) == {"vector", "depth", "rgb"}
    assert space["rgb"].shape == (12, 16, 3) and space["depth"].shape == (12, 16, 1)
    assert "beacons_lidar" in env.obs_layout and obs["vector"].shape == space["vector"].shape
    assert space.contains(obs)
    without_lidar, _ = facing_the_panel(mode="depth", size=[16, 12], lidar=False)
    assert not any(key.endswith("_lidar") for key in without_lidar.obs_layout)
    env.close()
    without_lidar.close()


def test_gl_and_raycast_depth_agree_on_a_cluttered_scene(testkit_registry):  # the arena seen from above
    images = {}
    for method in ("raycast", "gl"):
        env = SafetyEnv(robot="puck", task="reach", level=1, beacons={"num": 6}, crates={"num": 4},
                        vision={"camera": "fixednear", "size": [48, 48], "far": 4.0, "depth_method": method})
        env.reset(seed=4)
        images[method] = np.stack([env.step(np.array([0.3, -0.2]))[0]["depth"] for _ in range(5)])
        env.close()
    difference = np.abs(images["raycast"] - images["gl"])
    assert (images["raycast"] < 4.0).mean() > 0.3  # the floor and objects, not just empty space
    # Edges of round objects (GL draws them as polygons) may differ; nearly every pixel agrees to a millimetre.
    assert (difference < 1e-3).mean() > 0.99 and np.median(difference) < 1e-4


def test_same_seed_same_images(testkit_registry):
    runs = []
    for _ in range(2):
        env = SafetyEnv(robot="puck", task="reach", level=1, vision={"camera": "vision", "mode": "rgbd", "size": [24, 24]})
        obs, _ = env.reset(seed=7)
        frames = [obs] + [env.step(np.array([0.5, 0.5]))[0] for _ in range(3)]
        runs.append(frames)
        env.close()
    for first, second in zip(*runs):
        for key in ("vector", "depth", "rgb"):
            np.testing.assert_array_equal(first[key], second[key])


def test_vision_and_render_leave_each_other_alone(testkit_registry):
    def run(vision: bool, render_mode: str | None):
        keys = {"vision": {"camera": "vision", "mode": "rgb", "size": [32, 32]}} if vision else {}
        env = SafetyEnv(robot="puck", task="reach", level=1, render_mode=render_mode, render_width=64,
                        render_height=48, **keys)
        env.reset(seed=2)
        observations, frames = [], []
        for _ in range(3):
            obs = env.step(np.array([1.0, 0.0]))[0]
            observations.append(obs["rgb"] if vision else None)
            frames.append(env.render() if render_mode else None)
        env.close()
        return observations, frames

    seen_and_drawn = run(vision=True, render_mode="rgb_array")
    only_drawn = run(vision=False, render_mode="rgb_array")
    only_seen = run(vision=True, render_mode=None)
    np.testing.assert_array_equal(np.stack(seen_and_drawn[1]), np.stack(only_drawn[1]))
    np.testing.assert_array_equal(np.stack(seen_and_drawn[0]), np.stack(only_seen[0]))


def test_a_robot_without_the_camera_is_a_clear_error(testkit_registry):
    with pytest.raises(ParameterError) as raised:
        SafetyEnv(robot="puck", task="reach", level=0, vision={"mode": "depth"})
    message = str(raised.value)
    assert "vision needs the camera 'head'" in message and "robot 'puck'" in message
    assert "valid choices: " in message and "vision" in message and "RobotModel(head_camera=...)" in message
    with pytest.raises(ParameterError, match="camera 'visoin'.*did you mean 'vision'"):
        SafetyEnv(robot="puck", task="reach", level=0, vision={"camera": "visoin"})


@pytest.mark.parametrize("vision, message", [
    ({"mode": "dpth"}, "unknown vision mode 'dpth'; did you mean 'depth'\\? valid choices: depth"),
    ({"depth_method": "rays"}, "unknown vision depth_method 'rays'; did you mean 'raycast'"),
    ({"sise": [50, 50]}, "the scene's vision has no parameter 'sise'; did you mean 'size'"),
    ({"size": [50, 0]}, "parameter 'size' of the scene's vision is 0 \\(valid: \\[1, 4096\\]\\)"),
    ({"size": [50]}, "vision size must be \\[width, height\\], got \\[50\\]"),
    ({"far": 0}, "parameter 'far' of the scene's vision is 0.0 \\(valid: \\(0, inf\\)\\)"),
    ("yes", "the parameters of the scene's vision must be a mapping"),
])
def test_bad_vision_settings_are_named(testkit_registry, vision, message):
    with pytest.raises(ParameterError, match=message):
        scene_config("puck", "reach", 0, vision=vision)


def test_vision_true_is_the_defaults(testkit_registry):
    vision = scene_config("puck", "reach", 0, vision=True).settings.vision
    assert (vision.mode, vision.size, vision.camera, vision.far, vision.lidar, vision.depth_method) == (
        "depth", [50, 50], None, 5.0, True, "raycast")
    assert scene_config("puck", "reach", 0, vision=False).settings.vision is None


# Builds puck envs with vision in a fresh process with the GL variables given, reports what happened as JSON.
NO_GL_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {testkit!r})
    import numpy as np
    import safexp_testkit.plugin
    from safexp.engine.env import SafetyEnv
    from safexp.registry import Registry, reset_registry
    registry = Registry(autoload=False)
    registry.register(safexp_testkit.plugin, name="testkit")
    reset_registry(registry)
    report = {{}}
    for mode in ("depth", "rgb"):
        try:
            env = SafetyEnv(robot="puck", task="reach", level=0, vision={{"camera": "vision", "mode": mode}})
            obs, _ = env.reset(seed=0)
            report[mode] = list(obs[mode].shape)
        except Exception as exc:
            report[mode] = type(exc).__name__ + ": " + str(exc)
    print(json.dumps(report))
""")


def test_raycast_depth_needs_no_gl_and_rgb_without_gl_names_what_to_install():
    variables = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")}
    variables.update(MUJOCO_GL="egl", PYOPENGL_PLATFORM="osmesa")  # PyOpenGL cannot load EGL: no GL context
    done = subprocess.run([sys.executable, "-c", NO_GL_SCRIPT.format(testkit=str(TESTKIT_SRC))], env=variables,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["depth"] == [50, 50, 1]
    assert report["rgb"].startswith("RenderError: could not create an OpenGL context (backend egl"), report["rgb"]
    assert "apt-get install libegl1" in report["rgb"] and "libosmesa6" in report["rgb"]


def test_unstable_physics_gives_finite_images(testkit_registry):
    env = SafetyEnv(robot="puck", task="reach", level=0, robot_params={"gear": 1e12, "force": 1e12},
                    vision={"camera": "vision", "mode": "rgbd", "size": [8, 8]})
    env.reset(seed=0)
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(np.ones(2))
        if truncated:
            break
    assert truncated and info["cost_exception"] == 1.0
    assert env.observation_space.contains(obs) and all(np.all(np.isfinite(value)) for value in obs.values())
    env.close()


def test_vision_from_a_file_or_level_is_turned_off_by_false(testkit_registry, tmp_path):
    scene_file = tmp_path / "scene.yaml"
    scene_file.write_text("vision:\n  lidar: false\n  far: 8\n")
    vision = scene_config("puck", "reach", 0, scene_file=scene_file).settings.vision
    assert (vision.mode, vision.size, vision.lidar, vision.far) == ("depth", [50, 50], False, 8.0)
    assert scene_config("puck", "reach", 0, scene_file=scene_file, vision=False).settings.vision is None
    assert scene_config("puck", "reach", 0, scene_file=scene_file, vision={"far": 2}).settings.vision.lidar is False
