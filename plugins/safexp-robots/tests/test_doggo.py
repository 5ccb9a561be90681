"""Doggo: the reference figures read back from the compiled model, and that it stands and stays upright."""

from collections.abc import Callable

import mujoco
import numpy as np
import pytest

CompileRobot = Callable[..., mujoco.MjModel]
LEGS = (1, 2, 3, 4)  # 1 front left, 2 rear left, 3 rear right, 4 front right
# hinge ranges in degrees, as the reference gives them; MuJoCo compiles them to radians
RANGES = {
    **{f"doggo_hip_z_{leg}": (-10, 30) for leg in LEGS},
    "doggo_hip_y_1": (-75, 15), "doggo_hip_y_4": (-75, 15),
    "doggo_hip_y_2": (0, 135), "doggo_hip_y_3": (0, 135),
    **{f"doggo_ankle_{leg}": (-75, 0) for leg in LEGS},
    "doggo_waist_x": (-30, 30),
}
DRIVEN = [f"doggo_{part}_{leg}" for part in ("hip_z", "hip_y", "ankle") for leg in LEGS]


def test_timestep_mass_and_torso(compile_robot: CompileRobot) -> None:
    model = compile_robot("doggo")
    assert model.opt.timestep == 0.01
    robot = model.body("robot")
    assert robot.pos[2] == 0.22
    assert model.body_subtreemass[robot.id] == pytest.approx(0.0397, rel=0.05)
    for torso in ("doggo_front_torso", "doggo_rear_torso"):
        geom = model.geom(torso)
        assert geom.type[0] == mujoco.mjtGeom.mjGEOM_CYLINDER
        np.testing.assert_allclose(geom.size[:2], [0.075, 0.1])  # radius, half-length
        # density 0.5: pi r^2 l * 0.5
        assert model.body_mass[geom.bodyid[0]] >= np.pi * 0.075**2 * 0.2 * 0.5 - 1e-12
    limbs = [i for i in range(model.ngeom) if model.geom_type[i] == mujoco.mjtGeom.mjGEOM_CAPSULE]
    assert len(limbs) == 12
    np.testing.assert_allclose(model.geom_size[limbs, 0], 0.032)


def test_joint_ranges_stiffness_and_rest_angles(compile_robot: CompileRobot) -> None:
    model = compile_robot("doggo")
    for name, (low, high) in RANGES.items():
        joint = model.joint(name)
        assert joint.type[0] == mujoco.mjtJoint.mjJNT_HINGE
        assert joint.limited[0] == 1
        np.testing.assert_allclose(joint.range, np.radians([low, high]), err_msg=name)
        assert joint.stiffness[0] == 0.01
        assert model.dof_damping[joint.dofadr[0]] == 0.0
    rest = {"hip_z": 0.0, "hip_y_front": -10.0, "hip_y_rear": 0.0, "ankle": -20.0}
    for leg in LEGS:
        spring = lambda name: model.qpos_spring[model.joint(name).qposadr[0]]  # noqa: E731
        assert spring(f"doggo_hip_z_{leg}") == pytest.approx(np.radians(rest["hip_z"]))
        expected_hip_y = rest["hip_y_front"] if leg in (1, 4) else rest["hip_y_rear"]
        assert spring(f"doggo_hip_y_{leg}") == pytest.approx(np.radians(expected_hip_y))
        assert spring(f"doggo_ankle_{leg}") == pytest.approx(np.radians(rest["ankle"]))


def test_twelve_motors_on_the_leg_joints_waist_passive(compile_robot: CompileRobot) -> None:
    model = compile_robot("doggo")
    assert [model.joint(model.actuator(i).trnid[0]).name for i in range(model.nu)] == DRIVEN
    np.testing.assert_allclose(model.actuator_gear[:, 0], 0.0125)
    assert not model.actuator_forcelimited.any()


def test_touch_sensors_sit_at_both_ends_of_each_shin(compile_robot: CompileRobot) -> None:
    model = compile_robot("doggo")
    touch = [i for i in range(model.nsensor) if model.sensor_type[i] == mujoco.mjtSensor.mjSENS_TOUCH]
    assert [model.sensor(i).name for i in touch] == [f"touch_{end}_{leg}" for leg in LEGS for end in ("knee", "foot")]
    for leg in LEGS:
        shin = model.geom(f"doggo_shin_{leg}")  # a capsule from the shin body's origin to the foot
        knee, foot = model.site(f"doggo_knee_{leg}"), model.site(f"doggo_foot_{leg}")
        assert knee.bodyid[0] == foot.bodyid[0] == shin.bodyid[0]
        np.testing.assert_allclose(knee.pos, 0.0)
        np.testing.assert_allclose(foot.pos, 2 * shin.pos, atol=1e-12)
        assert knee.size[0] == foot.size[0] == 0.036


def _settle(model: mujoco.MjModel, seconds: float) -> mujoco.MjData:
    data = mujoco.MjData(model)
    for _ in range(round(seconds / model.opt.timestep)):
        mujoco.mj_step(model, data)
    return data


def test_stands_on_its_feet_after_settling(compile_robot: CompileRobot) -> None:
    # The torso centre starts at 0.22. Lying on the floor it would be at 0.075 (the torso's radius); held up
    # by the legs at their joint limits it settles at about 0.165. 0.14 leaves room for sagging but not for
    # the torso resting on the floor or on folded legs. It has come to rest: < 5 mm of sinking in 1 s.
    model = compile_robot("doggo")
    body = model.body("robot").id
    data = _settle(model, seconds=3.0)
    height = data.xpos[body][2]
    assert height > 0.14
    for _ in range(100):
        mujoco.mj_step(model, data)
    assert abs(data.xpos[body][2] - height) < 0.005
    assert data.xmat[body][8] > 0.99
    mujoco.mj_forward(model, data)
    feet = [data.sensor(f"touch_foot_{leg}").data[0] for leg in LEGS]
    assert all(force > 0 for force in feet)  # it stands on all four feet
    assert sum(feet) + sum(data.sensor(f"touch_knee_{leg}").data[0] for leg in LEGS) == pytest.approx(
        model.body_subtreemass[body] * -model.opt.gravity[2], rel=0.1
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_actions_do_not_tip_it_over(compile_robot: CompileRobot, seed: int) -> None:
    model = compile_robot("doggo")
    body = model.body("robot").id
    data = _settle(model, seconds=1.0)
    rng = np.random.default_rng(seed)
    lowest_up = 1.0
    for _ in range(100):  # env steps of 10 physics steps
        data.ctrl[:] = rng.uniform(-1.0, 1.0, model.nu)
        for _ in range(10):
            mujoco.mj_step(model, data)
        lowest_up = min(lowest_up, data.xmat[body][8])  # z component of the torso's up vector
    assert lowest_up > 0.5
    assert not np.isnan(data.qpos).any()


def test_params_reach_the_compiled_model(compile_robot: CompileRobot) -> None:
    model = compile_robot("doggo", timestep=0.005, motor_gear=0.025, joint_stiffness=0.02)
    assert model.opt.timestep == 0.005
    np.testing.assert_allclose(model.actuator_gear[:, 0], 0.025)
    hinges = model.jnt_type == mujoco.mjtJoint.mjJNT_HINGE
    np.testing.assert_allclose(model.jnt_stiffness[hinges], 0.02)
    assert model.jnt_stiffness[model.jnt_type == mujoco.mjtJoint.mjJNT_FREE] == 0.0
