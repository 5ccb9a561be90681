"""Safe transfer (Knight & Achiam, "Safely transferring to unsafe environments with constrained RL"): pretrain a
constrained agent in a low-stakes env, measure it zero-shot in high-stakes ones, fine-tune it there, and compare
its lifetime cost in the deployment env with an agent trained there from scratch.

A transfer experiment is an experiment config (``env`` = the source env, ``algo`` = the learner, run keys) with
a ``transfer:`` section (:class:`TransferSettings`): the target envs (env group options, given the source env's
``feedback`` and ``max_episode_steps``), the budgets, the seeds, and the constraint switch. Its stages, in order (:data:`STAGES`):

- ``pretrain``: one run per seed in the source env for ``pretrain_steps``;
- ``zero_shot``: each seed's pretrained agent plays ``zero_shot_episodes`` deterministic episodes in each target
  env, without learning;
- ``finetune``: the pretrained agent — weights, critics, multipliers, optimiser states, normaliser statistics and
  replay buffer (the run key ``init_from``) — trains on in each target env for ``finetune_steps`` more steps;
- ``scratch``: the same learner, budget and seeds, trained only in each target env.

Each fine-tune and scratch run logs its *lifetime cost*, the cost of every step it trained on in its target env
(``deployment/lifetime_cost`` in TensorBoard, ``lifetime_cost.csv`` in the run directory,
:class:`~safexp_experiments.training.LifetimeCost`). The feedback ablation is the env key ``feedback`` (set
on the source env, it is given to every target env too), the constraint ablation ``transfer.constrained``.

Everything goes under ``<out_dir>/transfer/<name>/`` (``name``: ``transfer.name``, else the config's name)::

    transfer.yaml                   the experiment (learner, envs, budgets): a rerun must match it
    seed=<S>/pretrain/              the pretraining run directory
    seed=<S>/zero_shot/<target>.json   the zero-shot evaluation
    seed=<S>/finetune/<target>/     the fine-tuning run directory
    seed=<S>/scratch/<target>/      the from-scratch run directory
    transfer.csv, transfer.md       the paper's Table 1 layout, plus fine-tuned return and cost, lifetime costs
    transfer.png                    the paper's Figure 4 layout

Rerunning the same command skips what finished (runs, zero-shot files), resumes interrupted runs from their
checkpoints and restarts failed ones. The runs of a stage go to the sweep launchers
(:mod:`safexp_experiments.sweep`): ``launcher=local`` (a process pool; ``launcher.workers=1`` runs them one after
another in this process) or ``launcher=ray``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, TextIO

import numpy as np
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from safexp.plugin import ParameterError, SafexpError, bounded, choices_hint, title
from safexp_experiments.config import (
    MAX_SEED,
    RUN_ONLY_KEYS,
    ComposedConfig,
    all_options,
    changed_keys,
    command_section,
    compose,
    config_root,
    config_search_path,
    find_config,
    find_option,
    load_config,
    validate,
)
from safexp_experiments.runs import RunDir, atomic_write_text, read_json, write_json
from safexp_experiments.sweep import (
    RunOutcome,
    SweepJob,
    SweepPlan,
    SweepProgress,
    default_workers,
    execute,
    launch_local,
    launch_ray,
    prior_state,
    ray_session,
    split_launcher_overrides,
)

STAGES = ("pretrain", "zero_shot", "finetune", "scratch")
"""The stages of a transfer experiment, in the order they run."""

UNCONSTRAINED = {"multiplier": "sgd", "multiplier_settings": {"init": 0.0, "lr": 0.0}}
"""What ``transfer.constrained: false`` sets in a Lagrangian learner's config: λ starts at 0 and never moves, so
the cost term drops out of every update (the cost critic still learns and the costs are still logged)."""

TABLE_COLUMNS = ("robot", "target", "env", "seeds",
                 "scratch_return_mean", "scratch_return_std", "scratch_cost_mean", "scratch_cost_std",
                 "zero_shot_return_mean", "zero_shot_return_std", "zero_shot_cost_mean", "zero_shot_cost_std",
                 "finetune_return_mean", "finetune_return_std", "finetune_cost_mean", "finetune_cost_std",
                 "scratch_lifetime_cost_mean", "scratch_lifetime_cost_std",
                 "finetune_lifetime_cost_mean", "finetune_lifetime_cost_std")
"""The columns of ``transfer.csv``: one row per target env, mean and std across the seeds that have each figure."""

PANELS = {"return": "episode return", "cost": "episode cost", "lifetime_cost": "cumulative cost in target env"}
"""The rows of the Figure 4 plot, from the runs' ``lifetime_cost.csv``: every training episode's return and cost,
and the lifetime cost."""


class TransferError(SafexpError):
    """A transfer experiment that cannot run as asked: a stage whose inputs are missing, or a folder holding a
    different experiment."""


@dataclass
class TransferSettings:
    """The ``transfer:`` section of an experiment config.

    - ``targets``: the high-stakes envs, as env group options (``pointhallwaypoleslidar``); the source env is the
      experiment's ``env``;
    - ``pretrain_steps``: env steps of pretraining in the source env;
    - ``finetune_steps``: env steps in each target env, of fine-tuning and of training from scratch alike;
    - ``zero_shot_episodes``: deterministic episodes of the pretrained agent in each target env;
    - ``seeds``: one pretraining per seed, and its zero-shot, fine-tune and scratch runs with the same seed;
    - ``constrained``: ``false`` holds every Lagrange multiplier at 0 (:data:`UNCONSTRAINED`): the paper's
      unconstrained SAC (its Figures 6 and 7);
    - ``name``: the folder under ``<out_dir>/transfer/`` (default: the config's name).
    """

    targets: List[str] = field(default_factory=list)
    pretrain_steps: int = bounded(1_000_000, ge=1)
    finetune_steps: int = bounded(1_000_000, ge=1)
    zero_shot_episodes: int = bounded(10, ge=1)
    seeds: List[int] = bounded(default_factory=lambda: [0], ge=0, le=MAX_SEED)
    constrained: bool = True
    name: Optional[str] = None


@dataclass(frozen=True)
class TransferTarget:
    """A target env: its env group option name and its env config (the source env's wrapper keys added)."""

    name: str
    env: Mapping[str, Any]


@dataclass(frozen=True)
class TransferPlan:
    """A validated transfer experiment: where it goes, its settings, and the resolved config of every run.

    ``base`` is the run config every run starts from (the source env, the learner with the constraint switch
    applied, the run keys); :meth:`run_config` derives each stage's.
    """

    config_name: str
    directory: Path
    settings: TransferSettings
    base: Mapping[str, Any]
    targets: tuple[TransferTarget, ...]
    stages: tuple[str, ...]
    launcher: str = "local"
    workers: int | None = None
    address: str | None = None

    # -- where things go --------------------------------------------------------------------------------------
    def seed_dir(self, seed: int) -> Path:
        return self.directory / f"seed={seed}"

    def pretrain_dir(self, seed: int) -> Path:
        return self.seed_dir(seed) / "pretrain"

    def zero_shot_file(self, seed: int, target: TransferTarget) -> Path:
        return self.seed_dir(seed) / "zero_shot" / f"{target.name}.json"

    def run_dir(self, stage: str, seed: int, target: TransferTarget) -> Path:
        """The run directory of a ``finetune`` or ``scratch`` run."""
        return self.seed_dir(seed) / stage / target.name

    def pretrained_steps(self, seed: int) -> int:
        """The env steps the agent of ``seed`` was pretrained for, where its fine-tuning starts: the step of the
        finished pretrain run's final checkpoint (a learner trains whole collection phases, so it may stop past
        ``pretrain_steps``), or ``pretrain_steps`` while that run has not finished."""
        run = RunDir(self.pretrain_dir(seed))
        step = run.finished_at() if run.path.is_dir() else None
        return self.settings.pretrain_steps if step is None else step

    # -- the runs ---------------------------------------------------------------------------------------------
    def run_config(self, stage: str, seed: int, target: TransferTarget | None = None) -> dict[str, Any]:
        """The resolved config of one run of ``stage`` (``pretrain``: no target)."""
        config = {**self.base, "seed": seed, "progress": False}
        s = self.settings
        if stage == "pretrain":
            out, name, steps, env = self.seed_dir(seed), "pretrain", s.pretrain_steps, self.base["env"]
        else:
            assert target is not None
            out, name, env = self.seed_dir(seed) / stage, target.name, dict(target.env)
            steps = s.finetune_steps + (self.pretrained_steps(seed) if stage == "finetune" else 0)
            if stage == "finetune":
                config["init_from"] = str(self.pretrain_dir(seed))
        return {**config, "env": env, "total_steps": steps, "out_dir": str(out), "name": name}

    def jobs(self, stage: str) -> list[SweepJob]:
        """The runs of a training stage (``pretrain``, ``finetune``, ``scratch``), validated, seed-major."""
        pairs = ([(seed, None) for seed in self.settings.seeds] if stage == "pretrain" else
                 [(seed, target) for seed in self.settings.seeds for target in self.targets])
        jobs = []
        for seed, target in pairs:
            label = f"{stage} seed={seed}" + (f" target={target.name}" if target else "")
            try:
                resolved = load_config(self.run_config(stage, seed, target)).to_dict()
            except SafexpError as exc:
                raise type(exc)(f"{label}: {exc}") from None
            grid = (("stage", stage),) + ((("target", target.name),) if target else ())
            jobs.append(SweepJob(resolved["name"], grid, seed, resolved))
        return jobs

    def identity(self) -> dict[str, Any]:
        """What makes two transfer experiments the same (``transfer.yaml``): the learner, the source env, the run
        keys that change learning, the budgets and the constraint switch; not the seeds or targets, which only
        choose runs."""
        base = {k: v for k, v in self.base.items() if k not in (*RUN_ONLY_KEYS, "seed", "init_from")}
        s = self.settings
        return {**base, "transfer": {"pretrain_steps": s.pretrain_steps, "finetune_steps": s.finetune_steps,
                                     "zero_shot_episodes": s.zero_shot_episodes, "constrained": s.constrained}}


@dataclass
class TransferResult:
    """What :func:`run_transfer` did: the stages it ran, the failed runs, and the files of the report."""

    plan: TransferPlan
    ran: list[str]
    failed: list[RunOutcome]
    rows: list[dict[str, Any]]
    csv_path: Path
    markdown_path: Path
    plot_path: Path | None


# -- planning ---------------------------------------------------------------------------------------------------
def plan_transfer(config: str | Path, overrides: Sequence[str] = (), stages: Sequence[str] | str | None = None,
                  search_root: str | Path | None = None) -> TransferPlan:
    """Compose and validate a transfer experiment and every run of it; writes nothing.

    :param config: an experiment file or name with a ``transfer:`` section.
    :param overrides: dot-list overrides (``transfer.seeds=[0,10]``, ``env.feedback=false``) and the launcher
        keys of :func:`~safexp_experiments.sweep.split_launcher_overrides`.
    :param stages: the stages to run (names or ``'a,b'``; default: all), run in :data:`STAGES` order.
    :param search_root: an extra config root, searched first.
    :raises ParameterError: an unknown stage, target env or key, with the valid choices, nearest first.
    :raises TransferError: a config without a ``transfer:`` section or without targets.
    """
    chosen_stages = parse_stages(stages)
    launcher, run_overrides = split_launcher_overrides(overrides)
    composed = compose(config, run_overrides, search_root)
    if "transfer" not in composed.values:
        raise TransferError(f"'{config}' has no 'transfer:' section; a transfer experiment names its targets, budgets "
                            "and seeds there (see configs/experiment/transfer_demo.yaml)")
    settings: TransferSettings = command_section(composed, "transfer")
    if not settings.targets:
        raise TransferError(f"'{config}' names no target env: set transfer.targets to env options, e.g. "
                            "[pointhallwaypoleslidar, pointhallwaypeoplelidar]")
    if len(set(settings.seeds)) != len(settings.seeds) or not settings.seeds:
        raise ParameterError(f"transfer.seeds must list distinct seeds, got {settings.seeds}")
    if settings.name is not None and (not settings.name or "/" in settings.name or settings.name.startswith(".")):
        raise ParameterError(f"transfer.name must be a plain folder name, got {settings.name!r}")
    if len(set(settings.targets)) != len(settings.targets):
        raise ParameterError(f"transfer.targets names an env twice: {settings.targets}")
    del composed.values["transfer"]
    if not settings.constrained:
        _unconstrain(composed)
    base = validate(composed).to_dict()
    path = find_config(config, search_root)
    roots = config_search_path(search_root, beside=config_root(path))
    targets = tuple(_target(name, roots, base["env"]) for name in settings.targets)
    directory = Path(base["out_dir"]).resolve() / "transfer" / (settings.name or path.stem)
    plan = TransferPlan(path.stem, directory, settings, base, targets, chosen_stages, launcher.kind,
                        launcher.workers, launcher.address)
    for stage in ("pretrain", "finetune", "scratch"):
        plan.jobs(stage)  # every run's config is checked before anything runs
    return plan


def parse_stages(stages: Sequence[str] | str | None) -> tuple[str, ...]:
    """The stages named (``'pretrain,zero_shot'`` or a list; ``None``: all), in :data:`STAGES` order.

    :raises ParameterError: an unknown stage name, with the stages nearest to it first.
    """
    if stages is None:
        return STAGES
    names = [s.strip() for s in (stages.split(",") if isinstance(stages, str) else stages) if s.strip()]
    if not names:
        raise ParameterError(f"--stages names no stage; {choices_hint('', STAGES)}")
    for name in names:
        if name not in STAGES:
            raise ParameterError(f"unknown stage '{name}'; {choices_hint(name, STAGES)}")
    return tuple(stage for stage in STAGES if stage in names)


def _unconstrain(composed: ComposedConfig) -> None:
    """Apply :data:`UNCONSTRAINED` to the learner of ``composed``.

    :raises ParameterError: for a constrained learner without a Lagrange multiplier (CPO).
    """
    from safexp.plugin import get_registry

    algo = composed.values.get("algo", {})
    spec = get_registry().get("algorithms", str(algo.get("name")))
    names = {f.name for f in dataclasses.fields(spec.params)}
    if "multiplier" in names:
        algo["multiplier"] = UNCONSTRAINED["multiplier"]
        algo["multiplier_settings"] = {**UNCONSTRAINED["multiplier_settings"]}
        for key in ("multiplier", "multiplier_settings"):
            composed.sources[("algo", key)] = "transfer.constrained=false"
    elif "cost_limit" in names:
        raise ParameterError(f"transfer.constrained=false needs a Lagrangian learner (one with a 'multiplier'); "
                             f"'{spec.name}' has none: pick its unconstrained counterpart with algo=<option>")


def _target(name: str, roots: Sequence[Any], source_env: Mapping[str, Any]) -> TransferTarget:
    """The target env named by an env group option, with the source env's wrapper keys (``feedback``,
    ``max_episode_steps``: :data:`~safexp_experiments.config.ENV_WRAPPER_KEYS`), so that the agent keeps its
    inputs and episodes keep their length.

    :raises ParameterError: an unknown option, with the env options nearest to it first.
    """
    from safexp_experiments.config import ENV_WRAPPER_KEYS, _load_yaml, validate_env

    option = find_option(roots, "env", name)
    if option is None:
        options = all_options(roots, "env")
        raise ParameterError(f"unknown target env '{name}' in transfer.targets; "
                             f"{choices_hint(name, options)}")
    env = {**_load_yaml(option, "env config"), **{k: source_env[k] for k in ENV_WRAPPER_KEYS if k in source_env}}
    validate_env(env, ComposedConfig(values={"env": env}, sources={("env",): str(option)}))
    return TransferTarget(name, env)


# -- running ----------------------------------------------------------------------------------------------------
def run_transfer(config: str | Path, overrides: Sequence[str] = (), stages: Sequence[str] | str | None = None,
                 search_root: str | Path | None = None, progress: TextIO | None = None) -> TransferResult:
    """Plan (:func:`plan_transfer`), then run the chosen stages in order and write the report.

    :param progress: where to say what each stage does, with the sweep's live progress; ``None``: silent.
    :return: the :class:`TransferResult`; a stage whose runs failed stops the stages after it.
    :raises TransferError: a stage whose inputs are missing (say, fine-tuning before pretraining finished), or a
        folder holding a different experiment; raised before anything is written.
    """
    plan = plan_transfer(config, overrides, stages, search_root)
    _check_folder(plan)
    _check_inputs(plan)
    say = (lambda line: print(line, file=progress, flush=True)) if progress is not None else (lambda line: None)
    plan.directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan.directory / "transfer.yaml", OmegaConf.to_yaml(OmegaConf.create(plan.identity())))
    say(f"transfer: {plan.config_name} in {plan.directory}\n  stages {', '.join(plan.stages)}; seeds "
        f"{', '.join(map(str, plan.settings.seeds))}; targets {', '.join(t.name for t in plan.targets)}")
    ran: list[str] = []
    failed: list[RunOutcome] = []
    with _ray_session(plan):
        for stage in plan.stages:
            say(f"== {stage}")
            if stage == "zero_shot":
                for line in zero_shot(plan):
                    say(line)
            else:
                failed = _run_jobs(plan, plan.jobs(stage), progress)
            ran.append(stage)
            if failed:
                say(f"{len(failed)} {stage} run(s) failed; later stages not run. Rerun the same command to retry them "
                    "(finished runs are skipped)")
                break
    rows = table_rows(plan)
    csv_path, markdown_path = write_table(plan, rows)
    plot_path = plot_transfer(plan, plan.directory / "transfer.png")
    return TransferResult(plan, ran, failed, rows, csv_path, markdown_path, plot_path)


@contextmanager
def _ray_session(plan: TransferPlan) -> Iterator[None]:
    """With ``launcher=ray``, one Ray session for all the stages (connected to ``launcher.address`` or a local
    Ray, stopped at the end), unless this process already runs Ray; otherwise nothing."""
    if plan.launcher != "ray":
        yield
        return
    with ray_session(plan.address):
        yield


def _check_folder(plan: TransferPlan) -> None:
    """A transfer folder holds one experiment: refuse one whose ``transfer.yaml`` says another."""
    recorded = plan.directory / "transfer.yaml"
    if not recorded.is_file():
        return
    try:
        recorded_identity = OmegaConf.to_container(OmegaConf.load(recorded), resolve=False)
        if not isinstance(recorded_identity, dict):
            raise ValueError("not a mapping of keys")
    except (OmegaConfBaseException, yaml.YAMLError, ValueError, OSError) as exc:
        raise TransferError(f"'{recorded}' is damaged ({str(exc).splitlines()[0]}), so this folder cannot be checked "
                            "to hold this transfer experiment; restore or delete that file, or choose another folder "
                            "with transfer.name=NAME") from None
    before = {k: v for k, v in recorded_identity.items() if k not in RUN_ONLY_KEYS}  # written by older versions
    now = plan.identity()
    keys = changed_keys(before, now)
    if keys:
        raise TransferError(f"'{plan.directory}' holds a different transfer experiment ({', '.join(keys[:5])} "
                            f"differ{'s' if len(keys) == 1 else ''}); choose another folder with transfer.name=NAME")


def _check_inputs(plan: TransferPlan) -> None:
    """Stages after ``pretrain`` need each seed's pretraining finished (run now or before)."""
    if "pretrain" in plan.stages or not {"zero_shot", "finetune"} & set(plan.stages):
        return
    for seed in plan.settings.seeds:
        if not (plan.pretrain_dir(seed).is_dir() and RunDir(plan.pretrain_dir(seed)).finished()):
            needing = [s for s in plan.stages if s in ("zero_shot", "finetune")]
            raise TransferError(f"stage '{needing[0]}' needs the pretrained agent of seed {seed}, but "
                                f"'{plan.pretrain_dir(seed)}' has not finished; run the pretrain stage first "
                                "(--stages pretrain, or all stages)")


def _run_jobs(plan: TransferPlan, jobs: list[SweepJob], progress: TextIO | None) -> list[RunOutcome]:
    """Run a stage's jobs: finished ones are skipped, the others go to the launcher; returns the failed ones."""
    done = [job for job in jobs if prior_state(job)[0] == "finished"]
    to_run = [job for job in jobs if job not in done]
    workers = plan.workers or default_workers(to_run)
    display = None
    if progress is not None and to_run:
        display = SweepProgress(SweepPlan(plan.config_name, plan.directory, to_run, [], plan.settings.seeds,
                                          plan.launcher, workers, plan.address), progress)
    outcomes: list[RunOutcome] = [RunOutcome(job, "skipped") for job in done]
    report: Callable[[RunOutcome], None] = display.run_ended if display is not None else (lambda outcome: None)
    tick = display.poll if display is not None else (lambda: None)
    try:
        if to_run and plan.launcher == "ray":
            outcomes += launch_ray(to_run, plan.address, report, tick)
        elif to_run and workers == 1:  # one after another, here: no process pool to start
            for job in to_run:
                outcomes.append(execute(job))
                report(outcomes[-1])
                if outcomes[-1].interrupted:  # Ctrl-C: the run saved its checkpoint; the next ones do not start
                    raise KeyboardInterrupt
        elif to_run:
            outcomes += launch_local(to_run, workers, report, tick)
    finally:
        if display is not None:
            display.close()
    if progress is not None and done:
        print(f"  {len(done)} run(s) finished before, skipped", file=progress, flush=True)
    return [outcome for outcome in outcomes if outcome.state == "failed"]


def zero_shot(plan: TransferPlan) -> list[str]:
    """Evaluate each seed's pretrained agent in each target env (``zero_shot_episodes`` deterministic episodes,
    the evaluation seeds of the run's seed), writing ``seed=<S>/zero_shot/<target>.json``; an existing file is
    kept. Returns a line per evaluation."""
    from safexp_experiments.envs import make_env
    from safexp_experiments.evaluation import EVAL_SEED_OFFSET, evaluation_report, load_policy, run_episodes

    lines = []
    for seed in plan.settings.seeds:
        pretrain = RunDir.open(plan.pretrain_dir(seed))
        policy = None
        for target in plan.targets:
            path = plan.zero_shot_file(seed, target)
            if path.is_file():
                lines.append(f"  seed {seed}, {target.name}: evaluated before ({path})")
                continue
            config = load_config(plan.run_config("scratch", seed, target))
            policy = policy or load_policy(pretrain, config)
            env = make_env(config.env, scene=config.scene)
            try:
                stats = run_episodes(policy, env, plan.settings.zero_shot_episodes, seed + EVAL_SEED_OFFSET)
            finally:
                env.close()
            report = {**evaluation_report(config, stats, policy.num_timesteps, None),
                      "pretrain_run": str(pretrain.path), "target": target.name}
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, report)
            lines.append(f"  seed {seed}, {target.name}: return {report['return_mean']:.2f} ± "
                         f"{report['return_std']:.2f}, cost {report['cost_mean']:.2f} ± {report['cost_std']:.2f}")
    return lines


