"""The recurrent PPO-Lagrangian (``ppo_lag_rnn``): LSTM states carried and reset in collection and in ``predict``,
the cost GAE on the recurrent buffer, the multiplier's step and the penalised advantage, checkpoints, determinism,
the learner contract, and ``Dict`` (vision) observations."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from memory_env import HiddenHazardSideEnv, assert_memory_resets_at_an_episode_start
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import safexp
from safexp.plugin import ParameterError, build_params, get_registry
from safexp_sb3.learner import SB3Learner
from safexp_sb3.ppo_lag_rnn import RecurrentPPOLagrangian
from safexp_sb3.recurrent_rollouts import RecurrentCostDictRolloutBuffer, critic_lstm_output

SMALL = {"n_steps": 8, "batch_size": 8, "n_epochs": 1, "net_arch": [8], "lstm_hidden_size": 8,
         "cost_head_net_arch": [8], "cost_limit": 1.0, "target_kl": None}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: these small networks, one thread


def feedback_env(episode_length: int = 3) -> safexp.FeedbackObservation:
    return safexp.FeedbackObservation(HiddenHazardSideEnv(episode_length))


def build(env: Any, seed: int = 0, **overrides: Any) -> RecurrentPPOLagrangian:
    """A learner built the way ``safexp train`` builds one: registry record, validated params, factory."""
    spec = get_registry().get("algorithms", "ppo_lag_rnn")
    return spec.factory(env, build_params(spec, {**SMALL, **overrides}), seed=seed)


def memory_learner(episode_length: int = 3, n_envs: int = 1, seed: int = 0, **overrides: Any) -> RecurrentPPOLagrangian:
    return build(make_vec_env(lambda: feedback_env(episode_length), n_envs=n_envs, seed=seed), seed, **overrides)


class AtRolloutEnd(BaseCallback):
    """Copies the rollout buffer's arrays when a rollout is complete (before the update flattens them), after
    applying ``edit`` to the learner (``None``: no change), and calls ``check(learner, arrays)`` then (before the
    update changes the networks that filled the rollout)."""

    FIELDS = ("observations", "actions", "log_probs", "episode_starts", "hidden_states_pi", "cell_states_pi",
              "hidden_states_vf", "cell_states_vf", "costs", "cost_values", "cost_advantages", "cost_returns")

    def __init__(self, edit: Any = None, check: Any = None) -> None:
        super().__init__()
        self.edit, self.check = edit, check
        self.seen: list[dict[str, np.ndarray]] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.edit is not None:
            self.edit(self.model)
        buffer = self.model.rollout_buffer
        self.seen.append({name: getattr(buffer, name).copy() for name in self.FIELDS})
        if self.check is not None:
            self.check(self.model, self.seen[-1])


def assert_states_follow_the_lstms(model: RecurrentPPOLagrangian, rollout: dict[str, np.ndarray]) -> None:
    """Env 0's stored states: each step's is what the actor (and critic) LSTM made of the step before, its action's
    log-probability and cost value are those of the stored state, and at an episode start the policy acts as from
    zero states (the carried one is reset)."""
    policy = model.policy
    n_steps = rollout["actions"].shape[0]
    for t in range(n_steps):
        obs = th.as_tensor(rollout["observations"][t, :1])
        start = th.as_tensor(rollout["episode_starts"][t, :1], dtype=th.float32)
        pi = (th.as_tensor(rollout["hidden_states_pi"][t, :, :1]), th.as_tensor(rollout["cell_states_pi"][t, :, :1]))
        vf = (th.as_tensor(rollout["hidden_states_vf"][t, :, :1]), th.as_tensor(rollout["cell_states_vf"][t, :, :1]))
        with th.no_grad():
            distribution, pi_after = policy.get_distribution(obs, pi, start)
            critic_out, vf_after = critic_lstm_output(policy, obs, vf, start)
            np.testing.assert_allclose(distribution.log_prob(th.as_tensor(rollout["actions"][t, :1])).numpy(),
                                       rollout["log_probs"][t, :1], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(model.cost_head(critic_out).numpy(), rollout["cost_values"][t, :1], rtol=1e-5,
                                       atol=1e-6)
            if start.item():
                assert th.count_nonzero(pi[0]) > 0 or t == 0  # a carried state, reset by the episode start
                zeros = tuple(th.zeros_like(s) for s in pi)
                th.testing.assert_close(policy.get_distribution(obs, zeros, th.zeros(1))[1], pi_after)
        if t + 1 < n_steps:
            np.testing.assert_allclose(rollout["hidden_states_pi"][t + 1, :, :1], pi_after[0].numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(rollout["cell_states_pi"][t + 1, :, :1], pi_after[1].numpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(rollout["hidden_states_vf"][t + 1, :, :1], vf_after[0].numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_states_are_carried_across_steps_and_reset_at_episode_starts_in_collection():
    model = memory_learner(episode_length=3)
    seen = AtRolloutEnd(check=assert_states_follow_the_lstms)
    model.learn(16, callback=seen)  # two rollouts of 8 steps: episodes start at steps 0, 3, 6, 9, 12, 15
    second = seen.seen[1]
    assert second["episode_starts"][:, 0].tolist() == [0, 1, 0, 0, 1, 0, 0, 1]  # steps 8..15
    assert th.count_nonzero(th.as_tensor(second["hidden_states_pi"][0])) > 0  # carried over from the first rollout


def test_predict_carries_the_lstm_state_and_resets_it_at_an_episode_start():
    model = memory_learner()
    obs = np.asarray(feedback_env().reset(seed=0)[0])
    first, state_1 = model.predict(obs, deterministic=True)
    second, state_2 = model.predict(obs, deterministic=True)
    assert not np.allclose(state_1[0], state_2[0])  # the state is carried from call to call
    with th.no_grad():
        expected = model.policy.get_distribution(th.as_tensor(obs)[None], tuple(th.as_tensor(s) for s in state_1),
                                                 th.zeros(1))[1]
    np.testing.assert_allclose(state_2[0], expected[0].numpy(), rtol=1e-6)
    restarted, state_3 = model.predict(obs, episode_start=np.array([True]), deterministic=True)
    np.testing.assert_array_equal(restarted, first)
    np.testing.assert_array_equal(state_3[0], state_1[0])
    model.reset_lstm_state()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[1][0], state_1[0])
    given = model.predict(obs, state=state_1, deterministic=True)[1]  # an explicit state wins over the carried one
    np.testing.assert_allclose(given[0], state_2[0], rtol=1e-6)
    batch_actions, batch_state = model.predict(np.stack([obs, obs]), deterministic=True)  # two envs: fresh states
    assert batch_actions.shape == (2, 1) and batch_state[0].shape == (1, 2, 8)
    np.testing.assert_array_equal(batch_state[0][:, 0], state_1[0][:, 0])


class ScriptedCostEnv(gym.Env):
    """Observation ``[0]``; the i-th step of the env's life costs ``COSTS[i]`` and ends as ``ENDS[i]`` says:
    ``terminated``, ``truncated`` or ``None`` (the episode goes on)."""

    COSTS = (1.0, 2.0, 3.0, 0.0)
    ENDS = ("terminated", "truncated", None, None)

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.step_index = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        i = self.step_index % len(self.COSTS)
        self.step_index += 1
        end = self.ENDS[i]
        return np.zeros(1, dtype=np.float32), 0.0, end == "terminated", end == "truncated", {"cost": self.COSTS[i]}


def test_cost_gae_on_the_recurrent_buffer_matches_hand_values_for_terminal_truncated_and_ongoing_steps():
    model = build(make_vec_env(ScriptedCostEnv, n_envs=1, seed=0), n_steps=4, batch_size=4, cost_gamma=0.9,
                  cost_gae_lambda=0.5)
    with th.no_grad():  # V_c = 2 everywhere
        model.cost_head.net[-1].weight.zero_()
        model.cost_head.net[-1].bias.fill_(2.0)
    seen = AtRolloutEnd()
    model.learn(4, callback=seen)
    rollout = seen.seen[0]
    # the truncation bootstraps γ_c·V_c(s_T) = 1.8 into its cost; the termination adds nothing
    np.testing.assert_allclose(rollout["costs"][:, 0, 0], [1.0, 3.8, 3.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(rollout["cost_values"][:, 0, 0], [2.0, 2.0, 2.0, 2.0], rtol=1e-6)
    # δ_3 = 0 + 0.9·2 − 2 = −0.2 (ongoing: bootstraps the last value);  A_2 = (3 + 1.8 − 2) + 0.9·0.5·A_3 = 2.71
    # A_1 = 3.8 − 2 = 1.8 (its episode ended: no next value);  A_0 = 1 − 2 = −1 (terminated)
    np.testing.assert_allclose(rollout["cost_advantages"][:, 0, 0], [-1.0, 1.8, 2.71, -0.2], rtol=1e-5)
    np.testing.assert_allclose(rollout["cost_returns"][:, 0, 0], [1.0, 3.8, 4.71, 1.8], rtol=1e-5)


class CostPerStepEnv(gym.Env):
    """Episodes of two steps, each costing 1 (episode cost 2); observation ``[0]``, reward the action."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.steps = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.steps += 1
        return np.zeros(1, dtype=np.float32), float(np.asarray(action).reshape(-1)[0]), self.steps == 2, False, {"cost": 1.0}


