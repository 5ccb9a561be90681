"""A third-party plugin installed for real with pip: the command line, the registry and Gymnasium see it,
and uninstalling it makes it disappear."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "safexp-testkit"


def safexp_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "safexp.cli", *args], capture_output=True, text=True, timeout=120)


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True, timeout=300)


@pytest.fixture(scope="module")
def testkit_installed():
    pip("install", "--no-deps", str(FIXTURE))
    try:
        yield
    finally:
        pip("uninstall", "-y", "safexp-testkit")


def test_installed_plugin_is_listed_with_what_it_provides(testkit_installed):
    out = safexp_cli("plugins").stdout
    lines = out.splitlines()
    start = lines.index("testkit  (safexp-testkit 0.3.1)")
    block = [lines[start + 1 + i].strip() for i in range(6)]
    assert block == ["algorithms: a2c_testkit", "commands: testkit-hello", "costs: crate_contact, far_from_centre",
                     "hazards: beacons, crates", "robots: puck", "tasks: reach"]
    listed = {kind: safexp_cli("list", kind).stdout for kind in ("robots", "tasks", "hazards", "costs", "algorithms", "envs")}
    assert re.search(r"^puck +a sliding puck pushed along x and y$", listed["robots"], re.M)
    assert "reach" in listed["tasks"] and "beacons" in listed["hazards"] and "far_from_centre" in listed["costs"]
    assert "a2c_testkit" in listed["algorithms"]
    assert "safexp/PuckReach0-v0" in listed["envs"] and "safexp/PuckReach1-v0" in listed["envs"]
    assert "safexp/PointReach1-v0" in listed["envs"]  # the suite robots do the testkit's task ...
    assert "safexp/PuckGoal1-v0" in listed["envs"]  # ... and the puck the suite's
    hello = safexp_cli("testkit-hello", "--shout")
    assert hello.returncode == 0 and hello.stdout.splitlines()[0] == "HELLO, WORLD"
    assert "greet, and show the puck's default parameters" in " ".join(safexp_cli("--help").stdout.split())


def test_installed_plugin_builds_an_env_and_a_learner(testkit_installed):
    script = """
import gymnasium, safexp
from safexp.plugin import build_params, get_registry
from safexp_testkit.plugin import CREATED_ENVS
env = gymnasium.make("safexp/PuckReach0-v0")
obs, _ = env.reset(seed=1)
assert obs.shape == (3 + 2 + 9 + 16,), obs.shape  # velocimeter, yaw, antenna + the beacons' lidar
assert CREATED_ENVS and CREATED_ENVS[-1] is env.unwrapped   # the env-created hook ran
costs = [env.step([1.0, 1.0])[4]["cost"] for _ in range(300)]
assert costs[-1] == 1.0, costs                   # pushed far from the centre: unsafe
spec = get_registry().get("algorithms", "a2c_testkit")
model = spec.factory(env, build_params(spec, {"n_steps": 8}), seed=0)
model.learn(16)
print("OK", model.num_timesteps)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "OK 16" in run.stdout


def test_uninstalled_plugin_disappears():
    pip("install", "--no-deps", str(FIXTURE))
    assert "puck" in safexp_cli("list", "robots").stdout
    pip("uninstall", "-y", "safexp-testkit")
    assert "puck" not in safexp_cli("list", "robots").stdout
    assert "testkit" not in safexp_cli("plugins").stdout
