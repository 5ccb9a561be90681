"""Sweeps: one experiment config over a grid of overrides and seeds, run by a launcher, summed up in a table.

``--grid 'env=[pointgoal1,pointgoal2]' --grid 'algo=[ppo_lag,cpo]' --seeds 0,10,20`` makes one run per
combination and seed, each a run directory ``<sweep dir>/<key=value,...,seed=S>``. Launchers:

- ``local`` (default): a pool of processes, one per core (or ``launcher.workers``);
- ``ray``: Ray tasks of one CPU each, on the cluster at ``launcher.address`` or on a local Ray started for
  the sweep (Ray is safexp-experiments' ``ray`` extra: ``pip install 'ray[default]>=2.9,<3'``); a Ray already
  initialised in this process is used as it is.

Every run's config is validated before anything starts. With a progress stream (``safexp sweep`` passes
stderr) the sweep prints its plan, then keeps a live bar of env steps with the runs done, running and failed
and the time left (plain lines when the stream is not a terminal), and a line per run as it ends (see
:class:`SweepProgress`). A run that fails is reported with its error and the others go on; rerunning a sweep
skips the runs that finished, resumes interrupted ones from their checkpoint and restarts failed ones; it is
refused when the folder holds runs trained with other settings (:func:`check_earlier_runs`).

The table (``results.csv``, ``results.md`` in the sweep directory) has one row per env and variant: mean ± std
across seeds of the final evaluation's return and cost and the mean of Safety Gym's ``J_r``, ``M_c``, ``ρ_c``,
then the suite aggregates (SG6, SG18 or all envs) of each variant.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import yaml
from omegaconf.errors import OmegaConfBaseException

from safexp.plugin import ParameterError, SafexpError, choices_hint
from safexp_experiments.config import RUN_ONLY_KEYS, ConfigError, changed_keys, flatten_keys, load_config
from safexp_experiments.metrics import NormalizedMetrics, mean_metrics, suite_aggregates
from safexp_experiments.runs import RunDir, RunLock, RunLockedError, atomic_write_text, read_json

LAUNCHERS = ("local", "ray")
LAUNCHER_KEYS = ("launcher", "launcher.address", "launcher.workers")
"""Sweep-level overrides: which launcher, the Ray address, the number of local workers."""
POLL_SECONDS = 1.0
"""How often the launchers look at the running runs (their status files) between outcomes."""
TABLE_COLUMNS = ("env", "variant", "seeds", "return_mean", "return_std", "cost_mean", "cost_std", "J_r", "M_c", "rho_c")
CHECKPOINT_GRACE_SECONDS = 120
"""After Ctrl-C, how long a Ray sweep waits for its cancelled runs to save their checkpoint before Ray stops."""


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
    interrupted: bool = False
    """Whether the run stopped on Ctrl-C (a ``failed`` outcome; its checkpoint resumes it)."""


@dataclass
class SweepResult:
    """The outcomes of every job, the table rows and where the table was written."""

    outcomes: list[RunOutcome]
    rows: list[dict[str, Any]]
    csv_path: Path
    markdown_path: Path
    failed: list[RunOutcome] = field(default_factory=list)


# -- building the jobs ---------------------------------------------------------------------------------------
SET_BY_THE_SWEEP = {
    "seed": "the sweep sets each run's seed from --seeds",
    "name": "the sweep names each run after its grid values and seed",
    "out_dir": "the runs go into the sweep's folder (--sweep-dir, or <out_dir>/sweeps/<config>)",
    "progress": "the sweep shows the progress of its runs itself",
}
"""The run keys the sweep sets for every run (why), which neither ``--grid`` nor an override may set; an ``out_dir``
override is allowed: it places the default sweep folder."""


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
        repeated = next((v for i, v in enumerate(options) if v in options[:i]), None)
        if repeated is not None:
            raise ConfigError(f"--grid '{item}' lists '{repeated}' twice; each value makes one run per seed")
        if key in SET_BY_THE_SWEEP:
            raise ConfigError(f"--grid cannot sweep '{key}': {SET_BY_THE_SWEEP[key]}")
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


@dataclass(frozen=True)
class LauncherChoice:
    """The launcher keys of a command line: ``launcher`` (one of :data:`LAUNCHERS`), ``launcher.workers``
    (``None``: the default) and ``launcher.address`` (a Ray cluster; ``None``: a local Ray)."""

    kind: str = "local"
    workers: int | None = None
    address: str | None = None


def split_launcher_overrides(overrides: Sequence[str]) -> tuple[LauncherChoice, list[str]]:
    """Separate ``launcher=...``, ``launcher.address=...``, ``launcher.workers=...`` from the run overrides, checked.

    :raises ParameterError: an unknown launcher key or launcher (with the choices, nearest first), or a number of
        workers that is not a positive integer.
    """
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
    kind = launcher.get("launcher", "local")
    if kind not in LAUNCHERS:
        raise ParameterError(f"unknown launcher '{kind}'; {choices_hint(kind, LAUNCHERS)}")
    workers = launcher.get("launcher.workers")
    if workers is not None and (not workers.isdigit() or int(workers) < 1):
        raise ParameterError(f"launcher.workers must be a positive integer, got '{workers}'")
    return LauncherChoice(kind, int(workers) if workers else None, launcher.get("launcher.address")), rest


def _run_name(grid_values: Iterable[tuple[str, str]], seed: int) -> str:
    parts = [f"{k}={v}" for k, v in grid_values] + [f"seed={seed}"]
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", ",".join(parts))


def make_jobs(config: Any, grid: Sequence[tuple[str, list[str]]], seeds: Sequence[int], overrides: Sequence[str] = (),
              sweep_dir: str | Path | None = None, search_root: str | Path | None = None) -> tuple[Path, list[SweepJob]]:
    """Validate and resolve every run of the sweep.

    :param sweep_dir: where the run directories go (default: ``<out_dir>/sweeps/<config name>``).
    :param search_root: an extra config root, searched first (see :func:`~safexp_experiments.config.config_search_path`).
    :return: the sweep directory (absolute) and the jobs, in grid order then seed order.
    :raises SafexpError: the first invalid combination, with its overrides named: a config error, or, for a run to
        start afresh, an ``init_from`` run that is missing, unfinished or already at ``total_steps``
        (:meth:`RunDir.source`).
    """
    for override in overrides:
        key = override.partition("=")[0].strip().lstrip("+~")
        if key in SET_BY_THE_SWEEP and key != "out_dir":
            raise ConfigError(f"sweep override '{override}': {SET_BY_THE_SWEEP[key]}")
    first_run = [f"{key}={values[0]}" for key, values in grid]  # overrides may be keys only the grid's choice has
    base = load_config(config, [*overrides, *first_run], search_root)
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
                job = SweepJob(name, grid_values, seed, resolved.to_dict())
                if resolved.run.init_from is not None and prior_state(job)[0] == "new":  # before any run is written
                    RunDir.source(resolved.run.init_from, resolved.run.total_steps)
            except Exception as exc:
                raise type(exc)(f"sweep run {name}: {exc}") from None
            jobs.append(job)
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
        state, _ = prior_state(job)
        if state == "finished":
            return RunOutcome(job, "skipped", read_json(RunDir(run_dir).summary_file))
        if state == "resumable":
            result = resume(run_dir)
        else:
            if run_dir.is_dir():
                holder = RunLock.holder(run_dir)
                if holder is not None:
                    raise RunLockedError(f"run '{run_dir}' is being trained by process {holder}; it was left alone")
                shutil.rmtree(run_dir)
            result = train(job.config)
        if result.state != "finished":
            return RunOutcome(job, "failed", error=f"run stopped ({result.state}) at {result.steps} steps",
                              seconds=time.perf_counter() - start, interrupted=result.state == "interrupted")
        return RunOutcome(job, "finished", result.summary, seconds=time.perf_counter() - start)
    except Exception as exc:  # a failed run is reported, not raised: the other runs go on
        return RunOutcome(job, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)


def check_earlier_runs(jobs: Sequence[SweepJob]) -> None:
    """Refuse a sweep whose folder holds runs of the same names trained with other settings (which it would
    otherwise skip, or resume with their own settings), or runs it cannot compare.

    :raises ConfigError: naming the first such run, and the keys that differ with their old and new values.
    """
    for job in jobs:
        try:
            if prior_state(job)[0] == "new":
                continue
            changed = settings_changed(job)
        except (OSError, SafexpError, OmegaConfBaseException, yaml.YAMLError) as exc:
            raise ConfigError(f"the sweep folder holds run '{job.run_dir}', which cannot be compared with the "
                              f"sweep's settings ({exc}); delete it, or give the sweep another folder (--sweep-dir)"
                              ) from None
        if changed:
            shown = "; ".join(f"{key}: {old!r} → {new!r}" for key, old, new in changed[:3])
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            raise ConfigError(f"the sweep folder holds run '{job.run_dir}' trained with other settings ({shown}"
                              f"{more}); delete it, or give the sweep another folder (--sweep-dir)")


def settings_changed(job: SweepJob) -> list[tuple[str, Any, Any]]:
    """``(key, its value in the run, in the job)`` for each key (a dotted path) whose value in ``job``'s config
    differs from the config its existing run directory was trained with, :data:`~safexp_experiments.config.RUN_ONLY_KEYS` aside. The run's
    ``config.yaml`` is read as a resume reads it, keys added to safexp since taking their defaults (a missing one:
    the newest checkpoint's copy)."""
    run = RunDir(job.run_dir)
    stored = load_config(run.config_file if run.config_file.is_file() else run.config_source()).to_dict()
    old, new = flatten_keys(stored), flatten_keys(job.config)
    return [(key, old.get(key), new.get(key)) for key in changed_keys(stored, job.config)
            if key not in RUN_ONLY_KEYS]


def prior_state(job: SweepJob) -> tuple[str, int]:
    """What a job's run directory holds before the job runs, and its steps: ``finished`` (the job is skipped),
    ``resumable`` (interrupted or cut off with a checkpoint: resumed from it) or ``new`` (missing, failed or
    without a checkpoint: started afresh, its folder deleted). A run whose ``status.json`` is damaged is judged by
    its files (:meth:`RunDir.finished`, its checkpoints), never deleted for it."""
    run_dir = job.run_dir
    if not run_dir.is_dir():
        return "new", 0
    run = RunDir(run_dir)
    status = _read_status(run_dir)
    if run.summary_file.is_file() and run.finished():
        return "finished", int(job.config["total_steps"])
    if status.get("state") in ("interrupted", "running", "unknown") and run.latest_checkpoint() is not None:
        return "resumable", int(status.get("steps", 0))
    return "new", 0


def start_step(job: SweepJob) -> int:
    """The step a job's run starts from: the step the run whose learner it trains on ended at (``init_from``, as a
    transfer's fine-tuning does), else 0. The steps before it are that run's work, not this job's."""
    source = job.config.get("init_from")
    if not source or not Path(source).is_dir():
        return 0
    return RunDir(Path(source)).finished_at() or 0


def steps_to_train(job: SweepJob) -> int:
    """The env steps a job's run trains: its ``total_steps`` less its :func:`start_step`."""
    return int(job.config["total_steps"]) - start_step(job)


def launch_local(jobs: Sequence[SweepJob], workers: int | None, report: Callable[[RunOutcome], None],
                 tick: Callable[[], None] = lambda: None) -> list[RunOutcome]:
    """Run ``jobs`` on a pool of ``workers`` processes (default: one per core, at most one per job).

    :param report: called with each outcome as it arrives.
    :param tick: called every :data:`POLL_SECONDS` while runs are going (for live progress).
    :raises KeyboardInterrupt: on Ctrl-C, once the runs going have saved a checkpoint and stopped (the workers
        get the terminal's SIGINT too); no waiting run starts.
    """
    workers = max(workers or default_workers(jobs), 1)
    outcomes: list[RunOutcome] = []
    waiting = list(jobs)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        running: set[Any] = set()
        try:
            while waiting or running:
                while waiting and len(running) < workers:  # a job is handed out only when a worker is free for it
                    running.add(pool.submit(execute, waiting.pop(0)))
                done, running = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    report(outcome)
                    outcomes.append(outcome)
                tick()
        except KeyboardInterrupt:
            wait(running)
            raise
    return outcomes


def default_workers(jobs: Sequence[SweepJob]) -> int:
    """The local pool's size when ``launcher.workers`` is not given: one process per core, at most one per job."""
    return max(min(len(jobs), os.cpu_count() or 1), 1)


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """The ``ray`` module, connected to the cluster at ``address`` or to a local Ray started here and stopped on
    leaving, unless this process already runs Ray (then used as it is).

    :raises ConfigError: when Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("launcher=ray needs Ray: pip install 'ray[default]>=2.9,<3' (safexp-experiments' ray "
                          "extra)") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def launch_ray(jobs: Sequence[SweepJob], address: str | None, report: Callable[[RunOutcome], None],
               tick: Callable[[], None] = lambda: None) -> list[RunOutcome]:
    """Run ``jobs`` as Ray tasks of one CPU each, in a :func:`ray_session` on ``address``. ``report`` and
    ``tick`` as for :func:`launch_local`."""
    with ray_session(address) as ray:
        remote = ray.remote(num_cpus=1)(execute)
        pending = [remote.remote(job) for job in jobs]
        outcomes = []
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
                for ref in done:
                    outcome = ray.get(ref)
                    report(outcome)
                    outcomes.append(outcome)
                tick()
        except KeyboardInterrupt:  # the running tasks get a KeyboardInterrupt (they checkpoint); the others never start
            for ref in pending:
                ray.cancel(ref)
            if pending:
                ray.wait(pending, num_returns=len(pending), timeout=CHECKPOINT_GRACE_SECONDS)
            raise
        return outcomes


def run_sweep(config: Any, grid: Sequence[str], seeds: Sequence[int] | str, overrides: Sequence[str] = (),
              sweep_dir: str | Path | None = None, search_root: str | Path | None = None,
              report: Callable[[RunOutcome], None] | None = None, progress: TextIO | None = None) -> SweepResult:
    """Run a sweep and write its table.

    :param grid: ``key=[v1,v2]`` items (see :func:`parse_grid`).
    :param seeds: the seeds, a list or ``'0,10,20'``.
    :param overrides: overrides for every run, plus the sweep keys ``launcher=local|ray``,
        ``launcher.address=...`` (Ray) and ``launcher.workers=N`` (local).
    :param search_root: an extra config root, searched first.
    :param report: called with each outcome as it arrives.
    :param progress: where to show the plan and the live progress (:class:`SweepProgress`); ``None``: silent.
    """
    launcher, run_overrides = split_launcher_overrides(overrides)
    seed_list = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    grid_items = parse_grid(grid)
    sweep_path, jobs = make_jobs(config, grid_items, seed_list, run_overrides, sweep_dir, search_root)
    check_earlier_runs(jobs)
    plan = SweepPlan(str(config) if isinstance(config, (str, Path)) else "the given config", sweep_path, jobs,
                     grid_items, seed_list, launcher.kind, launcher.workers or default_workers(jobs), launcher.address)
    display = SweepProgress(plan, progress) if progress is not None else None

    def on_outcome(outcome: RunOutcome) -> None:
        if display is not None:
            display.run_ended(outcome)
        if report is not None:
            report(outcome)

    tick = display.poll if display is not None else (lambda: None)
    try:
        finished = {job.name for job in jobs if prior_state(job)[0] == "finished"}
        outcomes = [execute(job) for job in jobs if job.name in finished]  # skipped here: no worker needed
        for outcome in outcomes:
            on_outcome(outcome)
        to_run = [job for job in jobs if job.name not in finished]
        if to_run and plan.launcher == "ray":
            outcomes += launch_ray(to_run, plan.address, on_outcome, tick)
        elif to_run:
            outcomes += launch_local(to_run, plan.workers, on_outcome, tick)
    finally:
        if display is not None:
            display.close()
    order = {job.name: index for index, job in enumerate(jobs)}
    outcomes.sort(key=lambda o: order[o.job.name])
    rows = table_rows(outcomes)
    csv_path, markdown_path = write_table(rows, outcomes, sweep_path)
    return SweepResult(outcomes, rows, csv_path, markdown_path, [o for o in outcomes if o.state == "failed"])


# -- the plan and the live progress --------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, known before any run starts: its runs, where they go and who runs them."""

    config: str
    sweep_dir: Path
    jobs: Sequence[SweepJob]
    grid: Sequence[tuple[str, list[str]]]
    seeds: Sequence[int]
    launcher: str
    workers: int
    """The local pool's size (``launcher=local``)."""
    address: str | None = None
    """The Ray cluster (``launcher=ray``); ``None``: a local Ray, or the one this process already runs."""

    def describe(self) -> str:
        """The plan in a few lines: runs, steps, launcher and workers, the sweep folder, runs done before."""
        total = sum(steps_to_train(job) for job in self.jobs)
        grid = ", ".join(f"{key}=[{','.join(values)}]" for key, values in self.grid)
        seeds = ",".join(str(seed) for seed in self.seeds)
        runs = len(self.jobs)
        lines = [f"sweep: {runs} run{'s' if runs != 1 else ''} of {self.config} "
                 f"({grid + ' × ' if grid else ''}seeds {seeds}), {total:,} env steps in all"]
        if self.launcher == "ray":
            where = (f"the Ray cluster at {self.address}" if self.address else
                     "the Ray already running in this process" if _ray_running() else "a local Ray started for the sweep")
            lines.append(f"  launcher: ray, one task of one CPU per run on {where}")
        else:
            lines.append(f"  launcher: local, {self.workers} worker process{'es' if self.workers != 1 else ''}")
        lines.append(f"  folder:   {self.sweep_dir}  (one run directory per run; results.csv and results.md at the end)")
        prior = [prior_state(job)[0] for job in self.jobs]
        done_before, resumable = prior.count("finished"), prior.count("resumable")
        if done_before or resumable:
            lines.append(f"  from an earlier sweep: {done_before} finished (skipped), {resumable} to resume "
                         "from a checkpoint; failed or empty runs start afresh")
        return "\n".join(lines)


def _ray_running() -> bool:
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def _read_status(run_dir: Path) -> dict[str, Any]:
    """A run's ``status.json``, or ``{}`` while it is missing or being replaced."""
    try:
        return RunDir(run_dir).status()
    except (OSError, ValueError):
        return {}


class SweepProgress:
    """The plan of a sweep, then its progress, on ``stream``.

    On a terminal: a tqdm bar of env steps (finished runs count whole, running runs by the steps in their
    ``status.json``, which training updates at its checkpoints) with the runs done, running and failed, and
    the time left at the average speed so far. Elsewhere (a log file, a pipe): a plain status line after each
    run and at most every ``interval`` seconds. Either way, one line per run as it ends.

    Running runs are found by their status files, written since the sweep began; with Ray workers on other
    machines whose run directories are not shared, only the runs that ended are counted.
    """

    def __init__(self, plan: SweepPlan, stream: TextIO, interval: float = 60.0) -> None:
        self.plan, self.stream, self.interval = plan, stream, interval
        self.began = time.time()
        # keyed by run directory: a transfer stage's runs share their name (``pretrain`` of every seed)
        self.start = {job.run_dir: start_step(job) for job in plan.jobs}
        """The step each run starts from (a fine-tuning run: its pretrained learner's); steps count from there."""
        self.totals = {job.run_dir: steps_to_train(job) for job in plan.jobs}
        self.prior = {job.run_dir: max(prior_state(job)[1] - self.start[job.run_dir], 0) for job in plan.jobs}
        """Steps done before the sweep began (runs finished before, checkpoints to resume from)."""
        self.steps = dict(self.prior)
        """Steps done of every run, as far as known."""
        self.running: set[Path] = set()
        self.ended: dict[Path, RunOutcome] = {}
        self.last_line = 0.0
        print(plan.describe(), file=stream, flush=True)
        self.bar = None
        if _is_terminal(stream):
            from tqdm import tqdm

            self.bar = tqdm(total=sum(self.totals.values()), initial=sum(self.prior.values()), file=stream,
                            unit="step", unit_scale=True, smoothing=0, dynamic_ncols=True, leave=True,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} steps "
                                       "[{elapsed}<{remaining}]")
            self._refresh()

    # -- what the launchers call ------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read the status files of the runs that have not ended; show the progress."""
        for job in self.plan.jobs:
            if job.run_dir in self.ended:
                continue
            path = job.run_dir / "status.json"
            try:
                fresh = path.stat().st_mtime >= self.began - 1.0
            except OSError:
                continue
            status = _read_status(job.run_dir) if fresh else {}
            if status.get("state") == "running":
                self.running.add(job.run_dir)
                done = int(status.get("steps", 0)) - self.start[job.run_dir]
                self.steps[job.run_dir] = min(max(done, self.steps[job.run_dir]), self.totals[job.run_dir])
        self._refresh()

    def run_ended(self, outcome: RunOutcome) -> None:
        """Record an outcome and print its line."""
        run_dir = outcome.job.run_dir
        self.ended[run_dir] = outcome
        self.running.discard(run_dir)
        self.steps[run_dir] = self.totals[run_dir] if outcome.state != "failed" else 0
        if outcome.summary is not None:
            detail = f"return {outcome.summary['return_mean']:.3f}, cost {outcome.summary['cost_mean']:.3f}"
        else:
            detail = str(outcome.error)
        when = "finished before" if outcome.state == "skipped" else _duration(outcome.seconds)
        self._write(f"[{len(self.ended)}/{len(self.plan.jobs)}] {outcome.state:8s} {self.label(outcome.job)} "
                    f"({when}): {detail}")
        self._refresh(force_line=True)

    def close(self) -> None:
        """Show the final counts and release the terminal line."""
        self.poll()
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # -- display ----------------------------------------------------------------------------------------------
    def label(self, job: SweepJob) -> str:
        """A run as the lines name it: its folder under the sweep's (its name; ``seed=0/pretrain`` in a
        transfer)."""
        return job.run_dir.relative_to(self.plan.sweep_dir).as_posix()

    def counts(self) -> dict[str, int]:
        """Runs ended (finished, skipped, failed), running, and waiting for a worker."""
        states = [o.state for o in self.ended.values()]
        running = len(self.running - self.ended.keys())
        return {"finished": states.count("finished"), "skipped": states.count("skipped"),
                "failed": states.count("failed"), "running": running,
                "waiting": len(self.plan.jobs) - len(self.ended) - running}

    def summary_line(self) -> str:
        """``3/8 runs done (1 failed), 2 running, 3 waiting``."""
        c = self.counts()
        done = c["finished"] + c["skipped"] + c["failed"]
        parts = [f"{done}/{len(self.plan.jobs)} runs done"]
        if c["failed"]:
            parts[0] += f" ({c['failed']} failed)"
        parts += [f"{c['running']} running", f"{c['waiting']} waiting"]
        return ", ".join(parts)

    def _progress(self) -> tuple[int, int, int]:
        """Env steps done before the sweep, done in all, and to do; failed runs left out of all three."""
        failed = {run_dir for run_dir, o in self.ended.items() if o.state == "failed"}

        def total(steps: Mapping[Path, int]) -> int:
            return sum(count for run_dir, count in steps.items() if run_dir not in failed)

        return total(self.prior), total(self.steps), total(self.totals)

    def _refresh(self, force_line: bool = False) -> None:
        before, done, total = self._progress()
        if self.bar is not None:
            self.bar.initial = before  # tqdm's speed and time left count the steps after it
            self.bar.total = total
            self.bar.n = min(done, total)
            self.bar.set_description_str(self.summary_line(), refresh=False)
            self.bar.refresh()
            return
        now = time.time()
        if not force_line and now - self.last_line < self.interval:
            return
        self.last_line = now
        line = f"sweep: {self.summary_line()}; {done:,} of {total:,} env steps"
        rate = (done - before) / max(now - self.began, 1e-9)
        if rate > 0 and done < total:
            line += f", about {_duration((total - done) / rate)} left"
        self._write(line)

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


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

