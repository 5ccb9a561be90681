"""Ant: the classic figures read back from the compiled model, that it stands, and its health band."""

from collections.abc import Callable

import mujoco
import numpy as np
import pytest

import safexp

CompileRobot = Callable[..., mujoco.MjModel]
BuildRobot = Callable[..., safexp.RobotModel]
LEGS = (1, 2, 3, 4)  # 1 front left, 2 rear left, 3 rear right, 4 front right
DIAGONALS = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}
# hinge ranges in degrees as published; MuJoCo compiles them to radians
ANKLE_RANGES = {1: (30, 70), 2: (-70, -30), 3: (-70, -30), 4: (30, 70)}


def test_timestep_stepping_and_torso(compile_robot: CompileRobot, build_robot: BuildRobot) -> None:
    model = compile_robot("ant")
    assert model.opt.timestep == 0.01
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    robot = build_robot("ant")
    assert (robot.frame_skip, robot.keepout, robot.healthy_height, robot.min_upright) == (5, 0.6, (0.2, 1.0), 0.0)
    body = model.body("robot")
    assert body.pos[2] == 0.75
    torso = model.geom("ant_torso")
    assert torso.type[0] == mujoco.mjtGeom.mjGEOM_SPHERE and torso.size[0] == 0.25


def test_masses_follow_from_density_5(compile_robot: CompileRobot) -> None:
    model = compile_robot("ant")
    sphere = 4 / 3 * np.pi * 0.25**3 * 5

    def capsule(length: float) -> float:  # radius 0.08, density 5
        return (np.pi * 0.08**2 * length + 4 / 3 * np.pi * 0.08**3) * 5

    stub, thigh, shin = capsule(0.2 * np.sqrt(2)), capsule(0.2 * np.sqrt(2)), capsule(0.4 * np.sqrt(2))
    assert model.body_mass[model.body("robot").id] == pytest.approx(sphere + 4 * stub)
    for leg in LEGS:
        assert model.body(f"ant_thigh_{leg}").mass[0] == pytest.approx(thigh)
        assert model.body(f"ant_shin_{leg}").mass[0] == pytest.approx(shin)
    assert model.body_subtreemass[model.body("robot").id] == pytest.approx(0.9109, abs=1e-4)


def test_legs_lie_on_the_diagonals_with_the_published_ranges(compile_robot: CompileRobot) -> None:
    model = compile_robot("ant")
    for leg, (sx, sy) in DIAGONALS.items():
        np.testing.assert_allclose(model.body(f"ant_thigh_{leg}").pos, [0.2 * sx, 0.2 * sy, 0])
        np.testing.assert_allclose(model.body(f"ant_shin_{leg}").pos, [0.2 * sx, 0.2 * sy, 0])
        shin = model.geom(f"ant_shin_{leg}")
        assert shin.size[0] == 0.08 and shin.size[1] == pytest.approx(0.2 * np.sqrt(2))  # half-length
        hip, ankle = model.joint(f"ant_hip_{leg}"), model.joint(f"ant_ankle_{leg}")
        np.testing.assert_allclose(hip.range, np.radians([-30, 30]))
        np.testing.assert_allclose(ankle.range, np.radians(ANKLE_RANGES[leg]))
        assert hip.limited[0] == ankle.limited[0] == 1
        assert model.dof_armature[hip.dofadr[0]] == model.dof_damping[ankle.dofadr[0]] == 1.0


def test_eight_motors_with_gear_150(compile_robot: CompileRobot) -> None:
    model = compile_robot("ant")
    names = [f"ant_{part}_{leg}" for part in ("hip", "ankle") for leg in LEGS]
    assert [model.joint(model.actuator(i).trnid[0]).name for i in range(model.nu)] == names
    np.testing.assert_allclose(model.actuator_gear[:, 0], 150.0)
    assert not model.actuator_forcelimited.any()


def test_head_camera_looks_straight_ahead(compile_robot: CompileRobot) -> None:
    model = compile_robot("ant")
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    head = model.camera("head").id
    assert model.cam_bodyid[head] == model.body("robot").id
    forward = -data.cam_xmat[head].reshape(3, 3)[:, 2]  # a camera looks along its -z
    np.testing.assert_allclose(forward, [1.0, 0.0, 0.0], atol=1e-12)


