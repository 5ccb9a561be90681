"""Learning for real on the tiny hazard env (tiny_env.py): the constraint binds and is met.

The straight path to the goal costs about 7 per episode; going round the hazard costs nothing and a little
time. With a limit of 2, unconstrained PPO ends above it; PPO-, PID- and TRPO-Lagrangian and CPO end at or
below it (deterministic evaluation over 10 episodes) while still reaching the goal (a return near the
straight-path return of ~16). Seeded: the same run gives the same numbers.
"""

import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from tiny_env import HazardPointEnv, evaluate

from safexp.plugin import build_params, get_registry

COST_LIMIT = 2.0
STEPS = 30_000
PPO_SETTINGS = {"n_steps": 256, "batch_size": 256, "n_epochs": 10, "learning_rate": 1e-3, "net_arch": [32, 32],
                "max_grad_norm": 0.5, "target_kl": None}
TRPO_SETTINGS = {"n_steps": 256, "batch_size": 256, "learning_rate": 1e-3, "net_arch": [32, 32]}
COST_SETTINGS = {"cost_limit": COST_LIMIT, "cost_critic_net_arch": [32, 32]}
RUNS = {
    "ppo": PPO_SETTINGS,
    "ppo_lag": {**PPO_SETTINGS, **COST_SETTINGS, "multiplier": "omnisafe", "multiplier_settings": {"lr": 0.1}},
    "pid_lag": {**PPO_SETTINGS, **COST_SETTINGS, "multiplier_settings": {"kp": 1.0, "ki": 0.2}},
    "trpo_lag": {**TRPO_SETTINGS, **COST_SETTINGS, "multiplier": "safety_starter_agents"},
    "cpo": {**TRPO_SETTINGS, **COST_SETTINGS},
}


def train(name: str, steps: int = STEPS) -> tuple[float, float]:
    th.set_num_threads(1)
    spec = get_registry().get("algorithms", name)
    model = spec.factory(make_vec_env(HazardPointEnv, n_envs=4, seed=0), build_params(spec, RUNS[name]), seed=0)
    model.learn(steps)
    return evaluate(model, episodes=10)


@pytest.mark.slow
def test_unconstrained_ppo_violates_the_limit():
    ret, cost = train("ppo")
    assert cost > 2 * COST_LIMIT
    assert ret > 14.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ppo_lag", "pid_lag", "trpo_lag", "cpo"])
def test_constrained_learners_meet_the_limit_and_still_reach_the_goal(name):
    ret, cost = train(name)
    assert cost <= COST_LIMIT
    assert ret > 14.0  # the goal bonus and nearly all the progress reward


@pytest.mark.slow
def test_learning_is_deterministic_for_a_seed():
    assert train("cpo", 4096) == train("cpo", 4096)
    assert train("ppo_lag", 4096) == train("ppo_lag", 4096)
