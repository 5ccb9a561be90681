"""Each env's ``render_fps`` is its control rate, 1 / (timestep × frame_skip), so videos play in real time."""

from __future__ import annotations

import gymnasium
import pytest

import safexp  # noqa: F401  (registers the ids)

@pytest.mark.parametrize("env_id, fps", [
    ("safexp/PointGoal1-v0", 50),  # 0.002 s × 10
    ("safexp/CarGoal1-v0", 25),  # 0.004 s × 10
    ("safexp/DoggoGoal1-v0", 10),  # 0.01 s × 10
])
def test_render_fps_follows_the_robot(env_id, fps):
    env = gymnasium.make(env_id)
    inner = env.unwrapped
    assert inner.metadata["render_fps"] == env.metadata["render_fps"] == fps
    assert fps == round(1 / (inner.world.model.opt.timestep * inner.frame_skip))
    assert type(inner).metadata["render_fps"] == 30  # set on the instance, not on the class


def test_render_fps_follows_the_robot_parameters():
    env = gymnasium.make("safexp/Arena-v0", robot="point", task="goal", robot_params={"timestep": 0.004, "frame_skip": 5})
    assert env.metadata["render_fps"] == 50
    env = gymnasium.make("safexp/Arena-v0", robot="point", task="goal", robot_params={"frame_skip": 4})
    assert env.metadata["render_fps"] == 125
