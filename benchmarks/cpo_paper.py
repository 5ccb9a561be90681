"""The CPO paper's comparison: CPO against unconstrained TRPO and PPO-Lagrangian on its Point tasks.

For every task (``pointcircle``, ``pointgather`` by default; ``antcircle``, ``humanoidcircle``, ``antgather``
have CPO configs only) and every algorithm, the shipped experiment ``configs/experiment/{task}_{algo}.yaml``
(the paper's γ 0.995, GAE λ 0.95, KL 0.01, batch and cost limit) is trained for each seed as a sweep under
``--out``: one run directory per seed, ``<out>/<task>/<algo>/seed=<S>``. Rerunning the same command skips the
finished runs and resumes interrupted ones from their last checkpoint, so a long benchmark can be stopped and
continued.

Then, per task, it writes the learning curves of all algorithms (``<out>/<task>/curves.png``, training episodes:
mean of the last 100, ± one standard deviation across seeds, the cost limit dashed) and one table
(``<out>/README.md``, also printed): final return and episode cost, the highest episode cost seen during
training, and the share of logged points at or under the limit. The paper's finding is checked last: CPO's
episode cost stays at or under the limit through training while TRPO's exceeds it.

    python benchmarks/cpo_paper.py --out ~/cpo-paper                       # the paper's budget (long)
    python benchmarks/cpo_paper.py --out /tmp/cpo-tiny --steps 4000 --batch 2000 --seeds 0   # a smoke run

``--steps`` and ``--batch`` shrink the budget (env steps per run, env steps per iteration); ``--set KEY=VALUE``
passes any other override to every run (``--set env.robot_params.frame_skip=10``: the Point at its usual rate). ``--out`` must lie outside
the repository: run directories are large and not source.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safexp_experiments.plot import CURVES, plot_runs, read_scalars
from safexp_experiments.runs import atomic_write_text
from safexp_experiments.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "configs" / "experiment"
TASKS = ("pointcircle", "pointgather", "antcircle", "humanoidcircle", "antgather")
ALGOS = ("cpo", "trpo", "ppo_lag")
RETURN_TAG, COST_TAG, _ = CURVES["train"]


@dataclass(frozen=True)
class AlgoResult:
    """One algorithm on one task, over its seeds."""

    task: str
    algo: str
    seeds: int
    final_return: tuple[float, float]  # mean, std across seeds
    final_cost: tuple[float, float]
    max_cost: float  # the highest training episode cost (mean of the last 100) of any seed at any point
    share_within: float  # the share of logged points, all seeds, with episode cost ≤ the limit
    limit: float


def train_all(task: str, algo: str, seeds: list[int], out: Path, overrides: list[str]) -> list[Path]:
    """Train (or skip, or resume) every seed of ``task`` with ``algo``; return the finished run directories."""
    result = run_sweep(EXPERIMENTS / f"{task}_{algo}.yaml", [], seeds, overrides, sweep_dir=out / task / algo,
                       progress=sys.stderr)
    for failed in result.failed:
        print(f"{task} {algo}: run {failed.job.name} failed: {failed.error}", file=sys.stderr)
    return [o.job.run_dir for o in result.outcomes if o.state in ("finished", "skipped")]


def summarise(task: str, algo: str, run_dirs: list[Path], limit: float) -> AlgoResult:
    """Final return and cost (mean ± std across seeds), the highest cost during training and the share of
    logged points within ``limit``."""
    returns = [read_scalars(d, RETURN_TAG).values for d in run_dirs]
    costs = [read_scalars(d, COST_TAG).values for d in run_dirs]
    final_returns, final_costs = [r[-1] for r in returns], [c[-1] for c in costs]
    every_cost = np.concatenate(costs)
    return AlgoResult(task, algo, len(run_dirs), (float(np.mean(final_returns)), float(np.std(final_returns))),
                      (float(np.mean(final_costs)), float(np.std(final_costs))), float(every_cost.max()),
                      float(np.mean(every_cost <= limit)), limit)


def paper_limit(task: str) -> float:
    """The cost limit of the task's CPO config (TRPO's configs have none)."""
    from safexp_experiments.config import load_config

    return float(load_config(EXPERIMENTS / f"{task}_cpo.yaml").algo_params.cost_limit)


def table(results: list[AlgoResult]) -> str:
    lines = ["| task | algorithm | seeds | final return | final episode cost | limit | highest cost in training "
             "| points within the limit |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.task} | {r.algo} | {r.seeds} | {r.final_return[0]:.2f} ± {r.final_return[1]:.2f} | "
                     f"{r.final_cost[0]:.3f} ± {r.final_cost[1]:.3f} | {r.limit:g} | {r.max_cost:.3f} | "
                     f"{100 * r.share_within:.0f}% |")
    return "\n".join(lines) + "\n"


def paper_finding(results: list[AlgoResult]) -> list[str]:
    """Per task: whether CPO stayed within the limit throughout and TRPO exceeded it, as in the paper."""
    lines = []
    for task in dict.fromkeys(r.task for r in results):
        by_algo = {r.algo: r for r in results if r.task == task}
        if "cpo" not in by_algo or "trpo" not in by_algo:
            continue
        cpo, trpo = by_algo["cpo"], by_algo["trpo"]
        holds = cpo.max_cost <= cpo.limit and trpo.max_cost > trpo.limit
        lines.append(f"{task}: CPO's highest training cost {cpo.max_cost:.3f}, TRPO's {trpo.max_cost:.3f}, limit "
                     f"{cpo.limit:g}: the paper's finding {'holds' if holds else 'does NOT hold'} at this budget")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where the run directories go (outside the repo)")
    parser.add_argument("--tasks", nargs="+", default=["pointcircle", "pointgather"], choices=TASKS)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="env steps per run (default: each config's total_steps)")
    parser.add_argument("--batch", type=int, help="env steps per iteration (default: the paper's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an override for every run")
    args = parser.parse_args()
    out = args.out.expanduser().resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"--out {out} lies inside the repository {REPO}; give a folder outside it")
    if (args.steps is not None and args.steps < 1) or (args.batch is not None and args.batch < 1):
        parser.error("--steps and --batch must be at least 1")
    overrides = []
    if args.steps is not None:
        overrides += [f"total_steps={args.steps}", f"eval_freq={args.steps}", f"checkpoint_freq={args.steps}"]
    if args.batch is not None:
        overrides.append(f"algo.n_steps={args.batch}")
    overrides += args.set  # last, so ``--set checkpoint_freq=...`` wins over --steps
    results = []
    for task in args.tasks:
        algos = [a for a in args.algos if (EXPERIMENTS / f"{task}_{a}.yaml").is_file()]
        limit = paper_limit(task)
        task_runs = []
        for algo in algos:
            run_dirs = train_all(task, algo, args.seeds, out, overrides)
            if run_dirs:
                results.append(summarise(task, algo, run_dirs, limit))
                task_runs += run_dirs
        if task_runs:
            plot_runs(task_runs, out / task / "curves.png", title=f"{task}: CPO paper settings")
    budget = (f"{args.steps if args.steps else 'the configs’'} env steps per run, "
              f"{args.batch if args.batch else 'the paper’s'} env steps per iteration")
    report = (f"# CPO paper benchmark\n\nSeeds {args.seeds}; {budget}; overrides {overrides or 'none'}.\n\n"
              + table(results) + "\n" + "\n".join(f"- {line}" for line in paper_finding(results)) + "\n")
    atomic_write_text(out / "README.md", report)
    print(report)


if __name__ == "__main__":
    main()
