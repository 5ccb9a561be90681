"""The constrained updates against hand-computed values, and learning where safety costs reward.

These tests fail when a learner is broken: ``benchmarks/sabotage.py`` breaks the learners one way at a time (λ
frozen, the cost term's sign flipped, centring or the 1/(1+λ) removed, CPO's line search accepting every step)
and shows which of them catch each.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from conflict_env import COST_LIMIT, LAMBDA_STAR, TradeOffEnv
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import kl_divergence
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv
from tiny_env import HazardPointEnv

from safexp.plugin import build_params, get_registry
from safexp_sb3.cost_buffer import centred, penalised_advantage, standardised
from safexp_sb3.cpo import CPOStep, cpo_accepts
from safexp_sb3.rollouts import ObservationNormaliser


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: these small networks, one thread


def build(name: str, env: Any, overrides: dict[str, Any], seed: int = 0) -> Any:
    """A learner built the way ``safexp train`` builds one: registry record, validated params, factory."""
    spec = get_registry().get("algorithms", name)
    return spec.factory(env, build_params(spec, overrides), seed=seed)


class AtRolloutEnd(BaseCallback):
    """Keeps a copy of the rollout buffer's cost arrays and the monitor's new episodes when a rollout is complete
    (before the update)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, np.ndarray] = {}

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        for name in ("costs", "cost_advantages", "cost_returns", "advantages"):
            self.seen[name] = getattr(buffer, name).copy()
        self.seen["finished"] = np.array(self.model.cost_monitor.finished)


# -- cost GAE and the truncation bootstrap on a 3-step buffer ------------------------------------------------


class ScriptedCostEnv(gym.Env):
    """Pays ``costs[k]`` on its k-th step (counted across resets); its first episode ends at step 2 by
    ``ending`` (``"terminated"``, ``"truncated"`` or ``None``: never)."""

    def __init__(self, costs: list[float], ending: str | None) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.costs, self.ending, self.k = costs, ending, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        cost, self.k = self.costs[self.k], self.k + 1
        end = self.k == 2
        return (np.zeros(1, dtype=np.float32), 0.0, end and self.ending == "terminated",
                end and self.ending == "truncated", {"cost": cost})


def test_cost_gae_and_the_truncation_bootstrap_on_a_three_step_buffer():
    """Three envs, three steps, V_c ≡ 0.5, γ_c = 0.9, λ_c = 0.8: env 0 terminates at its 2nd step (nothing is
    bootstrapped), env 1 is truncated there (its cost gains γ_c·V_c(s_T) = 0.45), env 2 runs on (bootstrapped
    from V_c of the last observation)."""
    envs = DummyVecEnv([lambda: ScriptedCostEnv([1.0, 2.0, 4.0], "terminated"),
                        lambda: ScriptedCostEnv([1.0, 0.0, 3.0], "truncated"),
                        lambda: ScriptedCostEnv([0.0, 1.0, 1.0], None)])
    model = build("ppo_lag", envs, {"n_steps": 3, "batch_size": 9, "n_epochs": 1, "net_arch": [4],
                                    "cost_critic_net_arch": [4], "cost_gamma": 0.9, "cost_gae_lambda": 0.8})
    with th.no_grad():
        model.cost_critic.net[-1].weight.zero_()
        model.cost_critic.net[-1].bias.fill_(0.5)
    seen = AtRolloutEnd()
    model.learn(9, callback=seen)
    # costs[t, env]; the truncated env's 2nd step carries the bootstrap 0 + 0.9·0.5
    assert seen.seen["costs"][:, :, 0] == pytest.approx(np.array([[1, 1, 0], [2, 0.45, 1], [4, 3, 1]]))
    # by hand, δ_t = c_t + 0.9·0.5·(not done after t) − 0.5 and A_t = δ_t + 0.72·A_{t+1}·(not done after t):
    env0 = [0.95 + 0.72 * 1.5, 1.5, 3.95]                          # done after t=1: no bootstrap, no carry
    env1 = [0.95 + 0.72 * -0.05, -0.05, 2.95]                      # 0.45 − 0.5 at t=1, then a new episode
    env2 = [-0.05 + 0.72 * (0.95 + 0.72 * 0.95), 0.95 + 0.72 * 0.95, 0.95]  # bootstrapped from V_c(s_3) = 0.5
    expected = np.array([env0, env1, env2]).T
    assert seen.seen["cost_advantages"][:, :, 0] == pytest.approx(expected, abs=1e-6)
    assert seen.seen["cost_returns"][:, :, 0] == pytest.approx(expected + 0.5, abs=1e-6)


