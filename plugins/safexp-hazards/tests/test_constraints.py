"""The shipped constraints on scripted trajectories, and several constraints at once in info["costs"]."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from omegaconf import OmegaConf

from safexp.plugin.errors import ParameterError

FORWARD = np.array([1.0, 0.0])


def test_speed_limit_charges_the_excess_planar_speed(arena):
    env = arena(costs=[{"name": "speed_limit", "params": {"max_speed": 0.2}}], cost_indicator=False)
    world = env.unwrapped.world
    raw = []
    for _ in range(40):
        info = env.step(FORWARD)[4]
        vx, vy, _ = world.robot_velocity()
        speed = math.hypot(vx, vy)
        assert info["cost_speed_limit"] == pytest.approx(max(0.0, speed - 0.2), abs=1e-12)
        raw.append(info["cost_speed_limit"])
    assert raw[0] == 0.0 and raw[-1] > 0.0  # accelerating from rest past the limit
    indicator = arena(costs=[{"name": "speed_limit", "params": {"max_speed": 0.2}}])
    costs = [indicator.step(FORWARD)[4]["cost"] for _ in range(40)]
    assert costs == [float(v > 0) for v in raw]  # same trajectory, as indicators


def test_keep_in_rectangle_charges_the_distance_outside(arena):
    env = arena(costs=[{"name": "keep_in", "params": {"bounds": [-1.0, -1.0, 0.3, 1.0]}}], cost_indicator=False)
    world = env.unwrapped.world
    outside = 0
    for _ in range(60):
        info = env.step(FORWARD)[4]
        x, y = world.robot_pos[:2]
        assert info["cost_keep_in"] == pytest.approx(max(0.0, x - 0.3), abs=1e-12)
        outside += x > 0.3
    assert outside > 5 and world.robot_pos[0] > 0.5


def test_keep_in_circle_and_the_default_rectangle_is_the_arena(arena):
    env = arena(costs=[{"name": "keep_in", "params": {"shape": "circle", "centre": [-0.1, 0.0], "radius": 0.4}}],
                cost_indicator=False)
    world = env.unwrapped.world
    charged = []
    for _ in range(50):
        info = env.step(FORWARD)[4]
        r = math.dist(world.robot_pos[:2], [-0.1, 0.0])
        assert info["cost_keep_in"] == pytest.approx(max(0.0, r - 0.4), abs=1e-12)
        charged.append(info["cost_keep_in"] > 0)
    assert not charged[0] and charged[-1]
    default = arena(extents=[-0.6, -0.6, 0.6, 0.6], robot_keepout=0.1, task_params={"goal_locations": [[-0.4, 0.4]]},
                    costs=["keep_in"], cost_indicator=False)
    world = default.unwrapped.world
    for _ in range(60):
        info = default.step(FORWARD)[4]
    assert world.robot_pos[0] > 0.6 and info["cost_keep_in"] == pytest.approx(world.robot_pos[0] - 0.6, abs=1e-12)


def test_obstacle_contact_counts_walls_and_pillars_not_movable_objects(arena):
    env = arena(walls={"num": 1, "locations": [[0.5, 0.0]], "half_extents": [[0.05, 0.5, 0.2]]},
                vases={"num": 1, "locations": [[-0.4, 0.0]]}, costs=["obstacle_contact"], cost_indicator=False)
    world = env.unwrapped.world
    walls = world.elements["walls"]
    costs = []
    for _ in range(40):
        info = env.step(FORWARD)[4]
        assert info["cost_obstacle_contact"] == world.touching(world.robot_geom_mask, walls.geom_mask)
        costs.append(info["cost_obstacle_contact"])
    assert costs[0] == 0 and max(costs) >= 1  # drove into the wall
    backwards = arena(vases={"num": 1, "locations": [[-0.3, 0.0]]}, pillars={"num": 1, "locations": [[1.0, 1.0]]},
                      costs=["obstacle_contact"])
    world = backwards.unwrapped.world
    costs, vase_contacts = [], 0
    for _ in range(40):
        costs.append(backwards.step(-FORWARD)[4]["cost"])
        vase_contacts += world.touching(world.robot_geom_mask, world.elements["vases"].geom_mask)
    assert vase_contacts > 0  # reversed into the vase ...
    assert costs == [0.0] * 40  # ... which is not a static obstacle
    with pytest.raises(ParameterError, match="element 'vases' is movable, not a static obstacle"):
        arena(vases={"num": 1}, costs=[{"name": "obstacle_contact", "params": {"elements": ["vases"]}}])
    with pytest.raises(ParameterError, match=r"needs the element 'pilars'.*did you mean 'pillars'\?"):
        arena(pillars={"num": 1}, costs=[{"name": "obstacle_contact", "params": {"elements": ["pilars"]}}])


def test_keep_in_rejects_bad_shapes_and_bounds(arena):
    with pytest.raises(ParameterError, match=r"keep_in: unknown shape 'circel'; did you mean 'circle'\? valid choices"):
        arena(costs=[{"name": "keep_in", "params": {"shape": "circel"}}])
    with pytest.raises(ParameterError, match=r"bounds must be \[xmin, ymin, xmax, ymax\] with min < max, got \[1.0, 0.0, 0.0, 1.0\]"):
        arena(costs=[{"name": "keep_in", "params": {"bounds": [1, 0, 0, 1]}}])


def test_a_constraint_joins_the_suite_cost_from_configuration():
    env = gymnasium.make("safexp/PointGoal1-v0", costs=[{"name": "speed_limit", "params": {"max_speed": 0.3}}])
    assert [t.name for t in env.unwrapped.costs.terms] == ["hazards", "speed_limit"]
    assert env.unwrapped.constraint_names == ("safety",)
    assert env.unwrapped.costs.terms[1].params.max_speed == 0.3
    # the same from an OmegaConf configuration (a YAML file or a config group)
    config = OmegaConf.create("costs:\n  - {name: speed_limit, params: {max_speed: 0.3}, constraint: speed}\n")
    env = gymnasium.make("safexp/PointGoal1-v0", **OmegaConf.to_container(config))
    assert env.unwrapped.constraint_names == ("safety", "speed")


def test_several_constraints_report_one_value_each_and_one_combined_cost(arena):
    costs = [{"name": "hazards"},
             {"name": "speed_limit", "params": {"max_speed": 0.2}, "constraint": "speed"},
             {"name": "keep_in", "params": {"bounds": [-1.0, -1.0, 0.3, 1.0]}, "constraint": "region"},
             {"name": "obstacle_contact", "constraint": "region"}]
    scene = dict(hazards={"num": 1, "locations": [[-0.05, 0.0]]}, costs=costs)
    env = arena(**scene)
    assert env.unwrapped.constraint_names == ("safety", "speed", "region")
    raw = arena(cost_indicator=False, **scene)
    seen = {name: False for name in ("safety", "speed", "region")}
    for _ in range(60):
        info = env.step(FORWARD)[4]
        terms = raw.step(FORWARD)[4]  # the same trajectory, raw values
        assert list(info["costs"]) == ["safety", "speed", "region"]
        expected = {"safety": terms["cost_hazards"], "speed": terms["cost_speed_limit"],
                    "region": terms["cost_keep_in"] + terms["cost_obstacle_contact"]}
        assert terms["costs"] == pytest.approx(expected, abs=1e-12)
        assert info["costs"] == {k: float(v > 0) for k, v in expected.items()}
        assert info["cost"] == float(any(v > 0 for v in expected.values()))
        assert terms["cost"] == pytest.approx(sum(expected.values()), abs=1e-12)
        for name, value in info["costs"].items():
            seen[name] |= value > 0
    assert all(seen.values())  # started in the hazard, then sped up, then left the region
