"""Hook implementations of safexp-experiments: the ``safexp`` subcommands that train, evaluate, plot, render,
sweep, demo and transfer. Each command's module is imported only when it runs, so ``safexp --help`` loads no learner."""

from __future__ import annotations

from collections.abc import Iterator

from safexp.plugin import CommandSpec, hookimpl

COMMANDS = {
    "train": "train a learner from an experiment config (with key=value overrides), or resume an interrupted run",
    "eval": "evaluate a run's policy: mean ± std return and cost, and Safety Gym's J_r, M_c, rho_c for suite envs",
    "plot": "plot return and cost curves of runs (mean and spread across seeds of one config) with the cost limit",
    "render": "record an episode of a random policy (ENV_ID) or a trained one (RUN_DIR) to an .mp4 or .gif",
    "sweep": "run an experiment over a grid of overrides and seeds (local process pool or Ray), then tabulate the results",
    "demo": "train PPO-Lagrangian on PointGoal1 briefly, then evaluate, plot and record a video of it",
    "transfer": "safe transfer: pretrain in a source env, zero-shot and fine-tune in target envs, against training "
                "from scratch; table and plot of return, cost and lifetime cost",
}
"""Each command's one-line help; its module is ``safexp_experiments.commands.<name>``."""


@hookimpl
def safexp_commands() -> Iterator[CommandSpec]:
    """Yield the experiment commands."""
    for name, help_line in COMMANDS.items():
        yield CommandSpec(name, help_line, f"safexp_experiments.commands.{name}")
