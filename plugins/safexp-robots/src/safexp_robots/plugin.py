"""The hook implementations of safexp-robots: it registers the robots Point, Car and Doggo."""

from collections.abc import Iterator

import safexp
from safexp_robots.robots import CarParams, DoggoParams, PointParams, build_car, build_doggo, build_point


@safexp.hookimpl
def safexp_robots() -> Iterator[safexp.RobotSpec]:
    """Yield the records of the three Safety Gym robots."""
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
