"""``safexp train CONFIG [key=value ...]`` and ``safexp train --resume RUN_DIR``: a training run, which SIGTERM
stops as Ctrl-C does (with a checkpoint)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
    elif not args.config:
        raise SafexpError("give an experiment config (e.g. configs/experiment/pointgoal1_ppo_lag.yaml) or --resume RUN_DIR")
    with _sigterm_as_ctrl_c():
        result = resume(args.resume) if args.resume else train(args.config, args.overrides, search_root=args.configs)
    if result.state == "interrupted":
        print(f"interrupted at {result.steps:,} steps; checkpoint saved in {result.run_dir}/checkpoints\n"
              f"continue with: safexp train --resume {result.run_dir}")
        return 130
    print(format_report(result.summary or {}))
    print(f"run directory: {result.run_dir}\n"
          f"  config.yaml, summary.json, model.zip, checkpoints/\n"
          f"  TensorBoard: tensorboard --logdir {result.run_dir}/tensorboard")
    return 0


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While active, SIGTERM (what ``kill`` and batch schedulers send before they kill a job) does what Ctrl-C
    does: during training the run stops after the current rollout's update with a checkpoint; before or after
    it, the command is interrupted. Off the main thread (the command run from a thread, where Python cannot
    install signal handlers) it does nothing."""

    def on_sigterm(signum: int, frame: Any) -> None:
        ctrl_c = signal.getsignal(signal.SIGINT)
        if not callable(ctrl_c):  # SIGINT ignored (a job started in the background) or left to the OS
            raise KeyboardInterrupt
        ctrl_c(signum, frame)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