REWARD_ADVANTAGES = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
COST_ADVANTAGES = np.array([[[1.0]], [[1.0]], [[3.0]], [[3.0]]], dtype=np.float32)


def fixed_advantages(model: RecurrentPPOLagrangian) -> None:
    model.rollout_buffer.advantages[...] = REWARD_ADVANTAGES
    model.rollout_buffer.cost_advantages[...] = COST_ADVANTAGES


@pytest.mark.parametrize(("cost_limit", "expected_lambda", "expected_advantages"),
                         [(1.0, 1.5, [1.0, 1.4, 0.6, 1.0]), (3.0, 0.5, [1.0, 5 / 3, 5 / 3, 7 / 3])])
def test_the_multiplier_steps_on_the_violation_before_the_penalised_advantage_is_formed(cost_limit, expected_lambda,
                                                                                      expected_advantages):
    """Episode cost 2: λ moves lr·(J_c − d) = ±0.5 from 1 (sgd), up above the limit and down below it, and the
    policy step already uses the new λ: A = (A_r − λ·(A_c − mean A_c)) / (1 + λ) with A_r = [1, 2, 3, 4] (not
    standardised) and A_c = [1, 1, 3, 3] (centred: [−1, −1, 1, 1]); e.g. λ = 1.5: [2.5, 3.5, 1.5, 2.5] / 2.5."""
    model = build(make_vec_env(CostPerStepEnv, n_envs=1, seed=0), n_steps=4, batch_size=4, cost_limit=cost_limit,
                  normalize_advantage=False, multiplier="sgd", multiplier_settings={"init": 1.0, "lr": 0.5})
    model.learn(4, callback=AtRolloutEnd(edit=fixed_advantages))
    assert model.lagrange_multipliers == [pytest.approx(expected_lambda)]
    np.testing.assert_allclose(model.rollout_buffer.advantages.flatten(), expected_advantages, rtol=1e-6)


