"""The command line as users start it, ``safexp`` (the console script) and ``python -m safexp.cli``, in a real
interpreter: help, a listing, and a user error as one clean line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("safexp", path=str(Path(sys.executable).parent))


@pytest.fixture(params=["console script", "python -m"])
def safexp_cli(request):
    if request.param == "console script" and SCRIPT is None:
        pytest.skip("the safexp console script is not installed next to this interpreter")
    prefix = [SCRIPT] if request.param == "console script" else [sys.executable, "-m", "safexp.cli"]
    return lambda *args: subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)


def test_help_listing_and_a_clean_user_error(safexp_cli):
    help_run = safexp_cli("--help")
    assert help_run.returncode == 0 and "plugins" in help_run.stdout and "list" in help_run.stdout
    robots = safexp_cli("list", "robots")
    assert robots.returncode == 0 and robots.stdout.split()[0] in {"ant", "car", "doggo", "humanoid", "point", "no"}
    bad = safexp_cli("list", "robot")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith(
        "safexp list: error: cannot list 'robot'; did you mean 'robots'? valid choices: robots, ")
    assert "Traceback" not in bad.stderr
    usage = safexp_cli("frobnicate")
    assert usage.returncode == 2 and "invalid choice: 'frobnicate'" in usage.stderr
