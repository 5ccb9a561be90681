"""``safexp plot RUN_DIR... --out FILE.png``: return and cost curves against env steps, and the Lagrange
multipliers of the runs that have them."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories made by `safexp train`")
    parser.add_argument("--out", required=True, help="the figure: .png, .pdf or .svg")
    parser.add_argument("--curves", choices=("train", "eval"), default="train",
                        help="training episodes (default) or the periodic deterministic evaluations")
    parser.add_argument("--title", default=None, help="figure title")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.plot import plot_runs

    path = plot_runs(args.run_dirs, args.out, kind=args.curves, title=args.title)
    print(f"wrote {path}")
    return 0
