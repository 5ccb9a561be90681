"""The lean update pieces against the stable-baselines3 code they stand in for: the actor-critic pass against
``ActorCriticPolicy``'s own methods (bit for bit) and a collected rollout against stock PPO's, its hand-derived gradients against autograd's (to rounding), the clipped step against
``clip_grad_norm_``, the rollout tensors' minibatches against ``RolloutBuffer.get``; and the cost component's
checkpoint parts."""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from tiny_env import HazardPointEnv

from safexp.plugin import build_params, get_registry
from safexp_sb3.cost_buffer import CostRolloutBuffer
from safexp_sb3.cpo import CPO
from safexp_sb3.policy_update import ActorCriticPass, clipped_step
from safexp_sb3.ppo_lag import PPOLagrangian
from safexp_sb3.rollout_tensors import RolloutTensors
from safexp_sb3.trpo_lag import TRPOLagrangian

SMALL = {"n_steps": 32, "batch_size": 16, "net_arch": [8, 8], "cost_critic_net_arch": [8], "cost_limit": 1.0}


def _model(name: str = "ppo_lag", **overrides):
    """A small learner whose policy's log-std is moved off its initial 0 (σ ≠ 1, where σ's factors show)."""
    spec = get_registry().get("algorithms", name)
    model = spec.factory(make_vec_env(HazardPointEnv, n_envs=2, seed=0), build_params(spec, {**SMALL, **overrides}),
                         seed=0)
    with th.no_grad():
        model.policy.log_std.copy_(th.tensor([-0.7, 0.4]))
    return model


def test_the_lean_pass_is_the_policys_own_forward_bit_for_bit():
    model = _model()
    policy, lean = model.policy, ActorCriticPass(model.policy)
    assert lean.lean
    observations = th.randn(16, *model.observation_space.shape)
    with th.no_grad():
        th.manual_seed(5)
        stock_actions, _, _ = policy(observations)
        th.manual_seed(5)
        actions = lean.sample(observations)
    assert th.equal(actions, stock_actions)
    stock_values, stock_log_prob, stock_entropy = policy.evaluate_actions(observations, actions)
    values, log_prob, entropy = lean.evaluate(observations, actions)
    assert th.equal(values, stock_values.flatten()) and th.equal(log_prob, stock_log_prob)
    assert th.equal(entropy, stock_entropy)
    assert th.equal(lean.values(observations), policy.predict_values(observations).flatten())


@pytest.mark.parametrize("use_sde", [False, True], ids=["lean", "policy's own call"])
def test_a_collected_rollout_is_stock_ppos(use_sde):
    """The lean collection samples from the actor alone and evaluates the whole rollout after it; a policy that is
    not lean (here with state-dependent exploration) is called whole at every step. Either way the rollout is stock
    PPO's for the same seed: the same observations, actions, rewards and episode starts, bit for bit, and the
    values and log-probabilities to rounding."""
    settings = {"n_steps": 32, "batch_size": 16, "use_sde": use_sde, "policy_kwargs": {"net_arch": [8, 8]}, "seed": 0}
    buffers = []
    for learner, extra in ((PPO, {}), (PPOLagrangian, {"cost_limit": 1.0})):
        model = learner("MlpPolicy", make_vec_env(HazardPointEnv, n_envs=2, seed=0), **settings, **extra)
        assert ActorCriticPass(model.policy).lean is not use_sde
        _, callback = model._setup_learn(64, callback=None)
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
        buffers.append(model.rollout_buffer)
    stock, collected = buffers
    for field in ("observations", "actions", "rewards", "episode_starts"):
        np.testing.assert_array_equal(getattr(collected, field), getattr(stock, field), err_msg=field)
    assert np.all(stock.values != 0.0) and np.all(stock.log_probs != 0.0)
    np.testing.assert_allclose(collected.values, stock.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(collected.log_probs, stock.log_probs, rtol=1e-5, atol=1e-6)
    assert collected.full and collected.pos == 32


class MatrixActionEnv(gym.Env):
    """An env whose action is a 2×3 matrix (a ``Box`` of two dimensions); it checks the shape it is given."""

    observation_space = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2, 3), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        assert action.shape == (2, 3), action.shape
        return self.observation_space.sample(), float(action.sum()), False, False, {"cost": 0.0}


@pytest.mark.parametrize(("learner", "settings"), [
    (PPOLagrangian, {"n_epochs": 1}), (TRPOLagrangian, {"n_critic_updates": 1}), (CPO, {"n_critic_updates": 1}),
], ids=["ppo_lag", "trpo_lag", "cpo"])
def test_a_matrix_action_goes_through_the_policys_own_call(learner, settings):
    model = learner("MlpPolicy", make_vec_env(MatrixActionEnv, n_envs=2, seed=0), n_steps=16, batch_size=16,
                    cost_limit=1.0, seed=0, **settings)
    assert not ActorCriticPass(model.policy).lean
    model.learn(64)
    assert model.rollout_buffer.actions.shape == (32, 6) and model.num_timesteps == 64  # flattened by the update


def test_the_clipped_step_is_clip_grad_norm_and_adam_bit_for_bit():
    model = _model()
    twin = copy.deepcopy(model.policy)
    observations, actions = th.randn(16, *model.observation_space.shape), th.randn(16, 2)

    def loss_of(policy):
        values, log_prob, _ = policy.evaluate_actions(observations, actions)
        return 100.0 * (values.pow(2).mean() - log_prob.mean())  # large: the clip is active

    model.policy.optimizer.zero_grad()
    loss_of(model.policy).backward()
    clipped_step(model.policy.optimizer, list(model.policy.parameters()), 0.5)
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


