"""SB3's truncated-minibatch warning: dropped when hundreds of full minibatches precede the short one (every
reference config), kept when the short one weighs on the update."""

import warnings

import pytest
from stable_baselines3.common.env_util import make_vec_env
from tiny_env import HazardPointEnv

from safexp.plugin import build_params, get_registry


def _warnings_building(name: str, **params) -> list[str]:
    spec = get_registry().get("algorithms", name)
    env = make_vec_env(HazardPointEnv, n_envs=1, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.factory(env, build_params(spec, {"net_arch": [8], **params}), seed=0)
    env.close()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("name", ["ppo_lag", "trpo_lag", "cpo", "ppo"])
def test_reference_batches_build_without_the_warning(name):
    batch = 128 if "trpo" in name or name == "cpo" else 64
    assert not [m for m in _warnings_building(name, n_steps=20000, batch_size=batch) if "mini-batch" in m]


def test_a_short_minibatch_that_matters_is_still_news():
    messages = _warnings_building("ppo_lag", n_steps=100, batch_size=64)  # one full minibatch and one of 36
    assert any("after every 1 untruncated mini-batches" in m for m in messages)