# -- the penalised advantage, exactly ------------------------------------------------------------------------

A_R = np.array([[1.0], [2.0], [3.0], [6.0]])  # (n_steps, n_envs)
A_C = np.array([[[1.0]], [[3.0]], [[0.0]], [[4.0]]])  # (n_steps, n_envs, n_constraints)


@pytest.mark.parametrize("name", ["ppo_lag", "trpo_lag"])
def test_penalised_advantage_uses_this_rollouts_multiplier_centred_costs_and_the_1_plus_lambda_scale(name):
    """A_r = (1, 2, 3, 6) standardised: mean 3, std √3.5; A_c = (1, 3, 0, 4) centred: (−1, 1, −2, 2). The sgd
    multiplier (λ₀ = 0.5, lr 0.1, d = 1) first steps on this rollout's J_c = 3: λ = 0.5 + 0.1·(3 − 1) = 0.7."""
    model = build(name, make_vec_env(HazardPointEnv, n_envs=1, seed=0),
                  {"n_steps": 4, "batch_size": 4, "net_arch": [4], "cost_critic_net_arch": [4], "cost_limit": 1.0,
                   "multiplier": "sgd", "multiplier_settings": {"init": 0.5, "lr": 0.1}})
    model.rollout_buffer.advantages = A_R.astype(np.float32)
    model.rollout_buffer.cost_advantages = A_C.astype(np.float32)
    model.cost_monitor.record([{"cost": 3.0, "costs": {"hazard": 3.0}}], np.array([True]))  # one episode, J_c = 3
    advantages = model.policy_advantages()
    assert model.lagrange_multipliers == pytest.approx([0.7])
    reward = (A_R[:, 0] - 3.0) / (np.sqrt(3.5) + 1e-8)
    expected = (reward - 0.7 * np.array([-1.0, 1.0, -2.0, 2.0])) / 1.7
    assert advantages[:, 0] == pytest.approx(expected, abs=1e-6)
    # the next rollout's episodes are under the limit: λ falls, and the clamp keeps it at 0, not below
    model.cost_monitor.record([{"cost": 0.0, "costs": {"hazard": 0.0}}], np.array([True]))
    model.cost_monitor.finished[-1] = np.array([-20.0])  # J_c − d = −21: a step of −2.1 from 0.7
    model.policy_advantages()
    assert model.lagrange_multipliers == [0.0]


def test_the_advantage_functions_by_hand():
    assert standardised(np.array([1.0, 3.0])) == pytest.approx([-1.0, 1.0], abs=1e-7)
    assert centred(np.array([[[1.0, 10.0]], [[3.0, 20.0]]]))[:, 0].tolist() == [[-1.0, -5.0], [1.0, 5.0]]
    two = penalised_advantage(np.array([1.0]), np.array([[2.0, 4.0]]), np.array([0.5, 0.25]))
    assert two == pytest.approx([(1.0 - 1.0 - 1.0) / 1.75])


