"""``safexp plugins``: every discovered plugin, where it comes from, what it provides, its load errors and the
names two plugins both register (components, and env ids two tasks would make). Exits 0 whatever it finds (it
is the diagnostic), except that ``--errors-only`` exits 1 when there is a load error or a conflict, so scripts
can check an install with it."""

from __future__ import annotations

import argparse

from safexp.plugin.errors import PluginLoadError
from safexp.registry import blocked_plugins, get_registry
from safexp.registry.catalogue import clash_message, env_id_clashes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--errors-only", action="store_true", help="show only the plugins that failed to load")


def run(args: argparse.Namespace) -> int:
    registry = get_registry()
    plugins = registry.provided_by()
    conflicts = registry.conflicts()
    try:
        clashes = env_id_clashes(registry)
    except PluginLoadError:  # strict mode with a load error or conflict, listed below: no catalogue to check
        clashes = {}
    shown = [p for p in plugins.values() if p.errors or not args.errors_only]
    if not shown and not conflicts and not clashes:
        print("no safexp plugins installed" if not args.errors_only else "no plugin failed to load")
    for info in sorted(shown, key=lambda p: p.name):
        print(f"{info.name}  ({info.distribution} {info.version})")
        for kind, names in sorted(info.provides.items()):
            print(f"    {kind}: {', '.join(sorted(names))}")
        for error in info.errors:
            print(f"    ERROR: {error}")
    for conflict in conflicts:
        print(f"CONFLICT: {conflict.message()}")
    for env_id, entries in clashes.items():
        print(f"CONFLICT: {clash_message(env_id, entries)}")
    blocked = blocked_plugins()
    if blocked:
        print(f"blocked (SAFEXP_BLOCK_PLUGINS): {', '.join(sorted(blocked))}")
    failed = any(p.errors for p in shown) or conflicts or clashes
    return 1 if args.errors_only and failed else 0
