"""Experiment configs: Hydra-style composition, overrides, the shipped config groups, and every bad-input path
(clear message naming the key, its source and the nearest valid key; exit code 2; no run directory)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import gymnasium
import pytest
from omegaconf import OmegaConf

from safexp.cli import main
from safexp_experiments.config import ConfigError, compose, load_config
from safexp.plugin.errors import ParameterError, UnknownComponentError
from safexp.registry import get_registry

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "configs"
MAIN_EXPERIMENT = CONFIGS / "experiment" / "pointgoal1_ppo_lag.yaml"
TEST_CONFIGS = Path(__file__).parent / "experiment_configs"


def test_issue_overrides_compose_into_the_expected_resolved_config():
    cfg = load_config(MAIN_EXPERIMENT, ["algo.cost_limit=10", "env.level=2", "seed=3", "env.hazards.num=12"])
    resolved = cfg.to_dict()
    assert resolved["env"] == {"robot": "point", "task": "goal", "level": 2, "hazards": {"num": 12}}
    assert resolved["seed"] == 3
    assert resolved["total_steps"] == 10_000_000 and resolved["out_dir"] == "runs"
    assert resolved["algo"]["name"] == "ppo_lag"
    assert resolved["algo"]["cost_limit"] == 10.0 and isinstance(resolved["algo"]["cost_limit"], float)
    # every parameter of the algorithm is filled in from its group file (the reference values)
    spec = get_registry().get("algorithms", "ppo_lag")
    expected = {**dataclasses.asdict(spec.params()), "cost_limit": 10.0}
    assert {k: v for k, v in resolved["algo"].items() if k != "name"} == expected
    # the saved YAML reads back to the same config
    assert load_config(OmegaConf.to_container(OmegaConf.create(cfg.to_yaml()))) == cfg


def test_group_choice_replaces_the_whole_group_and_self_comes_last():
    cfg = load_config(CONFIGS / "experiment" / "custom_arena_ppo_lag.yaml", ["algo=cpo", "env=cargoal1"])
    assert cfg.algo == "cpo" and not hasattr(cfg.algo_params, "multiplier")  # no ppo_lag key leaked into cpo
    assert cfg.algo_params.n_steps == 5000  # the experiment's own `algo:` keys win over the group (_self_ last)
    assert dict(cfg.env) == {"robot": "car", "task": "goal", "level": 1}


def test_defaults_without_self_merge_the_file_last(tmp_path):
    (tmp_path / "env").mkdir()
    (tmp_path / "algo").mkdir()
    (tmp_path / "env" / "e.yaml").write_text("robot: point\ntask: goal\nlevel: 0\n")
    (tmp_path / "algo" / "a.yaml").write_text("name: ppo\nn_steps: 64\n")
    (tmp_path / "x.yaml").write_text("defaults:\n  - env: e\n  - override /algo: a\nalgo:\n  n_steps: 32\nseed: 5\n")
    composed = compose(tmp_path / "x.yaml", ["algo.batch_size=16"])
    assert composed.values["algo"] == {"name": "ppo", "n_steps": 32, "batch_size": 16}
    assert composed.source_of(("algo", "n_steps")) == str(tmp_path / "x.yaml")
    assert composed.source_of(("algo", "name")) == str(tmp_path / "algo" / "a.yaml")
    assert composed.source_of(("algo", "batch_size")) == "command line 'algo.batch_size=16'"
    assert load_config(tmp_path / "x.yaml").run.seed == 5


def test_experiment_names_resolve_under_the_config_root(monkeypatch):
    monkeypatch.chdir(REPO)
    assert load_config("pointgoal1_ppo_lag") == load_config(MAIN_EXPERIMENT)


def test_every_registered_algorithm_has_a_config_with_its_reference_hyperparameters():
    algorithms = get_registry().components("algorithms")
    assert sorted(p.stem for p in (CONFIGS / "algo").glob("*.yaml")) == sorted(algorithms)
    for name, spec in algorithms.items():
        data = OmegaConf.to_container(OmegaConf.load(CONFIGS / "algo" / f"{name}.yaml"))
        assert data.pop("name") == name
        assert data == dataclasses.asdict(spec.params()), name


@pytest.mark.parametrize("experiment", sorted(p.name for p in (CONFIGS / "experiment").glob("*.yaml")))
def test_every_shipped_experiment_validates(experiment):
    cfg = load_config(CONFIGS / "experiment" / experiment)
    assert cfg.run.total_steps > 0 and cfg.env and cfg.algo


@pytest.mark.parametrize("option", sorted(p.stem for p in (CONFIGS / "env").glob("*.yaml")))
def test_every_shipped_env_validates(option):
    env = load_config(MAIN_EXPERIMENT, [f"env={option}"]).env
    assert env["robot"] in ("point", "car", "doggo") if "robot" in env else env["id"] in gymnasium.registry


@pytest.mark.parametrize("task", ["pointcircle", "antcircle", "humanoidcircle", "pointgather", "antgather"])
def test_the_cpo_paper_experiments_carry_the_paper_settings(task):
    batch, limit = {"pointcircle": (50_000, 5), "antcircle": (100_000, 10), "humanoidcircle": (50_000, 10),
                    "pointgather": (50_000, 0.1), "antgather": (100_000, 0.2)}[task]
    for path in sorted((CONFIGS / "experiment").glob(f"{task}_*.yaml")):
        cfg = load_config(path)
        assert cfg.env["id"] == gymnasium.spec(cfg.env["id"]).id and task in cfg.env["id"].lower().replace("-v0", "")
        algo = cfg.algo_params
        assert (algo.n_steps, algo.gamma, algo.gae_lambda, algo.target_kl) == (batch, 0.995, 0.95, 0.01), path.name
        if cfg.algo != "trpo":
            assert (algo.cost_limit, algo.cost_gamma) == (limit, 0.995), path.name


def test_id_envs_are_supported():
    cfg = load_config(MAIN_EXPERIMENT, ["env=null", "env.id=safexp/PointGoal1-v0"])
    assert dict(cfg.env) == {"id": "safexp/PointGoal1-v0"}


BAD_INPUTS = [
    (["total_step=5"], ParameterError,
     "unknown key 'total_step' (from command line 'total_step=5'); did you mean 'total_steps'?"),
    (["algo.cost_limt=5"], ParameterError,
     "unknown key 'algo.cost_limt' (from command line 'algo.cost_limt=5'); did you mean 'cost_limit'?"),
    (["algo.cost_limit=abc"], ParameterError,
     "key 'algo.cost_limit' (from command line 'algo.cost_limit=abc'): Value 'abc' of type 'str' could not be converted to Float"),
    (["seed=1.5"], ParameterError, "key 'seed' (from command line 'seed=1.5')"),
    (["env=pointgoal9"], UnknownComponentError, "config group 'env' has no option 'pointgoal9'"),
    (["algo=ppo_lagg"], UnknownComponentError, "did you mean 'ppo_lag'?"),
    (["algo.name=ppo_lagg"], UnknownComponentError,
     "algo.name: unknown algorithm 'ppo_lagg'; did you mean 'ppo_lag'?"),
    (["env.robot=pointt"], UnknownComponentError,
     "env: unknown robot 'pointt'; did you mean 'point'?"),
    (["env.hazards.nmu=3"], ParameterError,
     "has no parameter 'hazards.nmu'; did you mean 'num'?"),
    (["env.level=7"], UnknownComponentError, "(env.level from command line 'env.level=7')"),
    (["env.hazardz.num=3"], ParameterError, "unknown scene key 'hazardz'; did you mean 'hazards'?"),
    (["env=null", "env.id=CartPol-v1"], UnknownComponentError,
     "unknown Gymnasium env 'CartPol-v1' (from command line 'env.id=CartPol-v1'); did you mean 'CartPole-v1'?"),
    (["vec_env=subprocc"], ParameterError, "has no kind 'subprocc'; did you mean 'subproc'?"),
    (["n_envs=0"], ParameterError, "key 'n_envs' (from command line 'n_envs=0') is 0 (valid: [1, inf))"),
    (["seed"], ConfigError, "override 'seed' is not key=value"),
]


@pytest.mark.parametrize(("overrides", "error", "message"), BAD_INPUTS, ids=[" ".join(b[0]) for b in BAD_INPUTS])
def test_bad_overrides_name_the_key_its_source_and_the_nearest_valid_one(overrides, error, message):
    with pytest.raises(error) as info:
        load_config(MAIN_EXPERIMENT, overrides)
    assert message in str(info.value)


def test_a_typo_in_a_file_names_the_file(tmp_path):
    bad = tmp_path / "experiment" / "bad.yaml"
    bad.parent.mkdir()
    (tmp_path / "env").mkdir()
    (tmp_path / "algo").mkdir()
    (tmp_path / "env" / "e.yaml").write_text("robot: point\ntask: goal\nlevel: 1\n")
    (tmp_path / "algo" / "a.yaml").write_text("name: ppo\nlearning_rat: 0.1\n")
    bad.write_text("defaults:\n  - /env: e\n  - /algo: a\nseeds: 3\n")
    with pytest.raises(ParameterError, match=f"unknown key 'seeds' \\(from {bad}\\); did you mean 'seed'\\?"):
        load_config(bad)
    bad.write_text("defaults:\n  - /env: e\n  - /algo: a\n")
    with pytest.raises(ParameterError, match=f"unknown key 'algo.learning_rat' \\(from {tmp_path / 'algo' / 'a.yaml'}\\); "
                                             "did you mean 'learning_rate'\\?"):
        load_config(bad)
    (tmp_path / "algo" / "a.yaml").write_text("name: ppo\n")
    (tmp_path / "env" / "e.yaml").write_text("robot: point\ntask: goal\nlevel: 1\nhazards: {sise: 0.3}\n")
    with pytest.raises(ParameterError, match=f"did you mean 'size'.* \\(env.hazards.sise from {tmp_path / 'env' / 'e.yaml'}\\)"):
        load_config(bad)


def test_missing_config_file_lists_the_experiments(tmp_path):
    with pytest.raises(ConfigError, match="config file 'pointgoal1_ppo_lagg' not found; did you mean 'pointgoal1_ppo_lag'"):
        load_config("pointgoal1_ppo_lagg", search_root=CONFIGS)
    with pytest.raises(ConfigError, match="config file '.*nowhere.yaml' not found"):
        load_config(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("overrides", [["total_step=5"], ["env.robot=pointt"], ["algo.activation=sigmoid"]],
                         ids=["unknown key", "unknown robot", "learner rejects its parameters"])
def test_train_cli_bad_input_exits_2_and_leaves_no_run_directory(tmp_path, capsys, overrides):
    out_dir = tmp_path / "runs"
    code = main(["train", str(TEST_CONFIGS / "experiment" / "tiny.yaml"), f"out_dir={out_dir}", *overrides])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("safexp train: error: ") and len(err.strip().splitlines()) == 1
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_cli_exit_code_and_message_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "safexp.cli", "train", str(MAIN_EXPERIMENT), "total_step=5",
                           f"out_dir={tmp_path}"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "safexp train: error: unknown key 'total_step'" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())
