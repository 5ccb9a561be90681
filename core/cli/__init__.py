"""The ``safexp`` command line: ``safexp plugins``, ``safexp list``, and every command a plugin adds.

A command is a :class:`~safexp.plugin.CommandSpec` (name, one-line help, module); the core's own are below,
plugins add theirs through the ``safexp_commands`` hook. A command's module, with ``add_arguments(parser)`` and
``run(args) -> int``, is imported only when that command is used, so ``safexp --help`` imports no command.
User errors (:class:`safexp.SafexpError`) are printed as one clean line with exit code 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from safexp.plugin.errors import SafexpError
from safexp.plugin.specs import CommandSpec

CORE_COMMANDS = (
    CommandSpec("plugins", "show the installed plugins, what each provides, and any load error",
                "safexp.cli.commands.plugins"),
    CommandSpec("list", "list robots, tasks, hazards, costs, algorithms or envs with their descriptions",
                "safexp.cli.commands.list_components"),
)


def available_commands() -> dict[str, CommandSpec]:
    """The core's commands, then every plugin's (a plugin cannot replace a core command)."""
    from safexp.registry import get_registry

    commands = {spec.name: spec for spec in CORE_COMMANDS}
    for name, spec in get_registry().components("commands").items():
        commands.setdefault(name, spec)
    return commands


def build_parser(commands: dict[str, CommandSpec], chosen: str | None) -> argparse.ArgumentParser:
    """The parser: every command with its help line; only ``chosen``'s module is imported for its arguments."""
    parser = argparse.ArgumentParser(
        prog="safexp",
        description="Constrained reinforcement learning on MuJoCo: the Safety Gym benchmark, extended by plugins.",
        epilog="`safexp plugins` shows where each command comes from; `safexp COMMAND --help` describes one.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, spec in commands.items():
        command = sub.add_parser(name, help=spec.help, description=spec.help)
        if name == chosen:
            try:  # a plugin's broken command must not end in a traceback
                module = importlib.import_module(spec.module)
                module.add_arguments(command)
                command.set_defaults(run=module.run)
            except Exception as exc:
                raise SafexpError(f"cannot load the command from module '{spec.module}': {type(exc).__name__}: "
                                  f"{exc} (see `safexp plugins`)") from None
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = available_commands()
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    try:
        parser = build_parser(commands, chosen if chosen in commands else None)
    except SafexpError as exc:
        print(f"safexp {chosen}: error: {exc}", file=sys.stderr)
        return 2
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value overrides may follow options (safexp sweep CONFIG --grid ... launcher=ray)
        if not hasattr(args, "overrides") or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return int(args.run(args) or 0)
    except SafexpError as exc:
        print(f"safexp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"safexp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
