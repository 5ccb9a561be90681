"""The command line in-process on the testkit plugin: the core's ``plugins`` and ``list``, a plugin's command
(imported only when it runs), and clean errors."""

from __future__ import annotations

import sys
import textwrap
import types
import warnings

import pytest

from safexp.cli import CORE_COMMANDS, available_commands, main
from safexp.plugin import CommandSpec, HazardSpec, RobotSpec, hookimpl

TESTKIT_BLOCK = [
    "testkit  (safexp-testkit 0.3.1)",
    "    algorithms: a2c_testkit",
    "    commands: testkit-hello",
    "    costs: crate_contact, far_from_centre",
    "    hazards: beacons, crates",
    "    robots: puck",
    "    tasks: reach",
]


def safexp(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``safexp ARGV`` in this process: exit code, stdout, stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors and --help
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def register(registry, name: str, **hooks) -> None:
    registry.register(types.SimpleNamespace(**{hook: hookimpl(f) for hook, f in hooks.items()}), name=name)


def test_plugins_shows_each_plugin_with_what_it_provides(capsys):
    code, out, _ = safexp(capsys, "plugins")
    assert code == 0
    assert out.splitlines() == TESTKIT_BLOCK


def test_plugins_shows_load_errors_conflicts_and_blocks_and_still_exits_0(capsys, testkit_registry, monkeypatch):
    testkit_registry.strict = False  # `safexp plugins` must run whatever the mode; lookups would raise in strict mode
    register(testkit_registry, "rival", safexp_robots=lambda: [RobotSpec("puck", lambda p: None, description="another puck")],
             safexp_hazards=lambda: [HazardSpec("cones", lambda p: None)])
    register(testkit_registry, "flaky", safexp_tasks=lambda: 1 / 0)
    monkeypatch.setenv("SAFEXP_BLOCK_PLUGINS", "hazards,robots")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        code, out, _ = safexp(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["flaky  (- -)", "    ERROR: hook safexp_tasks raised ZeroDivisionError: division by zero"]
    assert lines[2:5] == ["rival  (- -)", "    hazards: cones", "    robots: puck"]
    assert lines[5:12] == TESTKIT_BLOCK
    assert lines[12] == ("CONFLICT: robot 'puck' is registered by both plugin 'testkit' (distribution safexp-testkit) and "
                         "plugin 'rival' (distribution -), so neither is used; block one of them "
                         "(SAFEXP_BLOCK_PLUGINS=rival) or uninstall its distribution")
    assert lines[13:] == ["blocked (SAFEXP_BLOCK_PLUGINS): hazards, robots"]
    code, out, _ = safexp(capsys, "plugins", "--errors-only")
    assert code == 1 and out.splitlines() == lines[:2] + lines[12:]  # only the problems; exit 1: there are some


def test_plugins_without_any(capsys, testkit_registry):
    from safexp.registry import Registry, reset_registry

    reset_registry(Registry(autoload=False))
    assert safexp(capsys, "plugins")[1] == "no safexp plugins installed\n"
    reset_registry(testkit_registry)
    assert safexp(capsys, "plugins", "--errors-only")[1] == "no plugin failed to load\n"


@pytest.mark.parametrize("kind, lines", [
    ("robots", ["puck  a sliding puck pushed along x and y"]),
    ("tasks", ["reach  stay close to the first beacon"]),
    ("hazards", ["beacons  thin orange posts", "crates   light boxes the robot can push"]),
    ("costs", ["crate_contact    robot touching a crate: 1 per contact",
               "far_from_centre  robot farther than a limit from the centre"]),
    ("algorithms", ["a2c_testkit  stable-baselines3 A2C (unconstrained)"]),
    ("envs", ["safexp/PuckReach0-v0  puck robot, reach task: 2 beacons; cost: far_from_centre",
              "safexp/PuckReach1-v0  puck robot, reach task: 3 beacons, 2 crates; cost: far_from_centre, crate_contact"]),
])
def test_list_shows_names_and_descriptions(capsys, kind, lines):
    code, out, _ = safexp(capsys, "list", kind)
    assert code == 0 and out.splitlines() == lines


def test_list_shows_conflicts_and_the_envs_they_make_unavailable(capsys, testkit_registry):
    testkit_registry.strict = False
    register(testkit_registry, "rival", safexp_hazards=lambda: [HazardSpec("crates", lambda p: None)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a conflict is not a load error: nothing to warn about
        code, out, _ = safexp(capsys, "list", "hazards")
    assert code == 0
    assert out.splitlines() == [
        "beacons  thin orange posts",
        "CONFLICT: hazard 'crates' is registered by both plugin 'testkit' (distribution safexp-testkit) and plugin "
        "'rival' (distribution -), so neither is used; block one of them (SAFEXP_BLOCK_PLUGINS=rival) or uninstall "
        "its distribution"]
    assert "CONFLICT" not in safexp(capsys, "list", "robots")[1]  # each kind shows its own conflicts
    code, out, _ = safexp(capsys, "list", "envs")
    assert code == 0 and out.splitlines() == [
        "safexp/PuckReach0-v0  puck robot, reach task: 2 beacons; cost: far_from_centre",
        "no Reach1 envs: missing hazard 'crates' (blocked or not installed)"]


def test_list_with_nothing_registered_says_where_to_look(capsys, testkit_registry):
    from safexp.registry import Registry, reset_registry

    reset_registry(Registry(autoload=False))
    code, out, _ = safexp(capsys, "list", "robots")
    assert code == 0
    assert out == "no robots registered (is the plugin that provides them installed? see `safexp plugins`)\n"


def test_user_errors_are_one_clean_line_with_exit_code_2(capsys):
    code, out, err = safexp(capsys, "list", "robot")
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1] == (
        "safexp list: error: cannot list 'robot'; did you mean 'robots'? valid choices: "
        "robots, costs, algorithms, tasks, hazards, envs")
    assert "Traceback" not in err
    code, _, err = safexp(capsys, "frobnicate")
    assert code == 2 and "invalid choice: 'frobnicate'" in err
    code, _, err = safexp(capsys, "list", "robots", "--colour")
    assert code == 2 and "unrecognized arguments: --colour" in err
    code, _, err = safexp(capsys)
    assert code == 2 and "required: COMMAND" in err


def test_help_lists_every_command_without_importing_any(capsys):
    sys.modules.pop("safexp_testkit.command", None)
    code, out, _ = safexp(capsys, "--help")
    assert code == 0
    for spec in (*CORE_COMMANDS, CommandSpec("testkit-hello", "greet, and show the puck's default parameters", "-")):
        assert spec.name in out and spec.help in " ".join(out.split())
    assert "safexp_testkit.command" not in sys.modules


def test_a_plugin_command_runs_and_its_module_loads_only_then(capsys):
    sys.modules.pop("safexp_testkit.command", None)
    assert list(available_commands()) == ["plugins", "list", "testkit-hello"]
    assert "safexp_testkit.command" not in sys.modules
    code, out, _ = safexp(capsys, "testkit-hello", "--shout", "bob")
    assert code == 0
    assert out.splitlines() == ["HELLO, BOB", "puck defaults: PuckParams(force=0.05, gear=1.0)"]
    assert "safexp_testkit.command" in sys.modules
    code, out, _ = safexp(capsys, "testkit-hello", "--help")
    assert code == 0 and "--shout" in out and "whom to greet" in out


@pytest.fixture
def command_module(tmp_path, monkeypatch):
    """``command_module(name, run_body)``: an importable command module whose ``run`` executes ``run_body``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, run_body: str) -> str:
        header = ("from safexp.plugin import ParameterError\n\n\n"
                  "def add_arguments(parser):\n    parser.add_argument('overrides', nargs='*')\n\n\n"
                  "def run(args):\n")
        (tmp_path / f"{name}.py").write_text(header + textwrap.indent(textwrap.dedent(run_body).strip(), "    ") + "\n")
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return write


def test_a_plugin_command_cannot_replace_a_core_command(capsys, testkit_registry, command_module):
    impostor = command_module("impostor_list", "print('impostor'); return 0")
    register(testkit_registry, "impostor", safexp_commands=lambda: [CommandSpec("list", "not the list", impostor)])
    code, out, _ = safexp(capsys, "list", "robots")
    assert code == 0 and out.startswith("puck")
    assert available_commands()["list"].module == "safexp.cli.commands.list_components"


def test_a_command_raising_a_safexp_error_prints_one_line_and_key_value_overrides_pass_through(capsys, testkit_registry,
                                                                                                 command_module):
    module = command_module("failing_command", """
        if args.overrides:
            print("overrides:", " ".join(args.overrides))
            return 3
        raise ParameterError("unknown key 'lr'; did you mean 'learning_rate'?")
    """)
    register(testkit_registry, "failing", safexp_commands=lambda: [CommandSpec("fail", "always fails", module)])
    code, out, err = safexp(capsys, "fail")
    assert code == 2 and out == ""
    assert err == "safexp fail: error: unknown key 'lr'; did you mean 'learning_rate'?\n"
    code, out, _ = safexp(capsys, "fail", "a=1", "b.c=2")
    assert code == 3 and out == "overrides: a=1 b.c=2\n"


def test_a_plugin_command_whose_module_fails_to_import_is_a_clean_error(capsys):
    from safexp.cli import main
    from safexp.plugin import CommandSpec, get_registry, hookimpl

    class BrokenCommand:
        @hookimpl
        def safexp_commands(self):
            yield CommandSpec("broken-cmd", "a command whose module does not exist", "safexp_no_such_module.command")

    get_registry().register(BrokenCommand(), name="broken_cmd")
    assert main(["broken-cmd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("safexp broken-cmd: error: cannot load the command from module 'safexp_no_such_module.command'")
    assert "ModuleNotFoundError" in err and "Traceback" not in err
