"""The actor–learner mode on Ray (``actors.num`` > 0, :mod:`safexp_sb3.actor_learner`), on one local Ray of two
CPUs shared by the tests: the actors get the learner's weights, their transitions fill one ring per actor × env
(sequences never crossing an episode boundary unmasked), one actor is deterministic, bad ``actors`` keys are
refused, and a ``safexp train`` killed with SIGKILL resumes to its full step count.

The env is ``tiny.yaml``'s hazard start (every step costs 1), so counting every step once gives a cost rate of 1.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from safexp.plugin import ParameterError, get_registry
from safexp_experiments.config import load_config
from safexp_experiments.envs import make_env
from safexp_experiments.runs import RunDir
from safexp_experiments.training import LIFETIME_COST_FILE, read_lifetime_cost, resume
from safexp_sb3.actor_learner import ActorLayout, RayActorLearner

ray = pytest.importorskip("ray")

CONFIGS = Path(__file__).parent / "experiment_configs"
ACTORS = CONFIGS / "experiment" / "tiny_actors.yaml"


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for the module; yields its address (for a ``safexp train`` subprocess to join)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def actor_learner(layout: ActorLayout, seed: int = 0, overrides: tuple[str, ...] = ()) -> RayActorLearner:
    cfg = load_config(ACTORS, overrides)
    spec = get_registry().get("algorithms", cfg.algo)
    return RayActorLearner.create_actor_learner(spec, cfg.algo_params, functools.partial(make_env, cfg.env,
                                                scene=cfg.scene), layout, seed, "cpu", torch_threads=1)


class PublishedWeights:
    """Keeps the learner's agent weights at every update end, by weight version (gradient steps done): the
    weights an actor pulls with its next block."""

    def __init__(self) -> None:
        self.by_version: dict[int, dict[str, th.Tensor]] = {}

    def on_step(self, learner, infos) -> bool:
        return True

    def on_update_end(self, learner) -> None:
        self.by_version[learner.model._n_updates] = {k: v.clone() for k, v in learner.model.agent.state_dict().items()}


class StepSlots(BaseCallback):
    """A backend callback, as plugins add them: checks that each step's ``infos``, ``dones`` and ``rewards`` have
    one entry per env of the run, the other actor's envs empty, and keeps which envs stepped."""

    def __init__(self, n_envs: int) -> None:
        super().__init__()
        self.n_envs, self.stepped = n_envs, set()

    def _on_step(self) -> bool:
        infos, dones, rewards = self.locals["infos"], self.locals["dones"], self.locals["rewards"]
        assert len(infos) == len(dones) == len(rewards) == self.n_envs
        filled = tuple(env for env, info in enumerate(infos) if info)
        assert not any(dones[env] or rewards[env] for env in range(self.n_envs) if env not in filled)
        assert all(("episode" in infos[env]) == bool(dones[env]) for env in filled)
        self.stepped.add(filled)
        return True


def test_weights_reach_the_actors_and_transitions_fill_a_ring_per_actor_and_env(local_ray):
    learner = actor_learner(ActorLayout(num=2, envs_per_actor=2, sync_every=8), overrides=("env.max_episode_steps=10",))
    try:
        model, published = learner.model, PublishedWeights()
        published.by_version[0] = {k: v.clone() for k, v in model.agent.state_dict().items()}
        before = learner.actor_weights()
        assert [version for version, _ in before] == [-1, -1]  # nothing pulled yet: actor 1 has its own init
        assert not all(th.equal(before[1][1][name], value) for name, value in published.by_version[0].items())
        slots = StepSlots(n_envs=4)
        learner.learn(160, [published], [slots])
        assert model.num_timesteps == 160 and model._n_updates > 0
        assert slots.stepped == {(0, 1), (2, 3)}  # each step: one actor's two envs

        for actor, (version, parameters) in enumerate(learner.actor_weights()):
            assert version > 0, f"actor {actor} never pulled trained weights"
            for name, value in published.by_version[version].items():
                assert th.equal(parameters[name], value), f"actor {actor}'s {name} differs from the learner's"

        buffer, rings = model.replay_buffer, 4
        steps = buffer.has_action.sum(axis=1)  # how the 160 steps split between the actors depends on their speed
        assert steps.sum() == 160 and steps[0] == steps[1] and steps[2] == steps[3] and np.all(steps % 8 == 0)
        assert np.all(steps >= 8), "an actor's transitions never reached the learner"
        assert learner.cost_rate() == 1.0  # every step taken in once (each costs 1)
        for ring in range(rings):
            stored = buffer.stored_rows(ring)
            assert stored == steps[ring] + steps[ring] // 10  # a final-observation row per 10-step episode
            episodes = buffer.episodes[ring, :stored]
            assert np.all(episodes % rings == ring)  # episode ids unique across rings
            starts = np.flatnonzero(np.diff(episodes)) + 1  # a row after a final-observation row starts an episode
            assert len(starts) == (steps[ring] - 1) // 10
            assert not buffer.hidden[ring, starts].any(), "an episode's first GRU state is not zero"
            assert buffer.hidden[ring, starts - 1].any(), "the actors' GRU states were not stored"

        length = 6
        envs = np.concatenate([np.full(buffer.stored_rows(ring), ring) for ring in range(rings)])
        starts = np.concatenate([np.arange(buffer.stored_rows(ring)) for ring in range(rings)])
        batch = buffer.sequences(envs, starts, length, th.device("cpu"))
        stored = np.array([buffer.stored_rows(ring) for ring in envs])[:, None]
        ages = starts[:, None] + np.arange(length + 1)
        episode = buffer.episodes[envs[:, None], np.minimum(ages, stored - 1)]
        same = (episode == episode[:, :1]) & (ages < stored)
        expected = buffer.has_action[envs[:, None], np.minimum(ages, stored - 1)][:, :-1] & same[:, :-1] & same[:, 1:]
        mask = batch.mask[..., 0].numpy().astype(bool)
        np.testing.assert_array_equal(mask, expected)
        crossing = episode[:, :-1] != episode[:, :1]
        assert crossing.any() and not mask[crossing].any()  # sequences run past episode ends, masked there
        assert {int(ring) for ring in envs[mask.any(axis=1)]} == {0, 1, 2, 3}  # sequences of both actors' envs
    finally:
        learner.close()


