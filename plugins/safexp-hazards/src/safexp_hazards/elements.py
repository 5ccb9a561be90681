"""Scene elements: hazards (flat circles on the floor), vases (light boxes the robot can knock over), pillars,
gremlins (boxes circling their spawn point), buttons, walls and poles (the people of the hallways are in
:mod:`safexp_hazards.people`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, List

import mujoco
import numpy as np

from safexp import Element, PlacementParams
from safexp.plugin import ParameterError, bounded

if TYPE_CHECKING:
    from safexp.plugin import World


@dataclass
class HazardsParams(PlacementParams):
    """Hazards: flat circles of radius ``size`` that nothing collides with (Safety Gym: 0.2, keepout 0.18)."""

    keepout: float = bounded(0.18, ge=0)
    size: float = bounded(0.2, gt=0)


class Hazards(Element):
    """Static, visual-only circles; their cost is the ``hazards`` cost term."""

    order = 50

    def body_xml(self, index: int) -> str:
        return (f'<geom type="cylinder" size="{self.params.size} 0.01" pos="0 0 0.01" rgba="0 0 1 0.25" '
                'contype="0" conaffinity="0"/>')


@dataclass
class VasesParams(PlacementParams):
    """Vases: free boxes of half-size ``size`` and ``density`` sunk ``sink`` into the floor (Safety Gym figures)."""

    keepout: float = bounded(0.15, ge=0)
    size: float = bounded(0.1, gt=0)
    density: float = bounded(0.001, gt=0)
    sink: float = bounded(4e-5, ge=0)


class Vases(Element):
    """Movable boxes; their cost (contact and velocity) is the ``vases`` cost term."""

    order = 60
    movable = True

    def resting_height(self) -> float:
        return self.params.size - self.params.sink

    def body_xml(self, index: int) -> str:
        s = self.params.size
        return f'<geom type="box" size="{s} {s} {s}" density="{self.params.density}" rgba="0 1 1 1"/>'


@dataclass
class PillarsParams(PlacementParams):
    """Pillars: fixed upright cylinders of radius ``size`` and half-height ``height`` (Safety Gym: 0.2, 0.5)."""

    keepout: float = bounded(0.3, ge=0)
    size: float = bounded(0.2, gt=0)
    height: float = bounded(0.5, gt=0)


class Pillars(Element):
    """Static cylinders the robot collides with; their cost is the ``pillars`` cost term."""

    order = 70

    def body_xml(self, index: int) -> str:
        p = self.params
        return f'<geom type="cylinder" size="{p.size} {p.height}" pos="0 0 {p.height}" rgba="0.5 0.5 1 1"/>'


@dataclass
class GremlinsParams(PlacementParams):
    """Gremlins: boxes of half-size ``size`` circling their spawn point at radius ``travel``.

    Safety Gym defaults (keepout 0.5, travel 0.3); the Button levels use travel 0.35, keepout 0.4. The keepout
    is centred on the spawn point, so it should hold the circle: keepout ≥ travel.
    """

    keepout: float = bounded(0.5, ge=0)
    travel: float = bounded(0.3, ge=0)
    size: float = bounded(0.1, gt=0)
    density: float = bounded(0.001, gt=0)


def yaw_quaternions(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (k, 4), MuJoCo's (w, x, y, z) order, of rotations by ``yaw`` (k,) about the vertical axis."""
    return np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.zeros_like(yaw), np.sin(yaw / 2)], axis=1)


