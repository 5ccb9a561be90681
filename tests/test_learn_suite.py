"""``benchmarks/learn_suite.py`` keeps one setting per run name: a run directory started with other learner
settings than the suite now gives it (a default changed since) is refused, before anything trains, rather than
resumed or counted under the new settings; a run trained by another process (its run directory locked) is
reported as training, whoever started it; and its report's second-half window, by hand."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from safexp_experiments.runs import RunLock

LEARN_SUITE = Path(__file__).parents[1] / "benchmarks" / "learn_suite.py"
SMALL = ["--algo", "trpo_lag", "--steps", "1000", "--seeds", "0", "--set", "algo.n_steps=1000",
         "--set", "eval_episodes=1", "--set", "algo.n_critic_updates=1"]  # a key trpo_lag has and the base config's
                                                                        # ppo_lag has not


def _suite(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LEARN_SUITE), *SMALL, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=300)


def test_a_run_started_with_other_settings_is_refused(tmp_path):
    first = _suite(tmp_path, "--set", "algo.normalize_observations=false")
    assert first.returncode == 0, first.stdout + first.stderr
    run = tmp_path / "algo=trpo_lag,seed=0"
    assert "normalize_observations: false" in (run / "config.yaml").read_text()
    again = _suite(tmp_path, "--set", "algo.normalize_observations=false", "--resume")  # the same settings: fine
    assert again.returncode == 0 and "finished before, left as it is" in again.stdout, again.stdout + again.stderr
    changed = _suite(tmp_path, "--resume")  # today's default (normalised) differs from the run's
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert (f"run '{run}' was started with other algo settings than this suite now gives it (a default changed "
            "since?): algo.normalize_observations False there, True here") in changed.stderr
    assert "pin them with --set" in changed.stderr


def test_a_run_whose_directory_is_locked_is_training_and_left_alone(tmp_path):
    first = _suite(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    run = tmp_path / "algo=trpo_lag,seed=0"
    (run / "status.json").write_text(json.dumps({"state": "running", "steps": 1000}))  # as while it trains
    killed = _suite(tmp_path, "--report")  # no process holds its lock
    assert "| trpo_lag | - | 0 | interrupted | 1,000 |" in killed.stdout, killed.stdout + killed.stderr
    with RunLock.acquire(run):  # trained by another process than the suite's, e.g. `safexp train ... init_from=`
        report = _suite(tmp_path, "--report")
        resumed = _suite(tmp_path, "--resume")
    assert "| trpo_lag | - | 0 | training | 1,000 |" in report.stdout, report.stdout + report.stderr
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"algo=trpo_lag,seed=0: being trained by process {os.getpid()}, left alone" in resumed.stdout


def test_the_second_half_window_averages_the_curve_past_half_the_steps(monkeypatch):
    spec = importlib.util.spec_from_file_location("learn_suite", LEARN_SUITE)
    learn_suite = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "learn_suite", learn_suite)  # its dataclasses look their module up there
    spec.loader.exec_module(learn_suite)
    rows = [{"steps": 100, "ep_return": 0.0, "ep_cost": 90.0}, {"steps": 200, "ep_return": 1.0, "ep_cost": 60.0},
            {"steps": 300, "ep_return": 4.0, "ep_cost": 20.0}, {"steps": 400, "ep_return": 8.0, "ep_cost": 25.0},
            {"steps": 500, "ep_return": 9.0, "ep_cost": 32.0}]  # from half of 500 steps on: the last three rows
    window = learn_suite.LateWindow.of(rows)
    assert (window.ep_return, window.ep_cost, window.within_limit, window.logged) == (7.0, 77.0 / 3, 2, 3)
    rows[2:] = [{"steps": 250, "ep_return": 2.0, "ep_cost": 30.0},  # the halfway row counts; a row without cost not
                {"steps": 400, "ep_return": 4.0, "ep_cost": math.nan}, {"steps": 500, "ep_return": 6.0, "ep_cost": 20.0}]
    window = learn_suite.LateWindow.of(rows)
    assert (window.ep_return, window.ep_cost, window.within_limit, window.logged) == (4.0, 25.0, 1, 2)