def _settle(model: mujoco.MjModel, seconds: float) -> mujoco.MjData:
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, nstep=round(seconds / model.opt.timestep))
    return data


def test_stands_on_four_feet_after_settling(compile_robot: CompileRobot) -> None:
    # It drops from 0.75 onto its feet (torso at about 0.54 after 1 s). Unactuated, the ankles then give way
    # slowly (damping 1) towards their 30° limits, where the torso still stands at about 0.4; lying on the floor
    # its centre would be at 0.25, the torso's radius. Throughout, the four feet carry its weight.
    model = compile_robot("ant")
    body = model.body("robot").id
    data = _settle(model, seconds=1.0)
    assert 0.5 < data.xpos[body][2] < 0.6
    mujoco.mj_step(model, data, nstep=1500)
    assert 0.35 < data.xpos[body][2] < 0.5
    assert data.xmat[body][8] > 0.99
    feet = [data.sensor(f"touch_foot_{leg}").data[0] for leg in LEGS]
    assert sum(feet) == pytest.approx(model.body_subtreemass[body] * -model.opt.gravity[2], rel=0.05)
    assert min(feet) > 0.2 * max(feet)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_actions_do_not_flip_it_in_100_steps(compile_robot: CompileRobot, seed: int) -> None:
    model = compile_robot("ant")
    body = model.body("robot").id
    data = _settle(model, seconds=1.0)
    rng = np.random.default_rng(seed)
    lowest_up, lowest = 1.0, 1.0
    for _ in range(100):  # env steps of 5 physics steps
        data.ctrl[:] = rng.uniform(-1.0, 1.0, model.nu)
        mujoco.mj_step(model, data, nstep=5)
        lowest_up, lowest = min(lowest_up, data.xmat[body][8]), min(lowest, data.xpos[body][2])
    assert lowest_up > 0.5  # never tipped past 60°
    assert lowest > 0.3  # never down on its belly (0.25)
    assert not np.isnan(data.qpos).any()


def test_the_engine_ends_the_episode_when_it_is_flipped() -> None:
    env = safexp.make(robot="ant", task="goal", level=0)
    env.reset(seed=0)
    world = env.unwrapped.world
    assert env.unwrapped.robot_model.is_healthy(world)
    _, _, terminated, _, _ = env.step(np.zeros(8))
    assert not terminated  # standing
    qpos = world.data.qpos
    qpos[2] = 0.6  # upside down (rotated 180° about x) at a healthy height
    qpos[3:7] = [0.0, 1.0, 0.0, 0.0]
    mujoco.mj_forward(world.model, world.data)
    assert world.robot_mat[2, 2] == pytest.approx(-1.0)
    assert not env.unwrapped.robot_model.is_healthy(world)
    _, _, terminated, truncated, _ = env.step(np.zeros(8))
    assert terminated and not truncated


def test_params_reach_the_compiled_model(compile_robot: CompileRobot, build_robot: BuildRobot) -> None:
    model = compile_robot("ant", timestep=0.005, motor_gear=100.0, integrator="implicitfast")
    assert model.opt.timestep == 0.005
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    np.testing.assert_allclose(model.actuator_gear[:, 0], 100.0)
    robot = build_robot("ant", healthy_height=[0.3, 0.9], min_upright=-1.0)
    assert (robot.healthy_height, robot.min_upright) == ((0.3, 0.9), -1.0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_upright": 1.5}, r"parameter 'min_upright' of robot 'ant' is 1.5 \(valid: \[-1, 1\]\)"),
        ({"motor_gear": 0.0}, r"parameter 'motor_gear' of robot 'ant' is 0.0 \(valid: \(0, inf\)\)"),
        ({"healthy_height": [1.0, 0.2]}, r"robot 'ant': parameter 'healthy_height' must be \[low, high\] with low < high"),
    ],
)
def test_bad_parameters_are_named(build_robot: BuildRobot, overrides: dict, message: str) -> None:
    with pytest.raises(safexp.ParameterError, match=message):
        build_robot("ant", **overrides)
