"""Every robot document follows the engine's MJCF conventions (see ``safexp.RobotModel``)."""

import xml.etree.ElementTree as ET
from collections.abc import Callable

import mujoco
import numpy as np
import pytest

import safexp

CompileRobot = Callable[..., mujoco.MjModel]
BuildRobot = Callable[..., safexp.RobotModel]
ROBOTS = ("point", "car", "doggo", "ant", "humanoid")
SITE_SENSORS = ["accelerometer", "velocimeter", "gyro", "magnetometer"]


def observed_size(model: mujoco.MjModel) -> int:
    """Values the engine observes from the sensors: hinge jointpos as (sin, cos), ballquat as a 3×3 matrix."""
    size = 0
    for i in range(model.nsensor):
        kind = model.sensor_type[i]
        if kind == mujoco.mjtSensor.mjSENS_JOINTPOS and model.jnt_type[model.sensor_objid[i]] == mujoco.mjtJoint.mjJNT_HINGE:
            size += 2
        elif kind == mujoco.mjtSensor.mjSENS_BALLQUAT:
            size += 9
        else:
            size += int(model.sensor_dim[i])
    return size


@pytest.mark.parametrize(("robot", "size"), [("point", 12), ("car", 24), ("doggo", 56), ("ant", 40), ("humanoid", 65)])
def test_observed_sensor_size(compile_robot: CompileRobot, robot: str, size: int) -> None:
    assert observed_size(compile_robot(robot)) == size


@pytest.mark.parametrize("robot", ROBOTS)
def test_site_sensors_come_first_on_the_robot_site(compile_robot: CompileRobot, robot: str) -> None:
    model = compile_robot(robot)
    site = model.site("robot").id
    assert [model.sensor(i).name for i in range(4)] == SITE_SENSORS
    assert list(model.sensor_objid[:4]) == [site] * 4
    assert list(model.sensor_type[:4]) == [
        mujoco.mjtSensor.mjSENS_ACCELEROMETER,
        mujoco.mjtSensor.mjSENS_VELOCIMETER,
        mujoco.mjtSensor.mjSENS_GYRO,
        mujoco.mjtSensor.mjSENS_MAGNETOMETER,
    ]


@pytest.mark.parametrize("robot", ROBOTS)
def test_document_has_one_top_level_body_named_robot_and_no_floor(build_robot: BuildRobot, robot: str) -> None:
    root = ET.fromstring(build_robot(robot).mjcf)
    worldbody = root.find("worldbody")
    assert [(child.tag, child.get("name")) for child in worldbody] == [("body", "robot")]
    assert not [geom for geom in root.iter("geom") if geom.get("type") == "plane"]
    assert root.find("default/geom").get("condim") == "6"


@pytest.mark.parametrize("robot", ROBOTS)
def test_robot_has_site_camera_and_condim_6_geoms(compile_robot: CompileRobot, robot: str) -> None:
    model = compile_robot(robot)
    robot_body = model.body("robot").id
    assert model.site_bodyid[model.site("robot").id] == robot_body
    assert model.cam_bodyid[model.camera("vision").id] == robot_body
    in_robot = model.body_rootid[model.geom_bodyid] == robot_body
    assert in_robot.sum() == model.ngeom - 1  # everything but the test floor
    assert set(model.geom_condim[in_robot]) == {6}


@pytest.mark.parametrize("robot", ROBOTS)
def test_every_actuator_is_limited_to_unit_controls(compile_robot: CompileRobot, robot: str) -> None:
    model = compile_robot(robot)
    assert model.nu == {"point": 2, "car": 2, "doggo": 12, "ant": 8, "humanoid": 17}[robot]
    assert np.all(model.actuator_ctrllimited == 1)
    np.testing.assert_array_equal(model.actuator_ctrlrange, np.tile([-1.0, 1.0], (model.nu, 1)))


def test_point_root_joints_are_slide_x_slide_y_hinge_z(compile_robot: CompileRobot) -> None:
    model = compile_robot("point")
    assert model.njnt == 3
    assert list(model.jnt_type) == [mujoco.mjtJoint.mjJNT_SLIDE, mujoco.mjtJoint.mjJNT_SLIDE, mujoco.mjtJoint.mjJNT_HINGE]
    np.testing.assert_array_equal(model.jnt_axis, np.eye(3))
    assert set(model.jnt_bodyid) == {model.body("robot").id}


@pytest.mark.parametrize("robot", ["car", "doggo", "ant", "humanoid"])
def test_car_and_doggo_root_is_one_free_joint(compile_robot: CompileRobot, robot: str) -> None:
    model = compile_robot(robot)
    free = np.flatnonzero(model.jnt_type == mujoco.mjtJoint.mjJNT_FREE)
    assert len(free) == 1
    assert model.jnt_bodyid[free[0]] == model.body("robot").id
    assert model.body_jntadr[model.body("robot").id] == free[0]
    assert model.body_jntnum[model.body("robot").id] == 1
