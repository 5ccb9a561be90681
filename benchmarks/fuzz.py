"""Fuzzing the environments: random suite envs × random valid parameters × random and extreme actions.

Each case picks a suite env, draws new values for some of its numeric parameters (robot, task, elements, scene
settings) inside their declared ranges (``safexp.plugin.bounded``), makes the env with a random episode length
and steps it with actions drawn from a mix: uniform in the action box, the box's corners, large (±1e6) and huge
(±1e300) values, zeros, and non-finite values (which must be refused with an ``ActionError``). It reports:

- exceptions other than safexp's input errors (a layout the drawn parameters make impossible is counted as a
  refused configuration, not a failure);
- non-finite observations, rewards or costs;
- MuJoCo warnings (logged to ``safexp.mujoco``) and the divergences the env caught (``info["cost_exception"]``);
- Python warnings (NumPy overflow, ...);
- episodes that never end (longer than their ``max_episode_steps``).

    python benchmarks/fuzz.py --steps 1000000       # prints the figures; exit code 1 when anything failed
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import math
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

import safexp
from safexp.engine.env import MUJOCO_LOGGER, ActionError
from safexp.plugin import SafexpError
from safexp.registry.catalogue import suite_envs

EXTREME_ACTIONS = ("uniform", "corners", "large", "huge", "zero", "non-finite")
ACTION_WEIGHTS = (0.55, 0.15, 0.1, 0.1, 0.05, 0.05)
_CUMULATIVE_WEIGHTS = np.cumsum(ACTION_WEIGHTS[:-1])
MAX_FAILED_CASES = 100
"""Stop early after this many exceptions: the envs are broken, and more of the same says nothing new."""
CHANGED_FRACTION = 0.3
"""The share of an env's numeric parameters that a case draws anew."""


@dataclass
class FuzzReport:
    """What a fuzzing run met; :attr:`failures` is empty when the envs held up."""

    steps: int = 0
    episodes: int = 0
    cases: int = 0
    refused: Counter = field(default_factory=Counter)  # configuration error (first words) → count
    refused_actions: int = 0
    divergences: int = 0
    mujoco_warnings: Counter = field(default_factory=Counter)
    python_warnings: Counter = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)
    non_finite: list[str] = field(default_factory=list)
    endless: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[str]:
        """Every finding that is a defect: exceptions, non-finite values, Python warnings, endless episodes."""
        found = [*self.exceptions, *self.non_finite, *self.endless]
        return found + [f"Python warning ×{n}: {message}" for message, n in self.python_warnings.items()]

    def summary(self) -> str:
        """The figures, one per line."""
        rate = self.steps / self.seconds if self.seconds else 0.0
        lines = [
            f"env steps          {self.steps:,} in {self.seconds:.0f} s ({rate:,.0f} steps/s)",
            f"cases              {self.cases:,} (env × parameters), {self.episodes:,} episodes",
            f"refused configs    {sum(self.refused.values()):,} (clear errors: {dict(self.refused.most_common(3))})",
            f"refused actions    {self.refused_actions:,} non-finite actions, each an ActionError",
            f"divergences        {self.divergences:,} caught by the env (episode truncated, cost_exception)",
            f"MuJoCo warnings    {sum(self.mujoco_warnings.values()):,}",
            f"exceptions         {len(self.exceptions)}",
            f"non-finite values  {len(self.non_finite)}",
            f"Python warnings    {sum(self.python_warnings.values())}",
            f"endless episodes   {len(self.endless)}",
        ]
        return "\n".join(lines + [f"  FAILURE: {failure}" for failure in self.failures[:20]])


class _Count(logging.Handler):
    """Counts the records of a logger by their first words."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.WARNING)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        self.counter[" ".join(record.getMessage().split()[:6])] += 1


def random_overrides(env_id: str, rng: np.random.Generator) -> dict[str, Any]:
    """Scene keys for ``env_id`` that redraw about :data:`CHANGED_FRACTION` of its numeric parameters, each within
    its declared range, from 0.5× to 2× its level value (counts from 0 to 1.5×)."""
    scene = _level_scene(env_id)
    overrides: dict[str, Any] = {}
    groups = {"robot_params": scene.robot_params, "task_params": scene.task_params, **scene.elements}
    for key, params in groups.items():
        changed = _redraw(params, rng)
        if changed:
            overrides[key] = changed
    overrides.update(_redraw(scene.settings, rng))
    return overrides


@functools.cache
def _level_scene(env_id: str) -> Any:
    """The resolved scene of a suite env with its level's parameters (resolved once: it takes ~0.2 s)."""
    entry = suite_envs()[env_id]
    return safexp.scene_config(entry.robot, entry.task, entry.level)


