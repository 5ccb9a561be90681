"""The recurrent SAC-Lagrangian (``sac_lag_rnn``): GRU states carried and reset, the sequence replay's masks, the
cost Q target, the multiplier, weights-only checkpoints, and learning on a memory task."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from memory_env import HiddenHazardSideEnv, assert_memory_resets_at_an_episode_start

import safexp
from safexp.plugin import ParameterError, build_params, get_registry
from safexp_sb3.hyperparameters import MultiplierOverrides
from safexp_sb3.learner import SB3Learner
from safexp_sb3.rnn_hyperparameters import SACLagRNNParams
from safexp_sb3.checkpoints import space_from_state, space_state
from safexp_sb3.sac_lag_rnn import (RecurrentAgent, RecurrentSACLagrangian, SequenceReplayBuffer,
                                    _space_state_with_kinds)

SMALL = dict(vector_net_arch=[16], gru_hidden=8, head_net_arch=[16], batch_size=4, sequence_length=4,
             buffer_size=200)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: these small networks, one thread


def feedback_env(episode_length: int = 3) -> safexp.FeedbackObservation:
    return safexp.FeedbackObservation(HiddenHazardSideEnv(episode_length))


def small_learner(episode_length: int = 3, **overrides) -> RecurrentSACLagrangian:
    return RecurrentSACLagrangian(feedback_env(episode_length), SACLagRNNParams(**{**SMALL, **overrides}), seed=0)


def assert_stored_states_follow_the_agent(model: RecurrentSACLagrangian, rows: range) -> None:
    """Each stored row's GRU state is zero at an episode's first row and the agent's step from the row before
    within an episode (the final-observation row included)."""
    buffer, agent = model.replay_buffer, model.agent
    for row in rows:
        hidden = th.as_tensor(buffer.hidden[0, row])
        if row == rows[0] or buffer.episodes[0, row] != buffer.episodes[0, row - 1]:
            assert th.count_nonzero(hidden) == 0, f"row {row} starts an episode with a non-zero GRU state"
            continue
        previous = {name: th.as_tensor(value[0, row - 1])[None] for name, value in buffer.observations.items()}
        expected = agent.step(previous, th.as_tensor(buffer.hidden[0, row - 1])[None])[0]
        th.testing.assert_close(hidden, expected.detach(), msg=f"row {row} does not carry the GRU state")


def test_hidden_states_are_carried_across_steps_and_reset_at_episode_boundaries():
    model = small_learner(learning_starts=1000)
    model.learn(7)  # episodes of 3 steps: rows 0-2 steps, 3 final, 4-6 steps, 7 final, 8 step
    buffer = model.replay_buffer
    assert buffer.rows_written[0] == 9
    assert buffer.has_action[0, :9].tolist() == [True, True, True, False, True, True, True, False, True]
    assert buffer.episodes[0, :9].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert th.count_nonzero(th.as_tensor(buffer.hidden[0, 1])) > 0  # the carried state is not trivially zero
    assert_stored_states_follow_the_agent(model, range(9))
    assert th.count_nonzero(model.actor_hidden) > 0  # mid-episode after step 7

    obs = np.asarray(feedback_env().reset(seed=0)[0])
    first, state_1 = model.predict(obs, deterministic=True)
    second, state_2 = model.predict(obs, deterministic=True)
    assert not np.allclose(state_1, state_2)  # the state is carried from call to call
    expected = model.agent.step({"obs": th.as_tensor(obs)[None]}, th.as_tensor(state_1)).detach().numpy()
    np.testing.assert_allclose(state_2, expected, rtol=1e-6)
    restarted, state_3 = model.predict(obs, episode_start=np.array([True]), deterministic=True)
    np.testing.assert_array_equal(restarted, first)
    np.testing.assert_array_equal(state_3, state_1)
    model.reset_hidden_state()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[1], state_1)
    batch_actions, batch_states = model.predict(np.stack([obs, obs]), state=np.stack([state_1[0], state_1[0]]))
    assert batch_actions.shape == (2, 1) and np.allclose(batch_states[0], state_2[0], rtol=1e-6)


def test_sequences_never_cross_an_episode_boundary_unmasked():
    buffer = SequenceReplayBuffer(HiddenHazardSideEnv().observation_space, 1, 1, 2, capacity=20, n_envs=1)
    counter = 0
    for episode, length in enumerate([3, 5, 2, 6, 4, 7]):  # 27 steps + 6 final rows: the ring wraps
        for _ in range(length):
            buffer.add(0, {"obs": np.array([counter])}, np.zeros(2), episode, np.array([0.0]), 1.0, [0.0])
            counter += 1
        buffer.add(0, {"obs": np.array([counter])}, np.zeros(2), episode)  # the final observation
        counter += 1
    starts = np.arange(20)
    batch = buffer.sequences(np.zeros(20, dtype=np.int64), starts, 5, th.device("cpu"))
    obs = batch.observations["obs"][..., 0].numpy()
    mask = batch.mask[..., 0].numpy().astype(bool)
    oldest = counter - 20
    episode_of = {}  # row counter -> episode
    counter = 0
    for episode, length in enumerate([3, 5, 2, 6, 4, 7]):
        for _ in range(length + 1):
            episode_of[counter] = episode
            counter += 1
    crossing = 0
    for start, (row_obs, row_mask) in enumerate(zip(obs, mask)):
        assert row_obs[0] == oldest + start
        first_episode = episode_of[oldest + start]
        for t, used in enumerate(row_mask):
            step, following = oldest + start + t, oldest + start + t + 1
            allowed = (following < counter and episode_of.get(step) == first_episode
                       and episode_of.get(following) == first_episode)
            assert used == allowed, f"sequence {start}, transition {t}"
            if used:
                assert row_obs[t + 1] == row_obs[t] + 1  # the true next observation
        crossing += not row_mask.all()
    assert crossing >= 10  # the case the mask exists for did occur
    assert not mask[-1].any()  # a sequence starting at the newest row has no stored next row


def test_cost_q_target_matches_a_hand_computed_three_step_sequence():
    model = small_learner(sequence_length=3, cost_gamma=0.9, gamma=0.5, ent_coef=0.0)
    head = model.target.cost_q[-1]  # the target's cost head outputs Q'_c = 2 everywhere
    reward_heads = [q[-1] for q in model.target.reward_q]
    with th.no_grad():
        for layer, value in [(head, 2.0), *((h, 1.0) for h in reward_heads)]:
            layer.weight.zero_()
            layer.bias.fill_(value)
    buffer = model.replay_buffer
    obs = {"obs": np.zeros(3)}
    for step, (cost, terminated) in enumerate([(1.0, False), (0.0, False), (1.0, True)]):
        buffer.add(0, obs, np.zeros(8), 0, np.array([0.5]), 1.0, [cost], terminated)
    buffer.add(0, obs, np.zeros(8), 0)
    batch = buffer.sequences(np.array([0]), np.array([0]), 3, model.device)
    states = model.agent.unroll(batch.observations, batch.hidden)
    reward_target, cost_target = model.targets(batch, states)
    # y_c = c + γ_c (1 − d) Q'_c: 1 + 0.9·2, 0 + 0.9·2, 1 + 0 (terminated)
    np.testing.assert_allclose(cost_target[0, :, 0].numpy(), [2.8, 1.8, 1.0], rtol=1e-6)
    # y = r + γ (1 − d) min Q' (α = 0): 1 + 0.5·1, twice, then 1
    np.testing.assert_allclose(reward_target[0, :, 0].numpy(), [1.5, 1.5, 1.0], rtol=1e-6)
    assert batch.mask[0, :, 0].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(("cost_q", "direction"), [(10.0, 1), (0.0, -1)])
def test_the_multiplier_rises_while_the_predicted_cost_exceeds_the_limit_and_falls_below_it(cost_q, direction):
    model = small_learner(learning_starts=100, multiplier="sgd", learning_rate=1e-12,  # Q_c stays as set below
                          multiplier_settings=MultiplierOverrides(init=1.0, lr=10.0))
    model.learn(12)  # collects only
    with th.no_grad():
        model.agent.cost_q[-1].weight.zero_()
        model.agent.cost_q[-1].bias.fill_(cost_q)
    before = model.lagrange_multipliers[0]
    assert before == 1.0
    model.train(3)
    # sgd: λ += lr·((1 − γ_c)·Q_c − c) per step: 10·(0.01·10 − 0.01) = +0.9, or 10·(0 − 0.01) = −0.1
    assert model.lagrange_multipliers[0] == pytest.approx(before + 3 * (0.9 if direction > 0 else -0.1), rel=1e-5)
    logged = model.logger.name_to_value  # the multipliers' own record: the per-step estimate and the violation
    assert logged["train/cost_rate_estimate"] == pytest.approx(0.1 if direction > 0 else 0.0, abs=1e-6)
    assert logged["train/cost_violation"] == pytest.approx(0.09 if direction > 0 else -0.01, abs=1e-6)
    assert logged["train/lagrange_multiplier"] == model.lagrange_multipliers[0]


def test_the_episode_cost_multiplier_steps_from_finished_episodes_per_step_cost():
    model = small_learner(learning_starts=0, multiplier_source="episode_cost", multiplier="sgd",
                          multiplier_settings=MultiplierOverrides(init=1.0, lr=1.0))
    model.learn(6)  # two 3-step episodes, each stepping λ by (its cost per step − 0.01)
    assert model.lagrange_multipliers[0] == pytest.approx(1.0 + sum(c / 3 - 0.01 for c in model.finished_costs))


def test_save_load_continue_keeps_hidden_state_handling_multiplier_and_weights(tmp_path):
    model = small_learner(learning_starts=5, multiplier_settings=MultiplierOverrides(lr=0.05, init=1.0))
    model.learn(20)
    obs = np.asarray(feedback_env().reset(seed=0)[0])
    model.predict(obs)
    path, buffer_path = tmp_path / "model.pt", tmp_path / "replay.pt"
    model.save(str(path))
    model.save_replay_buffer(str(buffer_path))
    checkpoint = th.load(path, weights_only=True)  # tensors, state dicts and plain values only
    assert checkpoint["num_timesteps"] == 20

    restored = RecurrentSACLagrangian.load(str(path), env=feedback_env())
    restored.load_replay_buffer(str(buffer_path))
    assert restored.lagrange_multipliers == model.lagrange_multipliers
    assert [m.state_dict() for m in restored.constraints.multipliers] == [m.state_dict() for m in model.constraints.multipliers]
    for saved, loaded in zip(model.agent.state_dict().values(), restored.agent.state_dict().values()):
        th.testing.assert_close(saved, loaded)
    np.testing.assert_array_equal(restored.predict(obs, deterministic=True)[1],
                                  model.predict(obs, deterministic=True)[1])  # the carried predict state
    old_episodes = set(model.replay_buffer.episodes[0, :model.replay_buffer.stored_rows(0)].tolist())
    restored.params = replace(restored.params, learning_starts=10**6)  # collect only: the weights stay as stored
    restored.learn(9, reset_num_timesteps=False)
    assert restored.num_timesteps == 29
    buffer = restored.replay_buffer
    new_rows = range(buffer.stored_rows(0) - 12, buffer.stored_rows(0))  # 9 steps and 3 final rows
    assert not old_episodes & set(buffer.episodes[0, list(new_rows)].tolist())  # a fresh episode after the reset
    assert_stored_states_follow_the_agent(restored, new_rows)
    saved_multiplier = model.constraints.multipliers[0].state_dict()
    restored.train(1)
    assert saved_multiplier["adam_t"] > 0
    assert restored.constraints.multipliers[0].state_dict()["adam_t"] == saved_multiplier["adam_t"] + 1  # on from the saved state

    actor = RecurrentSACLagrangian.load(str(path))  # no env: to act, with the saved spaces
    start = np.array([True])
    np.testing.assert_array_equal(actor.predict(obs, episode_start=start, deterministic=True)[0],
                                  model.predict(obs, episode_start=start, deterministic=True)[0])


def test_a_checkpoint_saved_with_the_multipliers_as_a_list_still_loads(tmp_path):
    model = small_learner(learning_starts=5, multiplier_settings=MultiplierOverrides(lr=0.05, init=1.0))
    model.learn(12)
    path = tmp_path / "model.pt"
    model.save(str(path))
    checkpoint = th.load(path, weights_only=True)
    checkpoint["multipliers"] = checkpoint["multipliers"]["multipliers"]  # the layout before ConstraintMultipliers
    th.save(checkpoint, path)
    restored = RecurrentSACLagrangian.load(str(path), env=feedback_env())
    assert restored.lagrange_multipliers == model.lagrange_multipliers != [1.0]
    assert [m.state_dict() for m in restored.constraints.multipliers] == [m.state_dict() for m in model.constraints.multipliers]
    assert restored.constraints.last_estimate is None


def earlier_layout(state: dict) -> dict:
    """A space as this learner's checkpoints held it before the shared layout: no ``kind``, a Dict as ``dict``."""
    if state["kind"] == "Dict":
        return {"dict": {name: earlier_layout(entry) for name, entry in state["spaces"].items()}}
    return {key: value for key, value in state.items() if key != "kind"}


