"""Learning curves from run directories: episode return and cost against env steps, with the cost limit, and the
Lagrange multipliers of the constrained learners.

Runs whose resolved configs differ only in ``seed`` (and the run's name and output folder) form one curve:
the mean across seeds, with a band of ± one standard deviation, on the steps all of them reached.

The third panel shows every Lagrange multiplier λ the runs logged (:data:`MULTIPLIER_TAG`), one line style per
constraint. It is left out when none of the runs has a multiplier (unconstrained learners, CPO); when only some
have one, the panel names the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import cycle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safexp_experiments.config import RUN_ONLY_KEYS, check_writable_dir, flatten_keys, load_config
from safexp.plugin import ParameterError, choices_hint
from safexp_experiments.envs import env_label
from safexp_experiments.runs import RunDir, RunDirError

CURVES = {
    "train": ("rollout/ep_rew_mean", "rollout/ep_cost_mean", "training episodes (mean of the last 100)"),
    "eval": ("eval/return_mean", "eval/cost_mean", "deterministic evaluation episodes"),
}
"""Which TensorBoard scalars each kind of curve reads: (return tag, cost tag, caption)."""

MULTIPLIER_TAG = "train/lagrange_multiplier"
"""The scalar the Lagrangian learners log λ under: this tag itself for a single constraint, ``<tag>/<constraint>``
for each of several."""

CONSTRAINT_LINESTYLES = ("-", "--", ":", "-.")
"""Line styles telling the multipliers of one run's constraints apart (the colour says which run)."""

FEW_POINTS = 25
"""Curves with fewer points than this are drawn with a marker at each point (one point draws no line)."""

RUN_IDENTITY_EXCLUDED = (*RUN_ONLY_KEYS, "seed", "device", "eval_freq", "eval_episodes", "init_from")
"""Run keys that do not make two runs different experiments (they do not change what is learned; ``init_from``
names each seed's own pretraining run, like ``seed``: only whether a run has one counts)."""


@dataclass(frozen=True)
class Curve:
    """One scalar of one run: env steps and values, sorted by step."""

    steps: np.ndarray
    values: np.ndarray


