"""A plugin whose ``safexp_env_created`` raises is that plugin's load error, not every env's failure."""

from __future__ import annotations

import warnings

import pytest

import safexp
from safexp.engine.env import SafetyEnv
from safexp.plugin.errors import PluginLoadError


class BrokenInstrument:
    """A plugin whose env hook always raises."""

    def __init__(self) -> None:
        self.calls = 0

    @safexp.hookimpl
    def safexp_env_created(self, env) -> None:
        self.calls += 1
        raise RuntimeError("no probe attached")


@pytest.fixture
def broken(testkit_registry) -> BrokenInstrument:
    plugin = BrokenInstrument()
    testkit_registry.register(plugin, name="broken", distribution="safexp-broken", version="0.1")
    return plugin


def test_a_raising_env_hook_is_recorded_warned_once_and_not_called_again(testkit_registry, broken):
    from safexp_testkit.plugin import CREATED_ENVS

    testkit_registry.strict = False
    with pytest.warns(RuntimeWarning, match=r"plugin 'broken' \(distribution safexp-broken\) failed \(it is not called again\): hook "
                                            r"safexp_env_created raised RuntimeError: no probe attached"):
        first = SafetyEnv(robot="puck", task="reach", level=0)
    assert CREATED_ENVS[-1] is first  # the other plugins' hooks still ran
    [failed] = testkit_registry.load_errors()
    assert failed.name == "broken" and failed.errors == ["hook safexp_env_created raised RuntimeError: no probe attached"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = SafetyEnv(robot="puck", task="reach", level=0)
    assert CREATED_ENVS[-1] is second and broken.calls == 1
    assert len(testkit_registry.load_errors()[0].errors) == 1


def test_in_strict_mode_a_raising_env_hook_fails_the_construction_naming_the_plugin(testkit_registry, broken):
    assert testkit_registry.strict
    with pytest.warns(RuntimeWarning), pytest.raises(PluginLoadError, match=r"plugin 'broken' .*no probe attached"):
        SafetyEnv(robot="puck", task="reach", level=0)
