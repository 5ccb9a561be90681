"""The registry: discovery through entry points and every error path, with fake installed distributions."""

from __future__ import annotations

import dataclasses

import pytest

from safexp.plugin.errors import DuplicateComponentError, ParameterError, PluginLoadError, UnknownComponentError
from safexp.plugin import build_params
from safexp.registry import Registry
from safexp.plugin.specs import RobotSpec

ROBOT_PLUGIN = """
    from dataclasses import dataclass
    import safexp

    @dataclass
    class Params:
        '''wheel radius and count'''
        radius: float = 0.1
        wheels: int = 3

    def build(params):
        raise RuntimeError("not built in these tests")

    @safexp.hookimpl
    def safexp_robots():
        yield safexp.RobotSpec("{name}", build, Params, "a test robot")
"""


def test_entry_point_plugin_is_discovered_with_its_distribution(fake_dist):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    registry = Registry(strict=True)
    spec = registry.get("robots", "tricycle")
    assert spec.description == "a test robot"
    info = registry.provided_by()["tricycle"]
    assert (info.distribution, info.version, info.error) == ("safexp-tricycle", "1.2.3", None)
    assert info.provides["robots"] == ["tricycle"]


def test_broken_plugin_is_reported_and_the_others_still_load(fake_dist):
    fake_dist("safexp-broken", "import not_a_module_anywhere\n", entry_name="broken")
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    with pytest.warns(RuntimeWarning, match=r"plugin 'broken' \(distribution safexp-broken\) failed to load: import failed: "
                                           r"ModuleNotFoundError: No module named 'not_a_module_anywhere'"):
        registry = Registry(strict=False)
    assert "tricycle" in registry.components("robots")
    assert "No module named" in registry.plugins["broken"].error


def test_strict_mode_turns_a_broken_plugin_into_an_error(fake_dist):
    fake_dist("safexp-broken", "raise ImportError('missing libfoo.so')\n", entry_name="broken")
    with pytest.raises(PluginLoadError, match=r"'broken' \(distribution safexp-broken\).*missing libfoo.so"):
        Registry(strict=True)


def test_two_plugins_with_one_name_is_an_error_naming_both(fake_dist):
    fake_dist("safexp-trike-a", ROBOT_PLUGIN.format(name="trike"), entry_name="trike_a")
    fake_dist("safexp-trike-b", ROBOT_PLUGIN.format(name="trike"), entry_name="trike_b")
    registry = Registry(strict=True)
    with pytest.raises(DuplicateComponentError, match=r"robot 'trike' is registered by both plugin 'trike_a' \(distribution "
                                                       r"safexp-trike-a\) and plugin 'trike_b' \(distribution safexp-trike-b\)"):
        registry.components("robots")


def test_misspelled_hook_name_is_an_error_not_silence(fake_dist):
    fake_dist("safexp-typo", """
        import safexp

        @safexp.hookimpl
        def safexp_robot():
            return []
    """, entry_name="typo")
    with pytest.raises(PluginLoadError, match=r"unknown hook 'safexp_robot' \(did you mean 'safexp_robots'\?"):
        Registry(strict=True)


def test_hook_returning_the_wrong_record_type_is_named(fake_dist):
    fake_dist("safexp-mixup", """
        import safexp

        @safexp.hookimpl
        def safexp_tasks():
            yield safexp.CostSpec("oops", lambda p: None)
    """, entry_name="mixup")
    with pytest.raises(PluginLoadError, match=r"plugin 'mixup'.*safexp_tasks returned CostSpec.*expected TaskSpec"):
        Registry(strict=True).components("tasks")


def test_blocking_and_disabling_autoload(fake_dist, monkeypatch):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "robots, tricycle")
    assert "tricycle" not in Registry().components("robots")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "safexp-tricycle")  # by distribution name
    assert "tricycle" not in Registry().plugins
    monkeypatch.delenv("SAFEXP_BLOCK_PLUGINS")
    monkeypatch.setenv("SAFEXP_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert Registry().plugins == {}


def test_unknown_name_lists_choices_nearest_first(fake_dist):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    fake_dist("safexp-bike", ROBOT_PLUGIN.format(name="bike"), entry_name="bike")
    registry = Registry(strict=True)
    with pytest.raises(UnknownComponentError) as err:
        registry.get("robots", "tricylce")
    assert str(err.value) == "unknown robot 'tricylce'; did you mean 'tricycle'? valid choices: tricycle, bike"
    with pytest.raises(UnknownComponentError, match=r"valid choices: bike, tricycle$"):
        registry.get("robots", "bikes")
    with pytest.raises(UnknownComponentError, match=r"unknown component kind 'robot'; did you mean 'robots'\?"):
        registry.components("robot")


def test_parameters_are_checked_against_the_schema(fake_dist):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    spec = Registry(strict=True).get("robots", "tricycle")
    params = build_params(spec, {"radius": 0.2})
    assert (params.radius, params.wheels) == (0.2, 3)
    with pytest.raises(ParameterError, match=r"robot 'tricycle' has no parameter 'wheel'; did you mean 'wheels'\?"):
        build_params(spec, {"wheel": 4})
    with pytest.raises(ParameterError, match=r"parameter 'wheels' of robot 'tricycle': Value 'many' of type 'str' "
                                             r"could not be converted to Integer"):
        build_params(spec, {"wheels": "many"})


def test_spec_records_are_validated_and_frozen():
    with pytest.raises(ValueError, match="must be lower-case"):
        RobotSpec("Point", lambda p: None)
    with pytest.raises(TypeError, match="params must be a dataclass type"):
        RobotSpec("point", lambda p: None, params=dict)
    spec = RobotSpec("point", lambda p: None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"


def test_every_hook_is_documented():
    from safexp.plugin import hookspecs

    hooks = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("safexp_")]
    assert len(hooks) == 7
    for hook in hooks:
        doc = hook.__doc__ or ""
        assert ":return:" in doc and len(doc.split()) > 10, f"{hook.__name__} lacks a docstring saying what it returns"


def test_contributing_documents_every_hook():
    from pathlib import Path

    from safexp.plugin import hookspecs

    guide = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    for name in (n for n in dir(hookspecs) if n.startswith("safexp_")):
        assert f"`{name}(" in guide, f"CONTRIBUTING.md's hook reference misses {name}"


def test_python_api_mirrors_the_command_line():
    import safexp
    from safexp_experiments.evaluation import evaluate
    from safexp_experiments.training import resume, train

    assert (safexp.train, safexp.resume, safexp.evaluate) == (train, resume, evaluate)
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        safexp.trian
