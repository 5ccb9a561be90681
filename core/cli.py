"""The ``safexp`` command line.

Each subcommand is a module in :mod:`safexp.commands` with ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code). User errors (:class:`safexp.SafexpError`) are printed as one clean line
with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from safexp.errors import SafexpError

COMMANDS = ("plugins", "list", "train", "eval", "plot", "render", "sweep", "demo")
"""Subcommand names, each the module ``safexp.commands.<name>`` (``list`` is ``list_components``)."""

_MODULE_OF = {"list": "list_components"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safexp",
        description="Constrained reinforcement learning on MuJoCo: the Safety Gym benchmark, extended by plugins.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"safexp.commands.{_MODULE_OF.get(name, name)}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
