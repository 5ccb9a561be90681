"""SAC-Lagrangian (``sac_lag``) and cost-monitored SAC (``sac``): the cost target and the penalised actor loss
against hand computations, stock-SAC equivalence at λ = 0, learning on the tiny hazard env, save → load →
continue, TensorBoard keys and non-finite errors.

Learning runs use one torch thread (small networks on a 2-core machine are several times slower with two).
"""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import SAC
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_env import HazardPointEnv, evaluate

from safexp.plugin.errors import ParameterError
from safexp.plugin import build_params, get_registry
from safexp_sb3.multipliers import NonFiniteError
from safexp_sb3.sac_lag import (
    CostReplayBuffer,
    SACLagrangian,
    cost_critic_target,
    lagrangian_actor_loss,
)

COST_LIMIT = 2.0
# Small, fast settings for the tiny env: a fixed entropy coefficient (learning α from 1 takes most of a short
# run), 64×64 networks, 500 random steps before learning and before the first multiplier update.
TINY = {"learning_starts": 500, "batch_size": 64, "ent_coef": "0.02", "net_arch": [64, 64]}
TINY_LAG = {**TINY, "cost_limit": COST_LIMIT, "multiplier_warmup_steps": 500}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: these small networks, one thread


def build(name: str, env: gym.Env, overrides: dict, **run) -> SAC:
    """A learner built the way ``safexp train`` builds one: registry record, validated params, factory."""
    spec = get_registry().get("algorithms", name)
    return spec.factory(env, build_params(spec, overrides), seed=0, **run)


# -- the cost target ----------------------------------------------------------------------------------------