def test_in_training_the_multiplier_steps_on_this_rollouts_episodes_before_the_policy_step():
    """One real update on the trade-off env (the initial policy's episodes cost ~4 > d = 1): λ rises by
    lr·(J_c − d) with J_c the mean cost of the episodes that ended in this rollout, and the advantages the PPO
    epochs used are the penalised ones with that new λ."""
    model = build("ppo_lag", make_vec_env(TradeOffEnv, n_envs=2, seed=0),
                  {"n_steps": 128, "batch_size": 64, "n_epochs": 1, "net_arch": [8], "cost_critic_net_arch": [8],
                   "cost_limit": 1.0, "multiplier": "sgd", "multiplier_settings": {"init": 0.2, "lr": 0.01}})
    seen = AtRolloutEnd()
    model.learn(256, callback=seen)
    j_c = float(np.mean(seen.seen["finished"]))
    assert j_c > 2.0 and model.lagrange_multipliers == pytest.approx([0.2 + 0.01 * (j_c - 1.0)])
    lam = model.lagrange_multipliers[0]
    expected = penalised_advantage(standardised(seen.seen["advantages"]), centred(seen.seen["cost_advantages"]),
                                   np.array([lam]))
    used = model.rollout_buffer.advantages  # flattened env-major by the update's minibatching
    assert used[:, 0] == pytest.approx(expected.swapaxes(0, 1).reshape(-1), abs=1e-5)


# -- CPO's update on a fixed batch ---------------------------------------------------------------------------


def _cpo_after_one_rollout(**overrides: Any) -> Any:
    """CPO after one rollout and update on the hazard env; its buffer then holds a fixed batch to train on."""
    model = build("cpo", make_vec_env(HazardPointEnv, n_envs=2, seed=0),
                  {"n_steps": 128, "batch_size": 128, "n_critic_updates": 1, "net_arch": [8],
                   "cost_critic_net_arch": [8], "cost_limit": 5.0, "learn_margin": False, **overrides})
    model.learn(256)
    return model


def _train_with_episode_cost(model: Any, episode_cost: float, length: int = 20) -> dict[str, float]:
    model.cost_monitor.finished = [np.array([episode_cost])]
    model.cost_monitor.recent_lengths.clear()
    model.cost_monitor.recent_lengths.extend([length] * 5)
    model.train()
    return dict(model.logger.name_to_value)


def _actor(model: Any) -> dict[str, th.Tensor]:
    return {k: v.clone() for k, v in model.policy.state_dict().items() if "value" not in k}


def test_cpo_constraint_value_is_per_step_and_picks_the_case():
    model = _cpo_after_one_rollout()
    far_below = _train_with_episode_cost(model, 0.0)  # c = (0 − 5)/20 = −0.25: the whole region is feasible
    assert far_below["train/cpo/c"] == pytest.approx(-0.25)
    assert far_below["train/cpo/case"] in (3, 4)
    assert far_below["train/is_line_search_success"] == 1.0
    assert far_below["train/policy_loss"] < 0.0  # the accepted step lowered the loss −mean(ratio·A_r) from 0
    far_above = _train_with_episode_cost(model, 45.0)  # c = (45 − 5)/20 = 2: infeasible, recovery
    assert far_above["train/cpo/c"] == pytest.approx(2.0)
    assert far_above["train/cpo/case"] == 0.0 and far_above["train/cpo/lambda_star"] == 0.0
    if far_above["train/is_line_search_success"]:
        assert far_above["train/cost_surrogate_change"] < 0.0  # recovery only lowers the cost


