"""The hallways' obstacles: perturbed walls, poles, people (clips, falls, first-touch cost) and BVH motion capture."""

from __future__ import annotations

import gymnasium
import mujoco
import numpy as np
import pytest

import safexp  # noqa: F401  (registers the ids)
from safexp.plugin import ParameterError
from safexp_hazards.bvh import read_bvh
from safexp_hazards.motions import JOINTS, clip_from_bvh

FORWARD = np.array([1.0, 0.0])


def costs_driving_forward(env: gymnasium.Env, steps: int) -> list[float]:
    return [env.step(FORWARD)[4]["cost"] for _ in range(steps)]


def test_hallway_walls_move_between_seeds_and_repeat_for_one_seed():
    env = gymnasium.make("safexp/PointHallwayWallsLidar-v0")
    layouts = []
    for seed in (0, 1, 0):
        env.reset(seed=seed)
        world = env.unwrapped.world
        layouts.append(world.elements["walls"].positions(world)[:, :2].copy())
    assert np.array_equal(layouts[0], layouts[2])
    assert np.abs(layouts[0] - layouts[1]).max() > 0.05
    nominal = np.array([[2.2, -0.5], [3.6, 0.5], [5.0, -0.5], [6.4, 0.5]])
    for layout in layouts:  # within ±0.4 m along and ±0.3 m across the corridor of their nominal spots
        offset = np.abs(layout - nominal)
        assert np.all(offset[:, 0] <= 0.4) and np.all(offset[:, 1] <= 0.3)


@pytest.mark.parametrize("element, params", [
    ("walls", {"num": 1, "locations": [[0.6, 0.0]], "half_extents": [[0.1, 0.5, 0.5]], "perturb": [0.0, 0.0]}),
    ("poles", {"num": 1, "locations": [[0.6, 0.0]]}),
])
def test_touching_a_wall_or_a_pole_costs(arena, element, params):
    env = arena(**{element: params}, costs=[{"name": element}])
    costs = costs_driving_forward(env, 60)
    first = costs.index(1.0)
    assert 5 < first and costs[first:] == [1.0] * (60 - first)  # free until it reaches the obstacle, then pressed on
    assert costs[:first] == [0.0] * first
    assert env.unwrapped.obs_layout[f"{element}_lidar"]


def person_arena(arena, people=None, **cost_params):
    """A Point at the origin facing a standing person 0.5 m ahead, side-on (a leg straight in front)."""
    env = arena(people={"num": 1, "locations": [[0.5, 0.0]], "motions": ["stand"], **(people or {})},
                costs=[{"name": "people", "params": cost_params}])
    world = env.unwrapped.world
    people = world.elements["people"]
    people.place(world, np.array(people.params.locations[:1]), np.array([np.pi / 2]))
    mujoco.mj_forward(world.model, world.data)
    return env, people


def touches(env: gymnasium.Env) -> bool:
    """Whether a robot geom touches a person after the last step."""
    world = env.unwrapped.world
    return any(world.elements["people"].geom_mask[g] for g in world.robot_contacts())


def drive(env: gymnasium.Env, action: np.ndarray, steps: int) -> tuple[list[float], list[bool]]:
    """Each step's cost, and whether the robot touched a person after it."""
    costs, touching = [], []
    for _ in range(steps):
        costs.append(env.step(action)[4]["cost"])
        touching.append(touches(env))
    return costs, touching


def test_a_persons_first_touch_costs_1_and_a_second_touch_0(arena):
    env, _ = person_arena(arena)
    costs, touching = drive(env, FORWARD, 60)  # the robot bumps into the leg, bounces, bumps again...
    first = costs.index(1.0)
    assert costs.count(1.0) == 1 and touching[first] and not any(touching[:first]) and sum(touching) >= 2
    costs, touching = drive(env, -FORWARD, 15)
    assert costs == [0.0] * 15 and not touching[-1]
    costs, touching = drive(env, FORWARD, 60)  # touched again: free
    assert costs == [0.0] * 60 and any(touching)
    env.reset(seed=0)  # a new episode: the first touch costs again
    world = env.unwrapped.world
    world.data.qpos[world._root_hinge] = 0.0
    world.elements["people"].place(world, np.array([[0.5, 0.0]]), np.array([np.pi / 2]))
    mujoco.mj_forward(world.model, world.data)
    assert drive(env, FORWARD, 60)[0].count(1.0) == 1


