"""People: articulated human figures that play motion clips, and the cost of touching them.

**How they move (kinematic playback).** Each person is a tree of bodies — a pelvis with a free joint and eleven
hinges (:mod:`safexp_hazards.motions`) — whose pose is *written*, not simulated: every :data:`FRAME_TIME` of
simulated time (before the physics substep that starts it) the root's position and heading and the joint angles
are set from the clip being played (``qpos``), with the matching velocities (``qvel``, finite differences of the
clip), which carry the body on through the substeps in between; so contacts see a moving body and push the robot
aside, while the robot cannot push a person back. The clips are chosen at random, one after the other, for each
person and each episode (from ``world.rng``, so a seed repeats them): ``walk`` (turn towards a random point of
the person's placement area and walk there), ``turn``, ``stand``, ``wave``, ``sit`` (down on the floor and up
again), ``fall``, and the BVH files named by ``clips``. A fall is drawn with probability ``fall_probability``
each time a clip is chosen (when ``fall`` is among ``motions``); after its half-second stagger the person is let
go: from then on it is an ordinary physical body (its masses, gravity, damped joints) that topples forward and
lands on whatever is there — the robot included — and lies where it fell for the rest of the episode.

People collide with the robot, the floor and the other obstacles, not with each other or themselves
(``contype=4 conaffinity=1``), nor with the hallway's corridor walls (``contype=2``).
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List

import mujoco
import numpy as np

from safexp.plugin import CostTerm, Element, ParameterError, PlacementParams, bounded, choices_hint
from safexp_hazards import motions
from safexp_hazards.bvh import read_bvh
from safexp_hazards.motions import JOINTS, MOTIONS, PELVIS_HEIGHT, Clip

if TYPE_CHECKING:
    from safexp.plugin import World

FRAME_TIME = 0.01
"""Seconds between two poses written from a clip (100 Hz; the physics timestep when that is longer)."""

FALL_SPIN = 1.5
"""Angular velocity (rad/s) about the person's left axis when let go at the end of a fall: it topples forward."""


@dataclass
class PeopleParams(PlacementParams):
    """People: ``num`` figures placed like any object (``keepout`` around the spot where each starts).

    - ``height`` (m) and ``mass`` (kg) of every person (segment lengths and masses in Winter's proportions);
    - ``motions``: the built-in clips to choose from (any of walk, turn, stand, wave, sit, fall);
    - ``clips``: BVH files (glob patterns, ``~`` expanded) added to the choice, retargeted onto the figure;
    - ``fall_probability``: chance that a clip drawn is a fall (when ``fall`` is among ``motions``);
    - ``walk_speed``: average speed of a walk (m/s), towards a point drawn in the first ``placements`` rectangle
      (or the arena) 0.3 m inside its edges; ``clip_seconds``: average length of a stand, wave or sit.
    """

    keepout: float = bounded(0.6, ge=0)
    height: float = bounded(1.7, gt=0.5, le=2.5)
    mass: float = bounded(70.0, gt=0)
    motions: List[str] = field(default_factory=lambda: list(MOTIONS))
    clips: List[str] = field(default_factory=list)
    fall_probability: float = bounded(0.03, ge=0, le=1)
    walk_speed: float = bounded(0.8, gt=0)
    clip_seconds: float = bounded(3.0, gt=0)


def load_clips(patterns: list[str], height: float) -> list[Clip]:
    """The BVH files matching ``patterns``, retargeted (:func:`motions.clip_from_bvh`); a pattern that matches no
    file, or a file the figure cannot follow, raises :class:`ParameterError`."""
    clips = []
    for pattern in patterns:
        paths = sorted(glob.glob(os.path.expanduser(str(pattern))))
        if not paths:
            raise ParameterError(f"people: clips pattern '{pattern}' matches no file")
        for path in paths:
            try:
                clips.append(motions.clip_from_bvh(read_bvh(path), os.path.basename(path), height))
            except ValueError as exc:
                raise ParameterError(f"people: BVH file '{path}' cannot drive the figure: {exc}") from None
    return clips