def _redraw(params: Any, rng: np.random.Generator) -> dict[str, Any]:
    changed = {}
    for f in dataclasses.fields(params):
        value, valid = getattr(params, f.name), f.metadata.get("range")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or rng.random() > CHANGED_FRACTION:
            continue
        if isinstance(value, int):
            new: float = int(rng.integers(0, max(2, math.ceil(1.5 * value)) + 1))
        else:
            new = value * math.exp(rng.uniform(math.log(0.5), math.log(2.0))) if value else rng.uniform(0, 0.1)
        if valid is None or new in valid:
            changed[f.name] = new
    return changed


def random_action(space: gymnasium.spaces.Box, rng: np.random.Generator) -> np.ndarray:
    """One action of a kind drawn from :data:`EXTREME_ACTIONS`."""
    kind = EXTREME_ACTIONS[int(np.searchsorted(_CUMULATIVE_WEIGHTS, rng.random(), side="right"))]
    shape = space.shape
    signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    if kind == "uniform":
        return rng.uniform(space.low, space.high)
    if kind == "corners":
        return np.where(signs > 0, space.high, space.low)
    if kind == "large":
        return signs * 1e6
    if kind == "huge":
        return signs * 1e300
    if kind == "zero":
        return np.zeros(shape)
    action = rng.uniform(space.low, space.high)
    action[rng.integers(shape[0])] = (np.nan, np.inf, -np.inf)[rng.integers(3)]
    return action


def fuzz(total_steps: int, seed: int = 0, steps_per_case: int = 2000) -> FuzzReport:
    """Fuzz the suite envs for ``total_steps`` env steps (see the module docstring); deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    env_ids = sorted(suite_envs())
    report = FuzzReport()
    handler = _Count(report.mujoco_warnings)
    MUJOCO_LOGGER.addHandler(handler)
    propagate, MUJOCO_LOGGER.propagate = MUJOCO_LOGGER.propagate, False
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            while report.steps < total_steps and len(report.exceptions) < MAX_FAILED_CASES:
                _run_case(str(rng.choice(env_ids)), rng, min(steps_per_case, total_steps - report.steps), report)
        report.python_warnings.update(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        MUJOCO_LOGGER.removeHandler(handler)
        MUJOCO_LOGGER.propagate = propagate
        report.seconds = time.perf_counter() - started
    return report


def _run_case(env_id: str, rng: np.random.Generator, steps: int, report: FuzzReport) -> None:
    """Make one env with random parameters and step it ``steps`` times over episodes of random length."""
    report.cases += 1
    overrides = random_overrides(env_id, rng)
    episode_limit = int(rng.integers(20, 1001))
    where = f"{env_id} {overrides}"
    try:
        env = gymnasium.make(env_id, max_episode_steps=episode_limit, **overrides)
    except SafexpError as exc:
        report.refused[" ".join(str(exc).split()[:4])] += 1
        return
    except Exception:
        report.exceptions.append(f"make {where}: {traceback.format_exc(limit=-3)}")
        return
    try:
        _step_case(env, where, rng, steps, episode_limit, report)
    except Exception:
        report.exceptions.append(f"{where}: {traceback.format_exc(limit=-3)}")
    finally:
        env.close()


def _step_case(env: gymnasium.Env, where: str, rng: np.random.Generator, steps: int, episode_limit: int,
               report: FuzzReport) -> None:
    observation, _ = env.reset(seed=int(rng.integers(2**31)))
    report.episodes += 1
    length = 0
    for _ in range(steps):
        action = random_action(env.action_space, rng)
        try:
            observation, reward, terminated, truncated, info = env.step(action)
        except ActionError:
            if np.all(np.isfinite(action)):
                raise
            report.refused_actions += 1
            continue
        report.steps += 1
        length += 1
        values = [reward, info["cost"], *info["costs"].values()]
        parts = observation.values() if isinstance(observation, dict) else (observation,)  # vision: a Dict
        if not (all(np.all(np.isfinite(part)) for part in parts) and all(map(math.isfinite, values))):
            report.non_finite.append(f"{where}: step {length} of an episode: reward {reward}, costs {info['costs']}")
        report.divergences += int(info.get("cost_exception", 0.0) > 0)
        if length > episode_limit:
            report.endless.append(f"{where}: an episode ran past its {episode_limit} steps")
        if terminated or truncated or length > episode_limit:
            observation, _ = env.reset(seed=int(rng.integers(2**31)))
            report.episodes += 1
            length = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps in all (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = fuzz(args.steps, args.seed)
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
