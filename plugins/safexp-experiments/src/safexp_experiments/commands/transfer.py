"""``safexp transfer CONFIG [key=value ...] [--stages pretrain,zero_shot,finetune,scratch]``: a safe-transfer
experiment (:mod:`safexp_experiments.transfer`).

What each stage does and the live progress go to stderr; the table goes to stdout."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a transfer experiment: a file, or a name under configs/experiment/ "
                                       "(e.g. transfer_demo, transfer_point_people)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides: transfer.seeds=[0,10,20] transfer.targets=[pointhallwaypoleslidar] "
                             "env.feedback=false transfer.constrained=false, and launcher=local|ray, "
                             "launcher.address=..., launcher.workers=N")
    parser.add_argument("--stages", default=None, metavar="STAGE,...",
                        help="the stages to run, in their order: pretrain, zero_shot, finetune, scratch (default: all); "
                             "finished work is skipped, interrupted runs resume")
    parser.add_argument("--configs", default=None, metavar="DIR",
                        help="an extra config root searched first, before ./configs, $SAFEXP_CONFIG_PATH and the "
                             "configs shipped with safexp-experiments")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.transfer import run_transfer

    result = run_transfer(args.config, args.overrides, args.stages, args.configs, progress=sys.stderr)
    print(result.markdown_path.read_text(encoding="utf-8"))
    figure = result.plot_path or "none yet (no fine-tune or scratch run has finished an episode)"
    print(f"table: {result.csv_path} and {result.markdown_path}; figure: {figure}")
    if result.failed:
        print(f"{len(result.failed)} run(s) failed; rerun the same command to retry them (finished work is skipped)",
              file=sys.stderr)
        return 1
    return 0
