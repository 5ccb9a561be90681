"""The recurrent SAC-Lagrangian (``sac_lag_rnn``) learning a memory task whose cost it sees only through the
feedback inputs, with and without them (a small version of the paper's Figure 8 ablation).

The env is ``HiddenHazardSideEnv`` of the sb3 plugin's tests (``plugins/safexp-sb3/tests/memory_env.py``):
5-step episodes, reward ``|a|`` per step, every step goes to a side (right for ``a ≥ 0``) and costs 1 on the
hazard's side, hidden from the observation; the first step is the env's probe to the right. With the feedback
wrapper an agent with memory reads the probe's cost and pushes away from the hazard (return about 5, cost 0.45
per episode on the 40 evaluation seeds: the probe's); without it any policy pays 2.25 to 2.65 on them. The
limit is 1 per episode. The settings are ``memory_env.memory_task_params`` (the learning test's); each run
prints the deterministic policy's mean return and cost over the evaluation episodes, the final λ and the
seconds it took.

    python benchmarks/sac_lag_rnn_memory.py                        # 550 (the test's) and 1500 steps, seeds 0-2
    python benchmarks/sac_lag_rnn_memory.py --steps 3000 --seeds 0 1 2 3 4

The figures are in the README section on ``sac_lag_rnn``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from safexp_sb3.sac_lag_rnn import RecurrentSACLagrangian

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "safexp-sb3" / "tests"))
from memory_env import COST_LIMIT_PER_EPISODE, evaluate, memory_env, memory_task_params  # noqa: E402


def run(seed: int, steps: int, feedback: bool) -> dict[str, float]:
    """Train one learner for ``steps`` steps; its evaluation return and cost, its λ and its wall time."""
    model = RecurrentSACLagrangian(memory_env(feedback), memory_task_params(), seed=seed)
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start
    episode_return, cost = evaluate(model, feedback)
    return {"return": episode_return, "cost": cost, "lambda": model.lagrange_multipliers[0], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[550, 1500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"| steps | feedback | seed | return | cost (limit {COST_LIMIT_PER_EPISODE:g}) | λ | s |")
    print("|---|---|---|---|---|---|---|")
    for steps in args.steps:
        for feedback in (True, False):
            for seed in args.seeds:
                result = run(seed, steps, feedback)
                print(f"| {steps} | {'yes' if feedback else 'no'} | {seed} | {result['return']:.2f} | "
                      f"{result['cost']:.2f} | {result['lambda']:.2f} | {result['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
