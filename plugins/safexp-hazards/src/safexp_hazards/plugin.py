"""Hook implementations of safexp-hazards: the scene elements, the cost terms that read them, and constraints."""

from __future__ import annotations

import safexp
from safexp_hazards.constraints import (
    KeepIn,
    KeepInParams,
    ObstacleContact,
    ObstacleContactParams,
    SpeedLimit,
    SpeedLimitParams,
)
from safexp_hazards.costs import (
    ButtonCost,
    ButtonCostParams,
    ContactCost,
    GremlinCostParams,
    HazardCost,
    HazardCostParams,
    PillarCostParams,
    PoleCostParams,
    VaseCost,
    VaseCostParams,
    WallCostParams,
)
from safexp_hazards.people import People, PeopleCost, PeopleCostParams, PeopleParams
from safexp_hazards.elements import (
    Buttons,
    ButtonsParams,
    Gremlins,
    GremlinsParams,
    Hazards,
    HazardsParams,
    Pillars,
    PillarsParams,
    Poles,
    PolesParams,
    Vases,
    VasesParams,
    Walls,
    WallsParams,
)


@safexp.hookimpl
def safexp_hazards():
    yield safexp.HazardSpec("hazards", Hazards, HazardsParams, "flat circles on the floor, observed, nothing collides with them")
    yield safexp.HazardSpec("vases", Vases, VasesParams, "light free boxes the robot can push or knock over")
    yield safexp.HazardSpec("pillars", Pillars, PillarsParams, "fixed upright cylinders the robot bumps into")
    yield safexp.HazardSpec("gremlins", Gremlins, GremlinsParams, "boxes that circle their spawn point and shove what they meet")
    yield safexp.HazardSpec("buttons", Buttons, ButtonsParams, "fixed spheres pressed by touching; the button task picks the goal one")
    yield safexp.HazardSpec("walls", Walls, WallsParams, "fixed boxes, never rotated (arena boundaries, corridors, hallway walls)")
    yield safexp.HazardSpec("poles", Poles, PolesParams, "thin fixed upright cylinders (the hallway's poles)")
    yield safexp.HazardSpec("people", People, PeopleParams, "human figures playing motion clips (walk, wave, sit, fall...; BVH)")


@safexp.hookimpl
def safexp_costs():
    yield safexp.CostSpec("hazards", HazardCost, HazardCostParams, "robot's centre inside a hazard: Σ (size − distance)")
    yield safexp.CostSpec("vases", VaseCost, VaseCostParams, "robot touching a vase, plus the speed of moving vases")
    yield safexp.CostSpec("pillars", ContactCost, PillarCostParams, "robot touching a pillar: 1 per contact")
    yield safexp.CostSpec("gremlins", ContactCost, GremlinCostParams, "robot touching a gremlin: 1 per contact")
    yield safexp.CostSpec("walls", ContactCost, WallCostParams, "robot touching a wall: 1 per contact")
    yield safexp.CostSpec("poles", ContactCost, PoleCostParams, "robot touching a pole: 1 per contact")
    yield safexp.CostSpec("people", PeopleCost, PeopleCostParams, "robot touching a person: 1 the first time per person (or every step)")
    yield safexp.CostSpec("buttons", ButtonCost, ButtonCostParams, "robot touching a wrong button while the button timer is 0")
    yield safexp.CostSpec("speed_limit", SpeedLimit, SpeedLimitParams, "robot faster than max_speed: the excess speed")
    yield safexp.CostSpec("keep_in", KeepIn, KeepInParams, "robot outside an allowed rectangle or circle: the distance out")
    yield safexp.CostSpec("obstacle_contact", ObstacleContact, ObstacleContactParams, "robot touching any static obstacle: 1 per contact")
