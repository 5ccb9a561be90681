"""Sweeps: one experiment config over a grid of overrides and seeds, run by a launcher, summed up in a table.

``--grid 'env=[pointgoal1,pointgoal2]' --grid 'algo=[ppo_lag,cpo]' --seeds 0,10,20`` makes one run per
combination and seed, each a run directory ``<sweep dir>/<key=value,...,seed=S>``. Launchers:

- ``local`` (default): a pool of processes, one per core (or ``launcher.workers``);
- ``ray``: Ray tasks of one CPU each, on the cluster at ``launcher.address`` or on a local Ray started for
  the sweep (``pip install safexp[ray]``); a Ray already initialised in this process is used as it is.

Every run's config is validated before anything starts. A run that fails is reported with its error and the
others go on; rerunning a sweep skips the runs that finished, resumes interrupted ones from their checkpoint
and restarts failed ones. The table (``results.csv``, ``results.md`` in the sweep directory) has one row per
env and variant: mean ± std across seeds of the final evaluation's return and cost and the mean of Safety
Gym's ``J_r``, ``M_c``, ``ρ_c``, then the suite aggregates (SG6, SG18 or all envs) of each variant.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from safexp_experiments.config import ConfigError, load_config
from safexp.plugin import ParameterError, choices_hint
from safexp_experiments.metrics import NormalizedMetrics, mean_metrics, suite_aggregates
from safexp_experiments.runs import RunDir, atomic_write_text, read_json

LAUNCHERS = ("local", "ray")
LAUNCHER_KEYS = ("launcher", "launcher.address", "launcher.workers")
"""Sweep-level overrides: which launcher, the Ray address, the number of local workers."""
TABLE_COLUMNS = ("env", "variant", "seeds", "return_mean", "return_std", "cost_mean", "cost_std", "J_r", "M_c", "rho_c")


@dataclass(frozen=True)
class SweepJob:
    """One run of a sweep: its name and its complete, resolved config (plain containers, picklable)."""

    name: str
    grid_values: tuple[tuple[str, str], ...]
    seed: int
    config: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        return Path(self.config["out_dir"]) / self.name


@dataclass(frozen=True)
class RunOutcome:
    """How one job ended: ``finished`` (trained now), ``skipped`` (finished before) or ``failed``."""

    job: SweepJob
    state: str
    summary: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class SweepResult:
    """The outcomes of every job, the table rows and where the table was written."""

    outcomes: list[RunOutcome]
    rows: list[dict[str, Any]]
    csv_path: Path
    markdown_path: Path
    failed: list[RunOutcome] = field(default_factory=list)


# -- building the jobs ---------------------------------------------------------------------------------------
def parse_grid(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``['env=[a,b]', 'algo.cost_limit=10,25']`` → ``[('env', ['a', 'b']), ('algo.cost_limit', ['10', '25'])]``."""
    grid = []
    for item in items:
        key, sep, values = item.partition("=")
        key, values = key.strip(), values.strip()
        if not sep or not key or not values:
            raise ConfigError(f"--grid '{item}' is not key=[v1,v2,...] (for example --grid 'env=[pointgoal1,pointgoal2]')")
        if values.startswith("[") and values.endswith("]"):
            values = values[1:-1]
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not options:
            raise ConfigError(f"--grid '{item}' lists no values")
        if key in (k for k, _ in grid):
            raise ConfigError(f"--grid names '{key}' twice; list all its values in one --grid")
        grid.append((key, options))
    return grid


def parse_seeds(text: str) -> list[int]:
    """``'0,10,20'`` → ``[0, 10, 20]``."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds '{text}' is not a comma-separated list of integers (e.g. 0,10,20)") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds '{text}' must list distinct integers (e.g. 0,10,20)")
    return seeds


def split_launcher_overrides(overrides: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate ``launcher=...``, ``launcher.address=...``, ``launcher.workers=...`` from the run overrides."""
    launcher: dict[str, str] = {}
    rest = []
    for item in overrides:
        key, _, value = item.partition("=")
        if key.strip() in LAUNCHER_KEYS:
            launcher[key.strip()] = value.strip()
        elif key.strip().startswith("launcher"):
            raise ParameterError(f"unknown sweep key '{key.strip()}'; {choices_hint(key.strip(), LAUNCHER_KEYS)}")
        else:
            rest.append(item)
    return launcher, rest


def _run_name(grid_values: Iterable[tuple[str, str]], seed: int) -> str:
    parts = [f"{k}={v}" for k, v in grid_values] + [f"seed={seed}"]
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", ",".join(parts))


