"""Hook implementations of safexp-experiments: the ``safexp`` subcommands that train, evaluate, plot, render,
sweep and demo. Each command's module is imported only when it runs, so ``safexp --help`` loads no learner."""

from __future__ import annotations

from collections.abc import Iterator

from safexp.plugin import CommandSpec, hookimpl


@hookimpl
def safexp_commands() -> Iterator[CommandSpec]:
    """Yield the experiment commands."""
    yield CommandSpec("train", "train a learner from an experiment config (with key=value overrides), or resume an interrupted run",
                      "safexp_experiments.commands.train")
    yield CommandSpec("eval", "evaluate a run's policy: mean ± std return and cost, and Safety Gym's J_r, M_c, rho_c for suite envs",
                      "safexp_experiments.commands.eval")
    yield CommandSpec("plot", "plot return and cost curves of runs (mean and spread across seeds of one config) with the cost limit",
                      "safexp_experiments.commands.plot")
    yield CommandSpec("render", "record an episode of a random policy (ENV_ID) or a trained one (RUN_DIR) to an .mp4 or .gif",
                      "safexp_experiments.commands.render")
    yield CommandSpec("sweep", "run an experiment over a grid of overrides and seeds (local process pool or Ray), then tabulate the results",
                      "safexp_experiments.commands.sweep")
    yield CommandSpec("demo", "train PPO-Lagrangian on PointGoal1 briefly, then evaluate, plot and record a video of it",
                      "safexp_experiments.commands.demo")
