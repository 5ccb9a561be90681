"""Train registered learners on a suite env over a fixed list of seeds: final return, cost and throughput.

For every learner (a registry name: ppo_lag, trpo_lag, cpo, pid_lag, ppo, trpo, sac_lag, ...) and every seed,
the learner is built through the registry with the given hyperparameter overrides and trained for ``--steps``
env steps. The script prints, per seed, the final return and episode cost (means over the last
``stats_window_size`` training episodes), the training cost rate and the throughput in env steps per second
(updates included), then one table with the mean ± std over seeds of every learner. It writes one learning
curve per learner and seed to CSV (``<out>/<algo>_<env>_seed<seed>.csv``): a row at most every
``--curve-every`` env steps (checked at the end of every rollout: once per update for the on-policy learners
when a rollout holds that many steps, once per ``--curve-every`` steps for SAC, whose rollouts are single
steps), and a last row at the end of training.

``--set`` overrides go to every learner that has the parameter; a key that no learner has is an error, and the
keys a learner lacks are named when it is trained.

Training uses one torch thread unless ``--torch-threads`` says otherwise: the 64×64 networks gain nothing from
more, and on a machine whose cores are busy they lose up to 20× (SAC, measured on 2 cores).

``--sb3-ppo`` also trains plain stable-baselines3 PPO with the same PPO hyperparameters on the same env and
adds each learner's throughput as a fraction of it to the table. With PPO's KL stop the two runs do different
work per update (the epochs each update runs depend on how fast its policy moves), so that ratio mixes the
algorithms' dynamics with the cost machinery's price; ``benchmarks/cost_overhead.py`` measures the price alone.

    python benchmarks/learn_suite.py --algo ppo_lag --steps 1000000 --seeds 0 1 2
    python benchmarks/learn_suite.py --algo ppo_lag trpo_lag cpo --steps 1000000 --seeds 0 1 2
    python benchmarks/learn_suite.py --algo ppo_lag --env safexp/PointGoal1-v0 --steps 100000 --seeds 0 \\
        --set n_steps=20000 --set batch_size=64 --sb3-ppo
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from omegaconf import OmegaConf
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import safexp  # noqa: F401  (registers the suite env ids)
from safexp.plugin.errors import ParameterError, choices_hint
from safexp.plugin import build_params, get_registry
from safexp_experiments.runs import atomic_write_text
from safexp_sb3.hyperparameters import PPOParams
from safexp_sb3.params import stock_kwargs

SB3_PPO = "sb3_ppo"
"""The name under which plain stable-baselines3 PPO (``--sb3-ppo``) appears in the output."""


class CurveRecorder(BaseCallback):
    """Learning-curve rows: env steps, wall time, mean return and cost of recent episodes, cost rate.

    :param record_every: the fewest env steps between two rows. The check runs at the end of every rollout,
        so an on-policy learner whose rollout holds at least this many steps gets one row per update, and SAC
        (one step per rollout) one row per ``record_every`` steps. A last row is always recorded when training
        ends.
    :param path: the CSV file the curve is rewritten to (atomically) after every row, so that a long run
        that is stopped keeps its curve so far.
    """

    def __init__(self, record_every: int, path: Path) -> None:
        super().__init__()
        self.record_every = record_every
        self.path = path
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()
        self.last_recorded_step = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.model.num_timesteps - self.last_recorded_step >= self.record_every:
            self._record()

    def _on_training_end(self) -> None:
        if self.rows and self.rows[-1]["steps"] == self.model.num_timesteps:
            self.rows.pop()  # the same step count, but without the last update's time
        self._record()

    def _record(self) -> None:
        episodes = self.model.ep_info_buffer
        monitor = getattr(self.model, "cost_monitor", None)
        window = monitor.window_mean() if monitor is not None else None
        self.last_recorded_step = self.model.num_timesteps
        self.rows.append({
            "steps": self.model.num_timesteps,
            "seconds": time.perf_counter() - self.start,
            "ep_return": float(np.mean([e["r"] for e in episodes])) if episodes else float("nan"),
            "ep_cost": float(np.sum(window)) if window is not None else float("nan"),
            "cost_rate": float(np.sum(monitor.cost_rate)) if monitor is not None else float("nan"),
        })
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(self.rows[0]))
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, text.getvalue())


@dataclass(frozen=True)
class SeedResult:
    """The final figures of one training run (the last curve row)."""

    ep_return: float
    ep_cost: float
    cost_rate: float
    steps_per_second: float


def parameter_names(algo: str) -> set[str]:
    """The hyperparameter names of a registered learner (or of plain SB3 PPO, :data:`SB3_PPO`)."""
    schema = PPOParams if algo == SB3_PPO else get_registry().get("algorithms", algo).params
    return {f.name for f in dataclasses.fields(schema)}


def build_model(algo: str, env: Any, seed: int, overrides: dict[str, Any]) -> BaseAlgorithm:
    """The learner ``algo`` (a registry name or :data:`SB3_PPO`) on ``env`` with the validated ``overrides``."""
    if algo == SB3_PPO:
        params = build_params(get_registry().get("algorithms", "ppo"), overrides)
        return PPO("MlpPolicy", env, seed=seed, device="cpu", **stock_kwargs(params, PPOParams))
    spec = get_registry().get("algorithms", algo)
    return spec.factory(env, build_params(spec, overrides), seed=seed)


def train_one(algo: str, env_id: str, seed: int, steps: int, n_envs: int, overrides: dict[str, Any],
              curve_every: int, path: Path) -> list[dict[str, float]]:
    """Train one seed, writing its curve to ``path`` as it grows; return the curve (the last row holds the final
    figures)."""
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    model = build_model(algo, env, seed, overrides)
    recorder = CurveRecorder(curve_every, path)
    model.learn(steps, callback=recorder)
    env.close()
    return recorder.rows


def run(algo: str, args: argparse.Namespace, overrides: dict[str, Any]) -> list[SeedResult]:
    """Train every seed of ``algo`` with the overrides it has, write the curves, print each seed's figures."""
    names = parameter_names(algo)
    left_out = sorted(set(overrides) - names)
    if left_out:
        print(f"{algo}: not a parameter of this learner, left out: {', '.join(left_out)}")
    own = {k: v for k, v in overrides.items() if k in names}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        path = out / f"{algo}_{args.env.replace('/', '_')}_seed{seed}.csv"
        rows = train_one(algo, args.env, seed, args.steps, args.n_envs, own, args.curve_every, path)
        final = rows[-1]
        result = SeedResult(final["ep_return"], final["ep_cost"], final["cost_rate"], final["steps"] / final["seconds"])
        results.append(result)
        print(f"{algo:>9} seed {seed}: return {result.ep_return:8.2f}  cost {result.ep_cost:8.2f}  "
              f"cost rate {result.cost_rate:.4f}  {result.steps_per_second:8.0f} steps/s   curve: {path}")
    return results


