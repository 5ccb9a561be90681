"""The episode-cost monitor on real VecEnvs: costs kept across automatic resets, J_c estimate, cost rate."""

import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from tiny_env import HazardPointEnv

from safexp.plugin.errors import ParameterError
from safexp_sb3.costs import (
    EpisodeCostMonitor,
    MissingCostError,
    read_step_costs,
    resolve_constraint_names,
    resolve_cost_limits,
)


def _run_straight_through_hazard(vec_env, n_steps: int) -> tuple[EpisodeCostMonitor, list[float]]:
    """Drive every env straight at the goal (through the hazard); return the monitor and per-env true costs."""
    names = resolve_constraint_names(vec_env, 25.0)
    monitor = EpisodeCostMonitor(vec_env.num_envs, names)
    vec_env.reset()
    true_running = np.zeros(vec_env.num_envs)
    true_finished = []
    for _ in range(n_steps):
        _, _, dones, infos = vec_env.step(np.tile([1.0, 0.0], (vec_env.num_envs, 1)))
        monitor.record(infos, dones)
        true_running += [info["cost"] for info in infos]
        for idx in np.flatnonzero(dones):
            true_finished.append(true_running[idx])
            true_running[idx] = 0.0
    return monitor, true_finished


@pytest.mark.parametrize("vec_cls", [DummyVecEnv, SubprocVecEnv])
def test_episode_costs_survive_automatic_resets(vec_cls):
    vec_env = make_vec_env(HazardPointEnv, n_envs=2, seed=0, vec_env_cls=vec_cls)
    try:
        monitor, true_finished = _run_straight_through_hazard(vec_env, 40)
    finally:
        vec_env.close()
    # straight at the goal: 15 steps per episode, the last of them in the hazard ~7; 40 steps = 2 episodes per env
    assert len(true_finished) == 4
    assert all(5 <= c <= 8 for c in true_finished)
    estimate = monitor.cost_estimate()
    assert estimate == pytest.approx([np.mean(true_finished)])
    assert monitor.cost_rate == pytest.approx([monitor.cumulative_cost[0] / 80])
    assert monitor.steps == 80
    assert monitor.mean_episode_length() == pytest.approx(15.0, abs=1.0)
    # the finished episodes were consumed: the next estimate falls back to the window of recent episodes
    assert monitor.cost_estimate() == pytest.approx([np.mean(true_finished)])
    assert monitor.finished == []


def test_estimate_is_none_before_any_episode_ends():
    monitor = EpisodeCostMonitor(1, ("cost",))
    monitor.record([{"cost": 1.0}], np.array([False]))
    assert monitor.cost_estimate() is None
    assert monitor.cost_rate == pytest.approx([1.0])


def test_several_constraints_are_read_by_name():
    vec_env = make_vec_env(HazardPointEnv, n_envs=1, seed=0, env_kwargs={"two_constraints": True})
    assert resolve_constraint_names(vec_env, 25.0) == ("hazard", "boundary")
    assert resolve_cost_limits(("hazard", "boundary"), {"boundary": 1.0, "hazard": 2.0}).tolist() == [2.0, 1.0]
    assert resolve_cost_limits(("hazard", "boundary"), 5.0).tolist() == [5.0, 5.0]
    assert read_step_costs({"cost": 1.0, "costs": {"hazard": 1.0, "boundary": 0.0}}, ("hazard", "boundary")).tolist() \
        == [1.0, 0.0]


def test_a_third_party_env_with_only_info_cost_has_one_constraint_named_cost():
    assert resolve_constraint_names(None, 25.0) == ("cost",)
    assert read_step_costs({"cost": 0.5}, ("cost",)).tolist() == [0.5]


def test_missing_costs_and_bad_limits_are_clear_errors():
    with pytest.raises(MissingCostError, match=r"no info\['cost'\] \(info keys: reward_run\)"):
        read_step_costs({"reward_run": 1.0}, ("cost",))
    with pytest.raises(MissingCostError, match="no constraint 'vases'; did you mean 'vase'"):
        read_step_costs({"costs": {"vase": 1.0}}, ("vases",))
    with pytest.raises(ParameterError, match="did you mean 'hazard'"):
        resolve_cost_limits(("hazard",), {"hazards": 1.0})
    with pytest.raises(ParameterError, match="no limit for constraint"):
        resolve_cost_limits(("hazard", "boundary"), {"hazard": 1.0})
    with pytest.raises(ParameterError, match="2 values but the env has 1"):
        resolve_cost_limits(("hazard",), [1.0, 2.0])
    monitor = EpisodeCostMonitor(1, ("cost",), require_cost=False)
    assert monitor.record([{}], np.array([False])).tolist() == [[0.0]]