def make_jobs(config: Any, grid: Sequence[tuple[str, list[str]]], seeds: Sequence[int], overrides: Sequence[str] = (),
              sweep_dir: str | Path | None = None, search_root: str | Path = "configs") -> tuple[Path, list[SweepJob]]:
    """Validate and resolve every run of the sweep.

    :param sweep_dir: where the run directories go (default: ``<out_dir>/sweeps/<config name>``).
    :return: the sweep directory (absolute) and the jobs, in grid order then seed order.
    :raises SafexpError: the first invalid combination, with its overrides named.
    """
    base = load_config(config, overrides, search_root)
    if sweep_dir is None:
        stem = Path(str(config)).stem if isinstance(config, (str, Path)) else "sweep"
        sweep_dir = Path(base.run.out_dir) / "sweeps" / stem
    sweep_dir = Path(sweep_dir).resolve()
    keys = [k for k, _ in grid]
    jobs = []
    for combination in itertools.product(*[values for _, values in grid]):
        grid_values = tuple(zip(keys, combination))
        for seed in seeds:
            name = _run_name(grid_values, seed)
            run_overrides = [*overrides, *(f"{k}={v}" for k, v in grid_values), f"seed={seed}",
                             f"out_dir={sweep_dir}", f"name={name}", "progress=false"]
            try:
                resolved = load_config(config, run_overrides, search_root)
            except Exception as exc:
                raise type(exc)(f"sweep run {name}: {exc}") from None
            jobs.append(SweepJob(name, grid_values, seed, resolved.to_dict()))
    return sweep_dir, jobs


# -- running them --------------------------------------------------------------------------------------------
def execute(job: SweepJob) -> RunOutcome:
    """Run one job in this process (the launchers call this in their workers); never raises for a failed run.

    A finished run directory is skipped, an interrupted one resumed, a failed or empty one started afresh.
    """
    from safexp_experiments.training import resume, train

    start = time.perf_counter()
    run_dir = job.run_dir
    try:
        if run_dir.is_dir():
            run = RunDir(run_dir)
            status = run.status()
            if status["state"] == "finished" and run.summary_file.is_file():
                return RunOutcome(job, "skipped", read_json(run.summary_file))
            if status["state"] in ("interrupted", "running") and run.latest_checkpoint() is not None:
                result = resume(run_dir)
            else:
                shutil.rmtree(run_dir)
                result = train(job.config)
        else:
            result = train(job.config)
        if result.state != "finished":
            return RunOutcome(job, "failed", error=f"run stopped ({result.state}) at {result.steps} steps",
                              seconds=time.perf_counter() - start)
        return RunOutcome(job, "finished", result.summary, seconds=time.perf_counter() - start)
    except Exception as exc:  # a failed run is reported, not raised: the other runs go on
        return RunOutcome(job, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)


def launch_local(jobs: Sequence[SweepJob], workers: int | None, report: Callable[[RunOutcome], None]) -> list[RunOutcome]:
    """Run ``jobs`` on a pool of ``workers`` processes (default: one per core, at most one per job)."""
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    outcomes = []
    with ProcessPoolExecutor(max_workers=max(workers, 1), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(execute, job) for job in jobs]
        for future in as_completed(futures):
            outcome = future.result()
            report(outcome)
            outcomes.append(outcome)
    return outcomes


