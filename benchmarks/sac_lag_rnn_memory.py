"""The recurrent SAC-Lagrangian (``sac_lag_rnn``) learning a memory task whose cost it sees only through the
feedback inputs, with and without them (a small version of the paper's Figure 8 ablation).

The env is ``HiddenHazardSideEnv`` of the sb3 plugin's tests (``plugins/safexp-sb3/tests/memory_env.py``):
10-step episodes, reward ``|a|`` per step, cost 1 for a step pushed towards a side hidden from the observation.
With the feedback wrapper an agent with memory can probe once and then push the safe way (return about 10,
cost at most 1 per episode, 0.5 on average); without it, it cannot tell the sides apart. The per-step limit is
0.1 (1 per episode). Each run prints the mean return and cost of its last 20 episodes and the final λ.

    python benchmarks/sac_lag_rnn_memory.py                       # seeds 0 1 2, with and without feedback
    python benchmarks/sac_lag_rnn_memory.py --steps 2000 --seeds 0

On the shared 2-core development machine under load a 4000-step run takes 35-150 s; the figures are in the
README section on ``sac_lag_rnn``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import safexp
from safexp_sb3.hyperparameters import MultiplierOverrides
from safexp_sb3.rnn_hyperparameters import SACLagRNNParams
from safexp_sb3.sac_lag_rnn import RecurrentSACLagrangian

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "safexp-sb3" / "tests"))
from memory_env import HiddenHazardSideEnv  # noqa: E402

EPISODE_LENGTH = 10
COST_LIMIT_PER_STEP = 0.1


def task_params() -> SACLagRNNParams:
    """Small networks and a fast multiplier for a 10-step task; otherwise the registered defaults."""
    return SACLagRNNParams(
        vector_net_arch=[32], gru_hidden=32, head_net_arch=[64, 64], batch_size=32, sequence_length=EPISODE_LENGTH,
        buffer_size=20_000, learning_starts=300, train_freq=2, cost_limit=COST_LIMIT_PER_STEP, gamma=0.9,
        cost_gamma=0.9, ent_coef=0.01, learning_rate=1e-3, multiplier_source="episode_cost",
        multiplier_settings=MultiplierOverrides(lr=0.1, init=5.0))


def run(seed: int, steps: int, feedback: bool) -> dict[str, float]:
    """Train one learner; the mean return and cost of its last 20 episodes, its λ and its wall time."""
    env = HiddenHazardSideEnv(EPISODE_LENGTH)
    model = RecurrentSACLagrangian(safexp.FeedbackObservation(env) if feedback else env, task_params(), seed=seed)
    start = time.perf_counter()
    model.learn(steps)
    episodes = list(model.ep_info_buffer)[-20:]
    return {"return": float(np.mean([e["r"] for e in episodes])),
            "cost": float(np.mean(list(model.finished_costs)[-20:])),
            "lambda": model.lagrange_multipliers[0], "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    limit = COST_LIMIT_PER_STEP * EPISODE_LENGTH
    print(f"| feedback | seed | return (last 20 ep.) | cost (limit {limit:g}) | λ | s |")
    print("|---|---|---|---|---|---|")
    for feedback in (True, False):
        for seed in args.seeds:
            result = run(seed, args.steps, feedback)
            print(f"| {'yes' if feedback else 'no'} | {seed} | {result['return']:.2f} | {result['cost']:.2f} | "
                  f"{result['lambda']:.2f} | {result['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
