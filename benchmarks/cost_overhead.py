"""What the cost machinery costs: a PPO-based safexp learner against plain stable-baselines3 PPO doing the same work.

``learn_suite.py --sb3-ppo`` compares whole training runs, and their work per update differs: PPO ends an
update's epochs early once the approximate KL passes 1.5 × ``target_kl``, and PPO-Lagrangian's penalised
advantages move the policy by other amounts than plain PPO's, so one may run many more minibatches than the
other. Here both learners run with ``target_kl=None`` (every update runs all ``n_epochs``), the same
hyperparameters, env and seed, and they alternate one rollout + update at a time, so that machine noise hits
both alike. The first round of each is a warm-up and is not counted.

Printed per learner: seconds per round, microseconds per env step of the collection (the cost monitor and the
per-step cost bookkeeping are there), microseconds per minibatch of the update (the cost critic's step is
there), then the learner's throughput as a fraction of SB3 PPO's (target: at least 0.85).

    python benchmarks/cost_overhead.py                            # ppo_lag on PointGoal1, the reference batch
    python benchmarks/cost_overhead.py --algo pid_lag --n-steps 5000 --n-epochs 10 --rounds 6
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import torch as th
from learn_suite import SB3_PPO, build_model
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import safexp  # noqa: F401  (registers the suite env ids)

PPO_BASED = ("ppo_lag", "pid_lag", "ppo")
"""The learners built on stable-baselines3's PPO update (the others have no same-work SB3 PPO counterpart)."""


@dataclass
class PhaseTimes:
    """Seconds spent collecting rollouts and in whole rounds (collection + update), counted rounds only."""

    collection: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)


class CollectionTimer(BaseCallback):
    """Times each rollout collection (from ``_on_rollout_start`` to ``_on_rollout_end``)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self._started = 0.0

    def _on_rollout_start(self) -> None:
        self._started = time.perf_counter()

    def _on_rollout_end(self) -> None:
        self.seconds = time.perf_counter() - self._started

    def _on_step(self) -> bool:
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="ppo_lag", choices=PPO_BASED, help="the safexp learner (default ppo_lag)")
    parser.add_argument("--env", default="safexp/PointGoal1-v0")
    parser.add_argument("--n-steps", type=int, default=20_000, help="env steps per rollout (reference 20,000)")
    parser.add_argument("--n-epochs", type=int, default=40, help="passes per update, all run (reference 40)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size (reference 64)")
    parser.add_argument("--rounds", type=int, default=4, help="counted rounds per learner, after one warm-up")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    th.set_num_threads(1)
    overrides = {"n_steps": args.n_steps, "n_epochs": args.n_epochs, "batch_size": args.batch_size, "target_kl": None}
    learners = {}
    for name in (args.algo, SB3_PPO):
        env = make_vec_env(args.env, n_envs=1, seed=args.seed)
        learners[name] = build_model(name, env, args.seed, overrides)
    times = {name: PhaseTimes() for name in learners}
    for round_index in range(args.rounds + 1):
        for name, model in learners.items():
            timer = CollectionTimer()
            start = time.perf_counter()
            model.learn(args.n_steps, callback=timer, reset_num_timesteps=round_index == 0)
            if round_index > 0:
                times[name].rounds.append(time.perf_counter() - start)
                times[name].collection.append(timer.seconds)
    minibatches = args.n_epochs * -(-args.n_steps // args.batch_size)
    print(f"{args.env}: {args.rounds} rounds of {args.n_steps} env steps + {args.n_epochs} epochs "
          f"({minibatches} minibatches of {args.batch_size}), target_kl off, 1 torch thread\n")
    print("| learner | s / round | collection (µs / env step) | update (µs / minibatch) | throughput vs sb3_ppo |")
    print("|---|---|---|---|---|")
    base_round = sum(times[SB3_PPO].rounds)
    for name, phase in times.items():
        total, collection = sum(phase.rounds), sum(phase.collection)
        per_step = collection / (args.n_steps * args.rounds) * 1e6
        per_minibatch = (total - collection) / (minibatches * args.rounds) * 1e6
        print(f"| {name} | {total / args.rounds:.2f} | {per_step:.1f} | {per_minibatch:.0f} | {base_round / total:.3f} |")


if __name__ == "__main__":
    main()
