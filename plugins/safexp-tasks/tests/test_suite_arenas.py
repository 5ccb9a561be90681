"""The suite's components in custom arenas: safexp/Arena-v0 from the example YAML file (examples/arenas) alone
or from keyword arguments, and the errors a wrong key, name or parameter gives."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from omegaconf import OmegaConf

import safexp
from safexp.plugin.errors import ParameterError, UnknownComponentError

ARENA = Path(__file__).resolve().parents[3] / "examples" / "arenas" / "walled_patrol.yaml"


def test_the_example_arena_builds_from_its_file_alone():
    env = gymnasium.make("safexp/Arena-v0", scene_file=str(ARENA))
    inner = env.unwrapped
    scene = inner.scene
    assert (scene.robot, scene.task, scene.level) == ("car", "goal", None)
    assert {name: p.num for name, p in scene.elements.items()} == {"walls": 1, "hazards": 6, "pillars": 3, "gremlins": 2}
    assert inner.constraint_names == ("safety", "collisions", "speed")
    # 24 Car sensor values, the compass, 24-bin lidars for the goal, gremlins, hazards and pillars (walls unobserved)
    assert env.observation_space.shape == (24 + 2 + 4 * 24,)
    assert [k for k in inner.obs_layout if k.endswith("_lidar")] == ["goal_lidar", "gremlins_lidar", "hazards_lidar", "pillars_lidar"]
    assert inner._observe.lidar.max_dist == 4.0
    world = inner.world
    wall = world.elements["walls"]
    for seed in range(20):
        env.reset(seed=seed)
        assert -2.0 <= world.robot_pos[0] <= -1.0  # robot_placements
        assert inner.task.goal_position(world)[0] >= 0.5  # goal_placements
        assert np.all(world.elements["gremlins"].spawn[:, 0] >= 0.5)
        np.testing.assert_allclose(wall.positions(world)[0, :2], [0.0, 0.0])  # fixed location
    check_env(inner, skip_render_check=True)
    assert np.array_equal(inner.world.model.geom_size[np.flatnonzero(wall.geom_mask)][0], [0.05, 1.4, 0.25])


def test_keyword_arguments_and_safexp_make_give_the_same_arena_and_override_the_file():
    keywords = OmegaConf.to_container(OmegaConf.load(ARENA))
    from_file = gymnasium.make("safexp/Arena-v0", scene_file=str(ARENA)).unwrapped
    from_keywords = gymnasium.make("safexp/Arena-v0", **keywords).unwrapped
    assert from_keywords.scene == from_file.scene
    assert from_keywords.mjcf == from_file.mjcf
    obs_a, _ = from_file.reset(seed=3)
    obs_b, _ = from_keywords.reset(seed=3)
    assert np.array_equal(obs_a, obs_b)
    changed = safexp.make(scene_file=str(ARENA), hazards={"num": 2}, lidar_bins=8, compass=False).unwrapped
    assert changed.scene.elements["hazards"].num == 2 and changed.scene.elements["hazards"].size == 0.25
    assert changed.observation_space.shape == (24 + 4 * 8,)


@pytest.mark.parametrize("line, error, message", [
    ("pilars: {num: 2}", ParameterError, r"unknown scene key 'pilars'; did you mean 'pillars'\? valid choices: pillars, "),
    ("gremlins: {num: 1, travl: 0.3}", ParameterError, r"hazard 'gremlins' has no parameter 'gremlins.travl'; did you mean 'travel'\? valid choices: travel, "),
    ("costs: [{name: speed_limt}]", UnknownComponentError, r"unknown cost 'speed_limt'; did you mean 'speed_limit'\? valid choices: speed_limit, "),
    ("costs: [{name: keep_in, params: {shape: circel}}]", ParameterError, r"keep_in: unknown shape 'circel'; did you mean 'circle'\?"),
    ("costs: [{name: speed_limit, constrain: speed}]", ParameterError, r"cost entry 'speed_limit' has no key 'constrain'; did you mean 'constraint'\?"),
    ("lidar_bins: 0", ParameterError, r"parameter 'lidar_bins' of the scene settings is 0 \(valid: \[1, 1024\]\)"),
    ("hazards: {num: 2, locations: [[0, 0, 0]]}", ParameterError, r"hazards.locations must be \[x, y\] positions, got \[0.0, 0.0, 0.0\]"),
    ("extents: [-1, -1, 1]", ParameterError, r"extents must be \[xmin, ymin, xmax, ymax\] with min < max, got \[-1.0, -1.0, 1.0\]"),
])
def test_a_bad_arena_file_names_the_bad_key_and_the_valid_ones(tmp_path, line, error, message):
    file = tmp_path / "arena.yaml"
    file.write_text(f"robot: point\ntask: goal\n{line}\n")
    with pytest.raises(error, match=message):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))


def test_an_arena_needs_a_robot_and_a_task(tmp_path):
    file = tmp_path / "arena.yaml"
    file.write_text("task: push\n")
    with pytest.raises(ParameterError, match=r"a scene needs a 'robot'; valid choices: ant, car, doggo, humanoid, point"):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))
    with pytest.raises(ParameterError, match=r"scene file '.*missing.yaml' does not exist"):
        gymnasium.make("safexp/Arena-v0", scene_file=str(tmp_path / "missing.yaml"))
