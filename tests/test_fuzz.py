"""The fuzz harness (``benchmarks/fuzz.py``) over 20,000 steps: random suite envs, random valid parameters, random
and extreme actions. Nothing may raise, nothing may be non-finite, no Python warning (NumPy overflow on huge
actions included) and no episode may run past its limit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import gymnasium
import numpy as np

import safexp  # noqa: F401  (registers the suite ids)

FUZZ = Path(__file__).parents[1] / "benchmarks" / "fuzz.py"


def load_fuzz():
    spec = importlib.util.spec_from_file_location("fuzz", FUZZ)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module


def test_twenty_thousand_fuzzed_steps_raise_nothing_and_stay_finite():
    fuzz = load_fuzz()
    report = fuzz.fuzz(20_000, seed=0, steps_per_case=2_000)
    assert report.failures == [], report.summary()
    assert report.steps == 20_000 and report.cases >= 10 and report.episodes > report.cases
    assert report.refused_actions > 500  # non-finite actions were tried, and each was refused
    assert not report.endless


def test_huge_actions_are_clipped_without_overflow_warnings(recwarn):
    env = gymnasium.make("safexp/DoggoGoal1-v0")
    env.reset(seed=0)
    for sign in (1.0, -1.0, 1.0):
        observation, reward, *_ = env.step(np.full(env.action_space.shape, sign * 1e300))
        assert np.all(np.isfinite(observation)) and np.isfinite(reward)
    assert [str(w.message) for w in recwarn] == []
