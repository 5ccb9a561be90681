"""TensorBoard keys read back from real event files; save → load → continue; non-finite values are errors."""

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_env import HazardPointEnv

from safexp.plugin.errors import SafexpError
from safexp.plugin import ParameterError, build_params, get_registry
from safexp_sb3.cpo import CPO
from safexp_sb3.learner import SB3Learner
from safexp_sb3.multipliers import NonFiniteError
from safexp_sb3.ppo_lag import PPOLagrangian
from safexp_sb3.ppo_lag_rnn import RecurrentPPOLagrangian
from safexp_sb3.trpo_lag import TRPOLagrangian

SMALL = {"n_steps": 64, "batch_size": 64, "net_arch": [16]}
COSTS = {"cost_limit": 1.0, "cost_critic_net_arch": [16]}


class DictObservationEnv(HazardPointEnv):
    """The hazard env observed as a ``Dict``: the position and the hazard's offset as two entries."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        flat = self.observation_space
        self.observation_space = gym.spaces.Dict({
            "position": gym.spaces.Box(flat.low[:2], flat.high[:2], dtype=flat.dtype),
            "hazard": gym.spaces.Box(flat.low[2:], flat.high[2:], dtype=flat.dtype)})

    def _as_dict(self, observation):
        return {"position": observation[:2], "hazard": observation[2:]}

    def reset(self, **kwargs):
        observation, info = super().reset(**kwargs)
        return self._as_dict(observation), info

    def step(self, action):
        observation, *rest = super().step(action)
        return self._as_dict(observation), *rest


def _model(name: str, tmp_path: Path | None = None, env_kwargs: dict | None = None, **overrides):
    spec = get_registry().get("algorithms", name)
    env = make_vec_env(HazardPointEnv, n_envs=2, seed=0, env_kwargs=env_kwargs)
    params = build_params(spec, {**SMALL, **({} if name in ("ppo", "trpo") else COSTS), **overrides})
    return spec, spec.factory(env, params, seed=0, tensorboard_log=str(tmp_path) if tmp_path else None)


def _scalar_tags(log_dir: Path) -> set[str]:
    (run,) = [p for p in log_dir.iterdir() if p.is_dir()]
    accumulator = EventAccumulator(str(run))
    accumulator.Reload()
    return set(accumulator.Tags()["scalars"])


STOCK_PPO_KEYS = {f"train/{key}" for key in ("entropy_loss", "policy_gradient_loss", "value_loss", "approx_kl",
                                               "clip_fraction", "loss", "explained_variance", "std", "clip_range")}
"""What stable-baselines3's ``PPO.train`` logs to TensorBoard."""


@pytest.mark.parametrize(("name", "extra_keys"), [
    ("ppo_lag", {"train/lagrange_multiplier", "train/cost_violation", *STOCK_PPO_KEYS}),
    ("pid_lag", {"train/lagrange_multiplier", "train/pid_p", "train/pid_i", "train/pid_d"}),
    ("trpo_lag", {"train/lagrange_multiplier"}),
    ("cpo", {f"train/cpo/{k}" for k in ("A", "B", "c", "q", "r", "s", "lambda_star", "nu_star", "case", "backtracks")}),
])
def test_tensorboard_event_files_hold_the_cost_keys(tmp_path, name, extra_keys):
    _, model = _model(name, tmp_path)
    model.learn(3 * 128)
    tags = _scalar_tags(tmp_path)
    expected = {"rollout/ep_cost_mean", "rollout/cost_rate", "rollout/ep_rew_mean", "train/cost_value_loss", *extra_keys}
    assert expected <= tags, f"missing: {sorted(expected - tags)}"


def test_several_constraints_log_one_multiplier_per_constraint(tmp_path):
    _, model = _model("ppo_lag", tmp_path, env_kwargs={"two_constraints": True},
                      cost_limits={"hazard": 1.0, "boundary": 0.5})
    model.learn(3 * 128)
    tags = _scalar_tags(tmp_path)
    assert {"train/lagrange_multiplier/hazard", "train/lagrange_multiplier/boundary",
            "rollout/ep_cost_mean/hazard", "rollout/ep_cost_mean/boundary", "rollout/ep_cost_mean"} <= tags
    assert "train/lagrange_multiplier" not in tags
    assert model.cost_critic.net[-1].out_features == 2
    assert [m.cost_limit for m in model.constraints.multipliers] == [1.0, 0.5]


