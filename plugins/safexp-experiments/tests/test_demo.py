"""``safexp demo``'s closing words: what a short run shows, and what it cannot."""

from __future__ import annotations

import numpy as np

from safexp_experiments.commands.demo import what_this_run_shows
from safexp_experiments.plot import Curve

RETURNS = Curve(np.array([4096, 61440]), np.array([0.4, 3.2]))
COSTS = Curve(np.array([4096, 61440]), np.array([96.0, 88.0]))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_short_ppo_lag_run_says_where_its_cost_stands_and_what_the_full_protocol_shows():
    text = flat(what_this_run_shows("ppo_lag", 25.0, 61_440, 88.3, RETURNS, COSTS))
    assert "What 61,440 steps can show: the pipeline works end to end, and the return rising" in text
    assert "0.4 at 4,096 steps → 3.2 at 61,440" in text
    assert "evaluation episodes cost 88.3, above the limit of 25" in text
    assert "cannot show: a constrained learner holding its cost limit" in text and "~1e6 steps" in text
    assert "at 3e6 steps PPO-Lag with it is still at an episode cost of ~37" in text and "~25 after 1e7 steps" in text


def test_a_cost_within_the_limit_early_is_not_called_a_held_limit():
    text = flat(what_this_run_shows("trpo_lag", 25.0, 61_440, 12.0))
    assert "within the limit of 25" in text and "not that the limit holds" in text
    assert "the return" not in text  # no training curve was logged


def test_unconstrained_and_long_runs_skip_the_caveat():
    assert "no cost limit" in what_this_run_shows("ppo", None, 61_440, 40.0, RETURNS)
    assert "cannot show" not in what_this_run_shows("ppo_lag", 25.0, 10_000_000, 24.0, RETURNS, COSTS)


def test_a_curve_of_one_point_claims_no_trend():
    once = Curve(np.array([4096]), np.array([0.2]))
    text = flat(what_this_run_shows("ppo_lag", 25.0, 4096, 7.0, once, Curve(np.array([4096]), np.array([34.2]))))
    assert "the return was logged once (0.2 at 4,096 steps), too few points to see it rise" in text
    assert "training episodes: 34.2 at 4,096 steps." in text and "rising" not in text
