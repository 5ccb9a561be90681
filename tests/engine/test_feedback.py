"""The feedback wrapper: the previous step's reward and per-constraint costs, appended to the observation, zero
after reset (testkit level 1: constraints ``safety`` (far from centre) and ``collisions`` (crate contact))."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safexp import FeedbackObservation
from safexp.engine.env import SafetyEnv
from safexp.plugin import ParameterError


def pushing_run(env: gymnasium.Env, steps: int) -> list[tuple]:
    """(observation, reward, info) of ``steps`` steps driving the puck hard along +x from a seeded reset."""
    obs, info = env.reset(seed=3)
    records = [(obs, 0.0, info)]
    for _ in range(steps):
        obs, reward, _, _, info = env.step(np.array([1.0, 0.3]))
        records.append((obs, reward, info))
    return records


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_vector_observation_gets_previous_reward_and_costs(testkit_registry):
    inner = SafetyEnv(robot="puck", task="reach", level=1, robot_location=[0.0, 0.0])
    env = FeedbackObservation(inner)
    assert env.feedback_names == ("reward", "cost_safety", "cost_collisions")
    size = inner.observation_space.shape[0]
    assert env.observation_space.shape == (size + 3,)
    records = pushing_run(env, 60)
    np.testing.assert_array_equal(records[0][0][size:], 0.0)  # nothing happened before the first step
    for obs, reward, info in records[1:]:
        np.testing.assert_array_equal(obs[size:], [reward, info["costs"]["safety"], info["costs"]["collisions"]])
    assert any(info["costs"]["safety"] > 0 for _, _, info in records)  # the run leaves the centre: cost shows
    # the wrapped env's own observation is untouched
    plain = pushing_run(SafetyEnv(robot="puck", task="reach", level=1, robot_location=[0.0, 0.0]), 60)
    for (wrapped_obs, *_), (plain_obs, *_) in zip(records, plain):
        np.testing.assert_array_equal(wrapped_obs[:size], plain_obs)
    obs, _ = env.reset(seed=4)
    np.testing.assert_array_equal(obs[size:], 0.0)  # zero again at the next episode's start
    check_env(env, skip_render_check=True)


def test_dict_observation_gets_a_feedback_entry(testkit_registry):
    env = FeedbackObservation(SafetyEnv(robot="puck", task="reach", level=1, cost_indicator=False,
                                        vision={"camera": "vision", "size": [8, 8]}))
    assert set(env.observation_space) == {"vector", "depth", "feedback"}
    assert env.observation_space["feedback"].shape == (3,)
    records = pushing_run(env, 40)
    np.testing.assert_array_equal(records[0][0]["feedback"], 0.0)
    for obs, reward, info in records[1:]:
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs["feedback"], [reward, info["costs"]["safety"], info["costs"]["collisions"]])
    raw_costs = [info["costs"]["safety"] for _, _, info in records]
    assert max(raw_costs) > 0 and max(raw_costs) != 1.0  # raw distances, as the env reports them


def test_feedback_needs_a_safexp_env_and_is_applied_once(testkit_registry):
    with pytest.raises(ParameterError, match="needs a safexp env \\(one with constraint_names\\), got CartPoleEnv"):
        FeedbackObservation(gymnasium.make("CartPole-v1"))
    once = FeedbackObservation(SafetyEnv(robot="puck", task="reach", level=0, vision={"camera": "vision", "size": [4, 4]}))
    with pytest.raises(ParameterError, match="already has an entry 'feedback'"):
        FeedbackObservation(once)
