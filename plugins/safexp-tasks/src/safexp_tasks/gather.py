"""The CPO paper's Gather task: collect apples, avoid bombs.

Apples and bombs are scene elements (``apples``, ``bombs``) placed at random in the activity range (the arena
extents) and observed through their own lidars (the paper: 10 bins, range 6). The robot collects an object when
its centre comes within the object's ``catch_range``: an apple gives ``reward_apple`` (+10), a bomb
``reward_bomb`` (−1, as the original code subtracts it) and, through the ``bombs`` cost, cost 1. A collected
object leaves the arena for the rest of the episode, as in the paper (it is moved :data:`REMOVED_AT` metres away,
beyond any lidar's range, and nothing collides with it). A robot that falls (Ant) gets ``reward_fall`` (−10)
and the episode ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import mujoco
import numpy as np

from safexp.plugin import CostTerm, Element, ParameterError, PlacementParams, World, bounded, choices_hint, rows_index
from safexp_tasks.horizon import HorizonTask

REMOVED_AT = 1.0e4
"""Where collected objects go (x = y = REMOVED_AT): out of the arena, out of the camera's view, out of lidar range."""


@dataclass
class GatherObjectParams(PlacementParams):
    """Apples or bombs: spheres nothing collides with, collected by the robot's centre within ``catch_range``.

    - ``keepout``: 1, so objects are at least 2 apart, the paper's grid spacing;
    - ``size``: the drawn sphere's radius;
    - ``catch_range``: the XY distance from the robot's centre within which the robot collects one.
    """

    keepout: float = 1.0
    size: float = bounded(0.25, gt=0)
    catch_range: float = bounded(1.0, gt=0)


class GatherObjects(Element):
    """Apples (red) or bombs (black): static spheres floating at their radius above the floor."""

    order = 50

    def __init__(self, params: GatherObjectParams, rgba: str) -> None:
        super().__init__(params)
        self.rgba = rgba

    def body_xml(self, index: int) -> str:
        s = self.params.size
        return f'<geom type="sphere" size="{s}" pos="0 0 {s}" rgba="{self.rgba}" contype="0" conaffinity="0"/>'

    def bind(self, world: World) -> None:
        super().bind(world)
        # The objects' rows of data.xpos, read through a view kept from here: no lookups every step.
        self._xpos, self._rows = world.data.xpos, rows_index(self.body_ids)
        self._reach_squared = self.params.catch_range ** 2

    def in_reach(self, world: World) -> list[int]:
        """Indices of the objects whose centre is within ``catch_range`` of the robot's centre (XY); collected
        objects are far away, out of reach."""
        rx, ry, _ = world.robot_pos.tolist()
        reach = self._reach_squared
        return [i for i, (x, y, _) in enumerate(self._xpos[self._rows].tolist())  # floats: cheaper for a few objects
                if (x - rx) * (x - rx) + (y - ry) * (y - ry) <= reach]

    def remove(self, world: World, indices: list[int]) -> None:
        """Take objects ``indices`` out of the arena for the rest of the episode (positions updated at once)."""
        far = np.full((len(indices), 2), REMOVED_AT)
        self.place(world, far, np.zeros(len(indices)), np.array(indices))
        mujoco.mj_kinematics(world.model, world.data)


def apples(params: GatherObjectParams) -> GatherObjects:
    """The ``apples`` element."""
    return GatherObjects(params, "0.85 0.1 0.1 1")


def bombs(params: GatherObjectParams) -> GatherObjects:
    """The ``bombs`` element."""
    return GatherObjects(params, "0.1 0.1 0.1 1")


@dataclass
class GatherParams:
    """Gather task parameters (the CPO paper's values).

    - ``reward_apple``: reward per apple collected (+10);
    - ``reward_bomb``: reward per bomb collected (−1: the original code subtracts the bomb's cost of 1);
    - ``reward_fall``: reward on the step the robot falls, which ends the episode (−10);
    - ``horizon``: ``[low, high]`` steps per episode, drawn at each reset (``null``: only the env's time limit).
    """

    reward_apple: float = bounded(10.0, ge=0)
    reward_bomb: float = bounded(-1.0, le=0)
    reward_fall: float = bounded(-10.0, le=0)
    horizon: Optional[List[int]] = bounded(None, ge=1)


def gather_element(world: World, name: str) -> GatherObjects | None:
    """The scene's ``apples`` or ``bombs`` element, ``None`` when the scene has none."""
    element = world.elements.get(name)
    return element if isinstance(element, GatherObjects) else None


class GatherTask(HorizonTask):
    """Reward: ``reward_apple`` per apple and ``reward_bomb`` per bomb collected this step; both leave the arena
    after the step's cost is counted. No goal; the episode runs to its horizon (or the robot's fall).

    :attr:`present` maps ``apples`` and ``bombs`` to a boolean mask of the objects not collected yet this episode.
    """

    reward_clip = 1000.0  # several objects may be collected in one step; the paper does not clip

    def __init__(self, params: GatherParams) -> None:
        super().__init__(params, "gather")
        self.reward_fall = params.reward_fall
        self._caught: dict[str, list[int]] = {}

    def bind(self, world: World) -> None:
        apples, self.bombs = gather_element(world, "apples"), gather_element(world, "bombs")
        if apples is None:
            raise ParameterError("task 'gather' needs the element 'apples' (apples to collect), which this scene does "
                                 f"not have; {choices_hint('apples', world.elements)}")
        self.apples = apples
        self._objects = [e for e in (apples, self.bombs) if e is not None]
        self.present = {e.name: np.ones(e.params.num, dtype=bool) for e in self._objects}

    def reset(self, world: World) -> None:
        super().reset(world)
        for mask in self.present.values():
            mask[:] = True

    def reward(self, world: World) -> float:
        self._caught = {e.name: e.in_reach(world) for e in self._objects}
        reward = self.params.reward_apple * len(self._caught["apples"])
        if self.bombs is not None:
            reward += self.params.reward_bomb * len(self._caught["bombs"])
        return reward

    def tick(self, world: World) -> None:
        super().tick(world)
        for element in self._objects:
            caught = self._caught.get(element.name)
            if caught:
                self.present[element.name][caught] = False
                element.remove(world, caught)


@dataclass
class BombCostParams:
    """No parameters: the catch range is the ``bombs`` element's."""


class BombCost(CostTerm):
    """1 per bomb within its catch range of the robot's centre this step (a bomb once collected has left the arena,
    so it counts once)."""

    def bind(self, world: World) -> None:
        bombs = self.element(world, "bombs")
        if not isinstance(bombs, GatherObjects):
            raise ParameterError(f"cost 'bombs' reads the Gather task's bombs, not a '{type(bombs).__name__}' element")
        self.bombs = bombs

    def __call__(self, world: World) -> float:
        return float(len(self.bombs.in_reach(world)))
