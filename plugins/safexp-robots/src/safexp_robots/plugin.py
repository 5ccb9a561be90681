"""The hook implementations of safexp-robots: it registers the robots Point, Car, Doggo, Ant and Humanoid."""

from collections.abc import Iterator

import safexp
from safexp_robots.robots import (
    AntParams,
    CarParams,
    DoggoParams,
    HumanoidParams,
    PointParams,
    build_ant,
    build_car,
    build_doggo,
    build_humanoid,
    build_point,
)


@safexp.hookimpl
def safexp_robots() -> Iterator[safexp.RobotSpec]:
    """Yield the records of the three Safety Gym robots and of the CPO paper's Ant and Humanoid."""
    yield safexp.RobotSpec(
        name="point",
        factory=build_point,
        params=PointParams,
        description="sphere on the floor with a forward motor and a yaw-rate servo (2 actions)",
    )
    yield safexp.RobotSpec(
        name="car",
        factory=build_car,
        params=CarParams,
        description="differential-drive car: two driven wheels and a rear ball caster (2 actions)",
    )
    yield safexp.RobotSpec(
        name="doggo",
        factory=build_doggo,
        params=DoggoParams,
        description="quadruped with a passive waist and three motors per leg (12 actions)",
    )
    yield safexp.RobotSpec(
        name="ant",
        factory=build_ant,
        params=AntParams,
        description="classic quadruped: torso sphere, four two-segment legs (8 actions); falls when tipped or low",
    )
    yield safexp.RobotSpec(
        name="humanoid",
        factory=build_humanoid,
        params=HumanoidParams,
        description="classic humanoid: torso, abdomen, two legs and two arms (17 actions); falls below 1 m",
    )
