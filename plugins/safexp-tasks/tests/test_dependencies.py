"""The tasks' suite levels use safexp-hazards' elements and costs (hazards, vases, buttons, gremlins, pillars):
the dependency is declared, and without that plugin the levels that need it are left out of the catalogue,
saying why, while everything else keeps working."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
ROBOTS = ("Point", "Car", "Doggo")
NEED_HAZARDS = ("Goal1", "Goal2", "Button0", "Button1", "Button2", "Push1", "Push2")


def without_hazards(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEXP_")}
    env["SAFEXP_BLOCK_PLUGINS"] = "hazards"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env=env)


def test_safexp_hazards_is_a_declared_dependency():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert "safexp-hazards" in [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in dependencies]


def test_with_hazards_blocked_import_safexp_and_the_goal0_envs_still_work():
    script = ("import gymnasium, numpy as np, safexp\n"
              "env = gymnasium.make('safexp/PointGoal0-v0')\n"
              "env.reset(seed=0)\n"
              "print(env.step(np.zeros(2))[4]['cost'], 'safexp/PointGoal1-v0' in gymnasium.registry)\n")
    run = without_hazards("-W", "error::RuntimeWarning", "-c", script)  # blocking is no load error: no warning
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0.0", "False"]


def test_with_hazards_blocked_safexp_list_envs_names_what_is_missing():
    run = without_hazards("-m", "safexp.cli", "list", "envs")
    assert run.returncode == 0, run.stderr
    ids = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("safexp/")]
    assert {f"safexp/{robot}Goal0-v0" for robot in ROBOTS} <= set(ids)
    assert not [env_id for env_id in ids if any(level in env_id for level in NEED_HAZARDS)]
    notes = [line for line in run.stdout.splitlines() if line.startswith("no ")]
    for level in NEED_HAZARDS:
        assert any(note.startswith(f"no {level} envs: missing hazard '") and note.endswith("(blocked or not installed)")
                   for note in notes), f"no note for {level}: {notes}"
    assert "no Goal1 envs: missing hazard 'hazards', hazard 'vases', cost 'hazards' (blocked or not installed)" in notes
    assert any(note.startswith("no Button0 envs: missing hazard 'buttons'") for note in notes)


def test_with_hazards_blocked_safexp_plugins_shows_the_block_and_no_error():
    run = without_hazards("-m", "safexp.cli", "plugins")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "blocked (SAFEXP_BLOCK_PLUGINS): hazards"
    assert "    tasks: button, circle, gather, goal, hallway, push" in lines
    assert not any(line.startswith("hazards  (") for line in lines)
    assert "ERROR" not in run.stdout and "CONFLICT" not in run.stdout