class Gremlins(Element):
    """Free boxes welded to mocap targets that circle each spawn point: target = spawn + travel·(sin t, cos t).

    t is the simulated time, all gremlins in phase at 1 rad per simulated second (Safety Gym). The targets are
    set before every physics substep; the weld drags each box along, so it pushes (and is stopped by) what it
    meets. Targets sit at the box's resting height, so gremlins stand on the floor instead of hovering 0.1 above
    it (the originals' defect). Contacts with the floor (the world body) are excluded: the weld carries the
    box's weight, as it does in the originals, so the floor adds no friction and no contacts to solve.
    """

    order = 80
    movable = True

    def __init__(self, params: GremlinsParams) -> None:
        super().__init__(params)
        self.spawn = np.zeros((params.num, 2))
        self._target_ids = np.zeros(0, dtype=np.int64)  # mocap ids of the targets, by object
        self._target_xy: np.ndarray | None = None  # a view of the targets' XY in the model data, when contiguous
        self._offset = np.zeros(2)  # travel · (sin t, cos t), rewritten every substep

    def _target_name(self, index: int) -> str:
        return f"{self.name}_target{index}"

    def resting_height(self) -> float:
        return self.params.size

    def body_xml(self, index: int) -> str:
        p = self.params
        return f'<geom type="box" size="{p.size} {p.size} {p.size}" density="{p.density}" rgba="0.5 0 1 1"/>'

    def extra_xml(self) -> dict[str, str]:
        n, z = self.params.num, self.resting_height()
        targets = "".join(f'<body name="{self._target_name(i)}" mocap="true" pos="0 0 {z}"/>' for i in range(n))
        welds = "".join(f'<weld body1="{self._target_name(i)}" body2="{self.name}{i}" relpose="0 0 0 1 0 0 0" '
                        'solref="0.02 1.5"/>' for i in range(n))
        floor = "".join(f'<exclude body1="world" body2="{self.name}{i}"/>' for i in range(n))
        return {"worldbody": targets, "equality": welds, "contact": floor}

    def bind(self, world: World) -> None:
        super().bind(world)
        model = world.model
        bodies = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, self._target_name(i)) for i in range(self.params.num)]
        ids = model.body_mocapid[bodies].astype(np.int64)
        self._target_ids = ids
        self._data = world.data
        if len(ids) and np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
            self._target_xy = world.data.mocap_pos[ids[0] : ids[0] + len(ids), :2]  # written in place every substep

    def place(self, world: World, xy: np.ndarray, yaw: np.ndarray, indices: np.ndarray | None = None) -> None:
        """Spawn objects at ``xy`` and put them (and their targets) where the circle is at the current time."""
        idx = np.arange(self.params.num) if indices is None else np.asarray(indices)
        self.spawn[idx] = xy
        t = world.data.time
        pos = np.column_stack([xy + self.params.travel * np.array([np.sin(t), np.cos(t)]), np.full(len(idx), self.params.size)])
        quat = yaw_quaternions(np.asarray(yaw, dtype=np.float64))
        world.data.qpos[self._qpos_idx[idx]] = np.column_stack([pos, quat])
        world.data.qvel[self._qvel_idx[idx]] = 0.0
        world.data.mocap_pos[self._target_ids[idx]] = pos
        world.data.mocap_quat[self._target_ids[idx]] = quat

    def before_substep(self, world: World) -> None:
        t, travel, offset = self._data.time, self.params.travel, self._offset
        offset[0] = travel * math.sin(t)
        offset[1] = travel * math.cos(t)
        if self._target_xy is not None:
            np.add(self.spawn, offset, out=self._target_xy)
        else:
            world.data.mocap_pos[self._target_ids, :2] = self.spawn + offset

    def layout_positions(self, world: World) -> np.ndarray:
        """The spawn points (the centres of the circles the keepouts hold)."""
        return np.column_stack([self.spawn, np.zeros(self.params.num)])


@dataclass
class ButtonsParams(PlacementParams):
    """Buttons: fixed spheres of radius ``size`` resting on the floor (Safety Gym: 0.1; keepout 0.3, 0.2 in the
    Button levels)."""

    keepout: float = bounded(0.3, ge=0)
    size: float = bounded(0.1, gt=0)