class People(Element):
    """Articulated people playing random motion clips (see the module docstring)."""

    order = 85
    movable = True

    def __init__(self, params: PeopleParams) -> None:
        super().__init__(params)
        unknown = [m for m in params.motions if m not in MOTIONS]
        if unknown:
            raise ParameterError(f"people: unknown motion '{unknown[0]}'; {choices_hint(unknown[0], MOTIONS)}")
        if not params.motions and not params.clips:
            raise ParameterError("people: give at least one motion or BVH clip to play")
        self.mocap_clips = load_clips(params.clips, params.height)
        n = params.num
        self._track_qpos: list[np.ndarray] = [np.zeros((0, 7 + len(JOINTS)))] * n
        self._track_qvel: list[np.ndarray] = [np.zeros((0, 6 + len(JOINTS)))] * n
        self._start = [0.0] * n  # simulated time at which each person's track starts
        self.released = [False] * n  # let go at the end of a fall: simulated from then on
        self._falls_at_end = [False] * n  # whether each person's track ends in a fall
        self.playing: list[str] = [""] * n  # the clip each person plays now

    def resting_height(self) -> float:
        return PELVIS_HEIGHT * self.params.height

    def body_xml(self, index: int) -> str:
        return motions.figure_xml(f"{self.name}{index}_", self.params.height, self.params.mass,
                                  'contype="4" conaffinity="1" condim="3" rgba="0.85 0.55 0.4 1"')

    def bind(self, world: World) -> None:
        super().bind(world)
        model = world.model
        self.geom_mask = np.isin(model.body_rootid[model.geom_bodyid], self.body_ids)  # every limb, not the pelvis only
        self._frame_time = max(FRAME_TIME, float(model.opt.timestep))
        self._clips = [clip.resampled(self._frame_time) for clip in self.mocap_clips]
        self._frame = [-1] * self.params.num  # the frame of its track each person was last put in
        self._qpos, self._qvel = [], []
        for i in range(self.params.num):
            joints = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"{self.name}{i}_{j}") for j in JOINTS]
            base_q, base_v = int(self._qpos_idx[i, 0]), int(self._qvel_idx[i, 0])
            expected = list(range(base_q + 7, base_q + 7 + len(JOINTS)))
            assert list(model.jnt_qposadr[joints]) == expected, "a person's joints must follow its free joint"
            self._qpos.append(slice(base_q, base_q + 7 + len(JOINTS)))
            self._qvel.append(slice(base_v, base_v + 6 + len(JOINTS)))
        area = self.params.placements or [world.extents]
        self._area = np.asarray(area[0], dtype=np.float64) + np.array([0.3, 0.3, -0.3, -0.3])

    def place(self, world: World, xy: np.ndarray, yaw: np.ndarray, indices: np.ndarray | None = None) -> None:
        """Stand people at ``xy`` facing ``yaw`` and start a new random programme of clips for each."""
        idx = np.arange(self.params.num) if indices is None else np.asarray(indices)
        for k, i in enumerate(idx.tolist()):
            self.released[i] = False
            self._start_next(world, i, (float(xy[k, 0]), float(xy[k, 1]), float(yaw[k])))

    # -- clips -------------------------------------------------------------------------------------------------
    def play(self, world: World, index: int, name: str) -> None:
        """Make person ``index`` play the built-in clip ``name`` from where it stands, now."""
        if name not in MOTIONS:
            raise ParameterError(f"people: unknown motion '{name}'; {choices_hint(name, MOTIONS)}")
        self.released[index] = False
        pose = self._pose(world, index)
        self._start_track(world, index, pose, self._built_in(world, name, pose))

    def _pose(self, world: World, index: int) -> tuple[float, float, float]:
        """Person ``index``'s current (x, y, heading)."""
        q = world.data.qpos[self._qpos[index]]
        w, z = q[3], q[6]
        return float(q[0]), float(q[1]), 2.0 * math.atan2(z, w)

    def _start_next(self, world: World, index: int, pose: tuple[float, float, float]) -> None:
        """Draw person ``index``'s next clip (a fall with probability ``fall_probability``, else any other motion or
        BVH clip alike) and start it from ``pose``."""
        rng, p = world.rng, self.params
        others = [m for m in p.motions if m != "fall"]
        choices = len(others) + len(self._clips)
        if ("fall" in p.motions and rng.random() < p.fall_probability) or choices == 0:
            clips = self._built_in(world, "fall", pose)
        else:
            pick = int(rng.integers(choices))
            clips = self._built_in(world, others[pick], pose) if pick < len(others) else [self._clips[pick - len(others)]]
        self._start_track(world, index, pose, clips)

    def _built_in(self, world: World, name: str, pose: tuple[float, float, float]) -> list[Clip]:
        """A built-in clip with random settings, for a person at ``pose`` (a walk is a turn towards a random point
        of the placement area, then the walk there)."""
        rng, p, frame_time, h = world.rng, self.params, self._frame_time, self.params.height
        if name == "walk":
            x, y, heading = pose
            target = self._area[:2] + rng.random(2) * np.maximum(self._area[2:] - self._area[:2], 0.0)
            angle = math.remainder(math.atan2(target[1] - y, target[0] - x) - heading, math.tau)
            distance = math.hypot(target[0] - x, target[1] - y)
            return [motions.turn(angle, frame_time, h), motions.walk(distance, p.walk_speed, frame_time, h)]
        if name == "turn":
            return [motions.turn(float(rng.choice([-1, 1]) * rng.uniform(np.pi / 4, np.pi)), frame_time, h)]
        if name == "fall":
            return [motions.fall(frame_time, h)]
        seconds = p.clip_seconds * float(rng.uniform(0.5, 1.5))
        return [{"stand": motions.stand, "wave": motions.wave, "sit": motions.sit}[name](seconds, frame_time, h)]

    def _start_track(self, world: World, index: int, pose: tuple[float, float, float], clips: list[Clip]) -> None:
        """Turn ``clips``, played one after the other from ``pose``, into the person's qpos and qvel per frame,
        and put the person at its first frame."""
        x, y, heading = pose
        parts = []
        for clip in clips:
            c, s = math.cos(heading), math.sin(heading)
            root = clip.root
            world_root = np.column_stack([x + c * root[:, 0] - s * root[:, 1], y + s * root[:, 0] + c * root[:, 1],
                                          root[:, 2], heading + root[:, 3]])
            parts.append(np.column_stack([world_root, clip.joints]))
            x, y, heading = (float(v) for v in world_root[-1, [0, 1, 3]])
        track = np.concatenate(parts)  # x, y, z, yaw, joints
        yaw = track[:, 3]
        qpos = np.column_stack([track[:, :3], np.cos(yaw / 2), np.zeros((len(yaw), 2)), np.sin(yaw / 2), track[:, 4:]])
        rate = np.diff(track, axis=0, append=track[-1:]) / self._frame_time
        qvel = np.column_stack([rate[:, :3], np.zeros((len(yaw), 2)), rate[:, 3], rate[:, 4:]])
        self._track_qpos[index], self._track_qvel[index] = qpos, qvel
        self._start[index] = world.data.time
        self._frame[index] = 0
        self._falls_at_end[index] = clips[-1].falls
        self.playing[index] = "+".join(c.name for c in clips)
        world.data.qpos[self._qpos[index]] = qpos[0]
        world.data.qvel[self._qvel[index]] = qvel[0]

    def before_substep(self, world: World) -> None:
        data, frame_time = world.data, self._frame_time
        for i in range(self.params.num):
            if self.released[i]:
                continue
            frame = int((data.time - self._start[i]) / frame_time + 1e-6)
            if frame == self._frame[i]:
                continue  # the velocities written with the frame carry the person on
            if frame < 0:
                continue  # MuJoCo reset the data (time included) after a divergence: the env ends the episode
            self._frame[i] = frame
            track = self._track_qpos[i]
            if frame >= len(track):
                if self._falls_at_end[i]:
                    self._let_go(world, i)
                    continue
                self._start_next(world, i, self._pose(world, i))
                continue
            data.qpos[self._qpos[i]] = track[frame]
            data.qvel[self._qvel[i]] = self._track_qvel[i][frame]

    def _let_go(self, world: World, index: int) -> None:
        """End of a fall: the person is simulated from now on, toppling forward."""
        self.released[index] = True
        self.playing[index] = "fallen"
        _, _, heading = self._pose(world, index)
        qvel = world.data.qvel[self._qvel[index]]  # a view
        qvel[:] = 0.0
        qvel[0:2] = 0.4 * math.cos(heading), 0.4 * math.sin(heading)
        qvel[4] = FALL_SPIN  # about the pelvis's own left (y) axis: the free joint's angular velocity is local


