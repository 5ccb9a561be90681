"""safexp-robots: the Safety Gym robots Point, Car and Doggo, and the CPO paper's Ant and Humanoid, as safexp
robot plugins.

:mod:`safexp_robots.plugin` registers them with safexp; :mod:`safexp_robots.robots` holds their parameter
schemas and factories; ``xmls/`` holds their MJCF documents.
"""

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

__all__ = ["AntParams", "CarParams", "DoggoParams", "HumanoidParams", "PointParams", "build_ant", "build_car",
           "build_doggo", "build_humanoid", "build_point"]