class Buttons(Element):
    """Static spheres the robot presses by touching them.

    Besides the spheres, the buttons hold two numbers, changed through methods only: the goal button
    (:meth:`set_goal`; none, ``-1``, until a task sets one) and the button timer (:meth:`start_timer`,
    :meth:`count_down`): steps during which pressing a wrong button costs nothing. The button task drives both;
    the ``buttons`` cost term reads them through :meth:`wrong_presses`. Without a button task no button is the
    goal and the timer stays 0, so every touch is a wrong one.
    """

    order = 40

    def __init__(self, params: ButtonsParams) -> None:
        super().__init__(params)
        self._goal = -1
        self._timer = 0
        self._button_of_geom: list[int] = []

    def body_xml(self, index: int) -> str:
        s = self.params.size
        return f'<geom type="sphere" size="{s}" pos="0 0 {s}" rgba="1 0.5 0 1"/>'

    def bind(self, world: World) -> None:
        super().bind(world)
        button_of_body = np.full(world.model.nbody, -1, dtype=np.int64)
        button_of_body[self.body_ids] = np.arange(self.params.num)
        self._button_of_geom = button_of_body[world.model.geom_bodyid].tolist()

    # -- the goal button and the timer -------------------------------------------------------------------------
    @property
    def goal_index(self) -> int:
        """The goal button's index (0 .. num-1), or -1 when no button is the goal."""
        return self._goal

    @property
    def timer(self) -> int:
        """Steps left during which wrong presses cost nothing (0: they cost)."""
        return self._timer

    def set_goal(self, index: int) -> None:
        """Make button ``index`` the goal (-1: none)."""
        if not -1 <= index < self.params.num:
            raise ParameterError(f"{self.name}: goal button index must be in -1 .. {self.params.num - 1}, got {index}")
        self._goal = int(index)

    def start_timer(self, steps: int) -> None:
        """Let wrong presses cost nothing for the next ``steps`` steps (0 stops the timer)."""
        if steps < 0:
            raise ParameterError(f"{self.name}: the button timer needs steps ≥ 0, got {steps}")
        self._timer = int(steps)

    def count_down(self) -> bool:
        """One step of the timer. :return: whether it ran out on this step."""
        if self._timer > 0:
            self._timer -= 1
            return self._timer == 0
        return False

    # -- read by tasks and costs ---------------------------------------------------------------------------------
    def touched(self, world: World) -> list[int]:
        """The index of the button in each contact between a robot geom and a button after the last step."""
        button_of_geom = self._button_of_geom
        return [button_of_geom[g] for g in world.robot_contacts() if button_of_geom[g] >= 0]

    def goal_pressed(self, world: World) -> bool:
        """Whether a robot geom touches the goal button after the last step (never, without a goal)."""
        goal, button_of_geom = self._goal, self._button_of_geom
        return goal >= 0 and any(button_of_geom[g] == goal for g in world.robot_contacts())

    def wrong_presses(self, world: World) -> int:
        """Contacts between a robot geom and a button other than the goal, after the last step; 0 while the timer
        runs."""
        if self._timer > 0:
            return 0
        goal, button_of_geom = self._goal, self._button_of_geom
        return sum(1 for g in world.robot_contacts() if button_of_geom[g] >= 0 and button_of_geom[g] != goal)


@dataclass
class WallsParams(PlacementParams):
    """Walls: fixed boxes, never rotated. ``half_extents``: one ``[x, y, z]`` for every wall, or one per wall
    (with ``locations``, an arena boundary: long thin walls along each side). ``perturb``: ``[dx, dy]``, every
    episode each wall is moved from its layout position by an offset drawn uniformly in ±dx, ±dy (the hallway's
    walls; ``[0, 0]``, the default, draws nothing)."""

    keepout: float = bounded(0.5, ge=0)
    half_extents: List[List[float]] = bounded(default_factory=lambda: [[0.5, 0.5, 0.5]], gt=0)
    perturb: List[float] = bounded(default_factory=lambda: [0.0, 0.0], ge=0)


class Walls(Element):
    """Static boxes the robot collides with; their cost is the ``walls`` cost term (or ``obstacle_contact``)."""

    order = 10
    random_yaw = False

    def __init__(self, params: WallsParams) -> None:
        super().__init__(params)
        extents = [list(e) for e in params.half_extents]
        if len(extents) not in (1, params.num) or any(len(e) != 3 or min(e) <= 0 for e in extents):
            raise ParameterError(
                f"walls: half_extents must be one [x, y, z] of positive half-sizes for every wall or one per wall "
                f"({params.num}), got {extents}"
            )
        if len(params.perturb) != 2:
            raise ParameterError(f"walls: perturb must be [dx, dy], got {list(params.perturb)}")
        self.half_extents = extents * params.num if len(extents) == 1 else extents
        self._perturb = np.array(params.perturb, dtype=np.float64)

    def body_xml(self, index: int) -> str:
        x, y, z = self.half_extents[index]
        return f'<geom type="box" size="{x} {y} {z}" pos="0 0 {z}" rgba="0.5 0.5 0.5 1"/>'

    def place(self, world: World, xy: np.ndarray, yaw: np.ndarray, indices: np.ndarray | None = None) -> None:
        """Move walls to ``xy``, each shifted by its own uniform draw in ±``perturb`` (from ``world.rng``)."""
        if self._perturb.any():
            xy = xy + world.rng.uniform(-self._perturb, self._perturb, size=(len(xy), 2))
        super().place(world, xy, yaw, indices)


@dataclass
class PolesParams(PillarsParams):
    """Poles: fixed upright cylinders of radius ``size`` and half-height ``height`` spread over the placement
    area (the hallway's poles: thin and tall)."""

    keepout: float = bounded(0.35, ge=0)
    size: float = bounded(0.1, gt=0)
    height: float = bounded(0.75, gt=0)


class Poles(Pillars):
    """Pillars by another name and other defaults: their own lidar group (``poles_lidar``) and cost term."""
