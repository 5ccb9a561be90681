"""``safexp sweep CONFIG --grid 'env=[...]' --grid 'algo=[...]' --seeds 0,10,20``: a grid of runs and one table."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="experiment file, or a name under configs/experiment/")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides for every run, and launcher=local|ray, launcher.address=..., launcher.workers=N")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=[V1,V2,...]",
                        help="a swept key and its values (repeatable): 'env=[pointgoal1,pointgoal2]', 'algo.cost_limit=[10,25]'")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0; the paper uses 0,10,20)")
    parser.add_argument("--sweep-dir", default=None, help="where the runs and the table go (default: <out_dir>/sweeps/<config>)")
    parser.add_argument("--configs", default="configs", metavar="DIR", help="config root for experiment names")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.sweep import RunOutcome, run_sweep

    counter = {"done": 0}

    def report(outcome: RunOutcome) -> None:
        counter["done"] += 1
        detail = (f"return {outcome.summary['return_mean']:.3f} cost {outcome.summary['cost_mean']:.3f}"
                  if outcome.summary else outcome.error)
        print(f"[{counter['done']}] {outcome.state:8s} {outcome.job.name}: {detail}", file=sys.stderr, flush=True)

    result = run_sweep(args.config, args.grid, args.seeds, args.overrides, args.sweep_dir, args.configs, report)
    print(result.markdown_path.read_text(encoding="utf-8"))
    print(f"table: {result.csv_path} and {result.markdown_path}")
    if result.failed:
        print(f"{len(result.failed)} of {len(result.outcomes)} runs failed; rerun the same command to retry them "
              "(finished runs are skipped)", file=sys.stderr)
        return 1
    return 0