def test_cpo_line_search_rejects_a_step_that_breaks_the_kl_bound_and_restores_the_policy():
    """The line search on the fixed batch with a hand-made step: one 100 times the size of the actor's parameters
    breaks the KL bound at every backtrack and leaves the actor exactly as it was; a small step down the loss
    gradient is accepted at once."""
    model = _cpo_after_one_rollout()
    (data,) = model.rollout_buffer.get(batch_size=None)
    cost_advantages = data.cost_advantages[:, 0]
    with th.no_grad():
        old_distribution = copy.copy(model.policy.get_distribution(data.observations))
    distribution = model.policy.get_distribution(data.observations)
    loss = -(th.exp(distribution.log_prob(data.actions) - data.old_log_prob) * data.advantages).mean()
    kl = kl_divergence(distribution, old_distribution).mean()
    params, g, _, shapes = model._compute_actor_grad(kl, loss)

    def search(step: th.Tensor) -> tuple[bool, int, float, float, float]:
        solution = CPOStep(step, 3, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0)
        return model.line_search(params, shapes, solution, data, data.actions, cost_advantages, old_distribution,
                                 loss.item(), 0.0, c=-1.0)

    before = _actor(model)
    accepted, backtracks, *_ = search(100.0 * th.ones_like(g))
    assert not accepted and backtracks == model.line_search_max_iter
    after = _actor(model)
    assert all(th.equal(before[k], after[k]) for k in before)
    accepted, backtracks, new_kl, new_loss, _ = search(1e-3 * g / g.norm())
    assert accepted and backtracks == 0 and new_loss < loss.item() and new_kl <= model.target_kl


def test_cpo_acceptance_test_by_hand():
    ok = {"case": 2, "kl": 0.005, "loss": -0.1, "old_loss": 0.0, "cost_change": 0.01, "c": -0.05, "delta": 0.01}
    assert cpo_accepts(**ok)
    assert not cpo_accepts(**{**ok, "kl": 0.02})  # outside the trust region
    assert not cpo_accepts(**{**ok, "cost_change": 0.06})  # the cost rose by more than −c = 0.05
    assert not cpo_accepts(**{**ok, "loss": 0.1})  # the loss got worse in a feasible case
    assert cpo_accepts(**{**ok, "case": 0, "c": 0.5, "loss": 0.1, "cost_change": -0.01})  # recovery may lose reward
    assert not cpo_accepts(**{**ok, "case": 0, "c": 0.5, "loss": 0.1, "cost_change": 0.01})  # but not add cost


def test_cpo_learned_margin_moves_by_lr_times_violation_and_stays_non_negative():
    model = _cpo_after_one_rollout(learn_margin=True, margin_lr=0.1)
    margin = model.margin.value
    logged = _train_with_episode_cost(model, 9.0)  # J_c − d = 4
    assert model.margin.value == pytest.approx(margin + 0.4)
    assert logged["train/cpo/c"] == pytest.approx((4.0 + model.margin.value) / 20)
    _train_with_episode_cost(model, -1000.0)
    assert model.margin.value == 0.0


def test_cpo_cost_ema_smooths_j_c_before_c_and_is_saved(tmp_path):
    model = _cpo_after_one_rollout(cost_ema=0.5)
    model.smoothed_cost = type(model.smoothed_cost)(0.5)  # forget the estimates of the first rollouts
    first = _train_with_episode_cost(model, 9.0)  # the first estimate is taken as it is: Ĵ = 9, c = (9 − 5)/20
    assert first["train/cpo/c"] == pytest.approx(0.2) and first["train/cpo/smoothed_cost"] == pytest.approx(9.0)
    second = _train_with_episode_cost(model, 1.0)  # Ĵ = 0.5·9 + 0.5·1 = 5: c = 0
    assert second["train/ep_cost_estimate"] == pytest.approx(1.0)  # the raw J_c is logged beside Ĵ
    assert second["train/cpo/smoothed_cost"] == pytest.approx(5.0) and second["train/cpo/c"] == pytest.approx(0.0)
    model.save(tmp_path / "cpo.zip")
    loaded = get_registry().get("algorithms", "cpo").load(str(tmp_path / "cpo.zip"))
    assert loaded.smoothed_cost.state_dict() == {"smoothed_cost": 5.0, "cost_estimates": 2}
    plain = _train_with_episode_cost(_cpo_after_one_rollout(), 1.0)  # cost_ema 0 (the default): this J_c alone
    assert plain["train/cpo/c"] == pytest.approx(-0.2) and "train/cpo/smoothed_cost" not in plain


