"""``safexp list KIND``: the names of one kind of component with their one-line descriptions."""

from __future__ import annotations

import argparse

from safexp.plugin.errors import UnknownComponentError, choices_hint
from safexp.registry import KINDS, get_registry

LISTABLE = (*KINDS, "envs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help=f"one of: {', '.join(LISTABLE)}")


def run(args: argparse.Namespace) -> int:
    if args.kind not in LISTABLE:
        raise UnknownComponentError(f"cannot list '{args.kind}'; {choices_hint(args.kind, LISTABLE)}")
    registry = get_registry()
    if args.kind == "envs":
        from safexp.registry.catalogue import clash_message, env_id_clashes, suite_envs, unavailable_levels

        rows = [(env_id, entry.description) for env_id, entry in suite_envs().items()]
        notes = [f"no {level} envs: missing {', '.join(missing)} (blocked or not installed)"
                 for level, missing in unavailable_levels().items()]
        notes += [f"CONFLICT: {clash_message(env_id, entries)}" for env_id, entries in env_id_clashes().items()]
    else:
        rows = [(name, spec.description) for name, spec in registry.components(args.kind).items()]
        notes = [f"CONFLICT: {c.message()}" for c in registry.conflicts(args.kind)]  # builds this kind's table only
    if not rows:
        print(f"no {args.kind} registered (is the plugin that provides them installed? see `safexp plugins`)")
    if rows:
        width = max(len(name) for name, _ in rows)
        for name, description in sorted(rows):
            print(f"{name.ljust(width)}  {description}")
    for note in notes:
        print(note)
    return 0