def test_save_load_continue_keeps_the_multiplier_weights_and_lstm_state_handling(tmp_path):
    model = memory_learner(multiplier="sgd", multiplier_settings={"init": 1.0, "lr": 0.05})
    model.learn(16)
    obs = np.asarray(feedback_env().reset(seed=0)[0])
    path = tmp_path / "model.pt"
    model.save(str(path))
    checkpoint = th.load(path, weights_only=True)  # tensors, state dicts and plain values only
    assert checkpoint["counters"]["num_timesteps"] == 16

    spec = get_registry().get("algorithms", "ppo_lag_rnn")
    restored = spec.load(str(path), env=make_vec_env(feedback_env, n_envs=1, seed=5))
    assert restored.lagrange_multipliers == model.lagrange_multipliers != [1.0]
    for group in ("policy", "cost_head"):
        for saved, loaded in zip(getattr(model, group).state_dict().values(),
                                 getattr(restored, group).state_dict().values(), strict=True):
            th.testing.assert_close(saved, loaded, rtol=0, atol=0)
    start = np.array([True])
    for _ in range(2):  # the same carried states, from the same episode start
        np.testing.assert_array_equal(restored.predict(obs, episode_start=start, deterministic=True)[1][0],
                                      model.predict(obs, episode_start=start, deterministic=True)[1][0])
        start = np.array([False])

    saved_lambda = restored.lagrange_multipliers[0]
    finished: list[float] = []

    def check(learner: RecurrentPPOLagrangian, rollout: dict[str, np.ndarray]) -> None:
        assert_states_follow_the_lstms(learner, rollout)
        finished.extend(cost[0] for cost in learner.cost_monitor.finished)  # the episodes this rollout's J_c averages

    seen = AtRolloutEnd(check=check)
    restored.learn(8, callback=seen, reset_num_timesteps=False)
    assert restored.num_timesteps == 24
    assert seen.seen[0]["episode_starts"][0, 0] == 1  # a fresh episode after loading
    assert len(finished) == 2  # two 3-step episodes in 8 steps
    # sgd from the saved λ: λ ← max(0, λ + lr·(J_c − d)), d = 1
    assert restored.lagrange_multipliers[0] == pytest.approx(max(0.0, saved_lambda + 0.05 * (np.mean(finished) - 1.0)))

    actor = spec.load(str(path))  # no env: to act, with the saved spaces
    np.testing.assert_array_equal(actor.predict(obs, episode_start=np.array([True]), deterministic=True)[0],
                                  model.predict(obs, episode_start=np.array([True]), deterministic=True)[0])


