"""Point: the reference figures read back from the compiled model, and how its actions move it."""

from collections.abc import Callable

import mujoco
import numpy as np
import pytest

CompileRobot = Callable[..., mujoco.MjModel]


def test_timestep_masses_and_damping(compile_robot: CompileRobot) -> None:
    model = compile_robot("point")
    assert model.opt.timestep == 0.002
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    assert model.body_subtreemass[model.body("robot").id] == pytest.approx(0.0052, rel=0.05)
    np.testing.assert_allclose(model.dof_damping, [0.01, 0.01, 0.005])
    assert model.geom("point_sphere").size[0] == 0.1
    assert model.body("robot").pos[2] == 0.1  # the sphere rests on the floor
    camera = model.camera("vision")
    np.testing.assert_allclose(camera.pos, [0, 0, 0.15])
    assert camera.fovy[0] == 90


def test_actuators_are_a_body_x_motor_and_a_yaw_rate_servo(compile_robot: CompileRobot) -> None:
    model = compile_robot("point")
    forward, turn = model.actuator("point_forward"), model.actuator("point_turn")
    assert forward.trntype[0] == mujoco.mjtTrn.mjTRN_SITE
    np.testing.assert_allclose(forward.gear, [0.3, 0, 0, 0, 0, 0])
    assert turn.trntype[0] == mujoco.mjtTrn.mjTRN_JOINT
    assert turn.trnid[0] == model.joint("point_yaw").id
    assert turn.gear[0] == 0.3
    assert (turn.gainprm[0], turn.biasprm[2]) == (1.0, -1.0)  # velocity servo, kv 1
    for actuator in (forward, turn):
        assert actuator.forcelimited[0] == 1
        np.testing.assert_allclose(actuator.forcerange, [-0.05, 0.05])


@pytest.mark.parametrize(("action", "force"), [(0.03, 0.03), (0.05, 0.05), (1.0, 0.05), (-0.05, -0.05), (-1.0, -0.05)])
def test_forward_force_saturates_from_action_0_05(compile_robot: CompileRobot, action: float, force: float) -> None:
    model = compile_robot("point")
    data = mujoco.MjData(model)
    data.ctrl[:] = [action, 0.0]
    mujoco.mj_forward(model, data)
    assert data.actuator_force[0] == pytest.approx(force)


def _drive(model: mujoco.MjModel, action: list[float], yaw: float, env_steps: int = 20) -> mujoco.MjData:
    data = mujoco.MjData(model)
    data.qpos[model.joint("point_yaw").qposadr[0]] = yaw
    data.ctrl[:] = action
    for _ in range(env_steps * 10):
        mujoco.mj_step(model, data)
    return data


@pytest.mark.parametrize("yaw", [0.0, np.pi / 2, -2.5])
def test_positive_first_action_moves_forward_along_body_x(compile_robot: CompileRobot, yaw: float) -> None:
    model = compile_robot("point")
    data = _drive(model, [1.0, 0.0], yaw)
    velocity = data.sensor("velocimeter").data
    assert velocity[0] > 0.1
    assert abs(velocity[1]) < 1e-6 * velocity[0] + 1e-9
    heading = np.array([np.cos(yaw), np.sin(yaw)])
    assert data.xpos[model.body("robot").id][:2] @ heading > 0.02
    assert _drive(model, [-1.0, 0.0], yaw).sensor("velocimeter").data[0] < -0.1


def test_positive_second_action_turns_counter_clockwise(compile_robot: CompileRobot) -> None:
    model = compile_robot("point")
    assert _drive(model, [0.0, 1.0], 0.0).sensor("gyro").data[2] > 0.1
    assert _drive(model, [0.0, -1.0], 0.0).sensor("gyro").data[2] < -0.1


def test_params_reach_the_compiled_model(compile_robot: CompileRobot) -> None:
    model = compile_robot("point", timestep=0.001, drive_gear=0.5, turn_gear=0.2, turn_kv=2.0, force_limit=0.1)
    assert model.opt.timestep == 0.001
    assert model.actuator("point_forward").gear[0] == 0.5
    turn = model.actuator("point_turn")
    assert (turn.gear[0], turn.gainprm[0], turn.biasprm[2]) == (0.2, 2.0, -2.0)
    np.testing.assert_allclose(model.actuator_forcerange, [[-0.1, 0.1], [-0.1, 0.1]])


def _yaw_rates(model: mujoco.MjModel, turn: float, physics_steps: int = 400) -> np.ndarray:
    data = mujoco.MjData(model)
    data.ctrl[:] = [0.0, turn]
    rates = []
    for _ in range(physics_steps):
        mujoco.mj_step(model, data)
        rates.append(data.qvel[model.joint("point_yaw").dofadr[0]])
    return np.array(rates)


def test_small_turn_action_tracks_a_steady_yaw_rate(compile_robot: CompileRobot) -> None:
    # below saturation the servo settles near its set point turn / gear = 0.1 / 0.3 (less what damping takes)
    rates = _yaw_rates(compile_robot("point"), 0.1)
    assert np.all(rates[-100:] > 0.25)
    assert np.ptp(rates[-100:]) < 1e-3


def test_euler_integrator_reproduces_the_reference_yaw_chatter(compile_robot: CompileRobot) -> None:
    # why the default integrator is implicitfast: under Euler the same action flips the yaw rate's sign
    rates = _yaw_rates(compile_robot("point", integrator="Euler"), 0.1)
    assert rates[-1] * rates[-2] < 0
    assert np.ptp(rates[-100:]) > 0.5
