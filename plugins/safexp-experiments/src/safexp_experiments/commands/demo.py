"""``safexp demo``: the README's main job, end to end in a few minutes on a laptop CPU.

Trains PPO-Lagrangian on PointGoal1 (the experiment ``pointgoal1_ppo_lag_demo``), evaluates it, plots its
return and cost curves, records a video of the trained policy, says where everything is, and what a run this
short can and cannot show.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safexp_experiments.plot import Curve

DEMO_EXPERIMENT = "pointgoal1_ppo_lag_demo"
FULL_EXPERIMENT = "pointgoal1_ppo_lag"
MULTIPLIER_STEPS = 1_000_000
"""About when the ``omnisafe`` multiplier (the demo's) starts to pull the cost down."""
REFERENCE_COST_AT_3E6 = 37
"""PPO-Lag's episode cost on PointGoal1 at 3e6 steps with the ``omnisafe`` multiplier (README, "Learning on
PointGoal1")."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides of the demo experiment, e.g. total_steps=100000 out_dir=/tmp/runs")
    parser.add_argument("--configs", default=None, metavar="DIR",
                        help="an extra config root searched first, before ./configs, $SAFEXP_CONFIG_PATH and the "
                             "configs shipped with safexp-experiments")
    parser.add_argument("--video-steps", type=int, default=400, help="steps of the recorded episode (default 400)")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.config import find_config, load_config
    from safexp_experiments.evaluation import evaluate, format_report
    from safexp_experiments.plot import plot_runs
    from safexp_experiments.training import train
    from safexp_experiments.video import record

    experiment = find_config(DEMO_EXPERIMENT, args.configs)
    print(f"1/4 training: {experiment} {' '.join(args.overrides)}".rstrip())
    result = train(DEMO_EXPERIMENT, args.overrides, search_root=args.configs)
    if result.state != "finished":
        print(f"interrupted at {result.steps:,} steps; continue with: safexp train --resume {result.run_dir}")
        return 130
    run_dir = result.run_dir
    print("2/4 evaluating the trained policy")
    report = evaluate(run_dir)
    print(format_report(report))
    print("3/4 plotting the learning curves")
    figure = plot_runs([run_dir], run_dir / "curves.png")
    print(f"4/4 recording {args.video_steps} steps of the trained policy")
    video = record(run_dir, run_dir / "episode.mp4", max_steps=args.video_steps)
    print(f"""
done. Everything is in {run_dir}/
  config.yaml       the resolved config       summary.json, eval.json   the evaluations
  model.zip         the trained learner       checkpoints/              resumable checkpoints
  {figure.name:<17} return and cost curves    {video.path.name:<25} the policy at work (red light: cost)
TensorBoard:  tensorboard --logdir {run_dir}/tensorboard   (then open http://localhost:6006)
""")
    config = load_config(run_dir / "config.yaml")
    print(what_this_run_shows(config.algo, getattr(config.algo_params, "cost_limit", None), result.steps,
                              report["cost_mean"], *_training_curves(run_dir)))
    print(f"""
Next:         safexp eval {run_dir} --episodes 10
              safexp train {FULL_EXPERIMENT}   (the full protocol: 10M steps, hours on a CPU)""")
    return 0


def what_this_run_shows(algo: str, cost_limit: float | None, steps: int, eval_cost: float,
                        returns: Curve | None = None, costs: Curve | None = None) -> str:
    """A few lines on what a run of ``steps`` shows: whether the return rose, where the cost stands against
    the limit, and why a short run cannot show a constrained learner holding its limit.

    :param returns: the training return curve, when logged.
    :param costs: the training cost curve, when logged.
    """
    shows = f"What {steps:,} steps can show: the pipeline works end to end"
    if returns is not None and len(returns.values) > 1:
        rising = "rising" if returns.values[-1] > returns.values[0] else "not rising yet"
        shows += f", and the return {rising} (training episodes: {_trend(returns)})"
    elif returns is not None:
        shows += f"; the return was logged once ({_trend(returns)}), too few points to see it rise"
    paragraphs = [shows + "."]
    if cost_limit is None:
        paragraphs.append(f"{algo} has no cost limit: it learns the return only (evaluation cost {eval_cost:.1f}).")
    else:
        side = "above" if eval_cost > cost_limit else "within"
        trend = f"; training episodes: {_trend(costs)}" if costs is not None else ""
        paragraphs.append(f"Cost: this run's evaluation episodes cost {eval_cost:.1f}, {side} the limit of "
                          f"{cost_limit:g}{trend}.")
    if cost_limit is not None and steps < MULTIPLIER_STEPS:
        cannot = ("What it cannot show: a constrained learner holding its cost limit. The demo's Lagrange multiplier "
                  "(omnisafe's Adam step) only bites after ~1e6 steps; ")
        if algo == "ppo_lag":
            cannot += (f"at 3e6 steps PPO-Lag with it is still at an episode cost of ~{REFERENCE_COST_AT_3E6} against "
                       "the limit of 25, and the references reach ~25 after 1e7 steps; the default multiplier (sgd) "
                       "nears the limit from ~3e5 steps at a far lower return")
        else:
            cannot += "the references reach their limits after 1e7 steps"
        cannot += ' (README, "Learning on PointGoal1" and "Lagrange multipliers").'
        if eval_cost <= cost_limit:
            cannot += " A cost within the limit this early says where this policy went, not that the limit holds."
        paragraphs.append(cannot)
    return "\n".join(textwrap.fill(paragraph, width=100) for paragraph in paragraphs)


def _trend(curve: Curve) -> str:
    """``0.4 at 4,096 steps → 3.2 at 61,440`` (just the first point for a curve of one)."""
    first = f"{float(curve.values[0]):.1f} at {int(curve.steps[0]):,} steps"
    return first if len(curve.values) == 1 else f"{first} → {float(curve.values[-1]):.1f} at {int(curve.steps[-1]):,}"


def _training_curves(run_dir: Path) -> tuple[Curve | None, Curve | None]:
    """The run's training return and cost curves, or ``None`` for one it did not log."""
    from safexp_experiments.plot import CURVES, read_scalars
    from safexp_experiments.runs import RunDirError

    curves = []
    for tag in CURVES["train"][:2]:
        try:
            curves.append(read_scalars(run_dir, tag))
        except RunDirError:
            curves.append(None)
    return curves[0], curves[1]
