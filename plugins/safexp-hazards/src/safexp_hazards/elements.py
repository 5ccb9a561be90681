"""Scene elements: hazards (flat circles on the floor) and vases (light boxes the robot can knock over)."""

from __future__ import annotations

from dataclasses import dataclass

from safexp import Element, PlacementParams


@dataclass
class HazardsParams(PlacementParams):
    """Hazards: flat circles of radius ``size`` that nothing collides with (Safety Gym: 0.2, keepout 0.18)."""

    keepout: float = 0.18
    size: float = 0.2


class Hazards(Element):
    """Static, visual-only circles; their cost is the ``hazards`` cost term."""

    order = 50

    def body_xml(self, index: int) -> str:
        return (f'<geom type="cylinder" size="{self.params.size} 0.01" pos="0 0 0.01" rgba="0 0 1 0.25" '
                'contype="0" conaffinity="0"/>')


@dataclass
class VasesParams(PlacementParams):
    """Vases: free boxes of half-size ``size`` and ``density`` sunk ``sink`` into the floor (Safety Gym figures)."""

    keepout: float = 0.15
    size: float = 0.1
    density: float = 0.001
    sink: float = 4e-5


class Vases(Element):
    """Movable boxes; their cost (contact and velocity) is the ``vases`` cost term."""

    order = 60
    movable = True

    def resting_height(self) -> float:
        return self.params.size - self.params.sink

    def body_xml(self, index: int) -> str:
        s = self.params.size
        return f'<geom type="box" size="{s} {s} {s}" density="{self.params.density}" rgba="0 1 1 1"/>'