def test_the_same_seed_gives_the_same_learner():
    runs = []
    for _ in range(2):
        model = memory_learner(n_envs=2, seed=4)
        seen = AtRolloutEnd()
        model.learn(32, callback=seen)
        runs.append((seen.seen[-1]["actions"], model.policy.state_dict(), model.cost_head.state_dict(),
                     model.lagrange_multipliers))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for group in (1, 2):
        for first, again in zip(runs[0][group].values(), runs[1][group].values(), strict=True):
            th.testing.assert_close(first, again, rtol=0, atol=0)
    assert runs[0][3] == runs[1][3]


def test_registered_learner_trains_saves_and_reloads_behind_the_learner_contract(tmp_path):
    spec = get_registry().get("algorithms", "ppo_lag_rnn")
    learner = SB3Learner.create(spec, build_params(spec, SMALL), feedback_env, n_envs=2, vec_env="dummy", seed=3,
                                device="cpu")
    learner.learn(32, callbacks=[])
    assert learner.num_timesteps == 32 and learner.steps_per_collection == 16 and not learner.has_replay_buffer
    assert set(learner.multipliers()) == {"cost"}
    assert len(learner.recent_episodes()) == 10  # 16 steps per env: five 3-step episodes each
    assert 0.0 <= learner.cost_rate() <= 1.0
    with open(tmp_path / "model.pt", "wb") as file:
        learner.save(file)
    assert_memory_resets_at_an_episode_start(SB3Learner.load(spec, str(tmp_path / "model.pt")), feedback_env())
    learner.close()


def test_costs_are_logged_once_under_the_shared_tags(tmp_path):
    import csv

    from stable_baselines3.common.logger import configure

    model = memory_learner(episode_length=4)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(16)  # two rollouts of 8 steps: two 4-step episodes each
    with open(tmp_path / "progress.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2
    tags = {tag for tag in rows[0] if tag.startswith("rollout/") and "cost" in tag}
    assert tags == {"rollout/ep_cost_mean", "rollout/cost_rate"}
    last = rows[-1]
    costs = model.cost_monitor.recent_episodes()
    assert len(costs) == 4
    assert float(last["rollout/ep_cost_mean"]) == pytest.approx(np.mean([cost for _, cost in costs]))
    assert float(last["rollout/cost_rate"]) == pytest.approx(sum(cost for _, cost in costs) / 16)
    assert float(last["train/lagrange_multiplier"]) > 0.0  # the first update's, written with the second rollout
    assert float(last["train/cost_value_loss"]) >= 0.0


def vision_env() -> safexp.FeedbackObservation:
    env = gym.make("safexp/PointGoal1-v0", vision={"mode": "rgb", "size": [36, 36]}, max_episode_steps=5)
    return safexp.FeedbackObservation(env)


def test_dict_vision_observations_go_through_the_cnn_train_and_reload(tmp_path):
    model = build(make_vec_env(vision_env, n_envs=1, seed=0), n_steps=4, batch_size=4, cost_limit=25.0)
    assert isinstance(model.rollout_buffer, RecurrentCostDictRolloutBuffer)
    assert sorted(model.observation_space.spaces) == ["feedback", "rgb", "vector"]
    assert type(model.policy.features_extractor.extractors["rgb"]).__name__ == "NatureCNN"
    model.learn(8)
    assert model._n_updates == 2 and model.num_timesteps == 8
    model.save(str(tmp_path / "model.pt"))
    spec = get_registry().get("algorithms", "ppo_lag_rnn")
    again = spec.load(str(tmp_path / "model.pt"), env=make_vec_env(vision_env, n_envs=1, seed=1))  # channel-last env
    actor = spec.load(str(tmp_path / "model.pt"))
    obs = model.env.reset()
    start = np.array([True])
    expected = model.predict(obs, episode_start=start, deterministic=True)[0]
    for loaded in (again, actor):
        np.testing.assert_array_equal(loaded.predict(obs, episode_start=start, deterministic=True)[0], expected)
    again.env.close()
    model.env.close()


def test_bad_settings_are_refused_with_the_valid_range():
    spec = get_registry().get("algorithms", "ppo_lag_rnn")
    with pytest.raises(ParameterError, match="lstm_hidden_size"):
        build_params(spec, {"lstm_hidden_size": 0})
    with pytest.raises(ParameterError, match="cost_gae_lambda"):
        build_params(spec, {"cost_gae_lambda": 1.5})
