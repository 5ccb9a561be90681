"""How many steps the on-policy cost critic takes per update: by default one on every minibatch the reward
critic steps on (ending with PPO's KL stop), or its own schedule when ``cost_critic_epochs`` or
``cost_critic_batch_size`` is set. Counted from the Adam step counters of the real optimisers after one update
(2 envs × 64 steps = 128 samples, minibatches of 32: 4 per pass)."""

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from tiny_env import HazardPointEnv

from safexp.plugin.errors import ParameterError
from safexp.plugin import build_params, get_registry

ONE_UPDATE = 128
SMALL = {"n_steps": 64, "batch_size": 32, "net_arch": [16], "cost_limit": 1.0, "cost_critic_net_arch": [16]}


def _trained_once(name: str, **overrides):
    spec = get_registry().get("algorithms", name)
    env = make_vec_env(HazardPointEnv, n_envs=2, seed=0)
    model = spec.factory(env, build_params(spec, {**SMALL, **overrides}), seed=0)
    model.learn(ONE_UPDATE)
    return model


def _adam_steps(optimizer: th.optim.Optimizer) -> int:
    """Steps taken by an Adam optimiser (every parameter of these networks gets a gradient at every step)."""
    counts = {int(state["step"]) for state in optimizer.state.values()}
    assert len(counts) == 1
    return counts.pop()


@pytest.mark.parametrize(("name", "overrides", "expected"), [
    ("ppo_lag", {"n_epochs": 3, "target_kl": None}, 3 * 4),
    ("trpo_lag", {"n_critic_updates": 3}, 3 * 4),
    ("cpo", {"n_critic_updates": 3}, 3 * 4),
    ("ppo_lag", {"n_epochs": 3, "target_kl": None, "cost_critic_epochs": 5}, 5 * 4),
    ("ppo_lag", {"n_epochs": 3, "target_kl": None, "cost_critic_batch_size": 64}, 3 * 2),
    ("trpo_lag", {"n_critic_updates": 3, "cost_critic_epochs": 2, "cost_critic_batch_size": 128}, 2 * 1),
], ids=["ppo-alongside", "trpo-alongside", "cpo-alongside", "own-epochs", "own-batch-size", "trpo-own-schedule"])
def test_cost_critic_steps_per_update(name, overrides, expected):
    model = _trained_once(name, **overrides)
    assert _adam_steps(model.cost_critic.optimizer) == expected
    assert "train/cost_value_loss" in model.logger.name_to_value


def test_alongside_ppo_the_cost_critic_stops_with_the_kl_limit():
    """A KL limit this small stops PPO at its second minibatch: the policy and reward critic stepped once, and so
    did the cost critic."""
    model = _trained_once("ppo_lag", n_epochs=3, target_kl=1e-9)
    reward_steps = _adam_steps(model.policy.optimizer)
    assert reward_steps < 3 * 4
    assert _adam_steps(model.cost_critic.optimizer) == reward_steps


def test_cost_critic_settings_below_one_are_named_errors():
    spec = get_registry().get("algorithms", "ppo_lag")
    env = make_vec_env(HazardPointEnv, n_envs=1, seed=0)
    with pytest.raises(ParameterError, match=r"parameter 'cost_critic_epochs' of algorithm 'ppo_lag' is 0 \(valid: \[1, inf\)\)"):
        spec.factory(env, build_params(spec, {**SMALL, "cost_critic_epochs": 0}), seed=0)


