"""safexp-robots: the Safety Gym robots Point, Car and Doggo as safexp robot plugins.

:mod:`safexp_robots.plugin` registers them with safexp; :mod:`safexp_robots.robots` holds their parameter
schemas and factories; ``xmls/`` holds their MJCF documents.
"""

from safexp_robots.robots import CarParams, DoggoParams, PointParams, build_car, build_doggo, build_point

__all__ = ["CarParams", "DoggoParams", "PointParams", "build_car", "build_doggo", "build_point"]
