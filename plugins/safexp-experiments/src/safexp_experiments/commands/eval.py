"""``safexp eval RUN_DIR [--episodes N]``: deterministic evaluation episodes of a trained run."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory made by `safexp train`")
    parser.add_argument("--episodes", type=int, default=None, help="episodes to play (default: the run's eval_episodes)")


def run(args: argparse.Namespace) -> int:
    from safexp.plugin import ParameterError
    from safexp_experiments.evaluation import evaluate, format_report

    if args.episodes is not None and args.episodes < 1:
        raise ParameterError(f"--episodes must be at least 1, got {args.episodes}")
    report = evaluate(args.run_dir, args.episodes)
    print(format_report(report))
    print(f"written to {args.run_dir.rstrip('/')}/eval.json")
    return 0
