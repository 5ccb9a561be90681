"""People's bodies and motions: an articulated human figure, the built-in motion clips generated in code, and
BVH motion capture retargeted onto the figure.

**The figure** (segment lengths and mass fractions from Winter's anthropometric tables, for a person of height
H = 1.7 m and 70 kg, scaled with ``height`` and ``mass``): pelvis at 0.53 H, thighs 0.245 H, shanks with feet
0.255 H, shoulders at 0.82 H and 0.26 H apart, upper arms 0.186 H, forearms with hands 0.235 H, head to 1.0 H;
masses: head 8.1 %, trunk 49.7 % (pelvis 14.2 %, the rest in the torso), upper arm 2.8 %, forearm and hand
2.2 %, thigh 10 %, shank and foot 6.1 % each. Capsules (a sphere for the head), eleven hinges: ``waist`` (lean
forward), per arm ``shoulder_pitch`` (forward), ``shoulder_roll`` (sideways out) and ``elbow`` (flex), per leg
``hip`` (forward) and ``knee`` (flex); all zero is standing upright, arms hanging.

**A clip** is the figure's root path in the clip's own frame (x, y, height z, yaw; starting at x = y = yaw = 0,
walking along +x) and the eleven joint angles, sampled every ``frame_time`` seconds. Built-in clips start and end
standing (except the fall), so consecutive clips join without a jump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safexp_hazards.bvh import BvhMotion

JOINTS = ("waist", "r_shoulder_pitch", "r_shoulder_roll", "r_elbow", "l_shoulder_pitch", "l_shoulder_roll",
          "l_elbow", "r_hip", "r_knee", "l_hip", "l_knee")
"""The figure's hinges in the model's (depth-first) order: a clip's joint columns."""

J = {name: k for k, name in enumerate(JOINTS)}  # joint name → its column in a clip

MOTIONS = ("walk", "turn", "stand", "wave", "sit", "fall")
"""The built-in clips."""

REFERENCE_HEIGHT = 1.7
PELVIS_HEIGHT = 0.53  # fractions of the height (Winter)
THIGH, SHANK = 0.245, 0.255
SHOULDER_HEIGHT, SHOULDER_WIDTH, HIP_WIDTH = 0.818, 0.259, 0.106
UPPER_ARM, FOREARM = 0.186, 0.235
HEAD_CENTRE, HEAD_RADIUS = 0.94, 0.06
MASS_FRACTIONS = {"head": 0.081, "pelvis": 0.142, "torso": 0.355, "upper_arm": 0.028, "forearm": 0.022,
                  "thigh": 0.100, "shank": 0.061}


@dataclass(frozen=True)
class Clip:
    """One motion: ``root`` (frames, 4) = x, y, z, yaw in the clip's frame; ``joints`` (frames, 11) radians in
    :data:`JOINTS` order; ``frame_time`` (s); ``falls``: at its end the person is let go and falls physically."""

    name: str
    frame_time: float
    root: np.ndarray
    joints: np.ndarray
    falls: bool = False

    @property
    def duration(self) -> float:
        return (len(self.root) - 1) * self.frame_time

    def resampled(self, frame_time: float) -> Clip:
        """The clip sampled every ``frame_time`` seconds (linear interpolation; yaw unwrapped first)."""
        old = np.arange(len(self.root)) * self.frame_time
        new = np.arange(int(self.duration / frame_time) + 1) * frame_time
        root = self.root.copy()
        root[:, 3] = np.unwrap(root[:, 3])

        def interpolate(columns: np.ndarray) -> np.ndarray:
            return np.column_stack([np.interp(new, old, column) for column in columns.T])

        return Clip(self.name, frame_time, interpolate(root), interpolate(self.joints), self.falls)


