"""Shared fixtures: build a robot through its registered record and compile it standing on a floor."""

from collections.abc import Callable
from typing import Any

import mujoco
import pytest

import safexp
from safexp.plugin import build_params
from safexp_robots import plugin

SPECS: dict[str, safexp.RobotSpec] = {spec.name: spec for spec in plugin.safexp_robots()}


def _build(robot: str, **overrides: Any) -> safexp.RobotModel:
    spec = SPECS[robot]
    return spec.factory(build_params(spec, overrides))


def _compile(robot: str, **overrides: Any) -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_string(_build(robot, **overrides).mjcf)
    spec.worldbody.add_geom(name="test_floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[5, 5, 0.1])
    return spec.compile()


@pytest.fixture
def build_robot() -> Callable[..., safexp.RobotModel]:
    """``build_robot(robot, **overrides)``: the robot model, parameters validated as the engine does."""
    return _build


@pytest.fixture
def compile_robot() -> Callable[..., mujoco.MjModel]:
    """``compile_robot(robot, **overrides)``: the robot's document compiled with a plane floor at z = 0
    (in the suite the engine adds the floor)."""
    return _compile