def summary_table(results: dict[str, list[SeedResult]], baseline: str | None) -> str:
    """A Markdown table, one row per learner: mean ± std over seeds of the final return and cost, the mean cost
    rate and throughput, and (when ``baseline`` names one of ``results``) the throughput relative to it."""
    header = "| learner | seeds | return | episode cost | cost rate | steps/s |"
    rule = "|---|---|---|---|---|---|"
    if baseline is not None:
        header += f" vs {baseline} |"
        rule += "---|"
    lines = [header, rule]
    base_speed = float(np.mean([r.steps_per_second for r in results[baseline]])) if baseline else None
    for algo, runs in results.items():
        table = np.array([dataclasses.astuple(r) for r in runs])
        mean, std = table.mean(axis=0), table.std(axis=0)
        line = (f"| {algo} | {len(runs)} | {mean[0]:.2f} ± {std[0]:.2f} | {mean[1]:.2f} ± {std[1]:.2f} "
                f"| {mean[2]:.4f} | {mean[3]:.0f} |")
        if base_speed is not None:
            line += f" {mean[3] / base_speed:.3f} |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", nargs="+", default=["ppo_lag"],
                        help="registry names of the learners, trained one after the other (default ppo_lag)")
    parser.add_argument("--env", default="safexp/PointGoal1-v0", help="gymnasium id reporting info['cost']")
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="hyperparameter override (OmegaConf dotlist syntax), repeatable; goes to every "
                             "learner that has the parameter")
    parser.add_argument("--sb3-ppo", action="store_true",
                        help="also train plain stable-baselines3 PPO and print the throughput ratios")
    parser.add_argument("--curve-every", type=int, default=10_000,
                        help="the fewest env steps between two curve rows (default 10000)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads (default 1: the small networks train several times slower, "
                             "up to 20x on a busy 2-core machine, with more)")
    parser.add_argument("--out", default="runs/learn_suite", help="folder of the curve CSV files")
    args = parser.parse_args()
    th.set_num_threads(args.torch_threads)
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.set)) if args.set else {}
    learners = [*args.algo, SB3_PPO] if args.sb3_ppo else list(args.algo)
    known = set().union(*(parameter_names(algo) for algo in learners))
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ParameterError(f"no learner among {', '.join(learners)} has the parameter '{unknown[0]}'; "
                             f"{choices_hint(unknown[0], sorted(known))}")
    results = {algo: run(algo, args, overrides) for algo in learners}
    print()
    print(summary_table(results, SB3_PPO if args.sb3_ppo else None))


if __name__ == "__main__":
    main()
