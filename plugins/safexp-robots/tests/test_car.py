"""Car: the reference figures read back from the compiled model, and how its wheel actions move it."""

from collections.abc import Callable

import mujoco
import numpy as np
import pytest

CompileRobot = Callable[..., mujoco.MjModel]
WHEELS = ("car_left", "car_right")


def test_timestep_mass_and_chassis(compile_robot: CompileRobot) -> None:
    model = compile_robot("car")
    assert model.opt.timestep == 0.004
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_EULER
    assert model.body_subtreemass[model.body("robot").id] == pytest.approx(0.0304, rel=0.05)
    np.testing.assert_allclose(model.geom("car_chassis").size, [0.1, 0.1, 0.05])
    # chassis box (0.2 x 0.2 x 0.1) at density 5
    assert model.body_mass[model.body("robot").id] > 0.004 * 5
    assert model.geom("car_rear_ball").size[0] == 0.05


def test_wheel_motors(compile_robot: CompileRobot) -> None:
    model = compile_robot("car")
    for name in WHEELS:
        actuator = model.actuator(name)
        joint = model.joint(actuator.trnid[0])
        assert joint.type[0] == mujoco.mjtJoint.mjJNT_HINGE
        assert actuator.gear[0] == 1.0
        assert actuator.forcelimited[0] == 1
        np.testing.assert_allclose(actuator.forcerange, [-0.02, 0.02])
        assert model.dof_damping[joint.dofadr[0]] == 0.001
    assert model.joint("car_rear_ball").type[0] == mujoco.mjtJoint.mjJNT_BALL


@pytest.mark.parametrize(("action", "torque"), [(0.01, 0.01), (0.02, 0.02), (1.0, 0.02), (-0.02, -0.02), (-1.0, -0.02)])
def test_wheel_torque_saturates_from_action_0_02(compile_robot: CompileRobot, action: float, torque: float) -> None:
    model = compile_robot("car")
    data = mujoco.MjData(model)
    data.ctrl[:] = [action, action]
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(data.actuator_force, [torque, torque])


def _drive(model: mujoco.MjModel, action: list[float], env_steps: int) -> mujoco.MjData:
    data = mujoco.MjData(model)
    data.ctrl[:] = action
    for _ in range(env_steps * 10):
        mujoco.mj_step(model, data)
    return data


def test_rests_at_its_initial_height(compile_robot: CompileRobot) -> None:
    # the engine keeps the free body's initial height, so that height must be where the car rests
    model = compile_robot("car")
    data = _drive(model, [0.0, 0.0], env_steps=50)
    assert data.xpos[model.body("robot").id][2] == pytest.approx(0.1, abs=2e-3)
    assert data.xmat[model.body("robot").id][8] > 0.999


def test_positive_actions_drive_forward_along_body_x(compile_robot: CompileRobot) -> None:
    model = compile_robot("car")
    data = _drive(model, [1.0, 1.0], env_steps=20)
    velocity = data.sensor("velocimeter").data
    assert velocity[0] > 0.1
    assert abs(velocity[1]) < 0.01 * velocity[0]
    assert data.xpos[model.body("robot").id][0] > 0.05
    assert _drive(model, [-1.0, -1.0], env_steps=20).sensor("velocimeter").data[0] < -0.1


def test_right_wheel_forward_turns_left(compile_robot: CompileRobot) -> None:
    model = compile_robot("car")
    assert _drive(model, [-1.0, 1.0], env_steps=20).sensor("gyro").data[2] > 0.1
    assert _drive(model, [1.0, -1.0], env_steps=20).sensor("gyro").data[2] < -0.1


def test_rear_ball_sensors_follow_the_caster(compile_robot: CompileRobot) -> None:
    model = compile_robot("car")
    data = _drive(model, [1.0, 1.0], env_steps=20)
    mujoco.mj_forward(model, data)  # sensors of the current state (mj_step reads them before integrating)
    caster = model.joint("car_rear_ball")
    np.testing.assert_allclose(data.sensor("ballquat_rear").data, data.qpos[caster.qposadr[0]:caster.qposadr[0] + 4])
    np.testing.assert_allclose(data.sensor("ballangvel_rear").data, data.qvel[caster.dofadr[0]:caster.dofadr[0] + 3])
    assert np.linalg.norm(data.sensor("ballangvel_rear").data) > 1.0  # it rolls along


def test_params_reach_the_compiled_model(compile_robot: CompileRobot) -> None:
    model = compile_robot("car", timestep=0.002, wheel_gear=2.0, torque_limit=0.05, integrator="implicitfast")
    assert model.opt.timestep == 0.002
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    np.testing.assert_allclose(model.actuator_gear[:, 0], [2.0, 2.0])
    np.testing.assert_allclose(model.actuator_forcerange, [[-0.05, 0.05], [-0.05, 0.05]])