def test_unconstrained_baselines_log_costs_too(tmp_path):
    _, model = _model("ppo", tmp_path)
    model.learn(2 * 128)
    assert {"rollout/ep_cost_mean", "rollout/cost_rate"} <= _scalar_tags(tmp_path)


@pytest.mark.parametrize("name", ["ppo_lag", "pid_lag", "trpo_lag", "cpo"])
def test_save_load_continue_keeps_multipliers_critic_and_step_count(tmp_path, name):
    spec, model = _model(name, **({"multiplier_settings": {"lr": 0.5}} if name in ("ppo_lag", "trpo_lag") else {}))
    model.learn(3 * 128)
    path = tmp_path / "model.zip"
    model.save(path)
    env = make_vec_env(HazardPointEnv, n_envs=2, seed=1)
    loaded = spec.load(str(path), env=env)
    assert type(loaded) is type(model)
    assert loaded.num_timesteps == model.num_timesteps == 384
    if name != "cpo":
        assert loaded.lagrange_multipliers == model.lagrange_multipliers
        assert [m.state_dict() for m in loaded.constraints.multipliers] == [m.state_dict() for m in model.constraints.multipliers]
    for key, value in model.cost_critic.state_dict().items():
        assert th.equal(loaded.cost_critic.state_dict()[key], value)
    assert loaded.cost_monitor.state_dict() == model.cost_monitor.state_dict()
    # continuing: the same learner, one more update of the multiplier from where it was
    loaded.learn(128, reset_num_timesteps=False)
    assert loaded.num_timesteps == 512
    if name != "cpo":
        assert loaded.lagrange_multipliers != model.lagrange_multipliers or name == "pid_lag"


def test_the_random_streams_saved_for_a_resume_put_back_the_draws_and_read_an_older_checkpoints_state():
    from safexp_experiments.runs import from_json_value, to_json_value  # how a trainer state stores them

    learner = SB3Learner(model=None)  # the streams are torch's, not the model's
    saved = learner.rng_state()
    assert set(saved) == ({"cpu", "cuda"} if th.cuda.is_initialized() else {"cpu"})
    draws = th.rand(4)
    learner.set_rng_state(from_json_value(json.loads(json.dumps(to_json_value(saved)))))
    assert th.equal(th.rand(4), draws)
    learner.set_rng_state(saved["cpu"])  # the bare CPU state that checkpoints held before the GPU streams
    assert th.equal(th.rand(4), draws)