def _ppo_batch(model, seed: int = 0) -> RolloutTensors:
    """A minibatch of 64 whose ratios π/π_old spread over [0.5, 2] (old log-probabilities shifted), so that both
    of PPO's clipped branches occur for positive and for negative advantages."""
    generator = th.Generator().manual_seed(seed)
    observations, actions = th.randn(64, *model.observation_space.shape, generator=generator), th.randn(64, 2, generator=generator)
    with th.no_grad():
        _, log_prob, _ = model.policy.evaluate_actions(observations, actions)
    old_log_prob = log_prob - th.empty(64).uniform_(-0.7, 0.7, generator=generator)
    advantages, returns = th.randn(64, generator=generator), th.randn(64, generator=generator)
    zeros = th.zeros(64, 1)
    return RolloutTensors(observations, actions, th.zeros(64), old_log_prob, advantages, returns, zeros, zeros)


def _autograd_ppo_gradients(policy, batch: RolloutTensors, clip_range: float, ent_coef: float, vf_coef: float):
    """PPO's loss as stable-baselines3's ``PPO.train`` writes it, differentiated by autograd."""
    values, log_prob, entropy = policy.evaluate_actions(batch.observations, batch.actions)
    ratio = th.exp(log_prob - batch.old_log_prob)
    policy_loss = -th.min(batch.advantages * ratio, batch.advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)).mean()
    loss = policy_loss - ent_coef * entropy.mean() + vf_coef * th.nn.functional.mse_loss(batch.returns, values.flatten())
    policy.zero_grad()
    loss.backward()
    log_ratio = (log_prob - batch.old_log_prob).detach()
    terms = [policy_loss.item(), loss.item() - policy_loss.item() + ent_coef * entropy.mean().item(),
             -entropy.mean().item(), float(((ratio - 1).abs() > clip_range).float().mean()),
             float(((ratio.detach() - 1) - log_ratio).mean())]
    return [p.grad.clone() for p in policy.parameters()], ratio.detach(), terms


@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
@pytest.mark.parametrize(("net_arch", "ent_coef"), [([8, 8], 0.0), ([16], 0.01), ([], 0.5)])
def test_the_hand_derived_ppo_gradient_is_autograds(activation, net_arch, ent_coef):
    model = _model(activation=activation, net_arch=net_arch)
    lean = ActorCriticPass(model.policy)
    assert lean.by_hand
    batch, clip_range = _ppo_batch(model), 0.2
    expected, ratio, expected_terms = _autograd_ppo_gradients(model.policy, batch, clip_range, ent_coef, vf_coef=0.5)
    above, below = ratio > 1 + clip_range, ratio < 1 - clip_range
    for clipped in (above & (batch.advantages > 0), above & (batch.advantages < 0),
                    below & (batch.advantages > 0), below & (batch.advantages < 0)):
        assert clipped.any()  # every branch of the clipped objective is exercised
    model.policy.zero_grad()
    terms = lean.ppo_gradients(batch, clip_range, ent_coef, vf_coef=0.5)
    for (name, param), want in zip(model.policy.named_parameters(), expected, strict=True):
        th.testing.assert_close(param.grad, want, rtol=1e-5, atol=1e-7, msg=lambda m, n=name: f"{n}: {m}")
    expected_terms[1] /= 0.5  # the value loss itself, not c_vf times it
    assert terms.tolist() == pytest.approx(expected_terms, rel=1e-5, abs=1e-7)
    assert terms[3].item() == pytest.approx(float((above | below).float().mean()))


def test_a_policy_the_hand_derivation_does_not_cover_takes_autograds_ppo_gradient():
    model = _model()
    for network in (model.policy.mlp_extractor.policy_net, model.policy.mlp_extractor.value_net):
        network[1] = network[3] = th.nn.Sigmoid()  # an activation without a hand-written derivative
    lean = ActorCriticPass(model.policy)
    assert lean.lean and not lean.by_hand
    batch = _ppo_batch(model)
    expected, _, _ = _autograd_ppo_gradients(model.policy, batch, 0.2, 0.0, 0.5)
    model.policy.zero_grad()
    lean.ppo_gradients(batch, 0.2, 0.0, 0.5)
    for param, want in zip(model.policy.parameters(), expected, strict=True):
        th.testing.assert_close(param.grad, want, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
def test_the_hand_derived_value_gradient_is_autograds_and_leaves_the_actor_alone(activation):
    model = _model("trpo_lag", activation=activation)
    lean = ActorCriticPass(model.policy)
    batch = _ppo_batch(model)
    model.policy.zero_grad()
    th.nn.functional.mse_loss(batch.returns, model.policy.predict_values(batch.observations).flatten()).backward()
    expected = {name: p.grad for name, p in model.policy.named_parameters() if p.grad is not None}
    model.policy.zero_grad()
    lean.value_gradients(batch.observations, batch.returns)
    got = {name: p.grad for name, p in model.policy.named_parameters() if p.grad is not None}
    assert sorted(got) == sorted(expected) and all("value" in name for name in got)
    for name, want in expected.items():
        th.testing.assert_close(got[name], want, rtol=1e-5, atol=1e-7)