def launch_ray(jobs: Sequence[SweepJob], address: str | None, report: Callable[[RunOutcome], None]) -> list[RunOutcome]:
    """Run ``jobs`` as Ray tasks of one CPU each; connects to ``address`` or starts a local Ray (and stops it
    afterwards) unless Ray is already initialised in this process."""
    try:
        import ray
    except ImportError:
        raise ConfigError("launcher=ray needs Ray: pip install 'safexp[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(execute)
        pending = [remote.remote(job) for job in jobs]
        outcomes = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            outcome = ray.get(done[0])
            report(outcome)
            outcomes.append(outcome)
        return outcomes
    finally:
        if started:
            ray.shutdown()


def run_sweep(config: Any, grid: Sequence[str], seeds: Sequence[int] | str, overrides: Sequence[str] = (),
              sweep_dir: str | Path | None = None, search_root: str | Path = "configs",
              report: Callable[[RunOutcome], None] | None = None) -> SweepResult:
    """Run a sweep and write its table.

    :param grid: ``key=[v1,v2]`` items (see :func:`parse_grid`).
    :param seeds: the seeds, a list or ``'0,10,20'``.
    :param overrides: overrides for every run, plus the sweep keys ``launcher=local|ray``,
        ``launcher.address=...`` (Ray) and ``launcher.workers=N`` (local).
    :param report: called with each outcome as it arrives (for progress output).
    """
    launcher, run_overrides = split_launcher_overrides(overrides)
    kind = launcher.get("launcher", "local")
    if kind not in LAUNCHERS:
        raise ParameterError(f"unknown launcher '{kind}'; {choices_hint(kind, LAUNCHERS)}")
    workers = launcher.get("launcher.workers")
    if workers is not None and (not workers.isdigit() or int(workers) < 1):
        raise ParameterError(f"launcher.workers must be a positive integer, got '{workers}'")
    seed_list = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    sweep_path, jobs = make_jobs(config, parse_grid(grid), seed_list, run_overrides, sweep_dir, search_root)
    report = report or (lambda outcome: None)
    if kind == "ray":
        outcomes = launch_ray(jobs, launcher.get("launcher.address"), report)
    else:
        outcomes = launch_local(jobs, int(workers) if workers else None, report)
    order = {job.name: index for index, job in enumerate(jobs)}
    outcomes.sort(key=lambda o: order[o.job.name])
    rows = table_rows(outcomes)
    csv_path, markdown_path = write_table(rows, outcomes, sweep_path)
    return SweepResult(outcomes, rows, csv_path, markdown_path, [o for o in outcomes if o.state == "failed"])


# -- the table -----------------------------------------------------------------------------------------------
def table_rows(outcomes: Sequence[RunOutcome]) -> list[dict[str, Any]]:
    """One row per (env, variant) over the seeds that succeeded, then one per (suite aggregate, variant).

    The variant is the grid values other than ``env``; ``J_r``, ``M_c``, ``rho_c`` are the means over seeds
    of each run's metrics (empty for envs without reference scores).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        if outcome.summary is None:
            continue
        variant = ",".join(f"{k}={v}" for k, v in outcome.job.grid_values if k != "env") or "-"
        groups.setdefault((outcome.summary["env"], variant), []).append(outcome.summary)
    rows = []
    per_variant: dict[str, dict[str, NormalizedMetrics]] = {}
    for (env, variant), summaries in groups.items():
        returns = [s["return_mean"] for s in summaries]
        costs = [s["cost_mean"] for s in summaries]
        metrics = [NormalizedMetrics(s["metrics"]["J_r"], s["metrics"]["M_c"], s["metrics"]["rho_c"])
                   for s in summaries if s.get("metrics")]
        mean = mean_metrics(metrics) if len(metrics) == len(summaries) else None
        if mean is not None:
            per_variant.setdefault(variant, {})[summaries[0]["suite_env"]] = mean
        rows.append({"env": env, "variant": variant, "seeds": len(summaries),
                     "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
                     "cost_mean": float(np.mean(costs)), "cost_std": float(np.std(costs)),
                     **(mean.as_dict() if mean else {"J_r": None, "M_c": None, "rho_c": None})})
    for variant, per_env in per_variant.items():
        for name, aggregate in suite_aggregates(per_env).items():
            rows.append({"env": name, "variant": variant, "seeds": None, "return_mean": None, "return_std": None,
                         "cost_mean": None, "cost_std": None, **aggregate.as_dict()})
    return rows


def write_table(rows: Sequence[Mapping[str, Any]], outcomes: Sequence[RunOutcome], sweep_dir: Path) -> tuple[Path, Path]:
    """Write ``results.csv`` (numbers) and ``results.md`` (mean ± std, plus the failed runs) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in TABLE_COLUMNS})
    sweep_dir.mkdir(parents=True, exist_ok=True)
    csv_path, markdown_path = sweep_dir / "results.csv", sweep_dir / "results.md"
    atomic_write_text(csv_path, buffer.getvalue())
    atomic_write_text(markdown_path, markdown_table(rows, outcomes))
    return csv_path, markdown_path


def markdown_table(rows: Sequence[Mapping[str, Any]], outcomes: Sequence[RunOutcome]) -> str:
    """The table as Markdown: return and cost as mean ± std across seeds, then any failed runs."""
    def number(value: float | None, digits: int = 3) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    def pm(mean: float | None, std: float | None) -> str:
        return "" if mean is None else f"{mean:.3f} ± {std:.3f}"

    lines = ["| env | variant | seeds | return | cost | J_r | M_c | ρ_c |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['env']} | {row['variant']} | {row['seeds'] or ''} | "
                     f"{pm(row['return_mean'], row['return_std'])} | {pm(row['cost_mean'], row['cost_std'])} | "
                     f"{number(row['J_r'])} | {number(row['M_c'])} | {number(row['rho_c'])} |")
    failed = [o for o in outcomes if o.state == "failed"]
    if failed:
        lines += ["", f"{len(failed)} failed run(s):", ""]
        lines += [f"- `{o.job.name}`: {o.error}" for o in failed]
    return "\n".join(lines) + "\n"

