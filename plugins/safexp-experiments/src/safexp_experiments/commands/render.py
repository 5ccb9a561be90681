"""``safexp render (ENV_ID | RUN_DIR) --out FILE.(mp4|gif)``: a video of an episode, headless."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="ENV_ID|RUN_DIR",
                        help="a Gymnasium id or suite name (safexp/PointGoal1-v0, PointGoal1), or a run directory")
    parser.add_argument("--out", required=True, help="the video file: .mp4 or .gif")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to record (default 1)")
    parser.add_argument("--max-steps", type=int, default=None, help="cut each episode after this many steps")
    parser.add_argument("--seed", type=int, default=0, help="layout seed of the first episode (default 0)")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.video import record

    recording = record(args.source, args.out, episodes=args.episodes, max_steps=args.max_steps, seed=args.seed)
    summary = ", ".join(f"return {r:.2f} cost {c:.1f}" for r, c in zip(recording.returns, recording.costs))
    print(f"wrote {recording.path} ({recording.frames} frames; {summary})")
    return 0
