"""Cost terms of the Safety Gym elements (raw values; the engine turns them into indicators by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safexp import CostTerm
from safexp.plugin import ParameterError, World, bounded, geom_ids, rows_index
from safexp_hazards.elements import Buttons


@dataclass
class HazardCostParams:
    """``element``: the hazard element read; ``cost``: weight of the raw value Σ (size − d) over hazards with d ≤ size."""

    element: str = "hazards"
    cost: float = bounded(1.0, ge=0)


class HazardCost(CostTerm):
    """Σ over hazards containing the robot's centre of (size − d), d the XY distance to the hazard's centre."""

    def bind(self, world: World) -> None:
        self.hazards = self.element(world, self.params.element)
        self._size = self.hazards.params.size
        # The hazards' rows of data.xpos, read through a view kept from here (a slice when their bodies are
        # consecutive): no attribute lookups into MuJoCo's bindings every step.
        self._xpos, self._rows = world.data.xpos, rows_index(self.hazards.body_ids)

    def __call__(self, world: World) -> float:
        size = self._size
        rx, ry, _ = world.robot_pos.tolist()
        total = 0.0
        for x, y, _ in self._xpos[self._rows].tolist():  # on floats: for a few hazards numpy calls cost more
            squared = (x - rx) * (x - rx) + (y - ry) * (y - ry)
            if squared <= size * size:
                total += size - math.sqrt(squared)
        return self.params.cost * total


@dataclass
class VaseCostParams:
    """Vase cost weights (Safety Gym defaults; displacement off).

    - ``contact_cost``: per contact between a robot geom and a vase;
    - ``velocity_cost`` × Σ speed of every vase faster than ``velocity_threshold``;
    - ``displacement_cost`` × Σ XY displacement from the episode's start above ``displacement_threshold``.
    """

    element: str = "vases"
    contact_cost: float = bounded(1.0, ge=0)
    velocity_cost: float = bounded(1.0, ge=0)
    velocity_threshold: float = bounded(1e-4, ge=0)
    displacement_cost: float = bounded(0.0, ge=0)
    displacement_threshold: float = bounded(1e-3, ge=0)


class VaseCost(CostTerm):
    """Contact, velocity and (optionally) displacement cost of vases."""

    def bind(self, world: World) -> None:
        self.vases = self.element(world, self.params.element)
        self._geoms = geom_ids(self.vases.geom_mask)
        self._start = np.zeros((self.vases.params.num, 2))

    def reset(self, world: World) -> None:
        self._start = self.vases.positions(world)[:, :2].copy()

    def __call__(self, world: World) -> float:
        p = self.params
        cost = p.contact_cost * world.robot_touches(self._geoms)
        velocity = self.vases.velocities(world)
        speed = np.sqrt(np.einsum("ij,ij->i", velocity, velocity))
        cost += p.velocity_cost * float(speed[speed >= p.velocity_threshold].sum())
        if p.displacement_cost:
            moved = np.linalg.norm(self.vases.positions(world)[:, :2] - self._start, axis=1)
            cost += p.displacement_cost * float(moved[moved >= p.displacement_threshold].sum())
        return cost


@dataclass
class PillarCostParams:
    """``element``: the pillars read; ``cost`` per contact between a robot geom and a pillar."""

    element: str = "pillars"
    cost: float = bounded(1.0, ge=0)


@dataclass
class WallCostParams:
    """``element``: the walls read; ``cost`` per contact between a robot geom and a wall."""

    element: str = "walls"
    cost: float = 1.0


@dataclass
class PoleCostParams:
    """``element``: the poles read; ``cost`` per contact between a robot geom and a pole."""

    element: str = "poles"
    cost: float = 1.0


@dataclass
class GremlinCostParams:
    """``element``: the gremlins read; ``cost`` per contact between a robot geom and a gremlin."""

    element: str = "gremlins"
    cost: float = bounded(1.0, ge=0)


class ContactCost(CostTerm):
    """``cost`` × the number of contacts between a robot geom and a geom of one element's objects."""

    def bind(self, world: World) -> None:
        self.objects = self.element(world, self.params.element)
        self._geoms = geom_ids(self.objects.geom_mask)

    def __call__(self, world: World) -> float:
        return self.params.cost * world.robot_touches(self._geoms)


@dataclass
class ButtonCostParams:
    """``element``: the buttons read; ``cost`` per contact with a button that is not the goal button."""

    element: str = "buttons"
    cost: float = bounded(1.0, ge=0)


class ButtonCost(CostTerm):
    """``cost`` per contact between a robot geom and a wrong button, only while the button timer is 0.

    The timer runs for a few steps after each success (see the ``button`` task), so the robot can leave the
    button it just pressed; it is 0 at reset (Safety Gym's original semantics).
    """

    def bind(self, world: World) -> None:
        self.buttons = self.element(world, self.params.element)
        if not isinstance(self.buttons, Buttons):
            raise ParameterError(f"cost '{self.name}': element '{self.params.element}' is not a buttons element")

    def __call__(self, world: World) -> float:
        return self.params.cost * self.buttons.wrong_presses(world)