def test_per_step_mode_costs_every_step_of_touching(arena):
    env, _ = person_arena(arena, first_touch_only=False)
    costs, touching = drive(env, FORWARD, 60)
    assert costs == [float(t) for t in touching] and sum(costs) >= 2


def test_a_person_plays_a_clip_its_limbs_move(arena):
    env, people = person_arena(arena, {"locations": [[1.5, 1.5]], "motions": ["wave"]})
    world = env.unwrapped.world
    hand = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_BODY, "people0_r_forearm")
    assert people.playing == ["wave"]
    top = max(world.data.geom_xpos[g, 2] + world.model.geom_size[g, 0] for g in np.flatnonzero(people.geom_mask))
    assert top == pytest.approx(1.7, abs=0.02)  # standing: the head's top
    assert world.model.body_subtreemass[people.body_ids[0]] == pytest.approx(70.0)
    pelvis, heights = world.data.xpos[people.body_ids[0]].copy(), []
    for _ in range(60):
        env.step(np.zeros(2))
        heights.append(world.data.xpos[hand, 2])
    assert max(heights) - min(heights) > 0.4  # the arm is raised over the head
    assert np.allclose(world.data.xpos[people.body_ids[0]], pelvis, atol=1e-3)  # standing on the spot


def test_a_person_survives_mujoco_resetting_the_clock_after_a_divergence(arena):
    """MuJoCo resets the data, time included, when the simulation diverges (found by benchmarks/fuzz.py): the
    person's clip must not index its track before the clip's start; the env then ends the episode."""
    env, people = person_arena(arena, {"locations": [[1.5, 1.5]], "motions": ["wave"]})
    world = env.unwrapped.world
    for _ in range(5):
        env.step(np.zeros(2))
    people.play(world, 0, "wave")  # a clip that starts after time 0
    env.step(np.zeros(2))
    qpos = world.data.qpos.copy()
    world.data.time = 0.0  # what mj_resetData does to the clock, mid-clip
    people.before_substep(world)
    np.testing.assert_array_equal(world.data.qpos, qpos)  # no pose written from a negative frame


def test_a_falling_person_lands_on_the_robot(arena):
    env, people = person_arena(arena, {"locations": [[1.2, 0.0]]})
    world = env.unwrapped.world
    people.place(world, np.array([[1.2, 0.0]]), np.array([np.pi]))  # facing the robot, 1.2 m away
    people.play(world, 0, "fall")
    mujoco.mj_forward(world.model, world.data)
    touched = None
    for step in range(150):
        _, _, _, _, info = env.step(np.zeros(2))
        if any(people.geom_mask[g] for g in world.robot_contacts()):
            touched = step
            break
    assert touched is not None and people.released[0] and people.playing == ["fallen"]
    assert info["cost"] == 1.0


BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg
  {
    OFFSET 9 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftLeg
    {
      OFFSET 0 -42 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT LeftFoot
      {
        OFFSET 0 -43 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
          OFFSET 0 0 10
        }
      }
    }
  }
  JOINT RightUpLeg
  {
    OFFSET -9 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT RightLeg
    {
      OFFSET 0 -42 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT RightFoot
      {
        OFFSET 0 -43 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
          OFFSET 0 0 10
        }
      }
    }
  }
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Neck
    {
      OFFSET 0 40 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 15 0
      }
    }
    JOINT LeftArm
    {
      OFFSET 20 38 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT LeftForeArm
      {
        OFFSET 0 -30 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT LeftHand
        {
          OFFSET 0 -25 0
          CHANNELS 3 Zrotation Xrotation Yrotation
          End Site
          {
            OFFSET 0 -5 0
          }
        }
      }
    }
    JOINT RightArm
    {
      OFFSET -20 38 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT RightForeArm
      {
        OFFSET 0 -30 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT RightHand
        {
          OFFSET 0 -25 0
          CHANNELS 3 Zrotation Xrotation Yrotation
          End Site
          {
            OFFSET 0 -5 0
          }
        }
      }
    }
  }
}
MOTION
Frames: 11
Frame Time: 0.1
"""
CHANNELS = 6 + 3 * 14  # the root's 6, then 3 rotations for each of the 14 joints below it (End Sites have none)
KNEE_COLUMN = 6 + 3 + 1  # LeftLeg's Xrotation


def write_bvh(path) -> np.ndarray:
    """A 1 s clip: the hips walk 50 cm forward (+Z) at 90 cm high while the left knee bends to 60°; returns the
    knee angles (degrees) per frame."""
    knee = np.linspace(0.0, 60.0, 11)
    frames = np.zeros((11, CHANNELS))
    frames[:, 1] = 90.0
    frames[:, 2] = np.linspace(0.0, 50.0, 11)
    frames[:, KNEE_COLUMN] = knee
    path.write_text(BVH + "\n".join(" ".join(f"{v:g}" for v in row) for row in frames) + "\n")
    return knee


def test_bvh_parsing_and_forward_kinematics(tmp_path):
    knee = write_bvh(tmp_path / "walk.bvh")
    motion = read_bvh(tmp_path / "walk.bvh")
    assert len(motion.joints) == 15 and motion.frame_time == 0.1 and motion.values.shape == (11, CHANNELS)
    assert motion.joints[motion.index("LeftLeg")].parent == motion.index("LeftUpLeg")
    assert motion.joints[motion.index("LeftLeg")].channels == ("Zrotation", "Xrotation", "Yrotation")
    positions = motion.world_positions()
    ankle = positions[:, motion.index("LeftFoot")]
    bend = np.radians(knee)  # the shank turns about X: its end swings back (−Z) and up
    assert np.allclose(ankle[:, 0], 9.0)
    assert np.allclose(ankle[:, 1], 90.0 - 42.0 - 43.0 * np.cos(bend))
    assert np.allclose(ankle[:, 2], np.linspace(0, 50, 11) - 43.0 * np.sin(bend))


def test_bvh_retargeted_onto_the_figure(tmp_path):
    knee = write_bvh(tmp_path / "walk.bvh")
    clip = clip_from_bvh(read_bvh(tmp_path / "walk.bvh"), "walk", height=1.7)
    scale = 0.5 * 1.7 / 85.0  # the figure's legs (0.85 m) over the skeleton's (85 units)
    assert np.allclose(clip.joints[:, JOINTS.index("l_knee")], np.radians(knee), atol=1e-9)
    others = [k for k, name in enumerate(JOINTS) if name != "l_knee"]
    assert np.allclose(clip.joints[:, others], 0.0, atol=1e-9)
    assert np.allclose(clip.root[:, 0], np.linspace(0, 50, 11) * scale) and np.allclose(clip.root[:, 1:4:2], 0.0)
    assert np.allclose(clip.root[:, 2], 90.0 * scale)


def test_people_play_the_bvh_clips_the_scene_names(arena, tmp_path):
    write_bvh(tmp_path / "walk.bvh")
    env, people = person_arena(arena, {"locations": [[1.5, 1.5]], "motions": [], "clips": [str(tmp_path / "*.bvh")]})
    world = env.unwrapped.world
    assert people.playing == ["walk.bvh"]
    knee = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_JOINT, "people0_l_knee")
    angles = []
    for _ in range(40):  # 0.8 s of the 1 s clip
        env.step(np.zeros(2))
        angles.append(world.data.qpos[world.model.jnt_qposadr[knee]])
    assert angles[-1] == pytest.approx(np.radians(60.0 * 0.8), abs=0.02) and np.all(np.diff(angles) >= -1e-9)


@pytest.mark.parametrize("people, message", [
    ({"motions": ["wavy"]}, r"people: unknown motion 'wavy'; did you mean 'wave'\?"),
    ({"clips": ["/nonexistent/*.bvh"]}, r"people: clips pattern '/nonexistent/\*.bvh' matches no file"),
    ({"height": 3.0}, r"parameter 'people.height' of hazard 'people' is 3.0 \(valid: \(0.5, 2.5\]\)"),
    ({"fall_prob": 0.5}, r"hazard 'people' has no parameter 'people.fall_prob'; did you mean 'fall_probability'\?"),
])
def test_bad_people_settings_say_what_is_wrong(arena, people, message):
    with pytest.raises(ParameterError, match=message):
        arena(people={"num": 1, **people})


def test_a_malformed_bvh_file_is_named(tmp_path):
    (tmp_path / "bad.bvh").write_text(BVH + "0 1 2\n")
    with pytest.raises(ParameterError, match=r"BVH file '.*bad.bvh' is not valid BVH: MOTION should hold 11 frames "
                                             r"of 48 values"):
        read_bvh(tmp_path / "bad.bvh")