def test_a_checkpoint_with_the_earlier_space_layout_loads_and_bad_hyperparameters_are_named(tmp_path):
    model = small_learner(learning_starts=5)
    path = tmp_path / "model.pt"
    model.save(str(path))
    checkpoint = th.load(path, weights_only=True)
    for key in ("observation_space", "action_space"):
        checkpoint[key] = earlier_layout(checkpoint[key])
    th.save(checkpoint, path)
    restored = RecurrentSACLagrangian.load(str(path), env=feedback_env())
    assert restored.observation_space == model.observation_space and restored.action_space == model.action_space
    images = gym.spaces.Dict({"depth": gym.spaces.Box(0.0, 3.0, (50, 50, 1)), "robot": gym.spaces.Box(-1.0, 1.0, (4,))})
    assert space_from_state(_space_state_with_kinds(earlier_layout(space_state(images)))) == images
    checkpoint["params"]["gamma"] = 1.5
    th.save(checkpoint, path)
    with pytest.raises(ParameterError, match=rf"parameter 'gamma' of the checkpoint {path} .*1\.5"):
        RecurrentSACLagrangian.load(str(path), env=feedback_env())


def test_the_same_seed_gives_the_same_learner():
    runs = []
    for _ in range(2):
        model = small_learner(learning_starts=6)
        model.learn(15)
        runs.append((model.replay_buffer.actions.copy(), model.agent.state_dict(), model.lagrange_multipliers))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for first, second in zip(runs[0][1].values(), runs[1][1].values()):
        th.testing.assert_close(first, second, rtol=0, atol=0)
    assert runs[0][2] == runs[1][2]


