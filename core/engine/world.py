"""The world: the compiled model and its state, as elements, tasks and cost terms see it."""

from __future__ import annotations

from collections.abc import Mapping

import mujoco
import numpy as np

from safexp.plugin.element import Element
from safexp.plugin.errors import ParameterError, choices_hint
from safexp.engine.layout import FEASIBILITY_TRIES, Placement, check_inside_arena, placement, resample, sample_layout
from safexp.engine.lidar import robot_frame_xy
from safexp.plugin.task import Task


class World:
    """The MuJoCo model and data of one environment, the robot, the elements and the task.

    Read by elements, tasks and costs every step: :attr:`robot_pos`, :attr:`robot_mat`,
    :meth:`robot_velocity`, :meth:`ego_xy`, :meth:`contacts`, :meth:`robot_contacts`, :meth:`robot_touches`, :meth:`touching`; the ``elements`` by name.
    Changed through its methods only: :meth:`resample` (move one object), :meth:`hide_from_lidar` and
    :meth:`show_in_lidar` (what the lidar sees).
    """

    def __init__(self, model: mujoco.MjModel, elements: Mapping[str, Element], task: Task, extents: list[float],
                 robot_keepout: float, robot_placements: list | None, robot_location: list | None,
                 placement_margin: float) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.elements = dict(elements)
        self.task = task
        self.extents = list(extents)
        self.margin = placement_margin
        self.rng = np.random.default_rng()
        self.robot_body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "robot")
        self.robot_geom_mask = model.body_rootid[model.geom_bodyid] == self.robot_body
        self._robot_geoms = geom_ids(self.robot_geom_mask)
        # Views into the MjData buffers (they never move), so reading the robot's pose costs no lookups.
        self._robot_pos = self.data.xpos[self.robot_body]
        self._robot_mat = self.data.xmat[self.robot_body].reshape(3, 3)
        self._lidar_hidden: set[str] = set()  # read every step by the observation (the same set object)
        self._contacts: np.ndarray | None = None
        self._robot_contacts: list[int] | None = None
        self._velocity = np.zeros(6)
        self._bind_robot_root()
        arena = [self.extents]
        self._robot_placement = placement("robot", robot_keepout, robot_placements or arena, robot_location)
        self._placements: list[tuple[Element | None, int, Placement]] = [(None, 0, self._robot_placement)]
        placed = sorted(((n, e) for n, e in self.elements.items() if e.placed), key=lambda item: item[1].order)
        self._placed = [element for _, element in placed]
        for name, element in placed:
            p = element.params
            # scene elements were checked under their key already; this catches a task's own (goal_locations)
            check_inside_arena(f"{name}.locations", p.locations or [], self.extents)
            check_inside_arena(f"{name}.placements", p.placements or [], self.extents)
            for i in range(p.num):
                fixed = p.locations[i] if p.locations and i < len(p.locations) else None
                self._placements.append((element, i, placement(f"{name}{i}", p.keepout, p.placements or arena, fixed)))
        for element in self.elements.values():
            element.bind(self)
        task.bind(self)
        # An impossible layout fails here, when the env is built, not at its first reset; a generator of its own
        # leaves the env's random stream untouched.
        sample_layout([p for _, _, p in self._placements], np.random.default_rng(0), self.margin, FEASIBILITY_TRIES)

    # -- the robot -----------------------------------------------------------------------------------------
    def _bind_robot_root(self) -> None:
        m, body = self.model, self.robot_body
        joints = range(m.body_jntadr[body], m.body_jntadr[body] + m.body_jntnum[body])
        types = [m.jnt_type[j] for j in joints]
        if types == [mujoco.mjtJoint.mjJNT_FREE]:
            self._root_free = int(m.jnt_qposadr[joints[0]])
            return
        self._root_free = -1
        axes = {}
        for j in joints:
            axis = tuple(np.round(m.jnt_axis[j], 6))
            kind = "slide" if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE else "hinge" if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE else "other"
            axes[(kind, axis)] = int(m.jnt_qposadr[j])
        try:
            self._root_slides = (axes[("slide", (1.0, 0.0, 0.0))], axes[("slide", (0.0, 1.0, 0.0))])
            self._root_hinge = axes[("hinge", (0.0, 0.0, 1.0))]
        except KeyError:
            raise ParameterError(
                "the robot's root body must have one free joint, or slide joints along x and y and a hinge about z"
            ) from None

    def _place_robot(self, xy: np.ndarray, yaw: float) -> None:
        qpos = self.data.qpos
        if self._root_free >= 0:
            a = self._root_free
            qpos[a : a + 7] = (xy[0], xy[1], self.model.qpos0[a + 2], np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        else:
            base = self.model.body_pos[self.robot_body]
            qpos[self._root_slides[0]] = xy[0] - base[0]
            qpos[self._root_slides[1]] = xy[1] - base[1]
            qpos[self._root_hinge] = yaw

    @property
    def robot_pos(self) -> np.ndarray:
        """The robot's centre (3,) in world coordinates (a view of ``data.xpos``: it follows the simulation)."""
        return self._robot_pos

    @property
    def robot_mat(self) -> np.ndarray:
        """The robot's orientation as a 3×3 rotation matrix (columns: the robot's axes in the world; a view)."""
        return self._robot_mat

    def robot_velocity(self) -> np.ndarray:
        """The linear velocity (3,) of the robot's centre in world coordinates."""
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_BODY, self.robot_body, self._velocity, 0)
        return self._velocity[3:]

    def ego_xy(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 2 or 3), taken on the floor (z = 0), as XY in the robot's frame."""
        return robot_frame_xy(points, self._robot_pos, self._robot_mat)

    def planar_distance(self, points: np.ndarray) -> np.ndarray:
        """XY distances (N,) from the robot's centre to world points (N, 2 or 3)."""
        offset = points[:, :2] - self._robot_pos[:2]
        return np.sqrt(np.einsum("ij,ij->i", offset, offset))

    # -- contacts ------------------------------------------------------------------------------------------
    def contacts(self) -> np.ndarray:
        """The geom pairs (ncon, 2) in contact after the last step (computed once per step)."""
        if self._contacts is None:
            self._contacts = np.array(self.data.contact.geom, dtype=np.int64).reshape(-1, 2)
        return self._contacts

    def robot_contacts(self) -> list[int]:
        """The geom touching a robot geom in each contact after the last step (computed once per step).

        A plain list of geom ids, one per contact (a geom touching the robot at two points appears twice), so
        that per-step checks against a few objects stay in plain Python.
        """
        if self._robot_contacts is None:
            robot, touching = self._robot_geoms, []
            for g1, g2 in self.data.contact.geom.tolist():
                if g1 in robot:
                    touching.append(g2)
                elif g2 in robot:
                    touching.append(g1)
            self._robot_contacts = touching
        return self._robot_contacts

    def robot_touches(self, geoms: frozenset[int]) -> int:
        """How many contacts join a robot geom with one of ``geoms`` (geom ids, e.g. from an element's
        ``geom_mask`` at bind): :meth:`touching` with the robot's geoms on one side, on plain ints."""
        return sum(1 for geom in self.robot_contacts() if geom in geoms)

    def touching(self, mask_a: np.ndarray, mask_b: np.ndarray) -> int:
        """How many contacts join a geom of ``mask_a`` with a geom of ``mask_b`` (boolean masks over geoms)."""
        pairs = self.contacts()
        if len(pairs) == 0:
            return 0
        a, b = pairs[:, 0], pairs[:, 1]
        return int(np.count_nonzero((mask_a[a] & mask_b[b]) | (mask_a[b] & mask_b[a])))

    def after_physics(self) -> None:
        """Forget the per-step caches (the engine calls this after every physics advance)."""
        self._contacts = None
        self._robot_contacts = None

    # -- lidar ---------------------------------------------------------------------------------------------
    @property
    def lidar_hidden(self) -> frozenset[str]:
        """The elements whose objects the lidar does not see now (their lidar reads zero)."""
        return frozenset(self._lidar_hidden)

    def hide_from_lidar(self, name: str) -> None:
        """Make the lidar blind to element ``name``'s objects (its readings are zero) until :meth:`show_in_lidar`
        or the next episode."""
        self._lidar_hidden.add(self._element_name(name))

    def show_in_lidar(self, name: str) -> None:
        """Let the lidar see element ``name``'s objects again (nothing happens if they were not hidden)."""
        self._lidar_hidden.discard(self._element_name(name))

    def show_all_in_lidar(self) -> None:
        """Let the lidar see every element (the engine calls this at every reset)."""
        self._lidar_hidden.clear()

    def _element_name(self, name: str) -> str:
        if name not in self.elements:
            raise ParameterError(f"this scene has no element '{name}'; {choices_hint(name, self.elements)}")
        return name

    # -- layouts -------------------------------------------------------------------------------------------
    def place_layout(self) -> None:
        """Sample a new layout for the robot and every placed element and move them there (the robot's heading is
        the task's :meth:`~safexp.plugin.Task.start_heading`, or random)."""
        rng = self.rng
        xy = sample_layout([p for _, _, p in self._placements], rng, self.margin)
        yaw = rng.uniform(0, 2 * np.pi, size=len(xy))
        heading = self.task.start_heading(self)
        self._place_robot(xy[0], yaw[0] if heading is None else heading)
        start = 1
        for element in self._placed:
            n = element.params.num
            angles = yaw[start : start + n] if element.random_yaw else np.zeros(n)
            element.place(self, xy[start : start + n], angles)
            start += n

    def resample(self, element: Element, index: int) -> bool:
        """Move one object to a new position that keeps out of every other object's current position.

        Body positions are updated at once (forward kinematics); velocities and sensors at the next step.

        :return: ``False`` when no position was found (Safety Gym then ends the episode).
        """
        others, keepouts, mine = [], [], None
        for owner, i, p in self._placements:
            if owner is element and i == index:
                mine = p
                continue
            pos = self.robot_pos if owner is None else owner.layout_positions(self)[i]
            others.append(pos[:2])
            keepouts.append(p.keepout)
        assert mine is not None, f"{element.name}{index} is not placed in this world"
        xy = resample(mine, np.array(others), np.array(keepouts), self.rng, self.margin)
        if xy is None:
            return False
        yaw = self.rng.uniform(0, 2 * np.pi, size=1) if element.random_yaw else np.zeros(1)
        element.place(self, xy[None, :], yaw, np.array([index]))
        mujoco.mj_kinematics(self.model, self.data)  # positions read this step see the move
        return True


def geom_ids(mask: np.ndarray) -> frozenset[int]:
    """The ids of the geoms a boolean mask over geoms selects, for :meth:`World.robot_touches`."""
    return frozenset(np.flatnonzero(mask).tolist())


def rows_index(ids: np.ndarray) -> slice | np.ndarray:
    """An index for the rows ``ids`` of a per-body array (``data.xpos``, say): a slice when the ids are consecutive
    (indexing then gives a view, no gather), else the ids."""
    if len(ids) and np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        return slice(int(ids[0]), int(ids[0]) + len(ids))
    return ids