# -- the table ----------------------------------------------------------------------------------------------------
def table_rows(plan: TransferPlan) -> list[dict[str, Any]]:
    """One row per target env (:data:`TABLE_COLUMNS`) from what the stages left: the final evaluations of the
    scratch and fine-tune runs (``summary.json``), the zero-shot files, and the two lifetime costs. A figure no
    seed has yet is ``None``; ``seeds`` counts the seeds with a finished scratch or fine-tune run or a zero-shot
    evaluation."""
    from safexp_experiments.envs import env_label

    rows = []
    for target in plan.targets:
        found: dict[str, list[dict[str, Any]]] = {"scratch": [], "zero_shot": [], "finetune": []}
        seeds = set()
        for seed in plan.settings.seeds:
            for stage in ("scratch", "finetune"):
                summary = plan.run_dir(stage, seed, target) / "summary.json"
                if summary.is_file():
                    found[stage].append(read_json(summary))
                    seeds.add(seed)
            if plan.zero_shot_file(seed, target).is_file():
                found["zero_shot"].append(read_json(plan.zero_shot_file(seed, target)))
                seeds.add(seed)
        row: dict[str, Any] = {"robot": title(str(target.env.get("robot", ""))), "target": target.name,
                               "env": env_label(target.env), "seeds": len(seeds)}
        for stage, reports in found.items():
            for figure in ("return", "cost"):
                row.update(_mean_std(f"{stage}_{figure}", [r[f"{figure}_mean"] for r in reports]))
        for stage in ("scratch", "finetune"):
            row.update(_mean_std(f"{stage}_lifetime_cost", [r["lifetime_cost"] for r in found[stage]]))
        rows.append(row)
    return rows


