"""The core stays small at run time: importing ``safexp`` or listing components loads no learning or plotting
library (even with the first-party plugins installed: theirs load when used), and importing it leaves the
process environment alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "stable_baselines3", "matplotlib", "tensorboard")


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"MUJOCO_GL", "PYOPENGL_PLATFORM"}
               and not k.startswith("SAFEXP_")}
    environ.update(env)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=environ)


def imported(run: subprocess.CompletedProcess) -> set[str]:
    """The modules ``-X importtime`` reported (its lines are ``import time: self | cumulative | name``)."""
    return {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [
    ("-c", "import safexp"),
    ("-m", "safexp.cli", "list", "robots"),
    ("-m", "safexp.cli", "list", "envs"),
    ("-m", "safexp.cli", "--help"),
    ("-m", "safexp.cli", "plugins"),
    ("-m", "safexp.cli", "list", "algorithms"),
], ids=["import safexp", "safexp list robots", "safexp list envs", "safexp --help", "safexp plugins",
        "safexp list algorithms"])
def test_no_learning_or_plotting_library_is_imported(args):
    run = python("-X", "importtime", *args)
    assert run.returncode == 0, run.stderr[-2000:]
    modules = imported(run)
    assert "safexp" in modules and "mujoco" in modules  # the report is read correctly
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"{' '.join(args)} imports {', '.join(heavy[:8])}"


def test_import_safexp_leaves_the_environment_unchanged():
    script = """
import json, os
before = dict(os.environ)
import safexp
after = dict(os.environ)
print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}))
"""
    run = python("-c", script)
    assert run.returncode == 0, run.stderr
    changed = json.loads(run.stdout.strip().splitlines()[-1])
    assert changed == {}, f"import safexp changed the environment: {changed}"
    assert "MUJOCO_GL" not in changed
