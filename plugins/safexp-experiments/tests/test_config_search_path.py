"""Config names resolve from any folder: the current folder's ``configs/``, then ``$SAFEXP_CONFIG_PATH``, then the
configs shipped inside safexp-experiments; an experiment file anywhere can name the shipped group options; errors
name the folders searched and the nearest options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from safexp.cli import main
from safexp.plugin import UnknownComponentError
from safexp_experiments.config import ConfigError, config_search_path, load_config, shipped_config_root

REPO = Path(__file__).resolve().parents[3]
MAIN_EXPERIMENT = REPO / "configs" / "experiment" / "pointgoal1_ppo_lag.yaml"
TEST_CONFIGS = Path(__file__).parent / "experiment_configs"
USER_EXPERIMENT = "defaults:\n  - /env: pointgoal1\n  - /algo: ppo_lag\n\ntotal_steps: 5000\n"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working folder outside the repository, with no ``configs/`` and no ``SAFEXP_CONFIG_PATH``."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("SAFEXP_CONFIG_PATH", raising=False)
    return work


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_shipped_configs_are_the_repository_configs():
    assert shipped_config_root().resolve() == (REPO / "configs").resolve()


def test_experiment_names_resolve_from_any_folder(elsewhere):
    assert load_config("pointgoal1_ppo_lag") == load_config(MAIN_EXPERIMENT)
    assert [root.origin for root in config_search_path()] == ["./configs", "shipped with safexp-experiments"]


def test_a_user_file_outside_the_repository_uses_the_shipped_group_options(elsewhere, tmp_path):
    user = write(tmp_path / "x" / "my.yaml", USER_EXPERIMENT)
    cfg = load_config(user, ["algo.cost_limit=10"])
    assert dict(cfg.env) == {"robot": "point", "task": "goal", "level": 1}
    assert cfg.algo == "ppo_lag" and cfg.algo_params.cost_limit == 10.0 and cfg.run.total_steps == 5000
    assert cfg.algo_params.n_steps == load_config(MAIN_EXPERIMENT).algo_params.n_steps


def test_a_missing_option_names_the_folders_searched_and_the_nearest_options(elsewhere, tmp_path):
    user = write(tmp_path / "x" / "my.yaml", USER_EXPERIMENT.replace("pointgoal1", "pointgoal9"))
    with pytest.raises(UnknownComponentError) as info:
        load_config(user)
    message = str(info.value)
    assert message.startswith("config group 'env' has no option 'pointgoal9'; did you mean 'pointgoal")
    assert f"looked in {elsewhere / 'configs' / 'env'} (./configs, missing), " in message
    assert f"{shipped_config_root().resolve() / 'env'} (shipped with safexp-experiments)" in message
    assert "SAFEXP_CONFIG_PATH" in message and "is the plugin" not in message
    with pytest.raises(ConfigError, match=r"config file 'pointgoal1_ppo_lagg' not found; did you mean "
                                          r"'pointgoal1_ppo_lag'\? .*\(looked in .*experiment \(./configs, missing\)"):
        load_config("pointgoal1_ppo_lagg")


def test_search_order_file_root_then_extra_root_then_cwd_then_the_variable_then_shipped(elsewhere, tmp_path, monkeypatch):
    # each level gives pointgoal1 another level; the first root holding the option wins, option by option
    project = tmp_path / "project" / "configs"
    write(project / "experiment" / "e.yaml", "defaults:\n  - /env: pointgoal1\n  - /algo: tiny_ppo\n")
    write(project / "env" / "pointgoal1.yaml", "robot: point\ntask: goal\nlevel: 2\n")
    write(elsewhere / "configs" / "env" / "pointgoal1.yaml", "robot: point\ntask: goal\nlevel: 0\n")
    write(elsewhere / "configs" / "experiment" / "e.yaml", "defaults:\n  - /env: pointgoal1\n  - /algo: tiny_ppo\n")
    monkeypatch.setenv("SAFEXP_CONFIG_PATH", os.pathsep.join([str(tmp_path / "missing"), str(TEST_CONFIGS)]))

    from_file = load_config(project / "experiment" / "e.yaml")  # env next to the file, algo from the variable
    assert from_file.env["level"] == 2 and from_file.algo_params.n_steps == 256
    assert load_config("e").env["level"] == 0  # ./configs first; tiny_ppo still from the variable
    assert load_config("e", search_root=project).env["level"] == 2  # --configs comes before ./configs
    assert load_config("tiny").env["max_episode_steps"] == 50  # an experiment only the variable's root holds
    assert [root.origin for root in config_search_path(project)] == [
        "the extra config root, --configs", "./configs", "$SAFEXP_CONFIG_PATH", "$SAFEXP_CONFIG_PATH",
        "shipped with safexp-experiments"]


def test_the_configs_option_is_an_extra_root_searched_first(elsewhere, capsys):
    assert main(["train", "tiny", "--configs", str(TEST_CONFIGS), "total_step=5"]) == 2
    assert "unknown key 'total_step'" in capsys.readouterr().err
    assert main(["train", "tiny", "total_step=5"]) == 2
    assert "config file 'tiny' not found" in capsys.readouterr().err


def safexp(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "SAFEXP_CONFIG_PATH"} | env
    return subprocess.run([sys.executable, "-m", "safexp.cli", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=300)


def test_cli_from_a_folder_outside_the_repository(tmp_path):
    proc = safexp("demo", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "--configs DIR" in proc.stdout
    # composition resolves from the shipped configs: the error is about the override, not the config
    proc = safexp("train", "pointgoal1_ppo_lag", "total_step=5", f"out_dir={tmp_path / 'runs'}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "unknown key 'total_step' (from command line 'total_step=5'); did you mean 'total_steps'?" in proc.stderr
    write(tmp_path / "mine" / "my.yaml", USER_EXPERIMENT)
    proc = safexp("train", "mine/my.yaml", "algo.cost_limt=5", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown key 'algo.cost_limt'" in proc.stderr, proc.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "mine" / "runs").exists()


def test_a_user_experiment_trains_from_outside_the_repository_with_the_config_path(tmp_path):
    write(tmp_path / "my.yaml", "defaults:\n  - /env: hazard_start\n  - /algo: tiny_ppo_lag\n\n"
                                "total_steps: 256\neval_episodes: 1\nprogress: false\nname: mine\n")
    proc = safexp("train", "my.yaml", cwd=tmp_path, SAFEXP_CONFIG_PATH=str(TEST_CONFIGS))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "runs" / "mine" / "summary.json").is_file()