# -- learning where safety costs reward ----------------------------------------------------------------------

ON_POLICY = {"n_steps": 32, "batch_size": 256, "net_arch": [8], "cost_critic_net_arch": [8],
             "cost_limit": COST_LIMIT, "stats_window_size": 1024}
RECURRENT = {"n_steps": 32, "batch_size": 256, "net_arch": [8], "lstm_hidden_size": 8, "cost_head_net_arch": [8],
             "cost_limit": COST_LIMIT, "stats_window_size": 1024}
PID = {"multiplier": "pid", "multiplier_settings": {"kp": 0.2, "ki": 0.05, "kd": 0.0, "ema": 0.0}}
SAC = {"learning_starts": 200, "multiplier_warmup_steps": 200, "batch_size": 128, "net_arch": [16],
       "ent_coef": "0.01", "learning_rate": 3e-3, "cost_limit": COST_LIMIT, "stats_window_size": 1024,
       "multiplier": "pid", "multiplier_settings": {"kp": 0.1, "ki": 0.0005, "kd": 0.0, "ema": 0.95}}
LEARNERS = {  # settings, env steps, envs
    "ppo_lag": ({**ON_POLICY, **PID, "n_epochs": 5, "learning_rate": 1e-2, "target_kl": None}, 6144, 8),
    "ppo_lag_rnn": ({**RECURRENT, **PID, "n_epochs": 5, "learning_rate": 2e-2, "target_kl": None}, 4096, 8),
    "trpo_lag": ({**ON_POLICY, **PID, "target_kl": 0.02}, 6144, 8),
    "cpo": ({**ON_POLICY, "target_kl": 0.02, "learn_margin": False}, 6144, 8),  # the paper's CPO
    "sac_lag": (SAC, 4000, 1),  # λ steps after every gradient step's episode: gains per step, not per rollout
}