def test_cost_target_on_a_hand_made_batch():
    """Three transitions through the cost-aware buffer: an ordinary step, a termination, a truncation."""
    env = HazardPointEnv(two_constraints=True)
    buffer = CostReplayBuffer(8, env.observation_space, env.action_space, device="cpu",
                              constraint_names=("hazard", "boundary"))
    steps = [  # (costs, terminated, truncated)
        ({"hazard": 1.0, "boundary": 0.0}, False, False),
        ({"hazard": 1.0, "boundary": 1.0}, True, False),
        ({"hazard": 0.0, "boundary": 1.0}, False, True),
    ]
    for costs, terminated, truncated in steps:
        info = {"cost": sum(costs.values()), "costs": costs, "TimeLimit.truncated": truncated}
        buffer.add(np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 2)), np.zeros(1),
                   np.array([terminated or truncated]), [info])
    batch = buffer._get_samples(np.arange(3))
    assert batch.costs.tolist() == [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    assert batch.dones.flatten().tolist() == [0.0, 1.0, 0.0]  # the truncation bootstraps

    next_cost_q = th.tensor([[10.0, 20.0], [10.0, 20.0], [4.0, 8.0]])
    target = cost_critic_target(batch.costs, batch.dones, 0.9, next_cost_q)
    # c + γ_c (1 - d) Q_c,targ(s', a'), no entropy term
    expected = [[1.0 + 0.9 * 10.0, 0.0 + 0.9 * 20.0],
                [1.0, 1.0],
                [0.0 + 0.9 * 4.0, 1.0 + 0.9 * 8.0]]
    assert np.allclose(target.numpy(), expected)


def test_the_cost_critic_regresses_on_that_target():
    """One training step's cost-critic loss equals 0.5·mean((Q_c(s, a) − (c + γ_c(1 − d)·b))²) when the target
    cost critic outputs the constant b."""
    model = SACLagrangian("MlpPolicy", HazardPointEnv(), cost_limit=COST_LIMIT, cost_gamma=0.9, learning_starts=64,
                          batch_size=64, policy_kwargs={"net_arch": [16]}, seed=1)
    model.learn(64)  # fills the buffer with random actions (some through the hazard), no training yet
    assert model.replay_buffer.costs.sum() > 0
    b = 3.0
    with th.no_grad():
        for q_net in model.cost_critic_target.q_networks:
            q_net[-1].weight.zero_()
            q_net[-1].bias.fill_(b)

    state = np.random.get_state()
    batch = model.replay_buffer.sample(64)
    np.random.set_state(state)  # train() draws the same batch
    with th.no_grad():
        q_c = model.cost_critic(batch.observations, batch.actions)[0]
        expected = 0.5 * ((q_c - (batch.costs + 0.9 * (1 - batch.dones) * b)) ** 2).mean().item()
    model.train(gradient_steps=1, batch_size=64)
    assert model.logger.name_to_value["train/cost_value_loss"] == pytest.approx(expected, rel=1e-5)


# -- the actor loss -------------------------------------------------------------------------------------------


def test_actor_loss_formula_and_gradients():
    ent_coef = th.tensor(0.2)
    log_prob = th.tensor([[-1.0], [-2.0]])
    min_q = th.tensor([[5.0], [3.0]], requires_grad=True)
    cost_q = th.tensor([[1.0, 4.0], [3.0, 0.0]], requires_grad=True)
    lambdas = th.tensor([0.5, 2.0])
    loss = lagrangian_actor_loss(ent_coef, log_prob, min_q, cost_q, lambdas, normalize=True)
    per_sample = [0.2 * -1.0 - 5.0 + 0.5 * 1.0 + 2.0 * 4.0, 0.2 * -2.0 - 3.0 + 0.5 * 3.0 + 2.0 * 0.0]
    assert loss.item() == pytest.approx(np.mean(per_sample) / 3.5)
    loss.backward()
    # ∂L/∂Q_c,k = λ_k / (B (1 + Σλ)); ∂L/∂min Q = −1 / (B (1 + Σλ))
    assert np.allclose(cost_q.grad.numpy(), [[0.5 / 7.0, 2.0 / 7.0]] * 2)
    assert min_q.grad.flatten().tolist() == pytest.approx([-1.0 / 7.0] * 2)
    unnormalised = lagrangian_actor_loss(ent_coef, log_prob, min_q, cost_q, lambdas, normalize=False)
    assert unnormalised.item() == pytest.approx(np.mean(per_sample))


@pytest.mark.parametrize("lam", [0.0, 2.0])
def test_the_logged_actor_loss_includes_lambda_times_cost_q(lam):
    """With frozen networks (learning rate 0) and λ fixed, the actor loss of a training step is
    mean(α log π − min Q + λ·Q_c) / (1 + λ), computed here from the networks by hand."""
    model = SACLagrangian("MlpPolicy", HazardPointEnv(), cost_limit=COST_LIMIT, learning_rate=0.0, ent_coef=0.1,
                          learning_starts=64, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=2,
                          multiplier_settings={"init": lam, "lr": 0.0})
    model.learn(64)
    with th.no_grad():  # a cost critic far from zero, so that the λ term is large
        for q_net in model.cost_critic.q_networks:
            q_net[-1].bias.fill_(5.0)
    np_state, torch_state = np.random.get_state(), th.get_rng_state()
    batch = model.replay_buffer.sample(32)
    with th.no_grad():
        actions, log_prob = model.actor.action_log_prob(batch.observations)
        min_q = th.min(*model.critic(batch.observations, actions))
        cost_q = model.cost_critic(batch.observations, actions)[0]
        expected = ((0.1 * log_prob.reshape(-1, 1) - min_q + lam * cost_q).mean() / (1 + lam)).item()
    np.random.set_state(np_state)
    th.set_rng_state(torch_state)
    model.train(gradient_steps=1, batch_size=32)
    assert model.lagrange_multipliers == [lam]
    assert model.logger.name_to_value["train/actor_loss"] == pytest.approx(expected, rel=1e-5)


def test_zero_cost_and_zero_multiplier_reproduce_stock_sac():
    """With no cost and λ = 0 the reward side is stock SAC's, bit for bit (same seed, same batches, same
    actions: the cost critics are built on a forked RNG); a positive λ on a costly env changes the actor."""
    common = {"learning_starts": 100, "batch_size": 32, "policy_kwargs": {"net_arch": [16]}, "seed": 3}
    stock = SAC("MlpPolicy", HazardPointEnv(hazard_cost=0.0), **common)
    stock.learn(300)
    lag = SACLagrangian("MlpPolicy", HazardPointEnv(hazard_cost=0.0), cost_limit=1.0,
                        multiplier_settings={"init": 0.0, "lr": 0.0}, **common)
    lag.learn(300)
    assert lag.lagrange_multipliers == [0.0]
    expected, got = stock.actor.state_dict(), lag.actor.state_dict()
    assert all(th.equal(expected[k], got[k]) for k in expected)

    penalised = SACLagrangian("MlpPolicy", HazardPointEnv(hazard_cost=1.0), cost_limit=1.0,
                              multiplier_settings={"init": 1.0, "lr": 0.0}, **common)
    penalised.learn(300)
    assert not all(th.equal(expected[k], penalised.actor.state_dict()[k]) for k in expected)


def test_the_multiplier_waits_for_the_warm_up_then_steps_at_every_episode_end():
    """Gradient steps from step 100 on, one per env step: the multiplier steps in the training phase after every
    episode end past the warm-up, from that episode's cost."""
    model = SACLagrangian("MlpPolicy", HazardPointEnv(max_steps=20), cost_limit=0.5, multiplier_warmup_steps=100,
                          learning_starts=100, policy_kwargs={"net_arch": [8]}, seed=0)
    model.learn(99)
    assert model.constraints.multipliers[0].state_dict()["adam_t"] == 0  # episodes ended, but within the warm-up
    model.learn(201, reset_num_timesteps=False)
    episode_ends = np.cumsum([episode["l"] for episode in model.ep_info_buffer])
    assert episode_ends[-1] == 300 and len(episode_ends) == 15  # 20-step episodes of random actions
    assert model.constraints.multipliers[0].state_dict()["adam_t"] == np.count_nonzero(episode_ends >= 100)
    last_episode_cost = model.cost_monitor.recent[-1][0]
    assert model.constraints.multipliers[0].diagnostics()["violation"] == pytest.approx(last_episode_cost - 0.5)


# -- learning for real ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_sac_lag(tmp_path_factory):
    """SAC-Lag trained 2,000 steps on the tiny env (limit 2), logging to TensorBoard; saved to disk."""
    folder = tmp_path_factory.mktemp("sac_lag")
    th.set_num_threads(1)
    model = build("sac_lag", HazardPointEnv(), TINY_LAG, tensorboard_log=str(folder / "tb"))
    model.learn(2_000, log_interval=1)
    model.save(folder / "model.zip")
    return model, folder


def test_sac_lag_meets_the_limit_and_still_reaches_the_goal(trained_sac_lag):
    model, _ = trained_sac_lag
    ret, cost = evaluate(model, episodes=5)
    assert cost <= COST_LIMIT  # the straight path costs about 7
    assert ret > 14.0  # the goal bonus and nearly all the progress reward
    assert model.lagrange_multipliers[0] > 0.5  # the constraint was active: λ rose from 0.001


def test_unconstrained_sac_takes_the_costly_straight_path():
    model = build("sac", HazardPointEnv(), TINY)
    model.learn(1_500)
    ret, cost = evaluate(model, episodes=5)
    assert cost > 2 * COST_LIMIT
    assert ret > 14.0
    assert model.cost_monitor.window_mean()[0] > 2 * COST_LIMIT  # the monitor saw the training costs too


def test_learning_is_deterministic_for_a_seed():
    def run() -> tuple[list[float], dict[str, th.Tensor]]:
        model = SACLagrangian("MlpPolicy", HazardPointEnv(), cost_limit=COST_LIMIT, learning_starts=100,
                              multiplier_warmup_steps=100, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=5)
        model.learn(400)
        return model.lagrange_multipliers, model.policy.state_dict()

    (lambdas, params), (lambdas_again, params_again) = run(), run()
    assert lambdas == lambdas_again and lambdas[0] != 0.001  # λ moved, identically
    assert all(th.equal(params[k], params_again[k]) for k in params)  # actor, critics and cost critics


def test_save_load_continue_keeps_multiplier_statistics_and_step_count(trained_sac_lag):
    model, folder = trained_sac_lag
    spec = get_registry().get("algorithms", "sac_lag")
    loaded = spec.load(str(folder / "model.zip"), HazardPointEnv())
    assert loaded.num_timesteps == 2_000
    assert loaded.lagrange_multipliers == model.lagrange_multipliers
    assert loaded.constraints.multipliers[0].state_dict() == model.constraints.multipliers[0].state_dict()  # Adam moments included
    assert loaded.cost_monitor.window_mean().tolist() == model.cost_monitor.window_mean().tolist()
    obs = np.array([[1.5, 0.0, 0.75, 0.0]], dtype=np.float32)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    for name, tensor in model.cost_critic.state_dict().items():
        assert th.equal(tensor, loaded.cost_critic.state_dict()[name])

    before = loaded.constraints.multipliers[0].state_dict()
    loaded.learn(300, reset_num_timesteps=False)
    assert loaded.num_timesteps == 2_300
    after = loaded.constraints.multipliers[0].state_dict()
    assert after["adam_t"] > before["adam_t"]  # λ kept moving from where it was, not from its initial value


def test_tensorboard_has_the_cost_keys(trained_sac_lag):
    _, folder = trained_sac_lag
    (run,) = (folder / "tb").iterdir()
    scalars = _scalars(run)
    for key in ("rollout/ep_cost_mean", "rollout/cost_rate", "train/lagrange_multiplier", "train/cost_value_loss",
                "train/ep_cost_estimate", "rollout/ep_rew_mean"):
        assert key in scalars, f"{key} missing; logged: {sorted(scalars)}"
    lambdas = scalars["train/lagrange_multiplier"]
    assert min(lambdas) < 0.05 and max(lambdas) > 0.5  # from near the omnisafe preset's init 0.001, it rose
    assert max(scalars["rollout/ep_cost_mean"]) > COST_LIMIT  # the straight path was taken before the detour


def test_tensorboard_keys_per_constraint(tmp_path):
    env = HazardPointEnv(two_constraints=True)
    model = SACLagrangian("MlpPolicy", env, cost_limit={"hazard": 2.0, "boundary": 1.0}, learning_starts=100,
                          multiplier_warmup_steps=100, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=0,
                          tensorboard_log=str(tmp_path))
    assert len(model.cost_critic.q_networks) == 2
    model.learn(400, log_interval=1)
    (run,) = tmp_path.iterdir()
    scalars = _scalars(run)
    for name in ("hazard", "boundary"):
        for key in ("train/lagrange_multiplier", "rollout/ep_cost_mean", "rollout/cost_rate"):
            assert f"{key}/{name}" in scalars, f"{key}/{name} missing; logged: {sorted(scalars)}"
    assert "train/lagrange_multiplier" not in scalars
    total = np.array(scalars["rollout/ep_cost_mean"])
    parts = np.array(scalars["rollout/ep_cost_mean/hazard"]) + np.array(scalars["rollout/ep_cost_mean/boundary"])
    assert total == pytest.approx(parts)


def _scalars(run: Path) -> dict[str, list[float]]:
    accumulator = EventAccumulator(str(run))
    accumulator.Reload()
    return {tag: [event.value for event in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


# -- parameters and errors ------------------------------------------------------------------------------------


def test_registry_params_reach_the_learner():
    model = build("sac_lag", HazardPointEnv(two_constraints=True),
                  {"cost_limits": {"hazard": 5.0, "boundary": 1.0}, "net_arch": [8], "multiplier": "pid",
                   "multiplier_settings": {"kp": 0.5}, "cost_gamma": 0.95, "ent_coef": "auto_0.1"})
    assert model.constraint_names == ("hazard", "boundary")
    assert [m.cost_limit for m in model.constraints.multipliers] == [5.0, 1.0]
    assert [m.kp for m in model.constraints.multipliers] == [0.5, 0.5]
    assert model.cost_gamma == 0.95
    assert model.ent_coef == "auto_0.1"
    assert model.actor.latent_pi[0].out_features == 8
    assert model.replay_buffer.costs.shape[-1] == 2


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ParameterError, match="ent_coef.*'auto', 'auto_<initial value>' or a number.*'lots'"):
        build("sac", HazardPointEnv(), {"ent_coef": "lots"})
    with pytest.raises(ParameterError, match="did you mean 'hazard'"):
        build("sac_lag", HazardPointEnv(), {"cost_limits": {"hazards": 5.0}})
    with pytest.raises(ParameterError, match="did you mean 'omnisafe'"):
        build("sac_lag", HazardPointEnv(), {"multiplier": "omnisave"})


class NanCostEnv(HazardPointEnv):
    """The tiny env with a NaN cost on every step after the 80th."""

    def __init__(self) -> None:
        super().__init__()
        self.total_steps = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.total_steps += 1
        if self.total_steps > 80:
            info["cost"] = info["costs"]["hazard"] = math.nan
        return obs, reward, terminated, truncated, info


def test_a_nan_cost_is_a_named_error():
    model = SACLagrangian("MlpPolicy", NanCostEnv(), cost_limit=COST_LIMIT, learning_starts=100, batch_size=256,
                         policy_kwargs={"net_arch": [8]}, seed=0)
    with pytest.raises(NonFiniteError, match="cost critic loss"):
        model.learn(300)


def test_the_replay_buffer_round_trips_through_a_plain_numpy_archive(tmp_path):
    def fresh() -> SACLagrangian:
        return SACLagrangian("MlpPolicy", HazardPointEnv(), cost_limit=COST_LIMIT, learning_starts=10_000,
                             buffer_size=500, policy_kwargs={"net_arch": [8]}, seed=0)

    model = fresh()
    model.learn(150)
    path = tmp_path / "replay.npz"
    model.save_replay_buffer(path)
    with np.load(path, allow_pickle=False) as archive:  # plain arrays only
        assert int(archive["pos"]) == 150 and archive["costs"].shape == (500, 1, 1)
    restored = fresh()
    restored.load_replay_buffer(str(path))
    for name in ("observations", "actions", "rewards", "dones", "costs"):
        assert np.array_equal(getattr(restored.replay_buffer, name), getattr(model.replay_buffer, name))
    assert restored.replay_buffer.pos == 150 and restored.replay_buffer.costs[:150].sum() > 0
