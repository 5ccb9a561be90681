"""``safexp demo``: the README's main job, end to end in a few minutes on a laptop CPU.

Trains PPO-Lagrangian on PointGoal1 (``configs/experiment/pointgoal1_ppo_lag_demo.yaml``), evaluates it,
plots its return and cost curves, records a video of the trained policy, and says where everything is.
"""

from __future__ import annotations

import argparse

DEMO_EXPERIMENT = "pointgoal1_ppo_lag_demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="overrides of the demo experiment, e.g. total_steps=100000 out_dir=/tmp/runs")
    parser.add_argument("--configs", default="configs", metavar="DIR", help="config root (default: ./configs)")
    parser.add_argument("--video-steps", type=int, default=400, help="steps of the recorded episode (default 400)")


def run(args: argparse.Namespace) -> int:
    from safexp_experiments.evaluation import evaluate, format_report
    from safexp_experiments.plot import plot_runs
    from safexp_experiments.training import train
    from safexp_experiments.video import record

    print(f"1/4 training: {args.configs}/experiment/{DEMO_EXPERIMENT}.yaml {' '.join(args.overrides)}".rstrip())
    result = train(DEMO_EXPERIMENT, args.overrides, search_root=args.configs)
    if result.state != "finished":
        print(f"interrupted at {result.steps:,} steps; continue with: safexp train --resume {result.run_dir}")
        return 130
    run_dir = result.run_dir
    print("2/4 evaluating the trained policy")
    report = evaluate(run_dir)
    print(format_report(report))
    print("3/4 plotting the learning curves")
    figure = plot_runs([run_dir], run_dir / "curves.png")
    print(f"4/4 recording {args.video_steps} steps of the trained policy")
    video = record(run_dir, run_dir / "episode.mp4", max_steps=args.video_steps)
    print(f"""
done. Everything is in {run_dir}/
  config.yaml       the resolved config       summary.json, eval.json   the evaluations
  model.zip         the trained learner       checkpoints/              resumable checkpoints
  {figure.name:<17} return and cost curves    {video.path.name:<25} the policy at work (red light: cost)
TensorBoard:  tensorboard --logdir {run_dir}/tensorboard   (then open http://localhost:6006)
Next:         safexp eval {run_dir} --episodes 10
              safexp train configs/experiment/pointgoal1_ppo_lag.yaml   (the full 10M-step protocol)""")
    return 0