def figure_xml(prefix: str, height: float, mass: float, geom_attributes: str) -> str:
    """The figure's MJCF inside its root body (the pelvis, at the pelvis height): child bodies, hinges, capsules.

    :param prefix: prepended to joint names (``people0_``), which must be unique in the scene.
    :param height: the person's height (m); :param mass: total mass (kg).
    :param geom_attributes: extra attributes of every geom (collision bits, colour).
    """
    h = height
    m = {part: f * mass for part, f in MASS_FRACTIONS.items()}
    torso_top = (SHOULDER_HEIGHT - PELVIS_HEIGHT) * h
    joint = f'limited="true" damping="{0.05 * mass:g}" armature="0.01"'
    g = geom_attributes

    def arm(side: str, sign: int) -> str:
        y = sign * SHOULDER_WIDTH * h / 2
        return (f'<body name="{prefix}{side}_upper_arm" pos="0 {y:.4f} {torso_top:.4f}">'
                f'<joint name="{prefix}{side}_shoulder_pitch" type="hinge" axis="0 -1 0" range="-90 180" {joint}/>'
                f'<joint name="{prefix}{side}_shoulder_roll" type="hinge" axis="{-sign} 0 0" range="-20 180" {joint}/>'
                f'<geom type="capsule" fromto="0 0 0 0 0 {-UPPER_ARM * h:.4f}" size="{0.025 * h:.4f}" mass="{m["upper_arm"]:.3f}" {g}/>'
                f'<body name="{prefix}{side}_forearm" pos="0 0 {-UPPER_ARM * h:.4f}">'
                f'<joint name="{prefix}{side}_elbow" type="hinge" axis="0 -1 0" range="0 150" {joint}/>'
                f'<geom type="capsule" fromto="0 0 0 0 0 {-FOREARM * h:.4f}" size="{0.022 * h:.4f}" mass="{m["forearm"]:.3f}" {g}/>'
                '</body></body>')

    def leg(side: str, sign: int) -> str:
        radius = 0.03 * h
        return (f'<body name="{prefix}{side}_thigh" pos="0 {sign * HIP_WIDTH * h / 2:.4f} 0">'
                f'<joint name="{prefix}{side}_hip" type="hinge" axis="0 -1 0" range="-60 130" {joint}/>'
                f'<geom type="capsule" fromto="0 0 0 0 0 {-THIGH * h:.4f}" size="{0.04 * h:.4f}" mass="{m["thigh"]:.3f}" {g}/>'
                f'<body name="{prefix}{side}_shank" pos="0 0 {-THIGH * h:.4f}">'
                f'<joint name="{prefix}{side}_knee" type="hinge" axis="0 1 0" range="0 150" {joint}/>'
                f'<geom type="capsule" fromto="0 0 0 0 0 {-(SHANK * h - radius):.4f}" size="{radius:.4f}" mass="{m["shank"]:.3f}" {g}/>'
                '</body></body>')

    return (f'<geom type="capsule" fromto="0 {-HIP_WIDTH * h / 2:.4f} 0 0 {HIP_WIDTH * h / 2:.4f} 0" size="{0.055 * h:.4f}" '
            f'mass="{m["pelvis"]:.3f}" {g}/>'
            f'<body name="{prefix}torso" pos="0 0 0">'
            f'<joint name="{prefix}waist" type="hinge" axis="0 1 0" range="-30 100" {joint}/>'
            f'<geom type="capsule" fromto="0 0 {0.06 * h:.4f} 0 0 {torso_top - 0.045 * h:.4f}" size="{0.07 * h:.4f}" '
            f'mass="{m["torso"]:.3f}" {g}/>'
            f'<geom type="sphere" pos="0 0 {(HEAD_CENTRE - PELVIS_HEIGHT) * h:.4f}" size="{HEAD_RADIUS * h:.4f}" '
            f'mass="{m["head"]:.3f}" {g}/>'
            + arm("r", -1) + arm("l", 1) + '</body>' + leg("r", -1) + leg("l", 1))


# -- built-in clips ----------------------------------------------------------------------------------------------
def _ease(u: np.ndarray) -> np.ndarray:
    """0 → 1 over u in [0, 1] with zero slope at both ends (u − sin(2πu) / 2π)."""
    return u - np.sin(2 * np.pi * u) / (2 * np.pi)


def _envelope(t: np.ndarray, duration: float, ramp: float) -> np.ndarray:
    """1 in the middle, rising from 0 over the first ``ramp`` seconds and falling to 0 over the last."""
    return np.sin(np.pi / 2 * np.clip(np.minimum(t, duration - t) / ramp, 0.0, 1.0)) ** 2