def test_one_actor_is_deterministic(local_ray):
    learners = [actor_learner(ActorLayout(num=1, envs_per_actor=1, sync_every=8), seed=5) for _ in range(2)]
    try:
        for learner in learners:  # (built together, so that their actors start together)
            th.manual_seed(5)  # the learner samples from torch's global RNG, seeded when built: here shared
            learner.learn(96, [])
        first, second = (learner.model for learner in learners)
        assert first._n_updates == second._n_updates > 0
        np.testing.assert_array_equal(first.replay_buffer.actions, second.replay_buffer.actions)
        np.testing.assert_array_equal(first.replay_buffer.hidden, second.replay_buffer.hidden)
        for name, value in first.agent.state_dict().items():
            assert th.equal(value, second.agent.state_dict()[name]), name
    finally:
        for learner in learners:
            learner.close()


@pytest.mark.parametrize("override, message", [
    ("actors.num=-1", "key 'actors.num' (from command line 'actors.num=-1') is -1 (valid: [0, 1024])"),
    ("actors.sync_every=0", "key 'actors.sync_every' (from command line 'actors.sync_every=0') is 0 (valid: [1, inf))"),
    ("actors.cpus_per_actor=-0.5", "key 'actors.cpus_per_actor' (from command line 'actors.cpus_per_actor=-0.5') is "
                                   "-0.5 (valid: [0, 64])"),
    ("actors.nmu=2", "unknown key 'actors.nmu' (from command line 'actors.nmu=2'); did you mean 'num'?"),
    ("n_envs=4", "key 'n_envs' (from command line 'n_envs=4') must stay 1 with actors (actors.num=2): the actors step "
                 "the envs; set actors.envs_per_actor instead, got n_envs=4"),
    ("actors.address=' '", "key 'actors.address' (from command line 'actors.address=' '') must name a Ray cluster "
                           "(ray://host:10001, host:6379 or auto) or be null, got ' '"),
    ("algo=tiny_ppo_lag", "the actor-learner mode trains sac_lag_rnn, not 'ppo_lag'; valid choices: sac_lag_rnn, or "
                          "set actors.num=0"),
])
def test_bad_actor_keys_are_refused_with_the_key_and_the_valid_range(override, message):
    with pytest.raises(ParameterError) as error:
        load_config(ACTORS, [override])
    assert message in str(error.value)


def newest_checkpoint_step(run: Path) -> int:
    names = sorted((run / "checkpoints").glob("*.manifest.json"))
    return int(names[-1].name.split("_")[1].split(".")[0]) if names else 0


def test_a_killed_run_resumes_to_its_total_step_count(local_ray, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "safexp.cli", "train", str(ACTORS), f"out_dir={tmp_path}",
                             "name=run", "checkpoint_freq=64", f"actors.address={local_ray}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang; a loaded machine needs minutes
        while newest_checkpoint_step(run) < 64:
            assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "it finished before the kill: make the run longer"
    killed_at = RunDir(run).latest_checkpoint().step
    assert 64 <= killed_at < 256
    assert RunDir(run).status() == {"state": "interrupted", "steps": killed_at, "killed": True}

    result = resume(run)  # on the module's Ray, already running in this process
    assert result.state == "finished" and result.steps == 256
    state = RunDir(run).latest_checkpoint().trainer_state()
    assert state["env_steps"] == 256 and state["train_cost_rate"] == 1.0  # every step counted once
    assert result.summary["train_cost_rate"] == 1.0
    episode_costs = [row["episode_cost"] for row in read_lifetime_cost(run / LIFETIME_COST_FILE)
                     if row["episode_cost"] is not None]
    assert episode_costs and set(episode_costs) == {50.0}  # each actor's episodes apart: 50 steps, each costing 1
    steps = sorted(int(p.name.split("_")[1].split(".")[0]) for p in (run / "checkpoints").glob("*.manifest.json"))
    assert steps == list(range(64, 257, 64))
