"""``benchmarks/learn_suite.py`` keeps one setting per run name: a run directory started with other learner
settings than the suite now gives it (a default changed since) is refused, before anything trains, rather than
resumed or counted under the new settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
