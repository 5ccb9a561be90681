"""Train constrained learners on PointGoal1 over several seeds, one process per run, resumable; print every seed.

The protocol of issue 11: PPO-Lag, TRPO-Lag and CPO on PointGoal1 (``safexp/PointGoal1-v0``), 3 seeds, 3e6 env
steps each, then the recommended learner to 1e7. Every run is a run directory of the experiment tooling (what
``safexp train`` makes: ``config.yaml``, TensorBoard scalars, checkpoints, ``status.json``) under ``--out``, named
as a sweep names its runs (``algo=ppo_lag,seed=0``). Each run trains in a process of its own (``--jobs`` at once,
default 1), its output in ``<out>/logs/<run>.log``; the runs go on if this script is stopped. ``--resume``
continues every unfinished run from its latest checkpoint (one every ``--checkpoint-every`` env steps). Finished
runs and runs still training (a live process holds the run directory's lock, whoever started it) are left alone
either way; without ``--resume``, a run directory that exists, has not finished and is not training is an error,
so that nothing is overwritten by accident, and so is one started with other ``algo`` settings than the suite now
gives it (pin them with ``--set``). To train longer, give a larger ``--steps`` and a new ``--out``: a finished run
stays finished.

When the runs end, and with ``--report`` alone (no training), the script writes each run's learning curve to
``<out>/curves/<run>.csv`` (env steps; mean return and cost of the last 100 training episodes; the training cost
rate; every Lagrange multiplier, one ``lambda`` column per constraint, the last value logged at or before the
row's step) and prints one row per run and seed (return and cost: the mean of the last 100 training episodes;
and the mean of those logged over the second half of the run, :class:`LateWindow`), a table of mean ± std over
seeds, and OmniSafe's reference figures (:data:`REFERENCES`).

``--presets`` compares settings per learner at a given budget instead: for every learner with a Lagrange
multiplier, one run per multiplier preset (``--multipliers``, default every preset of
:data:`safexp_sb3.multipliers.MULTIPLIER_PRESETS`); ``--vary KEY=V1,V2`` adds a setting to compare on every
learner that has it (e.g. observation normalisation on and off, or ``algo.multiplier_settings.cost_ema=0,0.9``).

``--set KEY=VALUE`` overrides a config key of every run (``eval_episodes=2``) or of every learner that has it
(``algo.n_steps=2000``); a key that no learner has is an error.

    python benchmarks/learn_suite.py --out /work/runs/learn_suite                   # the protocol, 3 seeds, 3e6
    python benchmarks/learn_suite.py --out /work/runs/learn_suite --resume          # after an interruption
    python benchmarks/learn_suite.py --out /work/runs/learn_suite --report          # the table so far
    python benchmarks/learn_suite.py --algo ppo_lag --steps 10000000 --out /work/runs/learn_suite_1e7 --jobs 3
    python benchmarks/learn_suite.py --presets --algo ppo_lag trpo_lag --steps 1000000 --seeds 0 \\
        --vary algo.multiplier_settings.cost_ema=0,0.9 --out /work/runs/presets_1e6
    python benchmarks/learn_suite.py --algo ppo_lag --steps 4000 --seeds 0 --out /tmp/suite \\
        --set algo.n_steps=2000 --set eval_episodes=1                              # a smoke test, seconds
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from safexp.plugin import ParameterError, SafexpError, choices_hint, get_registry
from safexp_experiments.config import describe_changes
from safexp_experiments.plot import CURVES, Curve, multiplier_curves, read_run_scalars
from safexp_experiments.runs import RunDir, RunLock, atomic_write_text
from safexp_experiments.sweep import SweepJob, execute, make_jobs, prior_state
from safexp_experiments.training import TENSORBOARD_TAGS
from safexp_sb3.multipliers import MULTIPLIER_PRESETS

EXPERIMENT = Path(__file__).resolve().parents[1] / "configs" / "experiment" / "pointgoal1_ppo_lag.yaml"
"""The experiment every run starts from (Safety Gym's PointGoal1 protocol, cost limit 25); ``algo`` and ``env``
are set per run."""

PROTOCOL_LEARNERS = ("ppo_lag", "trpo_lag", "cpo")

REFERENCES: dict[str, list[tuple[str, str, float, float]]] = {
    "ppo_lag": [("OmniSafe PPO-Lag", "3e6", 16.0, 37.0), ("OmniSafe PPO-Lag", "1e7", 12.96, 25.80)],
    "trpo_lag": [("OmniSafe TRPO-Lag", "1e7", 18.51, 22.98), ("OmniSafe TRPO-PID", "1e7", 19.24, 21.38)],
    "cpo": [("OmniSafe CPO", "1e7", 20.46, 28.84)],
    "pid_lag": [("OmniSafe CPPO-PID", "1e7", 8.43, 25.74)],
    "ppo": [("OmniSafe PPO (unconstrained)", "1e7", 25.44, 55.72)],
}
"""OmniSafe's figures on Safety-Gymnasium's SafetyPointGoal1-v0 (return / episode cost, cost limit 25), by safexp
learner: (reference, env steps, return, cost). The 1e7 figures are OmniSafe 0.5's on-policy benchmark table
(``benchmarks/on-policy`` in PKU-Alignment/omnisafe; mean over its seeds), gathered in the project's
constrained-RL reference notes, §7. The 3e6 PPO-Lag figure is read off that benchmark's learning curve, as
issue 11 quotes it ("about 16 / 37"). Safety-Gymnasium's PointGoal1 and safexp's are built from the same published
figures, not the same code: compare orders of magnitude, not decimals."""

GOAL = {"cost_at_most": 25.0, "return_at_least": 15.0}
"""Issue 11's goal for every seed of the recommended learner at 3e6 steps (return ≥ 19 at 1e7)."""


# -- which runs ----------------------------------------------------------------------------------------------
def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings → a mapping (``--set``); a missing ``=`` is a :class:`ParameterError`."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"--set '{item}' is not KEY=VALUE (e.g. algo.n_steps=2000)")
        pairs[key] = value
    return pairs


def parse_variations(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``KEY=V1,V2`` strings → ``(key, values)`` (``--vary``)."""
    variations = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ParameterError(f"--vary '{item}' is not KEY=V1,V2 (e.g. algo.multiplier_settings.cost_ema=0,0.9)")
        variations.append((key, values.split(",")))
    return variations


def learner_fields(algo: str) -> set[str]:
    """The hyperparameter names of a registered learner."""
    return {f.name for f in dataclasses.fields(get_registry().get("algorithms", algo).params)}


def applies_to(key: str, algo: str) -> bool:
    """Whether the config key ``key`` concerns learner ``algo``: run and env keys concern every learner,
    ``algo.<name>...`` the learners whose hyperparameters include ``<name>``."""
    return not key.startswith("algo.") or key.split(".")[1] in learner_fields(algo)


def env_overrides(env: str) -> list[str]:
    """The config overrides selecting ``env``: a gymnasium id (it holds a ``/``) or an env config option."""
    return ["env=null", f"env.id={env}"] if "/" in env else [f"env={env}"]


def plan_jobs(args: argparse.Namespace) -> list[SweepJob]:
    """Every run the arguments ask for, validated: per learner, its grid (just the learner in the protocol; the
    multiplier presets and ``--vary`` values it has with ``--presets``) times the seeds."""
    overrides = parse_overrides(args.set)
    variations = parse_variations(args.vary)
    for key in [*overrides, *(key for key, _ in variations)]:
        if not any(applies_to(key, algo) for algo in args.algo):
            names = sorted(set().union(*(learner_fields(algo) for algo in args.algo)))
            raise ParameterError(f"no learner among {', '.join(args.algo)} has the parameter '{key}'; "
                                 f"{choices_hint(key.split('.')[1], names)}")
    jobs = []
    for algo in args.algo:
        grid = [("algo", [algo])]
        if args.presets and "multiplier" in learner_fields(algo):
            grid.append(("algo.multiplier", list(args.multipliers)))
        grid += [(key, values) for key, values in variations if applies_to(key, algo)]
        run_overrides = [*env_overrides(args.env), f"total_steps={args.steps}",
                         f"checkpoint_freq={args.checkpoint_every}",
                         *(f"{key}={value}" for key, value in overrides.items() if applies_to(key, algo))]
        _, algo_jobs = make_jobs(EXPERIMENT, grid, args.seeds, run_overrides, sweep_dir=args.out)
        jobs += algo_jobs
    return jobs


# -- running them, one process each --------------------------------------------------------------------------
def pid_file(job: SweepJob) -> Path:
    return job.run_dir.parent / "logs" / f"{job.name}.pid"


def running_pid(job: SweepJob) -> int | None:
    """The process id of a live process training ``job``, or ``None``: the holder of the run directory's lock
    (whoever started the training, this script or ``safexp train``), else the pid file this script writes before
    the run directory is locked."""
    pid = RunLock.holder(job.run_dir)
    if pid is not None:
        return pid
    try:
        pid = int(pid_file(job).read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def run_one(job: SweepJob) -> int:
    """Train ``job`` in this process (a fresh run, or its continuation from a checkpoint); 0 when it finished."""
    pid_file(job).parent.mkdir(parents=True, exist_ok=True)
    pid_file(job).write_text(str(os.getpid()))
    try:
        outcome = execute(job)
    finally:
        pid_file(job).unlink(missing_ok=True)
    print(f"{job.name}: {outcome.state}" + (f" ({outcome.error})" if outcome.error else ""), flush=True)
    return 0 if outcome.state in ("finished", "skipped") else 1


def check_same_settings(job: SweepJob) -> None:
    """Refuse a run directory of ``job`` that exists with other learner settings than the job's (a default changed
    since it started): resuming it, or counting it finished, would mix settings under one name in the table.

    :raises ParameterError: naming each differing key, its value there and here.
    """
    if not job.run_dir.is_dir():
        return
    try:
        saved = OmegaConf.to_container(OmegaConf.create(RunDir(job.run_dir).config_yaml()), resolve=False)
    except SafexpError:
        return  # no config to compare with: prior_state judges the run by its files
    differing = describe_changes(saved.get("algo", {}), job.config["algo"], prefix="algo.")
    if differing:
        raise ParameterError(f"run '{job.run_dir}' was started with other algo settings than this suite now gives "
                             f"it (a default changed since?): {differing}; pin them with --set (e.g. --set "
                             "algo.KEY=VALUE), or choose another --out")


def launch(jobs: Sequence[SweepJob], argv: Sequence[str], resume: bool, parallel: int) -> None:
    """Train every unfinished job, each in a child process running this script with ``--only <run>``, at most
    ``parallel`` at once; wait for them, printing a line as each ends.

    :raises ParameterError: before anything starts, when a run directory exists unfinished and ``resume`` is off,
        or exists with other settings (:func:`check_same_settings`).
    """
    pending = []
    for job in jobs:
        check_same_settings(job)
        state, steps = prior_state(job)
        pid = running_pid(job)
        if state == "finished":
            print(f"{job.name}: finished before, left as it is")
        elif pid is not None:
            print(f"{job.name}: being trained by process {pid}, left alone")
        elif job.run_dir.exists() and not resume:
            raise ParameterError(f"run directory '{job.run_dir}' exists and has not finished "
                                 f"({'at ' + format(steps, ',') + ' steps' if steps else 'no checkpoint'}); "
                                 "pass --resume to continue it (or choose another --out)")
        else:
            pending.append(job)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            log = job.run_dir.parent / "logs" / f"{job.name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as stream:
                process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *argv, "--only", job.name],
                                           stdout=stream, stderr=subprocess.STDOUT)
            running[job.name] = (process, time.monotonic())
            print(f"{job.name}: training in process {process.pid}, log {log}", flush=True)
        time.sleep(1.0)
        for name, (process, started) in list(running.items()):
            if process.poll() is not None:
                del running[name]
                minutes = (time.monotonic() - started) / 60
                ending = "finished" if process.returncode == 0 else f"failed (exit {process.returncode}, see its log)"
                print(f"{name}: {ending} after {minutes:.1f} min", flush=True)


# -- what they reached ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunFigures:
    """Where one run stands: its learner, variant and seed, state and env steps, the mean return and cost of
    its last 100 training episodes, its last λ per constraint (``""`` for a single constraint) and how it
    went over the second half of its steps (:class:`LateWindow`)."""

    algo: str
    variant: str
    seed: int
    state: str
    steps: int
    ep_return: float
    ep_cost: float
    multipliers: dict[str, float]
    late: LateWindow


@dataclass(frozen=True)
class LateWindow:
    """A run's curve over the second half of its steps (rows from half the last row's step on, e.g. 26 rows of
    5e5–1e6 logged every 20,000 steps): the mean of the 100-episode mean returns and costs logged there, and how
    many of those cost figures were within :data:`GOAL`'s 25, out of how many (rows without a cost left out).
    One figure at the end swings with the last rollouts; this one does not."""

    ep_return: float
    ep_cost: float
    within_limit: int
    logged: int

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, float]]) -> LateWindow:
        late = [row for row in rows if row["steps"] >= rows[-1]["steps"] / 2]
        costs = np.array([row["ep_cost"] for row in late])
        costs = costs[np.isfinite(costs)]
        return cls(float(np.mean([row["ep_return"] for row in late])), float(costs.mean()) if costs.size else math.nan,
                   int((costs <= GOAL["cost_at_most"]).sum()), costs.size)


def curve_rows(scalars: Mapping[str, Curve]) -> list[dict[str, float]]:
    """A run's learning curve, one row per step of its return scalar: env steps, return, cost, cost rate, and per
    constraint ``lambda`` (``lambda/<constraint>`` with several: the last λ logged at or before the step, NaN
    before the first)."""
    return_tag, cost_tag, _ = CURVES["train"]
    base = scalars[return_tag]
    columns = {"ep_return": scalars[return_tag], "ep_cost": scalars.get(cost_tag),
               "cost_rate": scalars.get(TENSORBOARD_TAGS["cost_rate"])}
    for constraint, curve in multiplier_curves(scalars).items():
        columns["lambda" + (f"/{constraint}" if constraint else "")] = curve
    rows = []
    for index, step in enumerate(base.steps):
        row = {"steps": int(step)}
        for name, curve in columns.items():
            at = -1 if curve is None else int(np.searchsorted(curve.steps, step, side="right")) - 1
            row[name] = float(curve.values[at]) if at >= 0 else float("nan")
        rows.append(row)
    return rows


def collect(jobs: Sequence[SweepJob], curves_dir: Path) -> list[RunFigures]:
    """Read every job's run directory that has logged a training curve: write its curve CSV into ``curves_dir``
    and return its figures (runs with nothing logged yet are left out)."""
    figures = []
    for job in jobs:
        if not (job.run_dir / "config.yaml").is_file():
            continue
        scalars = read_run_scalars(job.run_dir)
        if CURVES["train"][0] not in scalars:
            continue
        rows = curve_rows(scalars)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(curves_dir / f"{job.name}.csv", text.getvalue())
        status = RunDir(job.run_dir).status()
        variant = ",".join(f"{key.removeprefix('algo.')}={value}" for key, value in job.grid_values[1:]) or "-"
        last = rows[-1]
        state = "training" if running_pid(job) else status["state"]
        figures.append(RunFigures(
            job.config["algo"]["name"], variant, job.seed, state,
            int(status.get("steps", last["steps"])), last["ep_return"], last["ep_cost"],
            {key.partition("/")[2]: value for key, value in last.items() if key.startswith("lambda")},
            LateWindow.of(rows)))
    return figures


def seed_table(figures: Sequence[RunFigures]) -> str:
    """A Markdown table, one row per run: learner, variant, seed, state, env steps, return, cost, λ, whether it
    meets :data:`GOAL`, and its second half (:class:`LateWindow`)."""
    lines = ["| learner | variant | seed | state | env steps | return | episode cost | λ | cost ≤ 25, return ≥ 15 "
             "| second half: return / cost | of those cost figures, ≤ 25 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in figures:
        lam = ", ".join(f"{name + ' ' if name else ''}{value:.3f}" for name, value in f.multipliers.items()) or "-"
        meets = f.ep_cost <= GOAL["cost_at_most"] and f.ep_return >= GOAL["return_at_least"]
        lines.append(f"| {f.algo} | {f.variant} | {f.seed} | {f.state} | {f.steps:,} | {f.ep_return:.2f} "
                     f"| {f.ep_cost:.2f} | {lam} | {'yes' if meets else 'no'} "
                     f"| {f.late.ep_return:.2f} / {f.late.ep_cost:.2f} | {f.late.within_limit} of {f.late.logged} |")
    return "\n".join(lines)


def summary_table(figures: Sequence[RunFigures]) -> str:
    """A Markdown table, one row per learner and variant: seeds, the fewest env steps, mean ± std over seeds of
    return and cost, the highest cost of any seed, and the mean over seeds of the second halves' return and
    cost (:class:`LateWindow`)."""
    groups: dict[tuple[str, str], list[RunFigures]] = {}
    for f in figures:
        groups.setdefault((f.algo, f.variant), []).append(f)
    lines = ["| learner | variant | seeds | env steps (fewest) | return | episode cost | worst seed's cost "
             "| second half: return / cost |", "|---|---|---|---|---|---|---|---|"]
    for (algo, variant), runs in groups.items():
        returns, costs = np.array([r.ep_return for r in runs]), np.array([r.ep_cost for r in runs])
        lines.append(f"| {algo} | {variant} | {len(runs)} | {min(r.steps for r in runs):,} "
                     f"| {returns.mean():.2f} ± {returns.std():.2f} | {costs.mean():.2f} ± {costs.std():.2f} "
                     f"| {costs.max():.2f} | {np.mean([r.late.ep_return for r in runs]):.2f} / "
                     f"{np.mean([r.late.ep_cost for r in runs]):.2f} |")
    return "\n".join(lines)


def reference_table(algos: Sequence[str]) -> str:
    """OmniSafe's figures (:data:`REFERENCES`) for ``algos``, as a Markdown table."""
    lines = ["| safexp learner | reference | env steps | return | episode cost |", "|---|---|---|---|---|"]
    for algo in algos:
        for name, steps, ret, cost in REFERENCES.get(algo, []):
            lines.append(f"| {algo} | {name} | {steps} | {ret:.2f} | {cost:.2f} |")
    return "\n".join(lines)


