"""``safexp list KIND``: the names of one kind of component with their one-line descriptions."""

from __future__ import annotations

import argparse

from safexp.errors import UnknownComponentError, choices_hint
from safexp.registry import KINDS, get_registry

HELP = "list robots, tasks, hazards, costs, algorithms or envs with their descriptions"
LISTABLE = (*KINDS, "envs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=f"one of: {', '.join(LISTABLE)}")


def run(args: argparse.Namespace) -> int:
    if args.kind not in LISTABLE:
        raise UnknownComponentError(f"cannot list '{args.kind}'; {choices_hint(args.kind, LISTABLE)}")
    if args.kind == "envs":
        from safexp.registry.catalogue import suite_envs

        rows = [(env_id, entry.description) for env_id, entry in suite_envs().items()]
    else:
        rows = [(name, spec.description) for name, spec in get_registry().components(args.kind).items()]
    if not rows:
        print(f"no {args.kind} registered (is the plugin that provides them installed? see `safexp plugins`)")
        return 0
    width = max(len(name) for name, _ in rows)
    for name, description in sorted(rows):
        print(f"{name.ljust(width)}  {description}")
    return 0
