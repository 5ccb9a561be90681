"""The env key ``feedback: true`` of an experiment config: every env the run builds (training, evaluation,
video) gets the previous reward and costs as inputs; anything but true/false is refused, naming its source."""

from pathlib import Path

import numpy as np
import pytest

from safexp import FeedbackObservation
from safexp.plugin.errors import ParameterError
from safexp_experiments.config import load_config
from safexp_experiments.envs import env_label, make_env

MAIN_EXPERIMENT = Path(__file__).resolve().parents[3] / "configs" / "experiment" / "pointgoal1_ppo_lag.yaml"


def test_feedback_true_wraps_every_env_of_the_run():
    cfg = load_config(MAIN_EXPERIMENT, ["env.feedback=true"])
    env = make_env(cfg.env, scene=cfg.scene)
    assert isinstance(env, FeedbackObservation) and env.feedback_names == ("reward", "cost_safety")
    obs, _ = env.reset(seed=0)
    plain = make_env({k: v for k, v in cfg.env.items() if k != "feedback"}, scene=cfg.scene)
    assert obs.shape == (plain.observation_space.shape[0] + 2,)
    obs, reward, _, _, info = env.step(env.action_space.sample())
    np.testing.assert_array_equal(obs[-2:], [reward, info["costs"]["safety"]])
    assert env_label(cfg.env) == "PointGoal1"  # the same env and scores, one more input
    assert not isinstance(make_env(load_config(MAIN_EXPERIMENT, ["env.feedback=false"]).env), FeedbackObservation)


def test_feedback_must_be_true_or_false():
    with pytest.raises(ParameterError, match="key 'env.feedback' \\(from command line 'env.feedback=3'\\) must be true "
                                             "or false, got 3"):
        load_config(MAIN_EXPERIMENT, ["env.feedback=3"])
