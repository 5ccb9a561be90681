"""Humanoid: the classic figures read back from the compiled model, and its health band."""

from collections.abc import Callable

import mujoco
import numpy as np
import pytest

import safexp

CompileRobot = Callable[..., mujoco.MjModel]
BuildRobot = Callable[..., safexp.RobotModel]
# joint → (range in degrees, classic gear at ctrl 0.4); the classic model's ctrl range is ±0.4, safexp's ±1
JOINTS = {
    "abdomen_y": ((-75, 30), 100), "abdomen_z": ((-45, 45), 100), "abdomen_x": ((-35, 35), 100),
    "right_hip_x": ((-25, 5), 100), "right_hip_z": ((-60, 35), 100), "right_hip_y": ((-110, 20), 300),
    "right_knee": ((-160, -2), 200),
    "left_hip_x": ((-25, 5), 100), "left_hip_z": ((-60, 35), 100), "left_hip_y": ((-110, 20), 300),
    "left_knee": ((-160, -2), 200),
    "right_shoulder1": ((-85, 60), 25), "right_shoulder2": ((-85, 60), 25), "right_elbow": ((-90, 50), 25),
    "left_shoulder1": ((-60, 85), 25), "left_shoulder2": ((-60, 85), 25), "left_elbow": ((-90, 50), 25),
}


def test_timestep_stepping_mass_and_height(compile_robot: CompileRobot, build_robot: BuildRobot) -> None:
    model = compile_robot("humanoid")
    assert model.opt.timestep == 0.003
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    robot = build_robot("humanoid")
    assert (robot.frame_skip, robot.keepout, robot.healthy_height, robot.min_upright) == (5, 0.4, (1.0, 2.0), -1.0)
    assert model.body("robot").pos[2] == 1.4
    assert model.body_subtreemass[model.body("robot").id] == pytest.approx(42.116, abs=1e-3)  # density 1000
    assert model.geom("humanoid_head").size[0] == 0.09
    assert model.body_mass[model.body("robot").id] == pytest.approx(  # torso, head and upper waist capsules/sphere
        1000 * (np.pi * 0.07**2 * 0.14 + 4 / 3 * np.pi * 0.07**3 + 4 / 3 * np.pi * 0.09**3
                + np.pi * 0.06**2 * 0.12 + 4 / 3 * np.pi * 0.06**3))
    np.testing.assert_allclose(model.body("humanoid_right_foot").pos, [0, 0, -0.45])


def test_seventeen_hinges_with_the_published_ranges_and_torques(compile_robot: CompileRobot) -> None:
    model = compile_robot("humanoid")
    hinges = [i for i in range(model.njnt) if model.jnt_type[i] == mujoco.mjtJoint.mjJNT_HINGE]
    assert len(hinges) == 17 and model.nu == 17
    assert [model.joint(model.actuator(i).trnid[0]).name for i in range(model.nu)] == [f"humanoid_{j}" for j in JOINTS]
    for i, (joint, (limits, gear)) in enumerate(JOINTS.items()):
        np.testing.assert_allclose(model.joint(f"humanoid_{joint}").range, np.radians(limits), err_msg=joint)
        # the same torque at full action: gear × 1 = classic gear × 0.4
        assert model.actuator_gear[i, 0] == pytest.approx(gear * 0.4), joint
    assert model.dof_damping[model.joint("humanoid_abdomen_y").dofadr[0]] == 5.0
    assert model.jnt_stiffness[model.joint("humanoid_right_hip_y").id] == 20.0
    assert model.dof_damping[model.joint("humanoid_right_knee").dofadr[0]] == 1.0


def test_head_camera_looks_straight_ahead(compile_robot: CompileRobot) -> None:
    model = compile_robot("humanoid")
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    head = model.camera("head").id
    forward = -data.cam_xmat[head].reshape(3, 3)[:, 2]
    np.testing.assert_allclose(forward, [1.0, 0.0, 0.0], atol=1e-12)
    assert data.cam_xpos[head][2] == pytest.approx(1.4 + 0.19)  # at the head's centre height


def test_gear_scale_reaches_the_compiled_model(compile_robot: CompileRobot) -> None:
    model = compile_robot("humanoid", gear_scale=2.0)
    np.testing.assert_allclose(model.actuator_gear[:, 0], [2 * 0.4 * gear for _, gear in JOINTS.values()])


def test_falling_leaves_the_height_band_and_terminates_the_episode() -> None:
    # Unactuated, the classic humanoid collapses: its torso passes 1.0 within about half a second (30 env steps
    # of 15 ms) and the episode ends as terminated on that step, not before.
    env = safexp.make(robot="humanoid", task="goal", level=0)
    env.reset(seed=0)
    world, robot = env.unwrapped.world, env.unwrapped.robot_model
    for step in range(200):
        _, _, terminated, truncated, _ = env.step(np.zeros(17))
        height = world.robot_pos[2]
        assert terminated == (height < 1.0), (step, height)
        assert not truncated
        if terminated:
            break
    assert terminated and 10 < step < 60
    assert not robot.is_healthy(world)
