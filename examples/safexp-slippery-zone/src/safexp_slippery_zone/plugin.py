"""Hook implementations of safexp-slippery-zone: one element and its cost."""

from __future__ import annotations

import safexp
from safexp_slippery_zone.zones import SlipperyZoneCost, SlipperyZoneCostParams, SlipperyZones, SlipperyZonesParams


@safexp.hookimpl
def safexp_hazards():
    yield safexp.HazardSpec("slippery_zones", SlipperyZones, SlipperyZonesParams,
                            "square floor patches where the robot loses its grip")


@safexp.hookimpl
def safexp_costs():
    yield safexp.CostSpec("slippery_zones", SlipperyZoneCost, SlipperyZoneCostParams,
                          "robot's centre on a slippery patch: 1 per patch")