def _mean_std(prefix: str, values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}_mean": None, f"{prefix}_std": None}
    return {f"{prefix}_mean": float(np.mean(values)), f"{prefix}_std": float(np.std(values))}


def write_table(plan: TransferPlan, rows: Sequence[Mapping[str, Any]]) -> tuple[Path, Path]:
    """Write ``transfer.csv`` (the numbers, :data:`TABLE_COLUMNS`) and ``transfer.md`` (mean ± std) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in TABLE_COLUMNS})
    csv_path, markdown_path = plan.directory / "transfer.csv", plan.directory / "transfer.md"
    atomic_write_text(csv_path, buffer.getvalue())
    atomic_write_text(markdown_path, markdown_table(plan, rows))
    return csv_path, markdown_path


def markdown_table(plan: TransferPlan, rows: Sequence[Mapping[str, Any]]) -> str:
    """The paper's Table 1 (from scratch vs zero-shot, return / cost), then fine-tuned against scratch with the
    lifetime costs, as Markdown; mean ± std across seeds, blank where no seed has the figure yet."""
    def pm(row: Mapping[str, Any], key: str) -> str:
        mean, std = row[f"{key}_mean"], row[f"{key}_std"]
        return "" if mean is None else f"{mean:.2f} ± {std:.2f}"

    s = plan.settings
    lines = [f"# Safe transfer: {plan.config_name}", "",
             f"Source env {_env_name(plan.base['env'])}, learner {plan.base['algo']['name']}"
             f"{'' if s.constrained else ' (unconstrained: λ held at 0)'}, feedback inputs "
             f"{'on' if plan.base['env'].get('feedback') else 'off'}; pretraining {s.pretrain_steps:,} steps, "
             f"fine-tuning and from scratch {s.finetune_steps:,} steps; zero-shot: {s.zero_shot_episodes} "
             f"episode{'s' if s.zero_shot_episodes != 1 else ''}; seeds {', '.join(map(str, s.seeds))}. Returns and costs are per episode (final deterministic "
             "evaluation); lifetime cost is the cost accumulated in the target env during training.", "",
             "| env | seeds | from scratch return | from scratch cost | zero-shot return | zero-shot cost |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['robot']}-{_short(row)} | {row['seeds']} | {pm(row, 'scratch_return')} | "
                     f"{pm(row, 'scratch_cost')} | {pm(row, 'zero_shot_return')} | {pm(row, 'zero_shot_cost')} |")
    lines += ["", "| env | fine-tuned return | fine-tuned cost | from scratch lifetime cost | "
                  "fine-tuned lifetime cost |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['robot']}-{_short(row)} | {pm(row, 'finetune_return')} | {pm(row, 'finetune_cost')} | "
                     f"{pm(row, 'scratch_lifetime_cost')} | {pm(row, 'finetune_lifetime_cost')} |")
    return "\n".join(lines) + "\n"


def _env_name(env: Mapping[str, Any]) -> str:
    from safexp_experiments.envs import env_label

    return env_label(env)


def _short(row: Mapping[str, Any]) -> str:
    """The env's name without its robot (``HallwayPolesLidar``), as the paper's ``Point-Poles``."""
    env, robot = str(row["env"]), str(row["robot"])
    return env[len(robot):] if robot and env.startswith(robot) else env


# -- the plot -----------------------------------------------------------------------------------------------------
def plot_transfer(plan: TransferPlan, out: Path) -> Path | None:
    """The paper's Figure 4 layout: per target env a column of episode return, episode cost (every training
    episode) and lifetime cost in the target env against env steps; the transferred agent (pretraining, then
    fine-tuning) and the agent trained from scratch (its steps shifted to start at the transfer point, so both
    deployments line up), each the mean ± one std across seeds (curves interpolated on their common steps); the
    transfer point a dashed line, the cost limit per episode a dotted one.

    :return: the written file, or ``None`` when no fine-tune or scratch run has logged anything yet.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    from safexp_experiments.plot import Curve, fill_spread, mean_and_spread, save_figure

    transfer_point = plan.pretrained_steps(plan.settings.seeds[0])  # every seed's run has the same budget
    columns = []
    for target in plan.targets:
        lines: dict[str, dict[str, list[Curve]]] = {"transfer": {}, "scratch": {}}
        for seed in plan.settings.seeds:
            pretrain = _episodes(plan.pretrain_dir(seed))
            runs = {"transfer": _episodes(plan.run_dir("finetune", seed, target)),
                    "scratch": _episodes(plan.run_dir("scratch", seed, target), shift=transfer_point)}
            for kind, rows in runs.items():
                if not rows:
                    continue
                episodes = [row for row in (pretrain if kind == "transfer" else []) + rows
                            if row["episode_return"] is not None]
                for key in ("return", "cost"):
                    if episodes:
                        lines[kind].setdefault(key, []).append(Curve(
                            np.array([row["step"] for row in episodes]),
                            np.array([row[f"episode_{key}"] for row in episodes])))
                lines[kind].setdefault("lifetime_cost", []).append(Curve(  # from 0 at the transfer point
                    np.array([transfer_point] + [row["step"] for row in rows]),
                    np.array([0.0] + [row["lifetime_cost"] for row in rows])))
        columns.append((target, lines))
    if not any(lines[kind] for _, lines in columns for kind in lines):
        return None
    figure = Figure(figsize=(4.2 * len(columns), 8.0), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.asarray(figure.subplots(3, len(columns), sharex="col", squeeze=False))
    colors = {"transfer": "C0", "scratch": "C3"}
    cost_limit = _episode_cost_limit(plan)
    for column, (target, lines) in enumerate(columns):
        for row, key in enumerate(PANELS):
            axis = axes[row, column]
            for kind, color in colors.items():
                curves = lines[kind].get(key, [])
                if not curves:
                    continue
                steps, mean, std = mean_and_spread(curves)
                label = f"{'transferred' if kind == 'transfer' else 'from scratch'} ({len(curves)} seed" \
                        f"{'s' if len(curves) > 1 else ''})"
                axis.plot(steps, mean, color=color, linewidth=1.5, label=label, marker="o" if len(steps) < 25 else None,
                          markersize=3)
                fill_spread(axis, curves, steps, mean, std, color)
            axis.axvline(transfer_point, color="black", linestyle="--", linewidth=1.0,
                         label="transfer point" if row == 0 else None)
            if key == "cost" and cost_limit is not None:
                axis.axhline(cost_limit, color="grey", linestyle=":", linewidth=1.0, label="cost limit")
            axis.grid(True, alpha=0.3, linewidth=0.6)
            axis.spines[["top", "right"]].set_visible(False)
            if column == 0:
                axis.set_ylabel(PANELS[key])
            if row == 0:
                axis.set_title(f"{title(str(target.env.get('robot', '')))}: {target.name}", fontsize=9)
                axis.legend(frameon=False, fontsize=7, loc="best")
        axes[-1, column].set_xlabel("environment steps")
        axes[-1, column].xaxis.set_major_formatter(EngFormatter(sep=""))
    figure.suptitle(f"Safe transfer: {plan.config_name} (mean ± 1 std across seeds)", fontsize=10)
    return save_figure(figure, out)


def _episodes(run_dir: Path, shift: int = 0) -> list[dict[str, Any]]:
    """The rows of a run's ``lifetime_cost.csv`` (:func:`~safexp_experiments.training.read_lifetime_cost`), their
    steps moved by ``shift``; none for a run not made yet."""
    from safexp_experiments.training import LIFETIME_COST_FILE, read_lifetime_cost

    path = run_dir / LIFETIME_COST_FILE
    rows = read_lifetime_cost(path) if path.is_file() else []
    return [{**row, "step": row["step"] + shift} for row in rows]


def _episode_cost_limit(plan: TransferPlan) -> float | None:
    """The learner's cost limit per episode, for the cost panel: an episode limit as it is, a per-step limit
    (``sac_lag_rnn``) times the target env's episode length; ``None`` for an unconstrained learner, and for limits
    per constraint (``cost_limits``): the panel shows the episode's total cost, which no one of them bounds."""
    algo = plan.base["algo"]
    if "cost_limit" not in algo or not plan.settings.constrained or algo.get("cost_limits"):
        return None
    limit = float(algo["cost_limit"])
    if algo["name"] == "sac_lag_rnn":
        from safexp_experiments.envs import make_env

        horizon = plan.targets[0].env.get("max_episode_steps")
        if horizon is None:
            env = make_env(plan.targets[0].env)
            horizon = env.spec.max_episode_steps if env.spec is not None else None
            env.close()
        return None if horizon is None else limit * horizon
    return limit


__all__ = ["STAGES", "TransferPlan", "TransferResult", "TransferSettings", "plan_transfer", "run_transfer",
           "parse_stages", "table_rows", "plot_transfer", "zero_shot"]
