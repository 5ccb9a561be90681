"""``safexp train CONFIG [key=value ...]`` and ``safexp train --resume RUN_DIR``: a training run."""

from __future__ import annotations

import argparse

from safexp.plugin import SafexpError
from safexp_experiments.evaluation import format_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="experiment file, or a name under configs/experiment/")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides: algo.cost_limit=10 env.level=2 seed=3, or a group option: env=pointgoal2")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its latest checkpoint")
    parser.add_argument("--configs", default=None, metavar="DIR",
                        help="an extra config root searched first, before ./configs, $SAFEXP_CONFIG_PATH and the "
                             "configs shipped with safexp-experiments")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.training import resume, train

    if args.resume:
        if args.config or args.overrides:
            raise SafexpError("--resume continues a run with its own config; give no CONFIG or overrides with it")
        result = resume(args.resume)
    else:
        if not args.config:
            raise SafexpError("give an experiment config (e.g. configs/experiment/pointgoal1_ppo_lag.yaml) or --resume RUN_DIR")
        result = train(args.config, args.overrides, search_root=args.configs)
    if result.state == "interrupted":
        print(f"interrupted at {result.steps:,} steps; checkpoint saved in {result.run_dir}/checkpoints\n"
              f"continue with: safexp train --resume {result.run_dir}")
        return 130
    print(format_report(result.summary or {}))
    print(f"run directory: {result.run_dir}\n"
          f"  config.yaml, summary.json, model.zip, checkpoints/\n"
          f"  TensorBoard: tensorboard --logdir {result.run_dir}/tensorboard")
    return 0
