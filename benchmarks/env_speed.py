"""Environment speed against the physics ceiling, measured in one run on the same compiled model.

For each env: steps/s of ``step`` alone (uniform random actions, no resets), steps/s including a reset every
1000 steps, mean reset time, and the physics ceiling — ``frame_skip`` × ``mj_step`` + one ``mj_forward`` per
env step on the env's own model and data — with the ratio env / ceiling. The two are timed in interleaved
rounds so that machine noise hits both alike. Moving obstacles (gremlins) are part of the physics: the ceiling
sets their targets before each substep as the env does (Safety Gym's step), else it would time a scene whose
gremlins stand still and whose welds cost the solver nothing.

    python benchmarks/env_speed.py                     # every catalogued env (60 with the first-party plugins)
    python benchmarks/env_speed.py PointGoal1 CarGoal1 --steps 5000
    python benchmarks/env_speed.py --task hallway --min-ratio 0.7   # the hallways' lidar ids (their target)

Envs whose level observes through a camera (the hallways' vision ids) are left out of the default list: their
rendering is no physics, and ``benchmarks/vision_speed.py`` measures it.

The targets: every env at least ``--min-ratio`` (0.6) of its ceiling, resets within ``--max-reset-ms`` (5 ms);
the envs that miss one are listed after the table.
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import mujoco
import numpy as np

import safexp  # noqa: F401  (registers the suite ids)
from safexp.registry import get_registry
from safexp.registry.catalogue import SuiteEnv, suite_envs


def time_env(env_id: str, steps: int, rounds: int) -> dict[str, float]:
    env = gymnasium.make(env_id)
    inner = env.unwrapped
    world = inner.world
    model, data = world.model, world.data
    substep_hooks = [element.before_substep for element in inner._substep_elements]
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(steps, *env.action_space.shape)).astype(np.float32)
    env.reset(seed=0)
    step_time = ceiling_time = 0.0
    for _ in range(rounds):
        env.reset(seed=int(rng.integers(1 << 30)))
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        step_time += time.perf_counter() - start
        env.reset(seed=int(rng.integers(1 << 30)))
        start = time.perf_counter()
        for a in actions:
            data.ctrl[:] = a
            for _ in range(inner.frame_skip):
                for hook in substep_hooks:
                    hook(world)
                mujoco.mj_step(model, data)
            mujoco.mj_forward(model, data)
        ceiling_time += time.perf_counter() - start
    resets = 200
    start = time.perf_counter()
    for i in range(resets):
        env.reset(seed=i)
    reset_time = (time.perf_counter() - start) / resets
    n = steps * rounds
    step_rate = n / step_time
    with_resets = 1000 / (1000 / step_rate + reset_time)
    env.close()
    return {"steps/s": step_rate, "with resets": with_resets, "reset ms": reset_time * 1e3,
            "ceiling": n / ceiling_time, "ratio": step_rate / (n / ceiling_time)}


def observes_images(entry: SuiteEnv) -> bool:
    """Whether a suite env's level turns vision observations on (the ``vision`` scene key)."""
    return bool(get_registry().get("tasks", entry.task).levels[entry.level].get("vision"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envs", nargs="*", help="suite names (PointGoal1) or ids; default: every suite env")
    parser.add_argument("--task", help="only the suite envs of this task (goal, button, push, hallway, ...)")
    parser.add_argument("--steps", type=int, default=2000, help="env steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of env and ceiling timing")
    parser.add_argument("--min-ratio", type=float, default=0.6, help="target: env steps/s over the ceiling's")
    parser.add_argument("--max-reset-ms", type=float, default=5.0, help="target: mean reset time")
    args = parser.parse_args()
    catalogue = {env_id: entry for env_id, entry in suite_envs().items()
                 if (args.task is None or entry.task == args.task) and not observes_images(entry)}
    ids = [e if e.startswith("safexp/") else f"safexp/{e}-v0" for e in args.envs] or list(catalogue)
    print("| env | steps/s (step only) | steps/s (with resets) | reset (ms) | physics ceiling | env / ceiling |")
    print("|---|---|---|---|---|---|")
    slow, slow_resets = [], []
    for env_id in ids:
        r = time_env(env_id, args.steps, args.rounds)
        name = env_id.removeprefix("safexp/").removesuffix("-v0")
        print(f"| {name} | {r['steps/s']:,.0f} | {r['with resets']:,.0f} | {r['reset ms']:.2f} | {r['ceiling']:,.0f} | {r['ratio']:.2f} |", flush=True)
        if r["ratio"] < args.min_ratio:
            slow.append(f"{name} ({r['ratio']:.2f})")
        if r["reset ms"] > args.max_reset_ms:
            slow_resets.append(f"{name} ({r['reset ms']:.2f} ms)")
    print(f"\nbelow {args.min_ratio} of the ceiling: {', '.join(slow) or 'none'}")
    print(f"resets above {args.max_reset_ms} ms: {', '.join(slow_resets) or 'none'}")


if __name__ == "__main__":
    main()