def report(jobs: Sequence[SweepJob], out: Path, algos: Sequence[str]) -> None:
    """Write the curves of ``jobs`` under ``<out>/curves`` and print the three tables."""
    figures = collect(jobs, out / "curves")
    if not figures:
        print(f"no run under {out} has logged a training curve yet; the runs: {', '.join(job.name for job in jobs)}")
        return
    print(f"\nEvery run (return and cost: mean of the last 100 training episodes); curves in {out / 'curves'}\n")
    print(seed_table(figures))
    print("\nMean ± std over seeds\n")
    print(summary_table(figures))
    print("\nOmniSafe on Safety-Gymnasium's SafetyPointGoal1-v0 (sources: REFERENCES in this script)\n")
    print(reference_table(algos))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path,
                        help="folder of the run directories, logs and curves (keep it outside the repository)")
    parser.add_argument("--algo", nargs="+", default=list(PROTOCOL_LEARNERS),
                        help=f"registry names of the learners (default {' '.join(PROTOCOL_LEARNERS)})")
    parser.add_argument("--env", default="safexp/PointGoal1-v0",
                        help="a gymnasium id (with a '/') or an env config option such as pointgoal1")
    parser.add_argument("--steps", type=lambda text: int(float(text)), default=3_000_000,
                        help="env steps per run (default 3e6)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for every run that has the key, repeatable")
    parser.add_argument("--presets", action="store_true",
                        help="one run per multiplier preset (--multipliers) for every learner with a multiplier")
    parser.add_argument("--multipliers", nargs="+", default=list(MULTIPLIER_PRESETS),
                        help="the presets --presets compares (default: every preset)")
    parser.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2",
                        help="also compare these values of a config key, on every learner that has it")
    parser.add_argument("--checkpoint-every", type=lambda text: int(float(text)), default=100_000,
                        help="env steps between checkpoints, where --resume continues from (default 1e5)")
    parser.add_argument("--jobs", type=int, default=1, help="runs training at once, one process each (default 1)")
    parser.add_argument("--resume", action="store_true", help="continue the unfinished runs under --out")
    parser.add_argument("--report", action="store_true", help="train nothing: write the curves, print the tables")
    parser.add_argument("--only", metavar="RUN", help=argparse.SUPPRESS)  # the child process of one run
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    args.out = args.out.resolve()
    for preset in args.multipliers:
        if preset not in MULTIPLIER_PRESETS:
            raise ParameterError(f"unknown multiplier preset '{preset}'; {choices_hint(preset, MULTIPLIER_PRESETS)}")
    jobs = plan_jobs(args)
    if args.only is not None:
        chosen = [job for job in jobs if job.name == args.only]
        if not chosen:
            raise ParameterError(f"no run named '{args.only}'; {choices_hint(args.only, [j.name for j in jobs])}")
        return run_one(chosen[0])
    if not args.report:
        launch(jobs, sys.argv[1:], args.resume, args.jobs)
    report(jobs, args.out, args.algo)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SafexpError as error:  # bad arguments or configs: the message, not a traceback
        print(f"learn_suite.py: {error}", file=sys.stderr)
        sys.exit(2)