@dataclass
class PeopleCostParams:
    """``element``: the people read; ``cost`` for touching a person; ``first_touch_only``: a person costs only the
    first step the robot touches it in an episode (the paper: a fallen person may lie on the robot), else every
    step it is touched."""

    element: str = "people"
    cost: float = bounded(1.0, ge=0)
    first_touch_only: bool = True


class PeopleCost(CostTerm):
    """``cost`` × the number of people the robot touches this step (for the first time this episode, by default)."""

    def bind(self, world: World) -> None:
        self.people = self.element(world, self.params.element)
        person_of_body = np.full(world.model.nbody, -1, dtype=np.int64)
        person_of_body[self.people.body_ids] = np.arange(self.people.params.num)
        root_of_geom = world.model.body_rootid[world.model.geom_bodyid]
        self._person_of_geom = np.where(self.people.geom_mask, person_of_body[root_of_geom], -1).tolist()
        self._touched: set[int] = set()

    def reset(self, world: World) -> None:
        self._touched = set()

    def __call__(self, world: World) -> float:
        person_of_geom = self._person_of_geom
        touched = {person_of_geom[g] for g in world.robot_contacts() if person_of_geom[g] >= 0}
        if self.params.first_touch_only:
            touched -= self._touched
            self._touched |= touched
        return self.params.cost * len(touched)