def _frames(duration: float, frame_time: float, height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (n,), a standing root (n, 4) and zero joints (n, 11) for a clip of ``duration``."""
    t = np.arange(int(math.ceil(duration / frame_time)) + 1) * frame_time
    t[-1] = duration
    root = np.zeros((len(t), 4))
    root[:, 2] = PELVIS_HEIGHT * height
    return t, root, np.zeros((len(t), len(JOINTS)))



def walk(distance: float, speed: float, frame_time: float, height: float) -> Clip:
    """Walk ``distance`` metres along +x at ``speed`` on average, starting and ending at rest; legs and arms swing
    once per 1.4 m (× height / 1.7) stride."""
    duration = max(distance / speed, 0.5)
    t, root, q = _frames(duration, frame_time, height)
    x = distance * _ease(t / duration)
    root[:, 0] = x
    phase = 2 * np.pi * x / (1.4 * height / REFERENCE_HEIGHT)
    swing = _envelope(t, duration, 0.4)
    q[:, J["r_hip"]], q[:, J["l_hip"]] = 0.45 * swing * np.sin(phase), -0.45 * swing * np.sin(phase)
    q[:, J["r_knee"]] = 0.8 * swing * np.maximum(0.0, np.cos(phase))
    q[:, J["l_knee"]] = 0.8 * swing * np.maximum(0.0, -np.cos(phase))
    q[:, J["r_shoulder_pitch"]], q[:, J["l_shoulder_pitch"]] = -0.35 * swing * np.sin(phase), 0.35 * swing * np.sin(phase)
    q[:, J["r_elbow"]] = q[:, J["l_elbow"]] = 0.3 * swing
    q[:, J["r_shoulder_roll"]] = q[:, J["l_shoulder_roll"]] = 0.08 * swing
    return Clip("walk", frame_time, root, q)


def turn(angle: float, frame_time: float, height: float) -> Clip:
    """Turn on the spot by ``angle`` radians (at about 90° per second), stepping."""
    duration = abs(angle) / (np.pi / 2) + 0.4
    t, root, q = _frames(duration, frame_time, height)
    root[:, 3] = angle * _ease(t / duration)
    step = _envelope(t, duration, 0.2) * np.sin(2 * np.pi * 2.0 * t)
    q[:, J["r_hip"]], q[:, J["l_hip"]] = 0.25 * np.maximum(step, 0), 0.25 * np.maximum(-step, 0)
    q[:, J["r_knee"]], q[:, J["l_knee"]] = 0.5 * np.maximum(step, 0), 0.5 * np.maximum(-step, 0)
    return Clip("turn", frame_time, root, q)


def stand(duration: float, frame_time: float, height: float) -> Clip:
    """Stand for ``duration`` seconds, swaying slightly."""
    t, root, q = _frames(duration, frame_time, height)
    q[:, J["waist"]] = 0.04 * _envelope(t, duration, 0.5) * np.sin(2 * np.pi * 0.3 * t)
    return Clip("stand", frame_time, root, q)


def wave(duration: float, frame_time: float, height: float) -> Clip:
    """Raise the right arm sideways over the head and wave the forearm (2 Hz) for ``duration`` seconds."""
    t, root, q = _frames(duration, frame_time, height)
    raised = _envelope(t, duration, 0.6)
    q[:, J["r_shoulder_roll"]] = 2.5 * raised
    q[:, J["r_elbow"]] = raised * (0.5 + 0.4 * np.sin(2 * np.pi * 2.0 * t))
    return Clip("wave", frame_time, root, q)


def sit(duration: float, frame_time: float, height: float) -> Clip:
    """Sit down on the floor (legs forward, 1.2 s), stay, and stand up again (1.2 s), ``duration`` in all."""
    duration = max(duration, 3.0)
    t, root, q = _frames(duration, frame_time, height)
    down = _envelope(t, duration, 1.2)
    root[:, 2] = (PELVIS_HEIGHT - down * (PELVIS_HEIGHT - 0.065)) * height
    root[:, 0] = -0.25 * height * down  # the pelvis moves back as the legs go forward
    q[:, J["r_hip"]] = q[:, J["l_hip"]] = 1.55 * down
    q[:, J["r_knee"]] = q[:, J["l_knee"]] = 0.15 * down
    q[:, J["waist"]] = -0.25 * down
    q[:, J["r_shoulder_pitch"]] = q[:, J["l_shoulder_pitch"]] = 0.4 * down
    return Clip("sit", frame_time, root, q)


def fall(frame_time: float, height: float) -> Clip:
    """Stagger for half a second (bend, arms up, knees giving way); then the person is let go and falls."""
    duration = 0.5
    t, root, q = _frames(duration, frame_time, height)
    u = _ease(t / duration)
    q[:, J["waist"]] = 0.4 * u
    q[:, J["r_shoulder_pitch"]] = q[:, J["l_shoulder_pitch"]] = 1.2 * u
    q[:, J["r_knee"]] = q[:, J["l_knee"]] = 0.4 * u
    q[:, J["r_hip"]] = q[:, J["l_hip"]] = 0.2 * u
    root[:, 2] -= 0.03 * height * u
    return Clip("fall", frame_time, root, q, falls=True)


# -- BVH motion capture ------------------------------------------------------------------------------------------
BVH_NAMES = {  # figure landmark → joint names used by common BVH skeletons (CMU, Mixamo, ...), lower case
    "hips": ("hips", "hip", "pelvis", "root"),
    "neck": ("neck", "neck1", "upperneck", "head"),
    "r_hip": ("rightupleg", "rightthigh", "rfemur", "rthigh", "rhip"),
    "r_knee": ("rightleg", "rightshin", "rtibia", "rshin", "rknee"),
    "r_ankle": ("rightfoot", "rfoot", "rankle"),
    "l_hip": ("leftupleg", "leftthigh", "lfemur", "lthigh", "lhip"),
    "l_knee": ("leftleg", "leftshin", "ltibia", "lshin", "lknee"),
    "l_ankle": ("leftfoot", "lfoot", "lankle"),
    "r_shoulder": ("rightarm", "rightupperarm", "rhumerus", "rshldr"),
    "r_elbow": ("rightforearm", "rightlowerarm", "rradius", "rforearm"),
    "r_wrist": ("righthand", "rhand", "rwrist"),
    "l_shoulder": ("leftarm", "leftupperarm", "lhumerus", "lshldr"),
    "l_elbow": ("leftforearm", "leftlowerarm", "lradius", "lforearm"),
    "l_wrist": ("lefthand", "lhand", "lwrist"),
}


def clip_from_bvh(motion: BvhMotion, name: str, height: float) -> Clip:
    """Retarget a BVH motion (Y up, the usual convention) onto the figure.

    Forward kinematics gives every landmark's position; the root follows the hips (height scaled by the figure's
    leg length over the skeleton's), its yaw the line from the right hip to the left; each hinge angle is read off
    the segment directions in the pelvis's heading frame (hip and shoulder pitch from the limb's forward lean,
    shoulder roll from its sideways lean, knee and elbow from the angle between the two segments). Motion in other
    degrees of freedom (twists, the pelvis's roll) is dropped. The path starts at the origin facing +x.

    :raises ValueError: naming the landmark no joint of the skeleton matches.
    """
    lower = {j.name.lower().replace("_", "").replace(":", ""): i for i, j in enumerate(motion.joints)}
    found = {}
    for landmark, candidates in BVH_NAMES.items():
        index = next((lower[c] for c in candidates if c in lower), None)
        if index is None:
            index = next((i for key, i in lower.items() if any(key.endswith(c) for c in candidates)), None)
        if index is None:
            raise ValueError(f"no joint for the {landmark.replace('_', ' ')} (tried {', '.join(candidates)})")
        found[landmark] = index
    xyz = motion.world_positions()[:, :, [2, 0, 1]]  # BVH (X, Y up, Z forward) → (x forward, y left, z up)
    p = {landmark: xyz[:, i] for landmark, i in found.items()}
    legs = np.linalg.norm(p["l_knee"][0] - p["l_hip"][0]) + np.linalg.norm(p["l_ankle"][0] - p["l_knee"][0])
    scale = (THIGH + SHANK) * height / legs
    left = p["l_hip"] - p["r_hip"]
    yaw = np.unwrap(np.arctan2(-left[:, 0], left[:, 1]))
    c, s = np.cos(yaw), np.sin(yaw)

    def body_frame(v: np.ndarray) -> np.ndarray:  # world vectors (frames, 3) into the pelvis's heading frame
        return np.column_stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], v[:, 2]])

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)

    def between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.arccos(np.clip(np.einsum("ij,ij->i", unit(a), unit(b)), -1.0, 1.0))

    q = np.zeros((len(xyz), len(JOINTS)))
    spine = unit(body_frame(p["neck"] - p["hips"]))
    q[:, J["waist"]] = np.arctan2(spine[:, 0], spine[:, 2])
    for side, sign in (("r", -1), ("l", 1)):
        thigh = unit(body_frame(p[f"{side}_knee"] - p[f"{side}_hip"]))
        q[:, J[f"{side}_hip"]] = np.arctan2(thigh[:, 0], -thigh[:, 2])
        q[:, J[f"{side}_knee"]] = between(p[f"{side}_knee"] - p[f"{side}_hip"], p[f"{side}_ankle"] - p[f"{side}_knee"])
        arm = unit(body_frame(p[f"{side}_elbow"] - p[f"{side}_shoulder"]))
        q[:, J[f"{side}_shoulder_roll"]] = np.arcsin(np.clip(sign * arm[:, 1], -1.0, 1.0))
        q[:, J[f"{side}_shoulder_pitch"]] = np.arctan2(arm[:, 0], -arm[:, 2])
        q[:, J[f"{side}_elbow"]] = between(p[f"{side}_elbow"] - p[f"{side}_shoulder"], p[f"{side}_wrist"] - p[f"{side}_elbow"])
    root = np.zeros((len(xyz), 4))
    start = (p["hips"][:, :2] - p["hips"][0, :2]) * scale
    c0, s0 = math.cos(yaw[0]), math.sin(yaw[0])
    root[:, 0], root[:, 1] = c0 * start[:, 0] + s0 * start[:, 1], -s0 * start[:, 0] + c0 * start[:, 1]
    root[:, 2] = p["hips"][:, 2] * scale
    root[:, 3] = yaw - yaw[0]
    return Clip(name, motion.frame_time, root, q)
