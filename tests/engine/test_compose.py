"""Scene composition and the robot conventions: what the engine accepts from a robot or an element plugin, and
the error a broken one gives (robots and elements registered by hand next to the testkit)."""

from __future__ import annotations

import types
from dataclasses import dataclass

import mujoco
import numpy as np
import pytest

import safexp
from safexp.engine.compose import COST_LIGHT
from safexp.plugin import Element, HazardSpec, PlacementParams, RobotModel, RobotSpec, hookimpl
from safexp.plugin.errors import ParameterError

SLIDER = """
<mujoco>
  <worldbody>
    <body name="{name}" pos="0 0 0.05">
      <joint name="x" type="slide" axis="1 0 0"/>
      <joint name="y" type="slide" axis="0 1 0"/>
      {turn}
      <geom type="sphere" size="0.05" mass="0.01"/>
    </body>
    {extra}
  </worldbody>
  <actuator><motor joint="{motor}" ctrlrange="-1 1" ctrllimited="true"/></actuator>
</mujoco>
"""

ROVER = """
<mujoco>
  <worldbody>
    <body name="robot" pos="0 0 0.1">
      <freejoint name="root"/>
      <geom type="sphere" size="0.1" mass="1"/>
      <site name="robot"/>
    </body>
  </worldbody>
  <actuator><motor joint="root" gear="1 0 0 0 0 0" ctrlrange="-1 1" ctrllimited="true"/></actuator>
  <sensor><accelerometer name="accelerometer" site="robot"/></sensor>
</mujoco>
"""

HINGE = '<joint name="yaw" type="hinge" axis="0 0 1"/>'
ROBOTS = {
    "rover": ROVER,
    "garbled": "<mujoco><worldbody>",
    "urdf": "<robot name='r'/>",
    "stray": SLIDER.format(name="chassis", turn=HINGE, extra="", motor="x"),
    "twins": SLIDER.format(name="robot", turn=HINGE, extra='<body name="other"><geom size="0.1"/></body>', motor="x"),
    "tilting": SLIDER.format(name="robot", turn='<joint name="tilt" type="hinge" axis="1 0 0"/>', extra="", motor="x"),
    "unbuildable": SLIDER.format(name="robot", turn=HINGE, extra="", motor="no_such_joint"),
}


@dataclass
class BlobParams(PlacementParams):
    num: int = 1


class Blobs(Element):
    def body_xml(self, index: int) -> str:
        return '<geom type="sphere" size="0.1"'


@pytest.fixture(autouse=True)
def odd_components(testkit_registry):
    """Robots for every convention, and an element whose MJCF is broken, next to the testkit."""
    def robots():
        return [RobotSpec(name, lambda params, mjcf=mjcf: RobotModel(mjcf)) for name, mjcf in ROBOTS.items()]

    plugin = types.SimpleNamespace(safexp_robots=hookimpl(robots),
                                   safexp_hazards=hookimpl(lambda: [HazardSpec("blobs", Blobs, BlobParams)]))
    testkit_registry.register(plugin, name="odd")


def test_a_free_joint_robot_is_placed_at_its_initial_height_with_a_random_yaw():
    env = safexp.make("rover", "reach", 0)
    world = env.unwrapped.world
    yaws = []
    for seed in range(5):
        env.reset(seed=seed)
        assert world.robot_pos[2] == pytest.approx(0.1) and np.all(np.abs(world.robot_pos[:2]) <= 1.0 - 0.4)
        yaws.append(np.arctan2(world.robot_mat[1, 0], world.robot_mat[0, 0]))
    assert np.ptp(yaws) > 0.5
    fixed = safexp.make("rover", "reach", 0, robot_location=[0.3, -0.2])
    fixed.reset(seed=0)
    np.testing.assert_allclose(fixed.unwrapped.world.robot_pos, [0.3, -0.2, 0.1], atol=1e-9)
    assert fixed.observation_space.shape == (3 + 16,)


def test_the_composed_model_has_the_floor_cameras_and_the_warning_light():
    env = safexp.make("puck", "reach", 1)
    model = env.unwrapped.world.model
    names = {kind: [mujoco.mj_id2name(model, obj, i) for i in range(count)]
             for kind, obj, count in (("camera", mujoco.mjtObj.mjOBJ_CAMERA, model.ncam),
                                      ("body", mujoco.mjtObj.mjOBJ_BODY, model.nbody))}
    assert names["camera"] == ["fixednear", "fixedfar", "vision"]  # the arena's, then the robot's
    assert {"robot", "beacons0", "beacons2", "crates0", "crates1"} <= set(names["body"])
    assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor") >= 0
    light = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, COST_LIGHT)
    assert model.site_bodyid[light] == mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "robot")
    assert model.site_rgba[light, 3] == 0.0  # invisible until a step costs
    crates = env.unwrapped.world.elements["crates"]
    assert model.body_mocapid[crates.body_ids].tolist() == [-1, -1]  # movable: free joints
    beacons = env.unwrapped.world.elements["beacons"]
    assert np.all(model.body_mocapid[beacons.body_ids] >= 0)  # static: mocap bodies


@pytest.mark.parametrize("robot, message", [
    ("garbled", r"the robot's MJCF is not valid XML: "),
    ("urdf", r"the robot's MJCF must be a <mujoco> document, got <robot>"),
    ("stray", r"the robot's MJCF must have exactly one top-level worldbody body, named 'robot'"),
    ("twins", r"the robot's MJCF must have exactly one top-level worldbody body, named 'robot'"),
    ("tilting", r"the robot's root body must have one free joint, or slide joints along x and y and a hinge about z"),
    ("unbuildable", r"the composed scene does not compile: .*no_such_joint"),
])
def test_a_robot_breaking_the_conventions_is_named(robot, message):
    with pytest.raises(ParameterError, match=message):
        safexp.make(robot, "reach", 0)


def test_an_element_with_broken_mjcf_is_named():
    with pytest.raises(ParameterError, match=r"element 'blobs' object 0 is not valid MJCF: "):
        safexp.make("puck", "reach", 0, blobs={"num": 1})


@pytest.mark.parametrize("overrides, message", [
    ({"crates": {"num": 2, "size": 0}},  # a plugin whose size declares no range: MuJoCo's error, in the user's terms
     r"^the composed scene does not compile: size 0 must be positive in geom \(a geom of 'crates0'\); check the "
     r"'crates' parameters$"),
    ({"crates": {"num": 1, "density": -1}},
     r"^the composed scene does not compile: .* \(a \w+ of 'crates0'\); check the 'crates' parameters$"),
])
def test_a_compile_error_names_the_body_and_the_users_key(overrides, message):
    with pytest.raises(ParameterError, match=message):
        safexp.make("puck", "reach", 1, **overrides)
