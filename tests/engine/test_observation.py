"""The observation vector against a plain rebuild from the MuJoCo state, step after step, on testkit scenes.

Sensors in model order (hinge angles as sin, cos; ball quaternions as row-major rotation matrices; the rest as
they are), the compass, then one lidar per observed element in alphabetical order, read from the objects'
centres on the floor in the robot's frame. The lidar formula itself is pinned in ``test_lidar.py``.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

import safexp
from safexp.engine.env import SafetyEnv
from safexp.engine.lidar import Lidar
from safexp.plugin.errors import ParameterError


def rebuild(env: SafetyEnv) -> np.ndarray:
    world, model, data = env.world, env.world.model, env.world.data
    parts = []
    for s in range(model.nsensor):
        values = data.sensordata[model.sensor_adr[s] : model.sensor_adr[s] + model.sensor_dim[s]]
        kind = model.sensor_type[s]
        if kind == mujoco.mjtSensor.mjSENS_JOINTPOS and model.jnt_type[model.sensor_objid[s]] == mujoco.mjtJoint.mjJNT_HINGE:
            parts.append([np.sin(values[0]), np.cos(values[0])])
        elif kind == mujoco.mjtSensor.mjSENS_BALLQUAT:
            mat = np.zeros(9)
            mujoco.mju_quat2Mat(mat, values / np.linalg.norm(values))
            parts.append(mat)
        else:
            parts.append(values)
    robot, rot = data.xpos[world.robot_body], data.xmat[world.robot_body].reshape(3, 3)

    def ego(points: np.ndarray) -> np.ndarray:
        floor = np.column_stack([points[:, :2], np.zeros(len(points))])
        return ((floor - robot) @ rot)[:, :2]

    settings = env.scene.settings
    if settings.compass:
        vec = ego(env.task.goal_position(world)[None])[0]
        parts.append(vec / np.linalg.norm(vec))
    for name in sorted(name for name, e in world.elements.items() if e.params.lidar):
        element = world.elements[name]
        lidar = Lidar(np.zeros(element.params.num, dtype=np.int64), 1, settings.lidar_bins, settings.lidar_max_dist,
                      settings.lidar_alias)
        readings = lidar(ego(data.xpos[element.body_ids]))
        parts.append(readings * (name not in world.lidar_hidden))
    return np.concatenate(parts)


@pytest.mark.parametrize("level, scene", [
    (0, {"compass": True}),
    (1, {}),
    (1, {"lidar_alias": False, "lidar_bins": 10, "lidar_max_dist": 1.5}),
    (1, {"compass": True, "crates": {"num": 4}, "extents": [-2, -2, 2, 2]}),
])
def test_observation_matches_a_rebuild_from_the_state(level, scene):
    env = safexp.make("puck", "reach", level, **scene)
    obs, _ = env.reset(seed=3)
    inner = env.unwrapped
    np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)
    rng = np.random.default_rng(0)
    antenna = inner.obs_layout["antenna"]
    tilts = []
    for _ in range(60):
        obs, *_ = env.step(rng.uniform(-1, 1, size=env.action_space.shape))
        np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)
        tilts.append(obs[antenna][8])  # the antenna's z axis, in its parent's z
    assert min(tilts) < 1 - 1e-6  # the ball joint swings, so its rows are exercised


def test_an_unobserved_element_has_no_lidar_and_a_hidden_one_reads_zero():
    unobserved = safexp.make("puck", "reach", 1, crates={"lidar": False}).unwrapped
    assert [k for k in unobserved.obs_layout if k.endswith("_lidar")] == ["beacons_lidar"]
    env = safexp.make("puck", "reach", 1)
    env.reset(seed=0)
    inner = env.unwrapped
    before = inner._observe()[inner.obs_layout["beacons_lidar"]]
    inner.world.hide_from_lidar("beacons")
    obs = inner._observe()
    assert before.any() and not obs[inner.obs_layout["beacons_lidar"]].any()
    assert obs[inner.obs_layout["crates_lidar"]].any()
    np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)
    inner.world.show_in_lidar("beacons")
    np.testing.assert_allclose(inner._observe()[inner.obs_layout["beacons_lidar"]], before)
    with pytest.raises(ParameterError, match=r"this scene has no element 'beacon'; did you mean 'beacons'\?"):
        inner.world.hide_from_lidar("beacon")
    inner.world.hide_from_lidar("crates")
    env.reset(seed=1)  # every element is seen again in a new episode
    assert inner.world.lidar_hidden == frozenset()


def face_east(env) -> None:
    """Turn the puck to yaw 0 (robot frame = world frame) after reset."""
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = 0.0
    mujoco.mj_forward(world.model, world.data)


@pytest.mark.parametrize("bearing_bins, distance", [(0.0, 1.0), (1.5, 0.6), (12.25, 2.0)])
def test_a_beacon_reads_its_bearing_and_distance_with_aliasing(bearing_bins, distance):
    angle = bearing_bins * 2 * np.pi / 16
    beacon = [distance * math.cos(angle), distance * math.sin(angle)]
    env = safexp.make("puck", "reach", 0, robot_location=[0.0, 0.0], beacons={"num": 1, "locations": [beacon]},
                      extents=[-2.5, -2.5, 2.5, 2.5])
    env.reset(seed=0)
    face_east(env)
    lidar = env.unwrapped._observe()[env.unwrapped.obs_layout["beacons_lidar"]]
    reading = (3.0 - distance) / 3.0
    b, alias = int(bearing_bins), bearing_bins - int(bearing_bins)
    expected = np.zeros(16)
    expected[b] = reading
    expected[(b + 1) % 16] = alias * reading
    expected[(b - 1) % 16] = (1 - alias) * reading
    np.testing.assert_allclose(lidar, expected, atol=1e-6)


def test_the_compass_points_at_the_goal_in_the_robot_frame():
    env = safexp.make("puck", "reach", 0, compass=True, robot_location=[0.0, 0.0],
                      beacons={"num": 1, "locations": [[0.0, 0.8]]})
    assert env.observation_space.shape == (3 + 2 + 9 + 2 + 16,)
    assert list(env.unwrapped.obs_layout)[3] == "compass"
    env.reset(seed=0)
    face_east(env)
    compass = env.unwrapped.obs_layout["compass"]
    np.testing.assert_allclose(env.unwrapped._observe()[compass], [0.0, 1.0], atol=1e-6)
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = math.pi / 2  # facing the beacon: it is straight ahead
    mujoco.mj_forward(world.model, world.data)
    np.testing.assert_allclose(env.unwrapped._observe()[compass], [1.0, 0.0], atol=1e-6)