def read_run_scalars(run_dir: str | Path) -> dict[str, Curve]:
    """Read every scalar back from a run's TensorBoard event files (every file; a resumed run has several).

    Where a step was logged twice (a run resumed from a checkpoint before its last logs), the later write wins.

    :return: tag → :class:`Curve`; empty when the run has no event files yet.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb_dir = RunDir.open(run_dir).tensorboard_dir
    by_tag: dict[str, dict[int, tuple[float, float]]] = {}
    for event_file in sorted(tb_dir.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(event_file), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            by_step = by_tag.setdefault(tag, {})
            for event in accumulator.Scalars(tag):
                if event.step not in by_step or by_step[event.step][0] <= event.wall_time:
                    by_step[event.step] = (event.wall_time, event.value)
    curves = {}
    for tag, by_step in by_tag.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        curves[tag] = Curve(steps, np.array([by_step[s][1] for s in steps], dtype=np.float64))
    return curves


def read_scalars(run_dir: str | Path, tag: str) -> Curve:
    """Read one scalar back from a run's TensorBoard event files (see :func:`read_run_scalars`).

    :raises RunDirError: when the run never logged ``tag``.
    """
    return _scalar(read_run_scalars(run_dir), tag, run_dir)


def _scalar(scalars: Mapping[str, Curve], tag: str, run_dir: str | Path) -> Curve:
    """``scalars[tag]``, or a :class:`RunDirError` naming the run and the nearest tags it has."""
    if tag not in scalars:
        raise RunDirError(f"run '{run_dir}' has no TensorBoard scalar '{tag}'"
                          + (f"; {choices_hint(tag, scalars)}" if scalars else " (no event files yet)"))
    return scalars[tag]


def multiplier_curves(scalars: Mapping[str, Curve]) -> dict[str, Curve]:
    """The Lagrange multipliers among a run's scalars (:func:`read_run_scalars`), by constraint name: ``""`` for
    the single multiplier of a one-constraint run, the constraint's name for each of several; empty for a run
    without any."""
    prefix = MULTIPLIER_TAG + "/"
    return {("" if tag == MULTIPLIER_TAG else tag[len(prefix):]): curve for tag, curve in sorted(scalars.items())
            if tag == MULTIPLIER_TAG or tag.startswith(prefix)}


@dataclass(frozen=True)
class CurveGroup:
    """Runs of one experiment (differing only in seed): their label, cost limit and curves; ``multipliers`` maps
    each constraint name (see :func:`multiplier_curves`) to its λ curve in every run that logged one."""

    label: str
    cost_limit: float | None
    returns: list[Curve]
    costs: list[Curve]
    multipliers: dict[str, list[Curve]]


def group_runs(run_dirs: Sequence[str | Path], kind: str = "train") -> list[CurveGroup]:
    """Read the curves of ``run_dirs`` and group the runs of one experiment, in the order first given."""
    if kind not in CURVES:
        raise ParameterError(f"unknown curve kind '{kind}'; {choices_hint(kind, CURVES)}")
    return_tag, cost_tag, _ = CURVES[kind]
    groups: dict[str, dict[str, Any]] = {}
    for run_dir in run_dirs:
        config = load_config(RunDir.open(run_dir).config_source())
        values = config.to_dict()
        identity = {k: v for k, v in values.items() if k not in RUN_IDENTITY_EXCLUDED}
        if values.get("init_from") is not None:  # trained on from another run: not the same experiment as from scratch
            identity["init_from"] = "pretrained"
        key = repr(identity)
        if key not in groups:
            groups[key] = {"config": config, "identity": identity, "returns": [], "costs": [], "multipliers": {}}
        scalars = read_run_scalars(run_dir)
        groups[key]["returns"].append(_scalar(scalars, return_tag, run_dir))
        groups[key]["costs"].append(_scalar(scalars, cost_tag, run_dir))
        for constraint, curve in multiplier_curves(scalars).items():
            groups[key]["multipliers"].setdefault(constraint, []).append(curve)
    labels = _labels([g["identity"] for g in groups.values()])
    return [CurveGroup(label, getattr(g["config"].algo_params, "cost_limit", None), g["returns"], g["costs"],
                       g["multipliers"]) for label, g in zip(labels, groups.values())]


def _labels(identities: list[dict[str, Any]]) -> list[str]:
    """``{algo} · {env}``, plus the keys that tell groups with the same algo and env apart."""
    base = []
    for identity in identities:
        config_env, algo = identity["env"], identity["algo"]["name"]
        base.append(f"{algo} · {env_label(config_env)}")
    flat = [flatten_keys(i) for i in identities]
    labels = []
    for index, label in enumerate(base):
        twins = [j for j, other in enumerate(base) if other == label and j != index]
        extra = sorted({k for j in twins for k in flat[index] if flat[index].get(k) != flat[j].get(k)})
        labels.append(label + "".join(f" · {k}={flat[index].get(k)}" for k in extra[:3]))
    return labels


def mean_and_spread(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The curves on a common step grid (the union of their steps up to the shortest run's last step, each
    curve linearly interpolated): steps, mean and standard deviation across curves."""
    last = min(int(c.steps[-1]) for c in curves)
    first = max(int(c.steps[0]) for c in curves)
    grid = np.unique(np.concatenate([c.steps for c in curves]))
    grid = grid[(grid >= first) & (grid <= last)]
    stacked = np.stack([np.interp(grid, c.steps, c.values) for c in curves])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def fill_spread(axis: Any, curves: Sequence[Curve], steps: np.ndarray, mean: np.ndarray, std: np.ndarray,
                color: str) -> None:
    """Shade mean ± std of ``curves`` on ``axis``, kept within the smallest and largest value the curves hold, so
    that the band never shows values no run logged (a negative cost, a negative λ)."""
    low = min(float(c.values.min()) for c in curves)
    high = max(float(c.values.max()) for c in curves)
    axis.fill_between(steps, np.clip(mean - std, low, high), np.clip(mean + std, low, high), color=color, alpha=0.2,
                      linewidth=0)


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path, kind: str = "train", title: str | None = None) -> Path:
    """Plot return and cost curves of ``run_dirs``, and their Lagrange multipliers when any run has one (see the
    module docstring), into ``out`` (PNG, PDF or SVG by suffix), atomically.

    :param kind: ``train`` (training episodes) or ``eval`` (periodic deterministic evaluations).
    :return: the written file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    if not run_dirs:
        raise ParameterError("give at least one run directory to plot")
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ParameterError(f"cannot write '{out.name}'; {choices_hint(out.suffix.lower(), ('.png', '.pdf', '.svg'))}")
    check_writable_dir(out.parent, f"plot output '{out}'")
    groups = group_runs(run_dirs, kind)
    with_multipliers = any(group.multipliers for group in groups)
    panels = 3 if with_multipliers else 2
    figure = Figure(figsize=(7.0, 3.0 * panels), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, sharex=True)
    ax_return, ax_cost = axes[0], axes[1]
    ax_multiplier = axes[2] if with_multipliers else None
    colors = [f"C{i % 10}" for i in range(len(groups))]
    limits: dict[float, str] = {}
    limit_lines = []
    empty_notes: dict[Any, list[str]] = {}
    without_multiplier = []
    for group, color in zip(groups, colors):
        seeds = len(group.returns)
        label = f"{group.label} ({seeds} seed{'s' if seeds > 1 else ''})"
        panels_of_group = [(ax_return, group.returns, label, "-"), (ax_cost, group.costs, label, "-")]
        for (constraint, curves), style in zip(group.multipliers.items(), cycle(CONSTRAINT_LINESTYLES)):
            panels_of_group.append((ax_multiplier, curves, f"{group.label}: λ {constraint}".rstrip(), style))
        if with_multipliers and not group.multipliers:
            without_multiplier.append(group.label)
        for axis, curves, line_label, style in panels_of_group:
            steps, mean, std = mean_and_spread(curves)
            if len(steps) == 0:
                empty_notes.setdefault(axis, []).append(
                    f"{group.label}: its {len(curves)} runs logged no step in common")
            # a line needs two points: a short run's few points are drawn as markers too
            markers = {"marker": "o", "markersize": 4} if len(steps) < FEW_POINTS else {}
            axis.plot(steps, mean, color=color, linestyle=style, linewidth=1.6, label=line_label, **markers)
            if len(curves) > 1:
                fill_spread(axis, curves, steps, mean, std, color)
        if group.cost_limit is not None:
            limits.setdefault(float(group.cost_limit), color)
    for limit, color in limits.items():
        line_color = "black" if len(limits) == 1 else color
        limit_lines.append(ax_cost.axhline(limit, color=line_color, linestyle="--", linewidth=1.2,
                                           label=f"cost limit {limit:g}"))
    for axis, notes in empty_notes.items():
        axis.text(0.5, 0.5, "\n".join(notes), transform=axis.transAxes, ha="center", va="center", fontsize=8)
    caption = CURVES[kind][2]
    ax_return.set_ylabel("episode return")
    ax_cost.set_ylabel("episode cost")
    axes[-1].set_xlabel("environment steps")
    axes[-1].xaxis.set_major_formatter(EngFormatter(sep=""))
    for axis in axes:
        axis.grid(True, alpha=0.3, linewidth=0.6)
        axis.spines[["top", "right"]].set_visible(False)
    ax_return.legend(frameon=False, fontsize=8, loc="best")
    if limit_lines:
        ax_cost.legend(handles=limit_lines, frameon=False, fontsize=8, loc="best")
    if ax_multiplier is not None:
        ax_multiplier.set_ylabel("Lagrange multiplier λ")
        if any(len(group.multipliers) > 1 for group in groups):  # the legend tells the constraints apart
            ax_multiplier.legend(frameon=False, fontsize=8, loc="best")
        if without_multiplier:
            ax_multiplier.text(0.01, 0.97, "no Lagrange multiplier: " + ", ".join(without_multiplier),
                               transform=ax_multiplier.transAxes, ha="left", va="top", fontsize=8)
    spread = "; shaded: ± 1 std across seeds" if any(len(g.returns) > 1 for g in groups) else ""
    figure.suptitle(title or f"Return and cost of {caption}{spread}", fontsize=10)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(figure, out)


def save_figure(figure: Any, out: Path) -> Path:
    """Write a matplotlib ``figure`` to ``out`` in the format its suffix names, atomically (a temporary file moved
    into place, removed when drawing fails); return ``out``."""
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        figure.savefig(tmp, format=out.suffix.lower().lstrip("."))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