class MultiplierTrace(BaseCallback):
    """λ after every update (read at the next rollout's start, and at the end)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        self.values.append(getattr(self.model, "lagrange_multipliers", [0.0])[0])


@pytest.mark.parametrize("name", list(LEARNERS))
def test_constrained_learners_end_at_the_limit_with_a_settled_multiplier(name):
    """On :class:`conflict_env.TradeOffEnv` (unconstrained: cost 8, four times the limit 2): the mean cost of the last
    1,024 training episodes is within 30 % of the limit, above as well as below (far below is over-conservative,
    and the return is lost), and λ has left its initial value and stays within a factor 4 of λ* = 1/4."""
    settings, steps, n_envs = LEARNERS[name]
    model = build(name, make_vec_env(TradeOffEnv, n_envs=n_envs, seed=0), settings)
    trace = MultiplierTrace()
    model.learn(steps, callback=trace)
    cost = float(model.cost_monitor.window_mean()[0])
    assert 0.7 * COST_LIMIT <= cost <= 1.3 * COST_LIMIT, f"{name} ends at episode cost {cost:.2f}"
    if name != "cpo":
        late = trace.values[len(trace.values) // 2:] + model.lagrange_multipliers
        assert late[-1] != trace.values[0]
        assert LAMBDA_STAR / 4 <= min(late) and max(late) <= 4 * LAMBDA_STAR, f"λ over the second half: {late}"


def test_the_trade_off_env_puts_the_unconstrained_optimum_above_the_limit_and_the_constrained_one_lower():
    env = TradeOffEnv()
    env.reset(seed=0)
    outcomes = {a: env.step(np.array([a], dtype=np.float32))[1::3] for a in (1.0, -0.5, -1.0)}
    (best_return, best_info), (limit_return, limit_info) = outcomes[1.0], outcomes[-0.5]
    assert best_info["cost"] == 8.0 > COST_LIMIT  # the unconstrained optimum violates the limit
    assert limit_info["cost"] == COST_LIMIT and limit_return == -0.5 < best_return  # the constrained one earns less
    assert outcomes[-1.0][1]["cost"] == 0.0  # the over-conservative end


def test_learning_is_deterministic_for_a_seed():
    def run(name: str) -> dict[str, th.Tensor]:
        settings, _, n_envs = LEARNERS[name]
        model = build(name, make_vec_env(TradeOffEnv, n_envs=n_envs, seed=3), settings, seed=3)
        model.learn(512)
        return model.policy.state_dict()

    for name in ("ppo_lag", "cpo"):
        first, again = run(name), run(name)
        assert all(th.equal(first[k], again[k]) for k in first)


@pytest.mark.parametrize("name", ["ppo_lag", "trpo_lag", "cpo"])
def test_observation_normalisation_standardises_what_the_policy_sees_and_is_saved(tmp_path, name):
    """On the hazard env (goal and hazard offsets, ~[1.5, 0, 0.75, 0] at the start): the running statistics are
    those of every observation seen, the policy acts on observations standardised by them, and a loaded learner
    has the same statistics and acts the same."""
    spec = get_registry().get("algorithms", name)
    model = build(name, make_vec_env(HazardPointEnv, n_envs=2, seed=0),
                  {"n_steps": 64, "batch_size": 64, "net_arch": [8], "cost_critic_net_arch": [8],
                   "normalize_observations": True})
    raw = []

    class Raw(BaseCallback):
        def _on_rollout_start(self) -> None:
            raw.append(self.model._last_obs.copy())  # the first observations, after learn's reset

        def _on_step(self) -> bool:
            raw.append(self.locals["new_obs"].copy())
            return True

    model.learn(128, callback=Raw())
    seen = np.stack(raw)  # every observation the statistics took in
    normaliser = model.obs_normaliser
    assert normaliser.count == seen.shape[0] * 2
    assert normaliser.mean == pytest.approx(seen.reshape(-1, 4).mean(axis=0), abs=1e-6)
    assert normaliser.var == pytest.approx(seen.reshape(-1, 4).var(axis=0), rel=1e-5)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = spec.load(str(path))
    assert loaded.obs_normaliser.state_dict() == normaliser.state_dict()
    obs = np.array([[1.5, 0.0, 0.75, 0.0]], dtype=np.float32)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    standard = model.obs_normaliser(obs)
    plain, _ = super(type(model), model).predict(standard, deterministic=True)
    assert np.array_equal(model.predict(obs, deterministic=True)[0], plain)  # predict acts on standardised input


def test_the_observation_statistics_are_those_of_every_observation_one_at_a_time_or_in_batches():
    rng = np.random.default_rng(0)
    observations = rng.normal([3.0, -1.0, 0.0], [2.0, 0.5, 1e-3], size=(301, 3))
    normaliser = ObservationNormaliser((3,), clip=5.0)
    for row in observations[:200]:  # one env: one observation per step
        normaliser.update(row[None])
    normaliser.update(observations[200:])  # and a batch
    assert normaliser.count == 301
    np.testing.assert_allclose(normaliser.mean, observations.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(normaliser.var, observations.var(axis=0), rtol=1e-9)
    far = np.array([[3.0 + 100.0, -1.0, 0.0]])  # 50 standard deviations out: clipped at 5
    expected = np.clip((far - observations.mean(axis=0)) / np.sqrt(observations.var(axis=0) + 1e-8), -5.0, 5.0)
    np.testing.assert_allclose(normaliser(far), expected.astype(np.float32), rtol=1e-6)
    assert normaliser(far)[0, 0] == 5.0 and normaliser(far).dtype == np.float32
    restored = ObservationNormaliser((3,), clip=5.0)
    restored.load_state_dict(normaliser.state_dict())
    assert np.array_equal(restored(far), normaliser(far))  # the standardisation is restored with the statistics
