"""Env steps per second with vision observations, next to the same env without vision, in one run.

For each env (PointGoal1 and DoggoGoal1 by default) and each observation — none (the vector), 50×50 depth by
ray casting, 50×50 depth from OpenGL's depth buffer, 50×50 RGB, 64×64 RGB — one env is built; all of them
step in interleaved rounds (one round of each in turn, ``--rounds`` times) so machine noise hits each alike.
Actions are uniform random, the same for every variant; each round starts from a reset that is not timed.

Two rates per cell: steps per CPU-second of this process (``time.process_time``: every thread it runs, Mesa's
rendering threads included), which is steps/s per core and hardly moves when other programs share the cores;
and steps per wall-clock second, which does.

    python benchmarks/vision_speed.py
    python benchmarks/vision_speed.py PointGoal1 --steps 500 --rounds 5

The target: ≥ 300 steps/s for 50×50 depth (the default, ray casting) on PointGoal1; printed after the table.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium
import numpy as np

import safexp  # noqa: F401  (registers the suite ids)
from safexp.engine.render import gl_backend

VARIANTS: dict[str, dict[str, Any] | None] = {
    "no vision": None,
    "depth 50x50 (raycast)": {"mode": "depth", "size": [50, 50], "depth_method": "raycast"},
    "depth 50x50 (gl)": {"mode": "depth", "size": [50, 50], "depth_method": "gl"},
    "rgb 50x50": {"mode": "rgb", "size": [50, 50]},
    "rgb 64x64": {"mode": "rgb", "size": [64, 64]},
}
TARGET = ("PointGoal1", "depth 50x50 (raycast)", 300.0)


def measure(env_names: list[str], steps: int, rounds: int) -> dict[tuple[str, str], tuple[float, float]]:
    """(steps per CPU-second, steps per wall second) of every (env, variant), in interleaved rounds."""
    envs, actions = {}, {}
    rng = np.random.default_rng(0)
    for name in env_names:
        for variant, vision in VARIANTS.items():
            keys = {} if vision is None else {"vision": vision}
            env = gymnasium.make(f"safexp/{name}-v0", **keys)
            env.reset(seed=0)
            env.step(env.action_space.sample())  # renderers are made on the first frame: not timed
            envs[name, variant] = env
        shape = envs[name, "no vision"].action_space.shape
        actions[name] = rng.uniform(-1, 1, size=(steps, *shape)).astype(np.float32)
    cpu, wall = dict.fromkeys(envs, 0.0), dict.fromkeys(envs, 0.0)
    for round_index in range(rounds):
        for key, env in envs.items():
            env.reset(seed=round_index)
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for action in actions[key[0]]:
                env.step(action)
            cpu[key] += time.process_time() - cpu_start
            wall[key] += time.perf_counter() - wall_start
    for env in envs.values():
        env.close()
    return {key: (steps * rounds / cpu[key], steps * rounds / wall[key]) for key in envs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=["PointGoal1", "DoggoGoal1"], help="suite env names")
    parser.add_argument("--steps", type=int, default=1000, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    rates = measure(args.envs, args.steps, args.rounds)
    print(f"OpenGL backend: {gl_backend()}; {args.rounds} rounds of {args.steps} steps\n")
    print(f"| env | {' | '.join(VARIANTS)} |")
    print(f"|---|{'---:|' * len(VARIANTS)}")
    for name in args.envs:
        cells = [f"{rates[name, v][0]:.0f} / {rates[name, v][1]:.0f}" for v in VARIANTS]
        print(f"| {name} | {' | '.join(cells)} |")
    print("\nsteps per CPU-second / per wall-clock second")
    env_name, variant, target = TARGET
    if env_name in args.envs:
        rate = rates[env_name, variant][0]
        print(f"{env_name} {variant}: {rate:.0f} steps per CPU-second, target ≥ {target:.0f}: "
              f"{'met' if rate >= target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
