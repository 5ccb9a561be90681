"""The actor–learner mode on Ray (``actors.num`` > 0): collection throughput with 1, 2 and 4 actors, and how long
the learner waits for collection.

Two settings per actor count, on PointGoal1 with the feedback inputs (1000-step episodes, lidar), one env per
actor, blocks of ``--sync-every`` steps, on a local Ray with room for every actor:

- ``collect``: the learner takes blocks in and never trains (``learning_starts`` past the run): env steps/s of
  the actors alone, the collection throughput;
- ``learn``: the registered ``sac_lag_rnn`` settings (GRU 256, heads 512-512, the paper's sizes) with a batch of
  ``--batch`` sequences of 10 and one gradient step per 4 env steps (``train_freq`` 4 / actors, as it counts
  steps per env): the learner is slower than the
  actors, so it should never wait (``wait`` ≈ 0: actors keep up; the actors then wait for it, which is the
  replay-ratio control).

Printed per setting: the env steps taken in per second of learning, the share of the learner's time spent
waiting for a block, and the gradient steps done. Actors are started (and their envs built) before the clock
starts. Figures of the shared 2-core development machine are in the README section on the mode.

    python benchmarks/actor_learner.py                 # 1, 2, 4 actors, 4000 steps (collect), 2000 (learn)
    python benchmarks/actor_learner.py --actors 1 2 --steps 2000
"""

from __future__ import annotations

import argparse
import functools
import time

import ray
import torch

from safexp.plugin import build_params, get_registry
from safexp_experiments.config import load_config
from safexp_experiments.envs import make_env
from safexp_sb3.actor_learner import ActorLayout, RayActorLearner

ENV = {"robot": "point", "task": "goal", "level": 1, "feedback": True}


def measure(actors: int, steps: int, sync_every: int, learn: bool, batch: int) -> tuple[float, float, int]:
    """One run: env steps per second taken in, the learner's waiting share, gradient steps done."""
    cfg = load_config({"defaults": [{"/algo": "sac_lag_rnn"}], "env": ENV})
    spec = get_registry().get("algorithms", "sac_lag_rnn")
    settings = {"learning_starts": 0, "train_freq": max(4 // actors, 1), "batch_size": batch, "sequence_length": 10,
                "buffer_size": steps + 100} if learn else {"learning_starts": 10 * steps, "buffer_size": steps + 100}
    params = build_params(spec, settings)
    learner = RayActorLearner.create_actor_learner(
        spec, params, functools.partial(make_env, cfg.env, scene=cfg.scene),
        ActorLayout(num=actors, envs_per_actor=1, sync_every=sync_every), seed=0, device="cpu", torch_threads=1)
    try:
        learner.actor_weights()  # every actor built, its env reset
        learner.learn(steps, [])
        return (learner.steps_taken_in / learner.learn_seconds, learner.wait_seconds / learner.learn_seconds,
                int(learner.model._n_updates))
    finally:
        learner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=4000, help="env steps of a collect run (learn runs: half)")
    parser.add_argument("--sync-every", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32, help="sequences per gradient step of a learn run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ray.init(num_cpus=max(args.actors), include_dashboard=False, log_to_driver=False)
    print(f"{'actors':>6} {'setting':>8} {'steps/s':>9} {'wait':>6} {'grad steps':>10}")
    try:
        for actors in args.actors:
            for learn in (False, True):
                started = time.perf_counter()
                rate, wait, updates = measure(actors, args.steps // 2 if learn else args.steps, args.sync_every,
                                              learn, args.batch)
                print(f"{actors:>6} {'learn' if learn else 'collect':>8} {rate:9.0f} {wait:6.1%} {updates:>10}"
                      f"   ({time.perf_counter() - started:.0f} s with start-up)", flush=True)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
