"""The registry: discovery through entry points, lazy loading, and every way a plugin can fail without taking
the others down, with fake installed distributions (``fake_dist``) and plugins registered by hand."""

from __future__ import annotations

import dataclasses
import sys
import types
import warnings

import pytest

from safexp.plugin import CommandSpec, build_params, hookimpl
from safexp.plugin.errors import DuplicateComponentError, ParameterError, PluginLoadError, UnknownComponentError
from safexp.plugin.specs import CostSpec, NoParams, RobotSpec, TaskSpec
from safexp.registry import RECORD_TYPES, Registry, get_registry, reset_registry

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

TWO_KINDS = """
    import safexp

    @safexp.hookimpl
    def safexp_robots():
        yield safexp.RobotSpec("trike", lambda p: None, description="{who}'s trike")
        yield safexp.RobotSpec("{who}_bike", lambda p: None, description="{who}'s bike")

    @safexp.hookimpl
    def safexp_costs():
        yield safexp.CostSpec("{who}_cost", lambda p: None)
"""

RAISING_HOOK = """
    import safexp

    @safexp.hookimpl
    def safexp_robots():
        yield safexp.RobotSpec("fine", lambda p: None)

    @safexp.hookimpl
    def safexp_tasks():
        raise RuntimeError("task table unavailable: {why}")
"""


