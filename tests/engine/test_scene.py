"""Scenes from configuration on the testkit plugin: ``safexp/Arena-v0`` from a YAML file alone or keyword
arguments, the three layers (level, file, keywords), and the errors a wrong file, key or name gives."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from omegaconf import OmegaConf

import safexp
from safexp.plugin.errors import ParameterError, UnknownComponentError

ARENA = """
robot: puck
task: reach
extents: [-2, -2, 2, 2]
robot_placements: [[-2, -2, -1, 2]]
beacons: {num: 3, placements: [[0.5, -2, 2, 2]]}
crates: {num: 2, size: 0.1, locations: [[0, 0]]}
costs:
  - {name: far_from_centre, params: {limit: 1.5}}
  - {name: crate_contact, constraint: collisions}
lidar_bins: 12
lidar_max_dist: 4.0
compass: true
"""


@pytest.fixture
def arena_file(tmp_path: Path) -> Path:
    file = tmp_path / "arena.yaml"
    file.write_text(ARENA)
    return file


def test_an_arena_builds_from_its_file_alone(arena_file):
    env = gymnasium.make("safexp/Arena-v0", scene_file=str(arena_file))
    inner = env.unwrapped
    scene = inner.scene
    assert (scene.robot, scene.task, scene.level) == ("puck", "reach", None)
    assert {name: p.num for name, p in scene.elements.items()} == {"beacons": 3, "crates": 2}
    assert inner.constraint_names == ("safety", "collisions")
    assert env.observation_space.shape == (14 + 2 + 2 * 12,)
    assert [k for k in inner.obs_layout if k.endswith("_lidar")] == ["beacons_lidar", "crates_lidar"]
    world = inner.world
    for seed in range(20):
        env.reset(seed=seed)
        assert -2.0 <= world.robot_pos[0] <= -1.0  # robot_placements
        assert np.all(world.elements["beacons"].positions(world)[:, 0] >= 0.5)  # the element's placements
        np.testing.assert_allclose(world.elements["crates"].positions(world)[0, :2], [0.0, 0.0], atol=1e-9)
    check_env(inner, skip_render_check=True)


def test_keyword_arguments_give_the_same_arena_and_override_the_file(arena_file):
    keywords = OmegaConf.to_container(OmegaConf.load(arena_file))
    from_file = gymnasium.make("safexp/Arena-v0", scene_file=str(arena_file)).unwrapped
    from_keywords = gymnasium.make("safexp/Arena-v0", **keywords).unwrapped
    assert from_keywords.scene == from_file.scene
    assert from_keywords.mjcf == from_file.mjcf
    obs_a, _ = from_file.reset(seed=3)
    obs_b, _ = from_keywords.reset(seed=3)
    assert np.array_equal(obs_a, obs_b)
    changed = safexp.make(scene_file=str(arena_file), beacons={"num": 1}, lidar_bins=8, compass=False).unwrapped
    assert changed.scene.elements["beacons"].num == 1 and changed.scene.elements["beacons"].placements == [[0.5, -2, 2, 2]]
    assert changed.observation_space.shape == (14 + 2 * 8,)


def test_a_level_then_the_file_then_the_keywords(tmp_path):
    file = tmp_path / "level.yaml"
    file.write_text("level: 1\nbeacons: {num: 4}\ncrates: {size: 0.05}\n")
    scene = safexp.scene_config("puck", "reach", scene_file=str(file), crates={"num": 1}).raw
    assert scene["beacons"] == {"num": 4} and scene["crates"] == {"num": 1, "size": 0.05}
    assert scene["extents"] == [-1.5, -1.5, 1.5, 1.5]  # from the level
    assert [c["name"] for c in scene["costs"]] == ["far_from_centre", "crate_contact"]
    resolved = safexp.scene_config("puck", "reach", 1, beacons={"num": 4})
    assert resolved.elements["beacons"].num == 4 and resolved.settings.lidar_bins == 16


@pytest.mark.parametrize("line, error, message", [
    ("beacon: {num: 2}", ParameterError, r"unknown scene key 'beacon'; did you mean 'beacons'\? valid choices: beacons, "),
    ("crates: {num: 1, sise: 0.3}", ParameterError, r"hazard 'crates' has no parameter 'crates.sise'; did you mean 'size'\? valid choices: size, "),
    ("costs: [{name: crate_contct}]", UnknownComponentError, r"unknown cost 'crate_contct'; did you mean 'crate_contact'\? valid choices: crate_contact, "),
    ("costs: [{name: far_from_centre, params: {limt: 1}}]", ParameterError, r"cost 'far_from_centre' has no parameter 'costs.far_from_centre.params.limt'; did you mean 'limit'\?"),
    ("costs: {name: far_from_centre}", ParameterError, r"'costs' must be a list of \{name, params, constraint\} entries"),
    ("costs: [{params: {limit: 1}}]", ParameterError, r"each 'costs' entry needs a 'name'"),
    ("robot_location: [0, 0, 0]", ParameterError, r"robot_location must be \[x, y\] positions, got \[0.0, 0.0, 0.0\]"),
    ("robot_placements: [[1, 1, 0, 0]]", ParameterError, r"robot_placements must be \[xmin, ymin, xmax, ymax\] with min < max"),
    ("beacons: {num: -1}", ParameterError, r"parameter 'beacons.num' of hazard 'beacons' is -1 \(valid: \[0, inf\)\)"),
    ("lidar_max_dist: 0", ParameterError, r"parameter 'lidar_max_dist' of the scene settings is 0.0 \(valid: \(0, inf\)\)"),
    ("compass: maybe", ParameterError, r"parameter 'compass' of the scene settings: Value 'maybe' is not a valid bool"),
])
def test_a_bad_arena_file_names_the_bad_key_and_the_valid_ones(tmp_path, line, error, message):
    file = tmp_path / "arena.yaml"
    file.write_text(f"robot: puck\ntask: reach\n{line}\n")
    with pytest.raises(error, match=message):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))


def test_an_arena_needs_a_robot_a_task_and_a_readable_file(tmp_path):
    file = tmp_path / "arena.yaml"
    file.write_text("task: reach\n")
    with pytest.raises(ParameterError, match=r"a scene needs a 'robot'; valid choices: puck$"):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))
    with pytest.raises(ParameterError, match=r"a scene needs a 'task'; valid choices: reach$"):
        safexp.make("puck")
    with pytest.raises(ParameterError, match=r"scene file '.*missing.yaml' does not exist"):
        gymnasium.make("safexp/Arena-v0", scene_file=str(tmp_path / "missing.yaml"))
    file.write_text("- robot: puck\n")
    with pytest.raises(ParameterError, match=r"scene file '.*arena.yaml' must hold a mapping of scene keys, got list"):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))
    file.write_text("robot: [puck\n")
    with pytest.raises(ParameterError, match=r"scene file '.*arena.yaml' does not parse: line 2, column 1: "):
        gymnasium.make("safexp/Arena-v0", scene_file=str(file))


@pytest.mark.parametrize(("keys", "error", "message"), [
    ({"robot": 5, "task": "reach"}, ParameterError, r"'robot' must be a robot name, got 5; valid choices: puck$"),
    ({"robot": "puck", "task": ["reach"]}, ParameterError, r"'task' must be a task name, got \['reach'\]; .*valid choices: reach$"),
    ({"robot": "puck", "task": "reach", "level": [1]}, UnknownComponentError,
     r"task 'reach' has no level \[1\]; valid levels: 0, 1$"),
    ({"robot": "puck", "task": "reach", "costs": [{"name": 3}]}, ParameterError,
     r"each 'costs' entry needs a 'name' \(and optionally params, constraint\), got \{'name': 3\}"),
])
def test_a_value_of_the_wrong_type_for_a_component_name_is_a_clear_error(keys, error, message):
    with pytest.raises(error, match=message):
        gymnasium.make("safexp/Arena-v0", **keys)
