"""Learning throughput: safexp's PPO-Lagrangian against plain stable-baselines3 PPO, and its TRPO-Lagrangian
against plain sb3-contrib TRPO, each pair on the same env, seed, ``n_envs`` and hyperparameters (the stock learner
is built from the safexp learner's own hyperparameter record, :func:`safexp_sb3.params.stock_kwargs`).

The learners of a pair alternate one rollout + update at a time, so that the load of a shared machine hits both
alike; the first round of each is a warm-up and is not counted. PPO's KL stop is off for both PPOs
(``target_kl=None``: every update runs all ``n_epochs``, so both do the same work); TRPO-Lagrangian's observation
normalisation, on by default, is off, as stock TRPO has none. Both learners run under the
same torch thread setting (``--threads``, default 1). A round is ``n_steps × n_envs`` env steps and one update; the
reference mix of collection and update (20,000 steps, 40 epochs of minibatches of 64 for PPO: 0.625 minibatches
per env step) does not depend on ``n_steps``, so a smaller ``n_steps`` keeps the mix and shortens the run.

Printed per pair: the median env steps/s of each learner, and the median over rounds of the ratio
safexp / stock (target: PPO-Lag at least 1.5 × SB3 PPO).

    python benchmarks/throughput.py                                  # both pairs, PointGoal1, 2,048 steps/round
    python benchmarks/throughput.py --pairs ppo --n-steps 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch as th
from sb3_contrib import TRPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import safexp  # noqa: F401  (registers the suite env ids)
from safexp.plugin import build_params, get_registry
from safexp_sb3.hyperparameters import PPOParams, TRPOParams
from safexp_sb3.params import stock_kwargs


@dataclass(frozen=True)
class Pair:
    """A safexp learner (registry name) and the stock learner it is measured against."""

    safexp_name: str
    stock_name: str
    stock_cls: type
    stock_schema: type
    overrides: dict


PAIRS = {
    "ppo": Pair("ppo_lag", "SB3 PPO", PPO, PPOParams, {"target_kl": None}),
    "trpo": Pair("trpo_lag", "sb3-contrib TRPO", TRPO, TRPOParams, {"normalize_observations": False}),
}


def build_pair(pair: Pair, env_id: str, n_envs: int, n_steps: int, seed: int) -> dict[str, Callable[[], object]]:
    """The two learners of ``pair``, each on its own ``n_envs`` envs, from one hyperparameter record."""
    spec = get_registry().get("algorithms", pair.safexp_name)
    params = build_params(spec, {"n_steps": n_steps, **pair.overrides})
    safexp_model = spec.factory(make_vec_env(env_id, n_envs=n_envs, seed=seed), params, seed=seed)
    stock_model = pair.stock_cls("MlpPolicy", make_vec_env(env_id, n_envs=n_envs, seed=seed), seed=seed,
                                 device="cpu", **stock_kwargs(params, pair.stock_schema))
    return {pair.safexp_name: safexp_model, pair.stock_name: stock_model}


def measure(models: dict, steps_per_round: int, rounds: int) -> dict[str, list[float]]:
    """Env steps/s of each model in each counted round, the models alternating round by round."""
    rates: dict[str, list[float]] = {name: [] for name in models}
    for round_index in range(rounds + 1):
        for name, model in models.items():
            start = time.perf_counter()
            model.learn(steps_per_round, reset_num_timesteps=round_index == 0)
            if round_index > 0:
                rates[name].append(steps_per_round / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--env", default="safexp/PointGoal1-v0")
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--n-steps", type=int, default=2048, help="env steps per env per round (reference 20,000)")
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds per learner, after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, for both learners")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    print(f"{args.env}, n_envs={args.n_envs}, {args.n_steps} steps per env per round, {args.rounds} counted rounds, "
          f"{args.threads} torch thread(s)\n")
    print("| pair | safexp (env steps/s) | stock (env steps/s) | safexp / stock (median of rounds) |")
    print("|---|---|---|---|")
    for key in args.pairs:
        pair = PAIRS[key]
        models = build_pair(pair, args.env, args.n_envs, args.n_steps, args.seed)
        rates = measure(models, args.n_steps * args.n_envs, args.rounds)
        ours, stock = rates[pair.safexp_name], rates[pair.stock_name]
        ratio = statistics.median(a / b for a, b in zip(ours, stock, strict=True))
        print(f"| {pair.safexp_name} vs {pair.stock_name} | {statistics.median(ours):.0f} | "
              f"{statistics.median(stock):.0f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
