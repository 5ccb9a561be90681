"""Pillars, gremlins, buttons and walls: their figures, motion and per-step costs on hand-placed layouts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safexp.plugin.errors import ParameterError

FORWARD = np.array([1.0, 0.0])


def test_pillar_contact_costs_one_per_contact_and_pillars_stay_put(arena):
    env = arena(pillars={"num": 1, "locations": [[0.45, 0.0]]}, costs=["pillars"], cost_indicator=False)
    world = env.unwrapped.world
    pillars = world.elements["pillars"]
    geom = np.flatnonzero(pillars.geom_mask)[0]
    np.testing.assert_allclose(world.model.geom_size[geom][:2], [0.2, 0.5])
    assert world.model.geom_pos[geom][2] == pytest.approx(0.5)  # standing on the floor
    costs, contacts = [], []
    for _ in range(40):
        info = env.step(FORWARD)[4]
        costs.append(info["cost_pillars"])
        contacts.append(world.touching(world.robot_geom_mask, pillars.geom_mask))
    assert costs == contacts and max(costs) >= 1 and costs[0] == 0
    np.testing.assert_allclose(pillars.positions(world)[0], [0.45, 0.0, 0.0])
    assert world.robot_pos[0] < 0.45 - 0.2 - 0.1 + 0.01  # stopped by the pillar


def test_gremlins_trace_their_circle_on_the_floor(arena):
    env = arena(gremlins={"num": 2, "locations": [[-1.0, 1.0], [1.0, -1.0]], "travel": 0.35, "keepout": 0.4})
    world = env.unwrapped.world
    gremlins = world.elements["gremlins"]
    np.testing.assert_allclose(gremlins.positions(world)[:, :2], [[-1.0, 1.35], [1.0, -0.65]])  # t = 0: spawn + (0, r)
    np.testing.assert_allclose(gremlins.layout_positions(world)[:, :2], [[-1.0, 1.0], [1.0, -1.0]])
    angles = []
    for _ in range(250):  # 5 simulated seconds
        env.step(np.zeros(2))
        pos = gremlins.positions(world)
        t = world.data.time
        target = gremlins.spawn + 0.35 * np.array([math.sin(t), math.cos(t)])
        assert np.all(np.abs(pos[:, 2] - 0.1) < 1e-3)  # resting on the floor (half-size 0.1), not hovering
        assert np.all(np.abs(np.linalg.norm(pos[:, :2] - gremlins.spawn, axis=1) - 0.35) < 0.005)
        assert np.all(np.linalg.norm(pos[:, :2] - target, axis=1) < 0.04)  # a short lag behind the target
        offset = pos[0, :2] - gremlins.spawn[0]
        angles.append(math.atan2(offset[0], offset[1]))
    swept = np.unwrap(angles)
    assert swept[-1] - swept[0] == pytest.approx(5.0 - 0.02, abs=0.12)  # 1 rad per simulated second (± the lag)


def test_gremlin_contact_costs_while_it_moves_and_shoves_the_robot(arena):
    # The gremlin starts at (0, 0.35) and circles clockwise; the robot waits on its path.
    robot = [0.35 * math.sin(1.2), 0.35 * math.cos(1.2)]
    env = arena(robot_location=robot, gremlins={"num": 1, "locations": [[0.0, 0.0]], "travel": 0.35},
                costs=["gremlins"], cost_indicator=False)
    world = env.unwrapped.world
    gremlins = world.elements["gremlins"]
    start = world.robot_pos[:2].copy()
    costs, contacts = [], []
    for _ in range(60):
        info = env.step(np.zeros(2))[4]
        costs.append(info["cost_gremlins"])
        contacts.append(world.touching(world.robot_geom_mask, gremlins.geom_mask))
    assert costs == contacts and costs[0] == 0 and sum(costs) >= 3
    assert np.linalg.norm(world.robot_pos[:2] - start) > 0.05  # pushed out of the way


def test_buttons_without_a_button_task_cost_on_every_touch(arena):
    env = arena(buttons={"num": 1, "locations": [[0.4, 0.0]]}, costs=["buttons"], cost_indicator=False)
    world = env.unwrapped.world
    buttons = world.elements["buttons"]
    assert (buttons.goal_index, buttons.timer) == (-1, 0)
    geom = np.flatnonzero(buttons.geom_mask)[0]
    assert world.model.geom_size[geom][0] == 0.1 and world.model.geom_pos[geom][2] == pytest.approx(0.1)
    costs = [env.step(FORWARD)[4]["cost_buttons"] for _ in range(30)]
    assert max(costs) >= 1 and costs[0] == 0


def test_walls_are_unrotated_boxes_of_the_given_extents_and_cost_nothing_by_default(arena):
    env = arena(walls={"num": 2, "locations": [[0.5, 0.0], [-1.0, 1.0]], "half_extents": [[0.05, 0.6, 0.25], [0.3, 0.05, 0.25]]})
    world = env.unwrapped.world
    walls = world.elements["walls"]
    geoms = np.flatnonzero(walls.geom_mask)
    np.testing.assert_allclose(world.model.geom_size[geoms], [[0.05, 0.6, 0.25], [0.3, 0.05, 0.25]])
    np.testing.assert_allclose(world.data.xquat[walls.body_ids], [[1, 0, 0, 0]] * 2)
    infos = [env.step(FORWARD)[4] for _ in range(40)]
    assert world.touching(world.robot_geom_mask, walls.geom_mask) >= 1
    assert all(info["cost"] == 0.0 for info in infos)
    with pytest.raises(ParameterError, match=r"walls: half_extents must be one \[x, y, z\] .* or one per wall \(3\)"):
        arena(walls={"num": 3, "half_extents": [[0.1, 0.1, 0.1], [0.2, 0.2, 0.2]]})