class _NaNCostEnv(HazardPointEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {"cost": math.nan, "costs": {"hazard": math.nan}}


class _NaNRewardEnv(HazardPointEnv):
    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        return obs, math.nan, terminated, truncated, info


@pytest.mark.parametrize(("env_cls", "quantity"), [
    (_NaNCostEnv, "episode cost estimate J_c is nan"),
    (_NaNRewardEnv, "reward advantage is nan"),
])
def test_non_finite_values_stop_training_with_a_named_error(env_cls, quantity):
    spec = get_registry().get("algorithms", "ppo_lag")
    model = spec.factory(make_vec_env(env_cls, n_envs=2, seed=0), build_params(spec, SMALL), seed=0)
    with pytest.raises(NonFiniteError, match=quantity) as info:
        model.learn(256)
    assert isinstance(info.value, SafexpError)


@pytest.mark.parametrize(("learner_cls", "setting"), [
    (PPOLagrangian, {"clip_range_vf": 0.2}),
    (RecurrentPPOLagrangian, {"clip_range_vf": 0.2}),
    (TRPOLagrangian, {"sub_sampling_factor": 4}),
    (CPO, {"sub_sampling_factor": 4}),
])
def test_a_stock_setting_the_learner_does_not_implement_is_refused_not_ignored(learner_cls, setting):
    (key,) = setting
    with pytest.raises(ParameterError, match=f"leave {key} at"):
        learner_cls("MlpPolicy", make_vec_env(HazardPointEnv, n_envs=1, seed=0), **setting)


@pytest.mark.parametrize("name", ["ppo_lag", "pid_lag", "trpo_lag", "cpo"])
def test_a_dict_observation_is_a_clear_error_naming_the_learners_that_take_one(name):
    spec = get_registry().get("algorithms", name)
    env = make_vec_env(DictObservationEnv, n_envs=1, seed=0)
    with pytest.raises(ParameterError, match=r"cpo take a Box or Discrete observation, not a Dict space \(entries hazard, position\): ppo_lag_rnn and "
                                             r"sac_lag_rnn encode image observations"):
        spec.factory(env, build_params(spec, {**SMALL, **COSTS}), seed=0)


@pytest.mark.parametrize("name", ["ppo", "trpo"])
def test_the_unconstrained_baselines_train_save_and_load_on_a_dict_observation(tmp_path, name):
    spec = get_registry().get("algorithms", name)
    env = make_vec_env(DictObservationEnv, n_envs=2, seed=0)
    model = spec.factory(env, build_params(spec, SMALL), seed=0)
    model.learn(128)
    assert model.num_timesteps == 128 and model.cost_monitor.steps == 128
    model.save(tmp_path / "model.zip")
    loaded = spec.load(str(tmp_path / "model.zip"))
    observation = {key: np.zeros(space.shape, dtype=np.float32) for key, space in env.observation_space.items()}
    assert np.array_equal(loaded.predict(observation, deterministic=True)[0],
                          model.predict(observation, deterministic=True)[0])


def test_an_env_without_cost_is_a_clear_error_for_a_constrained_learner():
    spec = get_registry().get("algorithms", "ppo_lag")
    env = make_vec_env(lambda: gym.make("Pendulum-v1"), n_envs=1, seed=0)
    model = spec.factory(env, build_params(spec, SMALL), seed=0)
    with pytest.raises(SafexpError, match=r"no info\['cost'\]"):
        model.learn(64)


def test_registry_lists_the_learners_with_structured_params():
    table = get_registry().components("algorithms")
    assert {"ppo_lag", "pid_lag", "trpo_lag", "cpo", "ppo", "trpo"} <= set(table)
    params = build_params(table["ppo_lag"], {})
    assert (params.cost_limit, params.multiplier, params.net_arch) == (25.0, "sgd", [64, 64])
    assert build_params(table["pid_lag"], {}).multiplier == "pid"
    assert np.isclose(build_params(table["cpo"], {}).target_kl, 0.01)


# -- checkpoints that load without unpickling -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["ppo_lag", "trpo_lag", "cpo", "ppo", "trpo"])
def test_a_checkpoint_is_plain_data_and_loads_for_acting_without_an_env(tmp_path, name):
    spec, model = _model(name)
    model.learn(128)
    path = tmp_path / "model.zip"
    model.save(path)
    state = th.load(path, weights_only=True)  # raises on anything that would need unpickling
    assert state["format"] == "safexp-sb3 learner checkpoint" and state["counters"]["num_timesteps"] == 128
    assert state["hyperparameters"]["n_steps"] == 64
    loaded = spec.load(str(path))
    assert loaded.get_env() is None
    obs = np.array([[1.5, 0.0, 0.75, 0.0]], dtype=np.float32)
    assert np.array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


class _Payload:
    """Unpickling this object would create ``marker`` (what a malicious checkpoint could do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("name", ["ppo_lag", "sac_lag"])
def test_a_planted_pickle_payload_is_refused_and_never_runs(tmp_path, name):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "model.zip"
    th.save({"format": "safexp-sb3 learner checkpoint", "version": 1, "payload": _Payload(marker)}, path)
    spec = get_registry().get("algorithms", name)
    with pytest.raises(SafexpError, match=r"model.zip is not a safexp learner checkpoint that loads without "
                                          r"unpickling, refusing it"):
        spec.load(str(path))
    assert not marker.exists()


def test_a_checkpoint_of_another_learner_or_another_env_is_a_clear_error(tmp_path):
    _, model = _model("ppo_lag")
    path = tmp_path / "model.zip"
    model.save(path)
    with pytest.raises(SafexpError, match="holds a PPOLagrangian learner, not a TRPOLagrangian"):
        get_registry().get("algorithms", "trpo_lag").load(str(path))
    two = make_vec_env(HazardPointEnv, n_envs=1, env_kwargs={"two_constraints": True})
    with pytest.raises(SafexpError, match=r"the env has constraints \['hazard', 'boundary'\], the checkpoint"):
        get_registry().get("algorithms", "ppo_lag").load(str(path), env=two)