def test_the_actor_step_differentiates_through_the_q_heads_without_training_them(monkeypatch):
    """The Q heads' weights are frozen while the actor's loss is built: the learner ends with the very weights of
    one that is not frozen (the actor's gradient reaches its actions only), and every parameter trains again."""
    trained = []
    for frozen in (True, False):
        if not frozen:
            monkeypatch.setattr(RecurrentAgent, "q_heads_frozen", lambda self: contextlib.nullcontext())
        model = small_learner(learning_starts=6)
        model.learn(15)
        assert all(param.requires_grad for param in model.agent.parameters())
        trained.append(model.agent.state_dict())
    for name, weights in trained[0].items():
        th.testing.assert_close(weights, trained[1][name], rtol=0, atol=0, msg=name)


def test_registered_learner_trains_saves_and_reloads_behind_the_learner_contract(tmp_path):
    spec = get_registry().get("algorithms", "sac_lag_rnn")
    params = build_params(spec, {**SMALL, "learning_starts": 4, "cost_limit": 0.2})
    step_costs: list[float] = []  # every cost the envs report, as the runner's progress and summary must see them

    def counted_env() -> safexp.FeedbackObservation:
        env = feedback_env()
        original_step = env.step

        def step(action):
            result = original_step(action)
            step_costs.append(result[4]["cost"])
            return result

        env.step = step
        return env

    learner = SB3Learner.create(spec, params, counted_env, n_envs=2, vec_env="dummy", seed=3, device="cpu")
    learner.learn(16, callbacks=[])
    assert learner.num_timesteps == 16 and learner.has_replay_buffer
    assert set(learner.multipliers()) == {"cost"}
    episodes = learner.recent_episodes()
    assert len(episodes) == 4  # two 3-step episodes per env (16 steps = 8 per env)
    assert len(step_costs) == 16 and sum(step_costs) > 0
    assert learner.cost_rate() == pytest.approx(sum(step_costs) / 16)
    assert all(cost in (0.0, 1.0, 2.0, 3.0) for _, cost in episodes) and sum(cost for _, cost in episodes) > 0
    with open(tmp_path / "model.pt", "wb") as file:
        learner.save(file)
    assert_memory_resets_at_an_episode_start(SB3Learner.load(spec, str(tmp_path / "model.pt")), feedback_env())
    learner.close()


