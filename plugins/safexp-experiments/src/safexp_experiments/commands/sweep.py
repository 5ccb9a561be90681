"""``safexp sweep CONFIG --grid 'env=[...]' --grid 'algo=[...]' --seeds 0,10,20``: a grid of runs and one table.

The plan, the live progress and a line per run go to stderr; the table goes to stdout."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="experiment file, or an experiment name (looked up under experiment/ in "
                                       "./configs, $SAFEXP_CONFIG_PATH, then the shipped configs)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides for every run, and launcher=local|ray, launcher.address=..., launcher.workers=N")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=[V1,V2,...]",
                        help="a swept key and its values (repeatable): 'env=[pointgoal1,pointgoal2]', 'algo.cost_limit=[10,25]'")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0; the paper uses 0,10,20)")
    parser.add_argument("--sweep-dir", default=None, help="where the runs and the table go (default: <out_dir>/sweeps/<config>)")
    parser.add_argument("--configs", default=None, metavar="DIR",
                        help="an extra config root searched first, before ./configs, $SAFEXP_CONFIG_PATH and the "
                             "configs shipped with safexp-experiments")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.sweep import run_sweep

    result = run_sweep(args.config, args.grid, args.seeds, args.overrides, args.sweep_dir, args.configs,
                       progress=sys.stderr)
    print(result.markdown_path.read_text(encoding="utf-8"))
    print(f"table: {result.csv_path} and {result.markdown_path}")
    if result.failed:
        print(f"{len(result.failed)} of {len(result.outcomes)} runs failed; rerun the same command to retry them "
              "(finished runs are skipped)", file=sys.stderr)
        return 1
    return 0