@pytest.mark.parametrize("name", ["ppo_lag", "trpo_lag", "cpo"])
def test_a_checkpoint_carries_the_own_schedules_random_stream(tmp_path, name):
    """The minibatch order of the cost critic's own schedule continues after save → load, as in an uninterrupted
    run, instead of restarting from the seed; without an own schedule the checkpoint holds no such stream."""
    spec = get_registry().get("algorithms", name)
    model = _trained_once(name, cost_critic_epochs=2)
    model.save(tmp_path / "own.zip")
    loaded = spec.load(str(tmp_path / "own.zip"), env=make_vec_env(HazardPointEnv, n_envs=2, seed=1))
    fresh = np.random.default_rng(model.seed)
    assert loaded.cost_critic_rng.bit_generator.state == model.cost_critic_rng.bit_generator.state
    assert np.array_equal(loaded.cost_critic_rng.permutation(128), model.cost_critic_rng.permutation(128))
    assert not np.array_equal(loaded.cost_critic_rng.permutation(128), fresh.permutation(128))
    assert "cost_critic_rng" in model.checkpoint_parts().components
    assert "cost_critic_rng" not in _trained_once(name).checkpoint_parts().components


def test_a_learner_loaded_with_fresh_streams_draws_from_its_new_seed(tmp_path):
    """A new run from another's checkpoint (init_from) seeds every stream from its own seed, the own schedule's too,
    so that two fine-tunings with different seeds differ; a plain load (a resume) keeps the checkpoint's."""
    from safexp_sb3.learner import SB3Learner

    spec = get_registry().get("algorithms", "ppo_lag")
    model = _trained_once("ppo_lag", cost_critic_epochs=2)
    model.save(tmp_path / "own.zip")

    def loaded(seed, fresh_streams):
        env = lambda: HazardPointEnv()  # noqa: E731
        return SB3Learner.load(spec, str(tmp_path / "own.zip"), env, 2, "dummy", seed, fresh_streams=fresh_streams).model

    assert loaded(5, True).cost_critic_rng.bit_generator.state == np.random.default_rng(5).bit_generator.state
    assert loaded(5, True).action_space.sample().tolist() == loaded(5, True).action_space.sample().tolist()
    assert loaded(5, False).cost_critic_rng.bit_generator.state == model.cost_critic_rng.bit_generator.state
    first, second = loaded(5, True), loaded(6, True)
    assert not np.array_equal(first.cost_critic_rng.permutation(64), second.cost_critic_rng.permutation(64))


def test_a_checkpoint_saved_before_the_stream_was_kept_still_loads(tmp_path):
    """A checkpoint without the own schedule's stream (saved before it was kept) loads; the stream starts from the
    seed, as it did then. A checkpoint lacking a component that was always saved is still refused."""
    from safexp_sb3.checkpoints import CheckpointError

    spec = get_registry().get("algorithms", "ppo_lag")
    model = _trained_once("ppo_lag", cost_critic_epochs=2)
    model.save(tmp_path / "new.zip")
    state = th.load(tmp_path / "new.zip", weights_only=True)
    del state["components"]["cost_critic_rng"]
    th.save(state, tmp_path / "old.zip")
    loaded = spec.load(str(tmp_path / "old.zip"))
    assert loaded.cost_critic_rng.bit_generator.state == np.random.default_rng(model.seed).bit_generator.state
    del state["components"]["cost_monitor"]
    th.save(state, tmp_path / "broken.zip")
    with pytest.raises(CheckpointError, match=r"the checkpoint's components \(multipliers\) are not this learner's"):
        spec.load(str(tmp_path / "broken.zip"))


@pytest.mark.parametrize(("name", "setting"), [("trpo_lag", "normalize_observations"), ("cpo", "learn_margin")])
def test_a_checkpoint_saved_before_a_setting_existed_goes_on_without_it(tmp_path, name, setting):
    """``trpo_lag`` normalises observations and ``cpo`` learns a margin by default now; a checkpoint written before
    the setting existed (without the key) holds a learner that trained without it, and loads as one."""
    spec = get_registry().get("algorithms", name)
    model = _trained_once(name, **{setting: False})
    model.save(tmp_path / "new.zip")
    state = th.load(tmp_path / "new.zip", weights_only=True)
    del state["hyperparameters"][setting]
    th.save(state, tmp_path / "old.zip")
    loaded = spec.load(str(tmp_path / "old.zip"))
    assert getattr(loaded.params, setting) is False and getattr(build_params(spec, {}), setting) is True
    assert loaded.checkpoint_parts().components.keys() == model.checkpoint_parts().components.keys()
