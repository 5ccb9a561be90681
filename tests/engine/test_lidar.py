"""The pseudo-lidar formula (reference section 6), pinned against a plain per-object implementation.

For each object: angle = atan2(y, x) mod 2π, bin = floor(angle / (2π/n)), reading = max(0, max_dist − d) / max_dist,
each bin keeps the max over objects; with aliasing, alias = (angle − bin·size) / size, the next bin takes
max(·, alias·reading) and the previous bin max(·, (1 − alias)·reading). Groups (object kinds) read separately.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from safexp.engine.lidar import Lidar

BINS = 16
BIN_SIZE = 2 * math.pi / BINS


def reference(ego_xy, group_of, num_groups, num_bins=BINS, max_dist=3.0, alias=True, visible=None):
    """The formula, one object at a time."""
    out = np.zeros((num_groups, num_bins))
    size = 2 * math.pi / num_bins
    for i, ((x, y), group) in enumerate(zip(ego_xy, group_of)):
        if visible is not None and not visible[i]:
            continue
        angle = math.atan2(y, x) % (2 * math.pi)
        b = min(int(angle // size), num_bins - 1)
        reading = max(0.0, max_dist - math.hypot(x, y)) / max_dist
        row = out[group]
        row[b] = max(row[b], reading)
        if alias:
            a = (angle - b * size) / size
            row[(b + 1) % num_bins] = max(row[(b + 1) % num_bins], a * reading)
            row[(b - 1) % num_bins] = max(row[(b - 1) % num_bins], (1 - a) * reading)
    return out.ravel()


def polar(bearing_bins: float, distance: float) -> list[float]:
    """The robot-frame XY of an object ``bearing_bins`` bins counter-clockwise from the robot's x axis."""
    angle = bearing_bins * BIN_SIZE
    return [distance * math.cos(angle), distance * math.sin(angle)]


def test_one_object_in_the_middle_of_a_bin():
    lidar = Lidar(np.array([0]), 1, BINS, 3.0, alias=True)
    readings = lidar(np.array([polar(3.5, 1.2)]))
    expected = np.zeros(BINS)
    expected[3] = (3.0 - 1.2) / 3.0
    expected[2] = expected[4] = 0.5 * expected[3]
    np.testing.assert_allclose(readings, expected, atol=1e-12)


def test_aliasing_splits_a_reading_between_the_next_and_previous_bins():
    lidar = Lidar(np.array([0]), 1, BINS, 3.0, alias=True)
    readings = lidar(np.array([polar(5.25, 0.9)]))
    reading = (3.0 - 0.9) / 3.0
    assert readings[5] == pytest.approx(reading)
    assert readings[6] == pytest.approx(0.25 * reading)
    assert readings[4] == pytest.approx(0.75 * reading)
    assert np.count_nonzero(readings) == 3


@pytest.mark.parametrize("bearing_bins, lit", [(0.1, (0, 1, 15)), (15.9, (15, 0, 14)), (-0.1, (15, 0, 14))])
def test_bins_wrap_around(bearing_bins, lit):
    lidar = Lidar(np.array([0]), 1, BINS, 3.0, alias=True)
    readings = lidar(np.array([polar(bearing_bins, 1.0)]))
    alias = bearing_bins % 1
    assert readings[lit[0]] == pytest.approx(2 / 3)
    assert readings[lit[1]] == pytest.approx(alias * 2 / 3)
    assert readings[lit[2]] == pytest.approx((1 - alias) * 2 / 3)


def test_objects_beyond_max_dist_read_zero():
    lidar = Lidar(np.array([0, 0]), 1, BINS, 3.0, alias=True)
    assert not lidar(np.array([polar(2.5, 3.0), polar(7.5, 4.5)])).any()


def test_each_bin_keeps_the_max_over_objects():
    # Two objects in bin 3 (the nearer wins), and one in bin 4 whose reading is below bin 3's alias share.
    objects = np.array([polar(3.5, 2.0), polar(3.9, 0.6), polar(4.5, 2.7)])
    readings = Lidar(np.array([0, 0, 0]), 1, BINS, 3.0, alias=True)(objects)
    near = (3.0 - 0.6) / 3.0
    assert readings[3] == pytest.approx(near)
    assert readings[4] == pytest.approx(max(0.9 * near, 0.1))
    assert readings[2] == pytest.approx(max(0.1 * near, 0.5 * (3.0 - 2.0) / 3.0))
    np.testing.assert_allclose(readings, reference(objects, [0, 0, 0], 1), atol=1e-12)