def test_vision_observations_go_through_the_nature_cnn_and_the_sequence_replay():
    import gymnasium
    env = gymnasium.make("safexp/PointGoal1-v0", vision={"mode": "depth", "size": [40, 40]}, max_episode_steps=5)
    model = RecurrentSACLagrangian(safexp.FeedbackObservation(env), SACLagRNNParams(
        **{**SMALL, "cnn_embedding": 8, "batch_size": 2, "sequence_length": 2, "learning_starts": 3}), seed=0)
    encoder = model.agent.encoder
    assert set(encoder.cnns) == {"depth"} and sorted(encoder.vector_keys) == ["feedback", "vector"]
    model.learn(6)
    depth = model.replay_buffer.observations["depth"]
    assert depth.dtype == np.float32 and depth.shape[2:] == (40, 40, 1) and depth[0, :7].max() > 0
    assert model._n_updates == 4  # after steps 3, 4, 5 and 6
    model.env.close()


def test_bad_settings_and_observations_are_refused_with_the_valid_choices():
    with pytest.raises(ParameterError, match="unknown multiplier_source 'q_cots'; .*q_cost"):
        small_learner(multiplier_source="q_cots")
    with pytest.raises(ParameterError, match="at least 36×36 pixels, got 20×20"):
        from gymnasium.spaces import Box, Dict
        from safexp_sb3.sac_lag_rnn import ObservationEncoder
        ObservationEncoder(Dict({"depth": Box(0, 10, (20, 20, 1), np.float32)}), 8, [4])
    spec = get_registry().get("algorithms", "sac_lag_rnn")
    with pytest.raises(ParameterError, match="sequence_length"):
        build_params(spec, {"sequence_length": 0})