def plugin(**hooks) -> types.SimpleNamespace:
    """A plugin object whose hooks are the given functions, marked as hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(function) for name, function in hooks.items()})


def robots(*names: str):
    return lambda: [RobotSpec(name, lambda p: None) for name in names]


# -- discovery and lazy loading ------------------------------------------------------------------------------
def test_entry_point_plugin_is_discovered_with_its_distribution(fake_dist):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    registry = Registry(strict=True)
    spec = registry.get("robots", "tricycle")
    assert spec.description == "a test robot"
    info = registry.provided_by()["tricycle"]
    assert (info.distribution, info.version, info.error) == ("safexp-tricycle", "1.2.3", None)
    assert info.provides["robots"] == ["tricycle"]
    assert info.label == "plugin 'tricycle' (distribution safexp-tricycle)"


def test_plugins_load_on_first_use_not_when_the_registry_is_made(fake_dist):
    module = fake_dist("safexp-noisy", ROBOT_PLUGIN.format(name="noisy"), entry_name="noisy")
    registry = Registry()
    assert module not in sys.modules
    assert "noisy" in registry.components("robots")
    assert module in sys.modules


def test_the_process_wide_registry_can_be_replaced_and_restored():
    previous = get_registry()
    mine = Registry(autoload=False)
    try:
        assert reset_registry(mine) is mine and get_registry() is mine
        fresh = reset_registry()
        assert fresh is not mine and get_registry() is fresh
    finally:
        reset_registry(previous)
    assert get_registry() is previous


# -- load errors: recorded, warned, and the other plugins keep working ------------------------------------------
def test_import_failure_is_recorded_and_the_others_still_load(fake_dist):
    fake_dist("safexp-broken", "import not_a_module_anywhere\n", entry_name="broken")
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    registry = Registry(strict=False)
    with pytest.warns(RuntimeWarning, match=r"plugin 'broken' \(distribution safexp-broken\) failed to load: import failed: "
                                           r"ModuleNotFoundError: No module named 'not_a_module_anywhere'"):
        robots_table = registry.components("robots")
    assert "tricycle" in robots_table
    broken = registry.plugins["broken"]
    assert broken.errors == ["import failed: ModuleNotFoundError: No module named 'not_a_module_anywhere'"]
    assert "No module named" in broken.error and broken.provides == {}
    assert [p.name for p in registry.load_errors()] == ["broken"]


def test_a_plugin_calling_sys_exit_on_import_is_a_load_error(fake_dist):
    fake_dist("safexp-quitter", "import sys\nsys.exit(3)\n", entry_name="quitter")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match="import failed: SystemExit: 3"):
        assert registry.components("robots") == {}


def test_a_raising_hook_is_recorded_with_the_hook_and_the_exception(fake_dist):
    fake_dist("safexp-flaky", RAISING_HOOK.format(why="no disk"), entry_name="flaky")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match=r"plugin 'flaky' \(distribution safexp-flaky\) failed to load: hook "
                                           r"safexp_tasks raised RuntimeError: task table unavailable: no disk"):
        assert registry.components("tasks") == {}
    assert registry.components("robots") == {"fine": registry.get("robots", "fine")}  # its other hooks work
    assert registry.plugins["flaky"].errors == ["hook safexp_tasks raised RuntimeError: task table unavailable: no disk"]
    assert registry.plugins["flaky"].provides == {"robots": ["fine"]}


def test_a_hook_calling_sys_exit_is_a_load_error_and_each_error_is_recorded_once():
    registry = Registry(autoload=False)
    registry.register(plugin(safexp_costs=lambda: exec("raise SystemExit(2)")), name="quitter")
    with pytest.warns(RuntimeWarning, match=r"plugin 'quitter'.* hook safexp_costs raised SystemExit: 2"):
        assert registry.components("costs") == {}
    registry.register(plugin(safexp_robots=robots("late")), name="late")  # the tables are rebuilt ...
    assert registry.components("costs") == {} and "late" in registry.components("robots")
    assert registry.plugins["quitter"].errors == ["hook safexp_costs raised SystemExit: 2"]  # ... the error is not repeated


def test_a_hook_returning_a_record_instead_of_an_iterable_is_recorded():
    registry = Registry(autoload=False)
    registry.register(plugin(safexp_robots=lambda: RobotSpec("solo", lambda p: None)), name="solo")
    with pytest.warns(RuntimeWarning, match=r"plugin 'solo'.* hook safexp_robots raised TypeError: 'RobotSpec' object is not iterable"):
        assert registry.components("robots") == {}


def test_a_hook_returning_the_wrong_record_type_is_recorded(fake_dist):
    fake_dist("safexp-mixup", """
        import safexp

        @safexp.hookimpl
        def safexp_tasks():
            yield safexp.CostSpec("oops", lambda p: None)

        @safexp.hookimpl
        def safexp_costs():
            yield safexp.CostSpec("fine", lambda p: None)
    """, entry_name="mixup")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match=r"plugin 'mixup'.*safexp_tasks returned CostSpec\(name='oops'.*expected TaskSpec records"):
        assert registry.components("tasks") == {}
    assert list(registry.components("costs")) == ["fine"]
    with pytest.warns(RuntimeWarning), pytest.raises(PluginLoadError, match=r"plugin 'mixup'.*safexp_tasks returned "
                                                                              r"CostSpec.*expected TaskSpec"):
        Registry(strict=True).components("tasks")


@pytest.mark.parametrize("kind", sorted(RECORD_TYPES))
def test_every_registration_hook_checks_its_record_type(kind):
    wrong = CommandSpec("wrong", "a command", "x") if kind != "commands" else RobotSpec("wrong", lambda p: None)
    registry = Registry(autoload=False)
    registry.register(plugin(**{f"safexp_{kind}": lambda: [wrong]}), name="wrong")
    with pytest.warns(RuntimeWarning, match=rf"hook safexp_{kind} returned .*expected {RECORD_TYPES[kind].__name__} records"):
        assert registry.components(kind) == {}


def test_misspelled_hook_name_is_an_error_not_silence(fake_dist):
    fake_dist("safexp-typo", """
        import safexp

        @safexp.hookimpl
        def safexp_robot():
            return []
    """, entry_name="typo")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match=r"plugin 'typo'.*unknown hook 'safexp_robot' \(did you mean 'safexp_robots'\?"):
        registry.components("robots")
    assert "valid choices: safexp_robots" in registry.plugins["typo"].error
    with pytest.warns(RuntimeWarning), pytest.raises(PluginLoadError, match=r"unknown hook 'safexp_robot' \(did you "
                                                                              r"mean 'safexp_robots'\?"):
        Registry(strict=True).components("robots")


def test_a_hook_without_its_decorator_is_an_error_not_silence():
    registry = Registry(autoload=False)
    with pytest.warns(RuntimeWarning, match=r"hook 'safexp_robots' is not decorated with @hookimpl"):
        registry.register(types.SimpleNamespace(safexp_robots=robots("bare")), name="bare")
    assert registry.components("robots") == {} and "bare" in {p.name for p in registry.load_errors()}


def test_a_plugin_name_taken_by_hand_is_recorded_and_entry_points_still_load(fake_dist):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    registry = Registry()
    registry.register(plugin(safexp_robots=robots("mine")), name="mine")  # before any lookup
    assert sorted(registry.components("robots")) == ["mine", "tricycle"]  # the entry points loaded too
    with pytest.warns(RuntimeWarning, match=r"plugin name 'mine' is already taken by distribution -; rename one"):
        registry.register(plugin(safexp_robots=robots("other")), name="mine", distribution="safexp-other")
    assert [p.label for p in registry.load_errors()] == ["plugin 'mine (safexp-other)' (distribution safexp-other)"]
    assert sorted(registry.components("robots")) == ["mine", "tricycle"]
    with pytest.raises(UnknownComponentError, match=r"unknown component kind 'command'; did you mean 'commands'\?"):
        registry.components("command")


def test_a_hook_with_a_wrong_signature_is_an_invalid_plugin():
    registry = Registry(autoload=False)
    with pytest.warns(RuntimeWarning, match=r"(?s)plugin 'odd'.*invalid plugin: Plugin 'odd' for hook 'safexp_env_created'.*"
                                           r"Argument\(s\) \{'environment'\} are declared in the hookimpl"):
        registry.register(plugin(safexp_env_created=lambda environment: None), name="odd")
    assert registry.plugins["odd"].errors and registry.components("robots") == {}


def test_a_second_entry_point_of_one_name_is_recorded_not_skipped(fake_dist):
    fake_dist("safexp-wheels-a", ROBOT_PLUGIN.format(name="wheel_a"), entry_name="wheels")
    fake_dist("safexp-wheels-b", ROBOT_PLUGIN.format(name="wheel_b"), entry_name="wheels")
    registry = Registry()
    with pytest.warns(RuntimeWarning, match=r"plugin name 'wheels' is already taken by distribution safexp-wheels-[ab]; "
                                           r"rename one of them"):
        [loaded] = registry.components("robots")  # whichever was found first
    first, second = ("a", "b") if loaded == "wheel_a" else ("b", "a")
    assert registry.plugins["wheels"].distribution == f"safexp-wheels-{first}"
    assert registry.plugins[f"wheels (safexp-wheels-{second})"].errors == [
        f"plugin name 'wheels' is already taken by distribution safexp-wheels-{first}; rename one of them"]


# -- conflicts: only the name two plugins share is unusable ------------------------------------------------------
def test_one_name_from_two_plugins_is_a_conflict_naming_both_and_how_to_block_one(fake_dist):
    fake_dist("safexp-trike-a", TWO_KINDS.format(who="alice"), entry_name="trike_a")
    fake_dist("safexp-trike-b", TWO_KINDS.format(who="bob"), entry_name="trike_b")
    registry = Registry(strict=False)
    robots_table = registry.components("robots")
    assert sorted(robots_table) == ["alice_bike", "bob_bike"]  # both plugins' other robots work ...
    assert sorted(registry.components("costs")) == ["alice_cost", "bob_cost"]  # ... and their other kinds
    message = (r"robot 'trike' is registered by both plugin 'trike_a' \(distribution safexp-trike-a\) and plugin "
               r"'trike_b' \(distribution safexp-trike-b\), so neither is used; block one of them "
               r"\(SAFEXP_BLOCK_PLUGINS=trike_b\) or uninstall its distribution")
    with pytest.raises(DuplicateComponentError, match=message):
        registry.get("robots", "trike")
    [conflict] = registry.conflicts()
    assert (conflict.kind, conflict.name, [o.name for o in conflict.owners]) == ("robots", "trike", ["trike_a", "trike_b"])
    assert registry.load_errors() == []  # a conflict is no plugin's load error
    assert registry.plugins["trike_a"].provides["robots"] == ["trike", "alice_bike"]


def test_strict_mode_turns_a_conflict_into_an_error_at_the_first_lookup(fake_dist):
    fake_dist("safexp-trike-a", ROBOT_PLUGIN.format(name="trike"), entry_name="trike_a")
    fake_dist("safexp-trike-b", ROBOT_PLUGIN.format(name="trike"), entry_name="trike_b")
    registry = Registry(strict=True)
    with pytest.raises(PluginLoadError, match=r"strict mode.*robot 'trike' is registered by both plugin 'trike_a' \(distribution "
                                              r"safexp-trike-a\) and plugin 'trike_b' \(distribution safexp-trike-b\)"):
        registry.components("robots")


def test_blocking_one_plugin_of_a_conflict_resolves_it(fake_dist, monkeypatch):
    fake_dist("safexp-trike-a", TWO_KINDS.format(who="alice"), entry_name="trike_a")
    fake_dist("safexp-trike-b", TWO_KINDS.format(who="bob"), entry_name="trike_b")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "trike_b")
    registry = Registry(strict=True)
    assert registry.get("robots", "trike").description == "alice's trike"
    assert registry.conflicts() == [] and "trike_b" not in registry.plugins


# -- strict mode ---------------------------------------------------------------------------------------------
def test_strict_mode_raises_every_problem_from_get(fake_dist):
    fake_dist("safexp-broken", "raise ImportError('missing libfoo.so')\n", entry_name="broken")
    fake_dist("safexp-flaky", RAISING_HOOK.format(why="offline"), entry_name="flaky")
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    registry = Registry(strict=True)  # nothing is loaded yet, so nothing raises
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(PluginLoadError) as err:
            registry.get("robots", "tricycle")
    message = str(err.value)
    assert message.startswith("plugins failed to load (strict mode; see `safexp plugins`, or block a plugin with "
                              "SAFEXP_BLOCK_PLUGINS): ")
    assert "plugin 'broken' (distribution safexp-broken): import failed: ImportError: missing libfoo.so" in message
    assert "plugin 'flaky' (distribution safexp-flaky): hook safexp_tasks raised RuntimeError: task table unavailable: offline" in message
    with pytest.raises(PluginLoadError):
        registry.check()
    with pytest.warns(RuntimeWarning, match="missing libfoo.so"):
        assert Registry(strict=False).get("robots", "tricycle").name == "tricycle"  # lenient: the good plugin works


def test_strict_mode_from_the_environment(fake_dist, monkeypatch):
    fake_dist("safexp-broken", "raise ImportError('missing libfoo.so')\n", entry_name="broken")
    monkeypatch.setenv("SAFEXP_STRICT_PLUGINS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(PluginLoadError, match=r"'broken' \(distribution safexp-broken\).*missing libfoo.so"):
            Registry().components("robots")
        assert Registry(strict=False).components("robots") == {}  # the argument wins over the environment
        monkeypatch.setenv("SAFEXP_STRICT_PLUGINS", "0")
        assert Registry().components("robots") == {}


def test_diagnostics_never_raise_even_in_strict_mode(fake_dist):
    fake_dist("safexp-broken", "raise ImportError('missing libfoo.so')\n", entry_name="broken")
    registry = Registry(strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert set(registry.provided_by()) == {"broken"}
        assert [p.name for p in registry.load_errors()] == ["broken"]
        assert registry.conflicts() == []
        assert registry.components("commands") == {}  # the command table never raises: `safexp plugins` must run


# -- switches, names and parameters ---------------------------------------------------------------------------
def test_blocking_and_disabling_autoload(fake_dist, monkeypatch):
    fake_dist("safexp-tricycle", ROBOT_PLUGIN.format(name="tricycle"), entry_name="tricycle")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "robots, tricycle")
    assert "tricycle" not in Registry().components("robots")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "safexp-tricycle")  # by distribution name
    assert "tricycle" not in Registry().plugins
    monkeypatch.delenv("SAFEXP_BLOCK_PLUGINS")
    monkeypatch.setenv("SAFEXP_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert Registry().plugins == {}
    assert "tricycle" in Registry(autoload=True).components("robots")  # the argument wins


def test_blocking_a_broken_plugin_silences_it(fake_dist, monkeypatch):
    fake_dist("safexp-broken", "import not_a_module_anywhere\n", entry_name="broken")
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry = Registry(strict=True)
        assert registry.components("robots") == {} and registry.load_errors() == []


def test_plugins_registered_by_hand_after_a_lookup_join_the_tables():
    registry = Registry(autoload=False)
    registry.register(plugin(safexp_robots=robots("one")), name="first")
    assert list(registry.components("robots")) == ["one"]
    registry.register(plugin(safexp_robots=robots("two")), name="second")
    assert list(registry.components("robots")) == ["one", "two"]
    assert registry.provided_by()["first"].provides == {"robots": ["one"]}
    registry.register(plugin(safexp_robots=robots("one")), name="third")
    assert list(registry.components("robots")) == ["two"]  # a duplicate registered later conflicts too
    assert [c.name for c in registry.conflicts()] == ["one"]
    with pytest.raises(ValueError, match="already registered"):
        registry.pm.register(types.SimpleNamespace(), name="first")


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
    with pytest.raises(UnknownComponentError, match=r"unknown task 'goal'; there are no valid choices \(is the plugin "
                                                    r"that provides them installed\?\)"):
        registry.get("tasks", "goal")


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
    with pytest.raises(ParameterError, match=r"the parameters of robot 'tricycle' must be a mapping of names to values, got 3"):
        build_params(spec, 3)


# -- records ---------------------------------------------------------------------------------------------------
def test_spec_records_are_validated_and_frozen():
    with pytest.raises(ValueError, match="must be lower-case"):
        RobotSpec("Point", lambda p: None)
    with pytest.raises(TypeError, match="params must be a dataclass type"):
        RobotSpec("point", lambda p: None, params=dict)
    with pytest.raises(TypeError, match=r"RobotSpec 'point': factory 3 is not callable"):
        RobotSpec("point", 3)
    spec = RobotSpec("point", lambda p: None)
    assert spec.params is NoParams and spec.kind == "robots"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"
    assert TaskSpec("goal", lambda p: None).levels == {} and CostSpec("c", lambda p: None).kind == "costs"


def test_command_records_are_validated_and_collected_in_their_own_table():
    with pytest.raises(ValueError, match=r"CommandSpec name 'Train' must be lower-case letters, digits and '-'"):
        CommandSpec("Train", "help", "module")
    with pytest.raises(TypeError, match=r"CommandSpec 'train': module must be a dotted module name, got ''"):
        CommandSpec("train", "help", "")
    registry = Registry(autoload=False, strict=True)
    registry.register(plugin(safexp_commands=lambda: [CommandSpec("report", "summarise runs", "reports.command"),
                                                      CommandSpec("tidy-up", "remove old runs", "reports.tidy")]),
                      name="reports")
    commands = registry.components("commands")
    assert list(commands) == ["report", "tidy-up"] and commands["report"].module == "reports.command"
    assert registry.get("commands", "report").help == "summarise runs"
    assert registry.plugins["reports"].provides == {} or registry.provided_by()["reports"].provides == {
        "commands": ["report", "tidy-up"]}
    with pytest.raises(UnknownComponentError, match=r"unknown command 'reprot'; did you mean 'report'\?"):
        registry.get("commands", "reprot")


def test_every_hook_is_documented():
    from safexp.plugin import hookspecs

    hooks = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("safexp_")]
    assert sorted(h.__name__ for h in hooks) == [
        "safexp_algorithms", "safexp_commands", "safexp_costs", "safexp_env_created", "safexp_hazards",
        "safexp_robots", "safexp_tasks", "safexp_training_callbacks"]
    for hook in hooks:
        doc = hook.__doc__ or ""
        assert ":return:" in doc and len(doc.split()) > 10, f"{hook.__name__} lacks a docstring saying what it returns"
    assert {f"safexp_{kind}" for kind in RECORD_TYPES} <= {h.__name__ for h in hooks}  # every table has its hook


def test_contributing_documents_every_hook():
    from pathlib import Path

    from safexp.plugin import hookspecs

    guide = (Path(__file__).parents[2] / "CONTRIBUTING.md").read_text()
    for name in (n for n in dir(hookspecs) if n.startswith("safexp_")):
        assert f"`{name}(" in guide, f"CONTRIBUTING.md's hook reference misses {name}"


def test_python_api_lives_in_the_experiments_plugin():
    import safexp
    import safexp_experiments
    from safexp_experiments.evaluation import evaluate
    from safexp_experiments.training import resume, train

    assert (safexp_experiments.train, safexp_experiments.resume, safexp_experiments.evaluate) == (train, resume, evaluate)
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        safexp_experiments.trian
    for name in ("train", "resume", "evaluate"):
        assert not hasattr(safexp, name), f"the core must not offer safexp.{name} (it lives in safexp_experiments)"


def test_one_plugin_registering_a_name_twice_is_named_once():
    from safexp.plugin import RobotModel, RobotSpec, hookimpl

    class Twice:
        @hookimpl
        def safexp_robots(self):
            yield RobotSpec("twin", lambda params: RobotModel("<mujoco/>"), description="first")
            yield RobotSpec("twin", lambda params: RobotModel("<mujoco/>"), description="second")

    registry = Registry(autoload=False)
    registry.register(Twice(), name="twice", distribution="safexp-twice")
    with pytest.raises(DuplicateComponentError, match=r"^robot 'twin' is registered 2 times by plugin 'twice' "
                                                      r"\(distribution safexp-twice\), so it is not used; report it"):
        registry.get("robots", "twin")
