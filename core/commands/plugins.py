"""``safexp plugins``: every discovered plugin, where it comes from, what it provides, and any load error."""

from __future__ import annotations

import argparse

from safexp.registry import get_registry

HELP = "show the installed plugins, what each provides, and any load error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--errors-only", action="store_true", help="show only the plugins that failed to load")


def run(args: argparse.Namespace) -> int:
    plugins = get_registry().provided_by()
    shown = [p for p in plugins.values() if p.error or not args.errors_only]
    if not shown:
        print("no safexp plugins installed" if not args.errors_only else "no plugin failed to load")
        return 0
    for info in sorted(shown, key=lambda p: p.name):
        print(f"{info.name}  ({info.distribution} {info.version})")
        for kind, names in sorted(info.provides.items()):
            print(f"    {kind}: {', '.join(sorted(names))}")
        if info.error:
            print(f"    ERROR: {info.error}")
    return 1 if any(p.error for p in shown) else 0
