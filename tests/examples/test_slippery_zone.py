"""The example third-party element plugin (examples/safexp-slippery-zone), installed for real with pip: the
command line lists it, and an env built from its YAML file uses the element and its cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "safexp-slippery-zone"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def slippery_zone_installed():
    install = run("-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps", "--no-build-isolation", str(EXAMPLE))
    assert install.returncode == 0, install.stderr
    try:
        yield
    finally:
        run("-m", "pip", "--disable-pip-version-check", "-q", "uninstall", "-y", "safexp-slippery-zone")


def test_the_installed_plugin_is_listed(slippery_zone_installed):
    hazards = run("-m", "safexp.cli", "list", "hazards").stdout
    assert "slippery_zones  square floor patches where the robot loses its grip" in hazards
    costs = run("-m", "safexp.cli", "list", "costs").stdout
    assert "slippery_zones" in costs and "robot's centre on a slippery patch: 1 per patch" in costs
    plugins = run("-m", "safexp.cli", "plugins").stdout
    assert "slippery_zone  (safexp-slippery-zone 0.1.0)" in plugins


SCRIPT = """
import gymnasium, numpy as np, safexp
arena = {arena!r}
env = gymnasium.make("safexp/Arena-v0", scene_file=arena)
inner = env.unwrapped
assert inner.constraint_names == ("safety", "grip"), inner.constraint_names
assert inner.scene.elements["slippery_zones"].num == 2
assert "slippery_zones_lidar" in inner.obs_layout and env.observation_space.shape == (24 + 4 * 16,)
env.reset(seed=0)
for _ in range(20):
    env.step(env.action_space.sample())

def drive(on_patch):
    # The Car at the origin, full throttle for 40 steps, on a big patch or next to it (no hazards, goal away).
    env = gymnasium.make("safexp/Arena-v0", scene_file=arena, robot_location=[0.0, 0.0], hazards={{"num": 0}},
                         vases={{"num": 0}}, costs=[{{"name": "hazards", "enabled": False}}],
                         slippery_zones={{"num": 1, "size": 0.6, "locations": [[0.0, 0.0] if on_patch else [1.0, 1.0]]}},
                         task_params={{"goal_locations": [[-1.2, 1.2]]}})
    env.reset(seed=0)
    world = env.unwrapped.world
    start = world.robot_pos[:2].copy()
    costs = [env.step(np.ones(2))[4]["costs"]["grip"] for _ in range(40)]
    return float(np.linalg.norm(world.robot_pos[:2] - start)), costs

slid, on = drive(True)
drove, off = drive(False)
assert on == [1.0] * 40 and off == [0.0] * 40, (on, off)
assert slid < 0.05 and drove > 0.5, (slid, drove)   # the wheels spin on the patch
print("OK", round(slid, 4), round(drove, 3))
"""


def test_an_env_from_the_example_yaml_uses_the_element_and_its_cost(slippery_zone_installed):
    result = run("-c", SCRIPT.format(arena=str(EXAMPLE / "arena.yaml")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK")
