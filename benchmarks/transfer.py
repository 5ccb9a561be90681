"""Knight & Achiam's safe-transfer result on this machine: Point walls → people and walls → poles, 3 seeds.

Runs the shipped experiment ``transfer_point_people`` with both targets, people and poles (the recurrent
SAC-Lagrangian with the paper's Tables 2-3 settings and the feedback inputs, the depth-camera hallways; pretraining
2e6 steps among walls — once per seed, shared by both targets — then 1e6 steps in each target env, fine-tuned and
from scratch; seeds 0, 10, 20) with ``safexp transfer``'s machinery, under ``<out>/transfer/point_walls_to_people_poles/``
(``transfer_point_poles`` alone is the same experiment with one target). Rerunning the same command skips what
finished and resumes what was interrupted, so a long benchmark can be stopped and continued.

Then it prints one table beside the paper's Table 1 (from scratch vs zero-shot, return / cost per episode) with
the fine-tuned figures and the lifetime cost (total cost in the target env during training) of fine-tuning
against training from scratch — the paper's claim is that the transferred agent reaches a comparable return for
far less lifetime cost — and writes it to ``<out>/README.md``, next to each experiment's ``transfer.png``.

    python benchmarks/transfer.py --out ~/transfer                             # the paper's scale: weeks on a CPU
    python benchmarks/transfer.py --out ~/transfer-lidar --budget lidar        # this machine's: hours, resumable
    python benchmarks/transfer.py --out /tmp/transfer-smoke --budget smoke     # minutes: the pipeline, not the result

``--budget lidar`` is what a 2-core CPU can run (:data:`BUDGETS`): the lidar hallways (1000-step episodes), a
smaller recurrent SAC-Lagrangian (GRU 64, heads 128-128, 32 sequences of 30 per gradient step, one gradient step
per 4 env steps; the paper's α, learning rate, horizon and per-step cost limit 0.01), 1e5 pretraining steps and
5e4 in each target env, seeds 0, 10, 20: 9e5 env steps in all. ``--budget smoke`` shrinks everything (300-step
episodes, a tiny network, 1,500 + 500 steps, one seed). ``--set KEY=VALUE`` passes any other override
(``--set launcher=ray``, ``--set transfer.seeds=[0]``). ``--stages`` runs only the stages named (the others'
finished runs still make the table): the ``scratch`` baseline needs no pretrained agent, so a second process
with ``--stages scratch --set launcher.workers=1`` can train it on a core that pretraining leaves idle.
``--out`` must lie outside the repository: run directories are large and not source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safexp.plugin import SafexpError
from safexp_experiments.runs import atomic_write_text
from safexp_experiments.transfer import run_transfer

EXPERIMENT = "transfer_point_people"
TARGETS = {"pointhallwaypoles": "pointhallwaypoleslidar", "pointhallwaypeople": "pointhallwaypeoplelidar"}
"""The target envs (depth camera), and the lidar ones that replace them at the ``lidar`` and ``smoke`` budgets."""
PAPER = {"pointhallwaypoles": ("Point-Poles", 1090, 0.4, 756, 1000),
         "pointhallwaypeople": ("Point-Humanoids", 1040, 16, 935, 5.5)}
"""The paper's Table 1 rows: env, from-scratch return and cost, zero-shot return and cost."""
BUDGETS = {
    "paper": [],
    "lidar": ["env=pointhallwaywallslidar", "algo.gru_hidden=64", "algo.head_net_arch=[128,128]",
              "algo.batch_size=32", "algo.train_freq=4", "algo.learning_starts=5000", "algo.buffer_size=150000",
              "eval_freq=25000", "eval_episodes=5", "checkpoint_freq=10000", "transfer.pretrain_steps=100000",
              "transfer.finetune_steps=50000", "transfer.zero_shot_episodes=10",
              "transfer.name=point_walls_to_people_poles_lidar"],
    "smoke": ["env=pointhallwaywallslidar", "env.max_episode_steps=300", "algo.gru_hidden=32",
              "algo.head_net_arch=[64,64]", "algo.vector_net_arch=[64]", "algo.batch_size=32",
              "algo.sequence_length=10", "algo.buffer_size=20000", "algo.learning_starts=500", "algo.train_freq=4",
              "algo.cost_limit=0.02", "eval_freq=0", "eval_episodes=2", "checkpoint_freq=0",
              "transfer.pretrain_steps=1500", "transfer.finetune_steps=500", "transfer.zero_shot_episodes=2",
              "transfer.seeds=[0]", "transfer.name=point_walls_to_people_poles_smoke"],
}
"""What each ``--budget`` overrides in ``transfer_point_people`` (``paper``: nothing; the others also swap the
targets for the lidar ones of :data:`TARGETS`)."""


def row(ours: dict) -> str:
    """The benchmark's table row of one target env: ours (mean ± std across seeds), then the paper's (``-`` for a
    target env the paper's Table 1 does not have)."""
    def pm(key: str) -> str:
        mean, std = ours[f"{key}_mean"], ours[f"{key}_std"]
        return "-" if mean is None else f"{mean:.1f} ± {std:.1f}"

    paper_target = next((paper for paper, lidar in TARGETS.items() if ours["target"] in (paper, lidar)), None)
    env, scratch_return, scratch_cost, zero_return, zero_cost = PAPER.get(paper_target, (ours["env"], *"----"))
    seeds = f"{ours['seeds']} seed" + ("" if ours["seeds"] == 1 else "s")
    return (f"| {env} ({seeds}) | {pm('scratch_return')} / {pm('scratch_cost')} | "
            f"{pm('zero_shot_return')} / {pm('zero_shot_cost')} | {pm('finetune_return')} / {pm('finetune_cost')} | "
            f"{pm('scratch_lifetime_cost')} | {pm('finetune_lifetime_cost')} | "
            f"{scratch_return} / {scratch_cost} | {zero_return} / {zero_cost} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="where the transfer folders go (outside the repository)")
    parser.add_argument("--budget", choices=list(BUDGETS), default="paper",
                        help="paper: the full experiment; lidar: what this machine can run; smoke: the pipeline only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any other override of the experiment")
    parser.add_argument("--stages", default=None, metavar="A,B",
                        help="the stages to run (pretrain, zero_shot, finetune, scratch; default: all)")
    args = parser.parse_args(argv)
    if Path(__file__).resolve().parents[1] in args.out.resolve().parents:
        parser.error("--out must lie outside the repository")
    lines = ["| env | scratch return / cost | zero-shot return / cost | fine-tuned return / cost | scratch lifetime "
             "cost | fine-tuned lifetime cost | paper: scratch | paper: zero-shot |", "|---|---|---|---|---|---|---|---|"]
    targets = list(TARGETS) if args.budget == "paper" else list(TARGETS.values())
    overrides = [f"out_dir={args.out}", f"transfer.targets=[{','.join(targets)}]",
                 "transfer.name=point_walls_to_people_poles", *BUDGETS[args.budget], *args.set]
    try:
        result = run_transfer(EXPERIMENT, overrides, args.stages, progress=sys.stderr)
    except SafexpError as exc:
        parser.error(str(exc))
    lines += [row(ours) for ours in result.rows]
    print(f"{result.markdown_path}, {result.plot_path}", file=sys.stderr)
    table = "\n".join(lines) + "\n"
    atomic_write_text(args.out / "README.md", table)
    print(table)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
