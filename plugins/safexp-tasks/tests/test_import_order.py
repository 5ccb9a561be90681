"""A plugin module imported before safexp (which then loads the plugins while that module is half imported)
does not disable its plugin: the plugin loads on the registry's next use and its env ids are registered then."""

import subprocess
import sys

SCRIPT = """
import warnings
warnings.simplefilter("error", RuntimeWarning)          # a recorded load error would warn
from safexp_tasks.button import ButtonTask               # imports safexp, which loads the plugins, first
import gymnasium, safexp
env = safexp.make("point", "goal", 1)                     # the registry's next use loads safexp-tasks
assert type(env.unwrapped.task).__name__ == "GoalTask"
gymnasium.make("safexp/PointButton1-v0").reset(seed=0)   # and its suite ids are registered
print("ok")
"""


def test_a_plugin_module_imported_first_loads_on_the_next_registry_use():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "ok"
