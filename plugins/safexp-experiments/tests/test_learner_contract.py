"""The experiment runner uses a learner only through :class:`safexp.plugin.Learner`.

The proof: ``safexp train`` and ``--resume`` run with the stable-baselines3 learner behind a proxy that lets
through the contract's members and nothing else; any other attribute the runner reached for would fail.
"""

from __future__ import annotations

import functools
import typing
from pathlib import Path
from typing import Any

import pytest

from safexp.plugin import Learner, get_registry
from safexp_experiments import training
from safexp_experiments.config import load_config
from safexp_experiments.envs import make_env
from safexp_experiments.training import resume, train
from safexp_sb3.learner import SB3Learner

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"
CONTRACT = {name for name in vars(Learner) if not name.startswith("_")}


class ContractOnly:
    """Exposes exactly the members of the learner contract of the learner it wraps."""

    def __init__(self, learner: SB3Learner) -> None:
        object.__setattr__(self, "_learner", learner)

    def __getattr__(self, name: str) -> Any:
        if name not in CONTRACT:
            raise AssertionError(f"the runner used '{name}', which is not part of safexp.plugin.Learner")
        return getattr(object.__getattribute__(self, "_learner"), name)


def test_the_contract_names_what_the_runner_needs():
    assert CONTRACT == {"num_timesteps", "steps_per_collection", "learn", "predict", "save", "has_replay_buffer",
                        "save_replay_buffer", "load_replay_buffer", "log_to", "record", "dump", "recent_episodes",
                        "cost_rate", "multipliers", "rng_state", "set_rng_state", "close"}
    for name in CONTRACT - {"num_timesteps", "steps_per_collection", "has_replay_buffer"}:
        assert getattr(Learner, name).__doc__, f"Learner.{name} is undocumented"
    assert set(typing.get_type_hints(training.TrainerState.to_dict)) >= {"learner"}


@pytest.mark.parametrize("overrides", [["algo=tiny_ppo_lag"], ["algo=tiny_ppo_lag_rnn", "env.feedback=true"]],
                         ids=["ppo_lag", "ppo_lag_rnn-feedback"])
def test_train_and_resume_use_only_the_contract(tmp_path, monkeypatch, overrides):
    built: list[SB3Learner] = []
    for method in ("create", "load"):
        original = getattr(SB3Learner, method)

        def wrapped(*args: Any, _original=original, **kwargs: Any) -> Any:
            learner = _original(*args, **kwargs)
            built.append(learner)
            return ContractOnly(learner)

        monkeypatch.setattr(SB3Learner, method, wrapped)
    result = train(TINY, [f"out_dir={tmp_path}", "name=run", "total_steps=512", "checkpoint_freq=256",
                          "eval_freq=256", *overrides])
    assert result.state == "finished" and result.steps == 512
    assert isinstance(built[0], Learner)  # the real learner satisfies the runtime-checkable protocol

    run = tmp_path / "run"  # make it look interrupted after its last checkpoint, then resume through the proxy
    (run / "model.zip").unlink()
    training.RunDir(run).set_status("interrupted", 512)
    again = resume(run)
    assert again.state == "finished" and again.steps == 512
    assert len(built) == 2


@pytest.mark.parametrize(("algo", "expected"), [("tiny_ppo_lag", {"safety": 0.0}), ("tiny_ppo", {}),
                                               ("tiny_ppo_lag_rnn", {"safety": 0.001})])
def test_multipliers_are_named_by_constraint(algo, expected):
    cfg = load_config(TINY, [f"algo={algo}"])
    spec = get_registry().get("algorithms", cfg.algo)
    learner = SB3Learner.create(spec, cfg.algo_params, functools.partial(make_env, cfg.env), 1, "dummy", 0, "cpu")
    try:
        assert learner.multipliers() == pytest.approx(expected)
    finally:
        learner.close()
