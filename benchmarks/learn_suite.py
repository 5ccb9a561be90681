"""Train a registered learner on a suite env over a fixed list of seeds: final return, cost and throughput.

For every seed: the learner (a registry name: ppo_lag, trpo_lag, cpo, pid_lag, ppo, trpo, sac_lag, ...) is
built through the registry with the given hyperparameter overrides and trained for ``--steps`` env steps. The
script prints, per seed and averaged, the final return and episode cost (means over the last
``stats_window_size`` training episodes), the training cost rate, and the throughput in env steps per second
(updates included); it writes the learning curves (one row per rollout / log point) to CSV.

``--sb3-ppo`` also trains plain stable-baselines3 PPO with the same PPO hyperparameters on the same env and
prints the learner's throughput as a fraction of it (the cost machinery should cost at most 15 %).

    python benchmarks/learn_suite.py --algo ppo_lag --steps 1000000 --seeds 0 1 2
    python benchmarks/learn_suite.py --algo ppo_lag --env safexp/PointGoal1-v0 --steps 100000 --seeds 0 \\
        --set n_steps=20000 --set batch_size=64 --sb3-ppo
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import safexp  # noqa: F401  (registers the suite env ids)
from safexp.registry import build_params, get_registry
from safexp_sb3.algorithms import PPOParams
from safexp_sb3.params import stock_kwargs


class CurveRecorder(BaseCallback):
    """One curve row at the end of every rollout: steps, wall time, mean return and cost of recent episodes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        episodes = self.model.ep_info_buffer
        monitor = getattr(self.model, "cost_monitor", None)
        window = monitor.window_mean() if monitor is not None else None
        self.rows.append({
            "steps": self.model.num_timesteps,
            "seconds": time.perf_counter() - self.start,
            "ep_return": float(np.mean([e["r"] for e in episodes])) if episodes else float("nan"),
            "ep_cost": float(np.sum(window)) if window is not None else float("nan"),
            "cost_rate": float(np.sum(monitor.cost_rate)) if monitor is not None else float("nan"),
        })


def train_one(algo: str, env_id: str, seed: int, steps: int, n_envs: int, overrides: dict[str, Any]) -> list[dict]:
    """Train one seed; return its curve (the last row holds the final figures)."""
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    if algo == "sb3_ppo":
        params = build_params(get_registry().get("algorithms", "ppo"), overrides)
        model = PPO("MlpPolicy", env, seed=seed, device="cpu", **stock_kwargs(params, PPOParams))
    else:
        spec = get_registry().get("algorithms", algo)
        model = spec.factory(env, build_params(spec, overrides), seed=seed)
    recorder = CurveRecorder()
    model.learn(steps, callback=recorder)
    recorder.rows.append({**recorder.rows[-1], "seconds": time.perf_counter() - recorder.start,
                          "steps": model.num_timesteps})
    env.close()
    return recorder.rows


def run(algo: str, args: argparse.Namespace, overrides: dict[str, Any]) -> float:
    """Train every seed, write the curves, print the figures; return the mean throughput (steps/s)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    finals = []
    for seed in args.seeds:
        rows = train_one(algo, args.env, seed, args.steps, args.n_envs, overrides)
        path = out / f"{algo}_{args.env.replace('/', '_')}_seed{seed}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[:-1])
        final = rows[-1]
        throughput = final["steps"] / final["seconds"]
        finals.append((final["ep_return"], final["ep_cost"], final["cost_rate"], throughput))
        print(f"{algo:>9} seed {seed}: return {final['ep_return']:8.2f}  cost {final['ep_cost']:8.2f}  "
              f"cost rate {final['cost_rate']:.4f}  {throughput:8.0f} steps/s   curve: {path}")
    mean = np.mean(finals, axis=0)
    std = np.std(finals, axis=0)
    print(f"{algo:>9} mean over {len(finals)} seeds: return {mean[0]:.2f} ± {std[0]:.2f}  "
          f"cost {mean[1]:.2f} ± {std[1]:.2f}  cost rate {mean[2]:.4f}  {mean[3]:.0f} steps/s")
    return float(mean[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="ppo_lag", help="registry name of the learner (default ppo_lag)")
    parser.add_argument("--env", default="safexp/PointGoal1-v0", help="gymnasium id reporting info['cost']")
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="hyperparameter override (OmegaConf dotlist syntax), repeatable")
    parser.add_argument("--sb3-ppo", action="store_true",
                        help="also train plain stable-baselines3 PPO and print the throughput ratio")
    parser.add_argument("--out", default="runs/learn_suite", help="folder of the curve CSV files")
    args = parser.parse_args()
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.set)) if args.set else {}
    throughput = run(args.algo, args, overrides)
    if args.sb3_ppo:
        ppo_fields = set(PPOParams.__dataclass_fields__)
        baseline = run("sb3_ppo", args, {k: v for k, v in overrides.items() if k in ppo_fields})
        print(f"throughput {args.algo} / plain SB3 PPO: {throughput / baseline:.3f} "
              f"(cost machinery overhead {100 * (1 - throughput / baseline):.1f} %)")


if __name__ == "__main__":
    main()