def test_groups_read_separately():
    objects = np.array([polar(1.5, 1.0), polar(1.5, 0.5), polar(9.2, 2.0)])
    group_of = np.array([1, 0, 1])
    readings = Lidar(group_of, 3, BINS, 3.0, alias=True)(objects)
    assert readings.shape == (3 * BINS,)
    assert readings[BINS + 1] == pytest.approx(2 / 3) and readings[1] == pytest.approx(2.5 / 3)
    assert not readings[2 * BINS:].any()  # a group with no objects
    np.testing.assert_allclose(readings, reference(objects, group_of, 3), atol=1e-12)


def test_hidden_objects_read_nothing():
    objects = np.array([polar(1.5, 1.0), polar(1.5, 0.5), polar(9.2, 2.0)])
    group_of = np.array([0, 1, 0])
    visible = np.array([True, False, True])
    readings = Lidar(group_of, 2, BINS, 3.0, alias=True)(objects, visible)
    assert not readings[BINS:].any()
    np.testing.assert_allclose(readings, reference(objects, group_of, 2, visible=visible), atol=1e-12)


def test_without_aliasing_only_the_own_bin_reads():
    objects = np.array([polar(5.25, 0.9), polar(5.75, 1.5), polar(11.0, 0.3)])
    readings = Lidar(np.array([0, 0, 0]), 1, BINS, 3.0, alias=False)(objects)
    expected = np.zeros(BINS)
    expected[5], expected[11] = (3.0 - 0.9) / 3.0, (3.0 - 0.3) / 3.0
    np.testing.assert_allclose(readings, expected, atol=1e-12)


def test_no_objects_read_zero():
    assert not Lidar(np.zeros(0, dtype=np.int64), 2, BINS, 3.0, alias=True)(np.zeros((0, 2))).any()


@pytest.mark.parametrize("num_bins", [1, 2, 3, 16, 32])
@pytest.mark.parametrize("alias", [True, False])
@pytest.mark.parametrize("num_objects", [1, 3, 25])  # one by one up to 24 objects, vectorised above
def test_random_scenes_match_the_per_object_formula(num_bins, alias, num_objects):
    rng = np.random.default_rng(num_bins * 100 + num_objects)
    for _ in range(20):
        objects = rng.uniform(-3.5, 3.5, size=(num_objects, 2))
        group_of = rng.integers(0, 3, size=num_objects)
        visible = rng.random(num_objects) < 0.7
        lidar = Lidar(group_of, 3, num_bins, 3.5, alias)
        np.testing.assert_allclose(lidar(objects), reference(objects, group_of, 3, num_bins, 3.5, alias), atol=1e-12)
        np.testing.assert_allclose(lidar(objects, visible),
                                   reference(objects, group_of, 3, num_bins, 3.5, alias, visible), atol=1e-12)


@pytest.mark.parametrize("num_objects", [3, 30])  # a few objects go one by one, many in one vectorised pass
def test_around_a_tilted_robot_reads_the_objects_on_the_floor_in_its_frame(num_objects):
    rng = np.random.default_rng(num_objects)
    group_of = rng.integers(0, 2, size=num_objects)
    lidar = Lidar(group_of, 2, BINS, 3.0, alias=True)
    for _ in range(10):
        points = rng.uniform(-3, 3, size=(num_objects, 3))
        robot = rng.uniform(-1, 1, size=3)
        axis, angle = rng.normal(size=3), rng.uniform(0, 2 * math.pi)
        quat = np.concatenate([[math.cos(angle / 2)], math.sin(angle / 2) * axis / np.linalg.norm(axis)])
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, quat)
        mat = mat.reshape(3, 3)
        floor = np.column_stack([points[:, :2], np.zeros(num_objects)])
        ego = ((floor - robot) @ mat)[:, :2]  # world → robot frame: Rᵀ (p − r)
        visible = rng.random(num_objects) < 0.7
        np.testing.assert_allclose(lidar.around(points, robot, mat), reference(ego, group_of, 2), atol=1e-12)
        np.testing.assert_allclose(lidar.around(points, robot, mat, visible),
                                   reference(ego, group_of, 2, visible=visible), atol=1e-12)
