"""The lean update pieces against the stable-baselines3 code they stand in for, bit for bit: the actor-critic pass
against ``ActorCriticPolicy``'s own methods, the clipped gradient step against ``clip_grad_norm_``, the rollout
tensors' minibatches against ``RolloutBuffer.get``; and the cost component's checkpoint parts."""

import copy

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from tiny_env import HazardPointEnv

from safexp.plugin import build_params, get_registry
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.policy_update import ActorCriticPass, clipped_gradient_step
from safexp_sb3.rollout_tensors import RolloutTensors

SMALL = {"n_steps": 32, "batch_size": 16, "net_arch": [8, 8], "cost_critic_net_arch": [8], "cost_limit": 1.0}


def _model(name: str = "ppo_lag", **overrides):
    spec = get_registry().get("algorithms", name)
    return spec.factory(make_vec_env(HazardPointEnv, n_envs=2, seed=0), build_params(spec, {**SMALL, **overrides}),
                        seed=0)


def test_the_lean_pass_is_the_policys_own_forward_bit_for_bit():
    model = _model()
    policy, lean = model.policy, ActorCriticPass(model.policy)
    assert lean.lean
    observations = th.randn(16, *model.observation_space.shape)
    with th.no_grad():
        th.manual_seed(5)
        stock_actions, stock_values, stock_log_prob = policy(observations)
        th.manual_seed(5)
        actions, values, log_prob = lean.act(observations)
    assert th.equal(actions, stock_actions) and th.equal(values, stock_values) and th.equal(log_prob, stock_log_prob)
    stock_values, stock_log_prob, stock_entropy = policy.evaluate_actions(observations, actions)
    values, log_prob, entropy = lean.evaluate(observations, actions)
    assert th.equal(values, stock_values.flatten()) and th.equal(log_prob, stock_log_prob)
    assert th.equal(entropy, stock_entropy)
    assert th.equal(lean.values(observations), policy.predict_values(observations).flatten())


def test_the_clipped_gradient_step_is_clip_grad_norm_and_adam_bit_for_bit():
    model = _model()
    twin = copy.deepcopy(model.policy)
    observations, actions = th.randn(16, *model.observation_space.shape), th.randn(16, 2)

    def loss_of(policy):
        values, log_prob, _ = policy.evaluate_actions(observations, actions)
        return 100.0 * (values.pow(2).mean() - log_prob.mean())  # large: the clip is active

    clipped_gradient_step(model.policy.optimizer, list(model.policy.parameters()), loss_of(model.policy), 0.5)
    twin.optimizer.zero_grad()
    loss_of(twin).backward()
    assert float(th.nn.utils.clip_grad_norm_(twin.parameters(), 0.5)) > 0.5
    twin.optimizer.step()
    for ours, stock in zip(model.policy.parameters(), twin.parameters(), strict=True):
        assert th.equal(ours, stock)


def test_rollout_tensors_give_the_stock_minibatches_and_leave_the_buffer_as_get_does():
    model = _model()
    buffer: CostRolloutBuffer = model.rollout_buffer
    buffer.reset()
    buffer.full = True  # as after a rollout of n_steps
    rng = np.random.default_rng(1)
    for name in ("observations", "actions", "values", "log_probs", "advantages", "returns", *buffer.COST_FIELDS):
        array = getattr(buffer, name)
        array[...] = rng.normal(size=array.shape)
    stock_buffer = copy.deepcopy(buffer)
    np.random.seed(3)
    batches = list(RolloutTensors.from_buffer(buffer, model.action_space).shuffled().minibatches(16))
    np.random.seed(3)
    stock = list(stock_buffer.get(16))
    assert len(batches) == len(stock) == 4
    for ours, theirs in zip(batches, stock, strict=True):
        for field in ("observations", "actions", "old_values", "old_log_prob", "advantages", "returns",
                      "cost_advantages", "cost_returns"):
            assert th.equal(getattr(ours, field), getattr(theirs, field)), field
    assert buffer.generator_ready and np.array_equal(buffer.advantages, stock_buffer.advantages)


@pytest.mark.parametrize("normalize_observations", [False, True])
def test_the_cost_component_names_what_a_checkpoint_holds(normalize_observations):
    model = _model("trpo_lag", normalize_observations=normalize_observations)
    parts = model.checkpoint_parts()
    assert set(parts.modules) == set(parts.optimizers) == {"policy", "cost_critic"}
    expected = {"cost_monitor", "multipliers"} | ({"obs_normaliser"} if normalize_observations else set())
    assert set(parts.components) == expected
    observation = np.ones(model.observation_space.shape, dtype=np.float32)
    assert np.array_equal(model.costs.policy_input(observation),
                          model.obs_normaliser(observation) if normalize_observations else observation)
