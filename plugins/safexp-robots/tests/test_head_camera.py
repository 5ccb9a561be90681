"""Every first-party robot carries a level, forward-looking head camera ``head`` that sees none of the robot,
and vision observations work on each robot's suite env."""

import gymnasium
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safexp.engine.vision import RayDepth

ROBOTS = ("point", "car", "doggo")


@pytest.mark.parametrize("robot", ROBOTS)
def test_head_camera_looks_level_along_body_x(compile_robot, build_robot, robot):
    assert build_robot(robot).head_camera == "head"
    model = compile_robot(robot)
    camera = model.camera("head")
    assert camera.bodyid[0] == model.body("robot").id
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    view = -data.cam_xmat[camera.id].reshape(3, 3)[:, 2]  # cameras look along their −z
    np.testing.assert_allclose(view, data.xmat[model.body("robot").id].reshape(3, 3)[:, 0], atol=1e-9)


@pytest.mark.parametrize("robot", ROBOTS)
def test_head_camera_sees_only_the_floor_below_the_horizon(compile_robot, robot):
    """Standing alone on a floor, the robot's head camera sees the floor where a bare camera at its height would:
    no part of the robot is in view."""
    model = compile_robot(robot)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    camera = model.camera("head").id
    size, far = 40, 4.0  # within the test floor (±5 m)
    depth = RayDepth(model, data, camera, size, size, far)()[..., 0]
    height = data.cam_xpos[camera][2]
    tangents = (1 - (np.arange(size) + 0.5) / size * 2) * np.tan(np.radians(model.cam_fovy[camera]) / 2)
    below = tangents < 0
    floor = np.broadcast_to((height / -tangents[below])[:, None], (below.sum(), size))
    np.testing.assert_allclose(depth[below], np.minimum(floor, far), rtol=1e-6)
    assert np.all(depth[~below] == far)


@pytest.mark.parametrize("robot", ["Point", "Car", "Doggo"])
def test_suite_env_with_vision_passes_check_env(robot):
    env = gymnasium.make(f"safexp/{robot}Goal1-v0", vision={"mode": "rgbd", "size": [32, 24], "lidar": False})
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs["depth"].shape == (24, 32, 1) and obs["rgb"].shape == (24, 32, 3)
    assert not any(key.endswith("_lidar") for key in env.unwrapped.obs_layout)
    env.close()
