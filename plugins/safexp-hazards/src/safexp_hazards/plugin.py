"""Hook implementations of safexp-hazards: the scene elements and the cost terms that read them."""

from __future__ import annotations

import safexp
from safexp_hazards.costs import HazardCost, HazardCostParams, VaseCost, VaseCostParams
from safexp_hazards.elements import Hazards, HazardsParams, Vases, VasesParams


@safexp.hookimpl
def safexp_hazards():
    yield safexp.HazardSpec("hazards", Hazards, HazardsParams, "flat circles on the floor, observed, nothing collides with them")
    yield safexp.HazardSpec("vases", Vases, VasesParams, "light free boxes the robot can push or knock over")


@safexp.hookimpl
def safexp_costs():
    yield safexp.CostSpec("hazards", HazardCost, HazardCostParams, "robot's centre inside a hazard: Σ (size − distance)")
    yield safexp.CostSpec("vases", VaseCost, VaseCostParams, "robot touching a vase, plus the speed of moving vases")
