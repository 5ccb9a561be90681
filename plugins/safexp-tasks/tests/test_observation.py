"""The suite's observation vectors against a plain rebuild from the MuJoCo state, step after step, for every robot
and task.

Sensors in model order (hinge angles as sin, cos; ball quaternions as row-major rotation matrices), the compass,
then one lidar per observed element in alphabetical order, read from the objects' centres on the floor in the
robot's frame. The lidar formula itself is pinned in the core's ``tests/engine/test_lidar.py``.
"""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

import safexp  # noqa: F401  (registers the suite ids)
from safexp.engine.lidar import Lidar


def rebuild(env: gymnasium.Env) -> np.ndarray:
    """The observation of the unwrapped env ``env``, rebuilt from its MuJoCo state."""
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
    observed = sorted(name for name, e in world.elements.items() if e.params.lidar)
    for name in observed:
        element = world.elements[name]
        lidar = Lidar(np.zeros(element.params.num, dtype=np.int64), 1, settings.lidar_bins, settings.lidar_max_dist,
                      settings.lidar_alias)
        readings = lidar(ego(data.xpos[element.body_ids]))
        parts.append(readings * (name not in world.lidar_hidden))
    return np.concatenate(parts)


@pytest.mark.parametrize("env_id, kwargs", [
    ("safexp/PointGoal1-v0", {"compass": True}),
    ("safexp/PointGoal2-v0", {"lidar_alias": False, "lidar_bins": 10}),
    ("safexp/CarGoal2-v0", {}),
    ("safexp/DoggoGoal1-v0", {"compass": True}),
    ("safexp/PointButton1-v0", {}),
    ("safexp/CarPush2-v0", {}),
])
def test_observation_matches_a_rebuild_from_the_state(env_id, kwargs):
    env = gymnasium.make(env_id, **kwargs)
    obs, _ = env.reset(seed=3)
    inner = env.unwrapped
    np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(60):
        obs, *_ = env.step(rng.uniform(-1, 1, size=env.action_space.shape))
        np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)


def test_hidden_lidar_groups_read_zero():
    env = gymnasium.make("safexp/PointButton1-v0")
    env.reset(seed=0)
    inner = env.unwrapped
    before = inner._observe()[inner.obs_layout["buttons_lidar"]]
    inner.world.hide_from_lidar("buttons")
    obs = inner._observe()
    assert before.any() and not obs[inner.obs_layout["buttons_lidar"]].any()
    np.testing.assert_allclose(obs, rebuild(inner), atol=1e-9)
