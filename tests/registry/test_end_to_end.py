"""Faulty plugins installed next to the first-party ones, seen by a real interpreter: a plugin whose hook
raises, one that cannot be imported, and two that register the same robot. ``import safexp`` works, the
command line shows every problem and exits 0, and the suite envs still work."""

from __future__ import annotations

import re

import pytest

RAISING = """
    import safexp

    @safexp.hookimpl
    def safexp_robots():
        raise RuntimeError("calibration file missing")
"""

TRIKE = """
    import safexp

    @safexp.hookimpl
    def safexp_robots():
        yield safexp.RobotSpec("trike", lambda p: None, description="{who}'s trike")
        yield safexp.RobotSpec("{who}_bike", lambda p: None, description="{who}'s bike")
"""

HOOK_ERROR = "ERROR: hook safexp_robots raised RuntimeError: calibration file missing"
IMPORT_ERROR = "ERROR: import failed: ModuleNotFoundError: No module named 'libfoo'"
FAST = {"SAFEXP_BLOCK_PLUGINS": "sb3"}  # `safexp plugins` calls every hook: the learners' would import torch

CONFLICT = ("CONFLICT: robot 'trike' is registered by both plugin 'trike_a' (distribution safexp-trike-a) and plugin "
            "'trike_b' (distribution safexp-trike-b), so neither is used; block one of them "
            "(SAFEXP_BLOCK_PLUGINS=trike_b) or uninstall its distribution")


@pytest.fixture(scope="module")
def site(make_fake_site):
    site = make_fake_site()
    site.add("safexp-calibrated", RAISING, entry_name="calibrated")
    site.add("safexp-needs-libfoo", "import libfoo\n", entry_name="needs_libfoo")
    site.add("safexp-trike-a", TRIKE.format(who="alice"), entry_name="trike_a")
    site.add("safexp-trike-b", TRIKE.format(who="bob"), entry_name="trike_b")
    return site


def test_import_safexp_works_and_warns_naming_the_plugins(site):
    run = site.python("-c", "import safexp; print('imported', safexp.__version__)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("imported")
    assert "RuntimeWarning: safexp plugin 'calibrated' (distribution safexp-calibrated) failed to load: hook " \
           "safexp_robots raised RuntimeError: calibration file missing" in run.stderr
    assert "plugin 'needs_libfoo' (distribution safexp-needs-libfoo) failed to load: import failed" in run.stderr
    assert "Traceback" not in run.stderr


def test_safexp_plugins_shows_every_problem_and_exits_0(site):
    run = site.python("-m", "safexp.cli", "plugins", **FAST)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[lines.index("calibrated  (safexp-calibrated 1.2.3)") + 1] == f"    {HOOK_ERROR}"
    assert lines[lines.index("needs_libfoo  (safexp-needs-libfoo 1.2.3)") + 1] == f"    {IMPORT_ERROR}"
    assert lines[lines.index("trike_a  (safexp-trike-a 1.2.3)") + 1] == "    robots: alice_bike, trike"
    assert CONFLICT in lines
    assert "    robots: ant, car, doggo, humanoid, point" in lines  # the first-party plugins load as usual
    errors_only = site.python("-m", "safexp.cli", "plugins", "--errors-only", **FAST)
    assert errors_only.returncode == 1  # a check for scripts: there are problems
    assert "trike_a  (safexp-trike-a 1.2.3)" not in errors_only.stdout and HOOK_ERROR in errors_only.stdout


def test_safexp_list_robots_shows_the_conflict_and_the_usable_robots(site):
    run = site.python("-m", "safexp.cli", "list", "robots")
    assert run.returncode == 0, run.stderr
    names = [line.split()[0] for line in run.stdout.splitlines() if not line.startswith("CONFLICT")]
    assert names == ["alice_bike", "ant", "bob_bike", "car", "doggo", "humanoid", "point"]
    assert CONFLICT in run.stdout.splitlines()


def test_the_suite_and_the_other_plugins_still_work(site):
    script = """
import gymnasium, numpy as np, safexp
from safexp.plugin import get_registry
env = gymnasium.make("safexp/PointGoal1-v0")
env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(np.zeros(2))
assert obs.shape == (60,) and "cost" in info
assert get_registry().get("robots", "alice_bike").description == "alice's bike"
assert "safexp/AliceBikeGoal1-v0" in gymnasium.registry  # the plugin's other robot joins the catalogue ...
assert "safexp/TrikeGoal1-v0" not in gymnasium.registry  # ... the conflicting name does not
try:
    get_registry().get("robots", "trike")
except safexp.plugin.DuplicateComponentError as exc:
    print("DUPLICATE", exc)
"""
    run = site.python("-c", script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("DUPLICATE robot 'trike' is registered by both plugin 'trike_a'")
    assert "SAFEXP_BLOCK_PLUGINS=trike_b" in run.stdout


def test_blocking_the_faulty_plugins_silences_them(site):
    block = {"SAFEXP_BLOCK_PLUGINS": "calibrated,safexp-needs-libfoo,trike_b,sb3"}
    run = site.python("-W", "error::RuntimeWarning", "-c", "import safexp", **block)
    assert run.returncode == 0, run.stderr
    plugins = site.python("-m", "safexp.cli", "plugins", **block).stdout
    assert "ERROR" not in plugins and "CONFLICT" not in plugins
    assert "blocked (SAFEXP_BLOCK_PLUGINS): calibrated, safexp-needs-libfoo, sb3, trike_b" in plugins
    robots = site.python("-m", "safexp.cli", "list", "robots", **block).stdout
    assert re.search(r"^trike +alice's trike$", robots, re.M) and "bob_bike" not in robots


def test_strict_mode_leaves_the_suite_unregistered_and_says_why(site):
    strict = {"SAFEXP_STRICT_PLUGINS": "1", **FAST}
    run = site.python("-c", "import gymnasium, safexp; print('safexp/PointGoal1-v0' in gymnasium.registry)", **strict)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
    assert "safexp: suite env ids not registered: plugins failed to load (strict mode" in run.stderr
    assert "calibration file missing" in run.stderr and "robot 'trike' is registered by both" in run.stderr
    plugins = site.python("-m", "safexp.cli", "plugins", **strict)
    assert plugins.returncode == 0 and HOOK_ERROR in plugins.stdout and CONFLICT in plugins.stdout
    listing = site.python("-m", "safexp.cli", "list", "robots", **strict)
    assert listing.returncode == 2 and "Traceback" not in listing.stderr
    assert listing.stderr.strip().splitlines()[-1].startswith("safexp list: error: plugins failed to load (strict mode")