def test_each_gradient_step_uses_the_multiplier_the_step_before_left():
    """λ and θ alternate (Algorithm 1): two gradient steps in one training phase equal two phases of one step."""
    learners = []
    for _ in range(2):
        model = small_learner(learning_starts=10_000)
        model.learn(40)  # collection only: the same replay buffer in both
        learners.append(model)
    together, apart = learners
    th.manual_seed(7)
    np.random.seed(7)
    together.train(2)
    th.manual_seed(7)
    np.random.seed(7)
    apart.train(1)
    lambda_between = apart.lagrange_multipliers
    apart.train(1)
    assert lambda_between != small_learner().lagrange_multipliers  # λ moved after the first step
    for key, value in together.agent.state_dict().items():
        th.testing.assert_close(value, apart.agent.state_dict()[key], rtol=0, atol=0, msg=key)
    assert together.lagrange_multipliers == apart.lagrange_multipliers


def test_a_checkpoint_loads_with_the_device_auto(tmp_path):
    model = small_learner(learning_starts=10_000)
    model.learn(5)
    model.save(tmp_path / "model.pt")
    loaded = RecurrentSACLagrangian.load(str(tmp_path / "model.pt"), device="auto")
    assert loaded.num_timesteps == 5 and loaded.lagrange_multipliers == model.lagrange_multipliers
