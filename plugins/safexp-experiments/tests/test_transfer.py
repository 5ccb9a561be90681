"""``safexp transfer`` on the demo config, shrunk: the stages run in order; fine-tuning starts from the pretrained
agent (weights, critics, multiplier, optimiser state, replay) and scratch from a fresh one; the lifetime cost in
TensorBoard, the run's CSV and the summary is the sum of the target env's step costs over training, also after a
resume from a kill; the table and the plot are written and read back; a rerun skips finished work; bad stages
and targets fail with the choices, nearest first, before anything is written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import matplotlib.image
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from safexp.cli import main
from safexp.plugin import ParameterError, get_registry, hookimpl
from safexp_experiments.plot import group_runs, read_run_scalars
from safexp_experiments.sweep import RunOutcome, SweepPlan, SweepProgress
from safexp_experiments.training import LIFETIME_COST_FILE, read_lifetime_cost, train
from safexp_experiments.transfer import STAGES, TransferError, parse_stages, plan_transfer, run_transfer

TARGET = "poles_speed"
# Costly target and source envs, so that the short runs have costs to count: the hallways with a speed limit in
# the safety constraint (the constraint names stay the benchmark's, as the transfer needs).
ENVS = {
    "walls_speed": "robot: point\ntask: hallway\nlevel: WallsLidar\ncosts:\n  - {name: speed_limit, params: {max_speed: 0.02}}\n",
    TARGET: "robot: point\ntask: hallway\nlevel: PolesLidar\ncosts:\n  - {name: speed_limit, params: {max_speed: 0.02}}\n",
}
PRETRAIN, FINETUNE, EPISODE = 300, 150, 50
"""Env steps of pretraining, of fine-tuning and from scratch, and of an episode."""
SMALL = ["env=walls_speed", f"transfer.targets=[{TARGET}]", f"transfer.pretrain_steps={PRETRAIN}",
         f"transfer.finetune_steps={FINETUNE}", "transfer.zero_shot_episodes=2", f"env.max_episode_steps={EPISODE}",
         "algo.learning_starts=100", "algo.batch_size=8", "algo.sequence_length=4", "algo.gru_hidden=16",
         "algo.head_net_arch=[32]", "algo.vector_net_arch=[32]", "algo.buffer_size=2000", "algo.train_freq=5",
         "algo.multiplier_settings.lr=0.01", "algo.multiplier_source=episode_cost", "eval_episodes=1", "launcher.workers=1"]


class RecordTraining(BaseCallback):
    """At the start of each run: the agent's weights, λ and optimiser state; every step: the costs of the infos."""

    def __init__(self, run_dir: str, log: dict) -> None:
        super().__init__()
        self.run_dir, self.log = run_dir, log

    def _on_training_start(self) -> None:
        model = self.model
        self.log.setdefault("order", []).append(self.run_dir)
        self.log[self.run_dir] = {"agent": {k: v.clone() for k, v in model.agent.state_dict().items()},
                                  "multipliers": list(model.lagrange_multipliers),
                                  "optimizer_steps": _adam_steps(model.critic_optimizer.state_dict()),
                                  "replay_rows": model.replay_buffer.stored_rows(0),
                                  "num_timesteps": model.num_timesteps, "costs": 0.0}

    def _on_step(self) -> bool:
        self.log[self.run_dir]["costs"] += sum(float(info["cost"]) for info in self.locals["infos"])
        return True


def _adam_steps(state: dict) -> list[float]:
    return [float(s["step"]) for s in state["state"].values()]


@pytest.fixture
def recorded():
    """A plugin whose training callback records every run of the test (the runs go in this process)."""
    log: dict = {}

    class Recorder:
        @hookimpl
        def safexp_training_callbacks(self, algorithm, run_dir):
            return [RecordTraining(run_dir, log)]

    plugin = Recorder()
    registry = get_registry()
    registry.register(plugin, name="test-transfer-recorder")
    yield log
    registry.pm.unregister(plugin)


@pytest.fixture
def configs(tmp_path):
    root = tmp_path / "configs"
    (root / "env").mkdir(parents=True)
    for name, text in ENVS.items():
        (root / "env" / f"{name}.yaml").write_text(text)
    return root


def _saved(path: Path) -> dict:
    return th.load(path, map_location="cpu", weights_only=True)


def test_transfer_workflow_on_the_demo_config(tmp_path, configs, recorded, capsys):
    out = tmp_path / "runs"
    overrides = [*SMALL, f"out_dir={out}", "checkpoint_freq=50"]
    result = run_transfer("transfer_demo", overrides, search_root=configs)
    assert result.ran == list(STAGES) and not result.failed
    base = out / "transfer" / "transfer_demo" / "seed=0"
    pretrain, finetune, scratch = base / "pretrain", base / "finetune" / TARGET, base / "scratch" / TARGET
    zero_shot = base / "zero_shot" / f"{TARGET}.json"

    # the stages ran in order: pretraining ended before the zero-shot file, which came before both trainings
    assert recorded["order"] == [str(pretrain), str(finetune), str(scratch)]
    assert (pretrain / "summary.json").stat().st_mtime <= zero_shot.stat().st_mtime
    assert zero_shot.stat().st_mtime <= (finetune / "config.yaml").stat().st_mtime

    # fine-tuning starts from the pretrained agent, exactly; scratch from a fresh one
    end_of_pretrain = _saved(pretrain / "model.zip")
    start = recorded[str(finetune)]
    for key, tensor in end_of_pretrain["agent"].items():
        th.testing.assert_close(start["agent"][key], tensor, rtol=0, atol=0)
    assert start["multipliers"] != [0.001] and start["multipliers"][0] > 0.001  # λ moved in pretraining ...
    assert start["multipliers"] == pytest.approx(_multipliers(pretrain / "model.zip"), abs=0)  # ... and carried over
    assert start["optimizer_steps"] == _adam_steps(end_of_pretrain["critic_optimizer"]) and start["optimizer_steps"]
    assert start["replay_rows"] > PRETRAIN and start["num_timesteps"] == PRETRAIN
    fresh = recorded[str(scratch)]
    assert fresh["num_timesteps"] == 0 and fresh["replay_rows"] == 0 and fresh["optimizer_steps"] == []
    assert not all(th.equal(fresh["agent"][k], t) for k, t in end_of_pretrain["agent"].items())

    # lifetime cost = the target env's step costs over training, in TensorBoard, the CSV and the summary
    for run, steps in ((finetune, PRETRAIN + FINETUNE), (scratch, FINETUNE)):
        truth = recorded[str(run)]["costs"]
        assert truth > 10  # the speed limit makes costs to count
        curve = read_run_scalars(run)["deployment/lifetime_cost"]
        assert curve.steps[-1] == steps and curve.values[-1] == pytest.approx(truth, rel=1e-6)
        rows = read_lifetime_cost(run / LIFETIME_COST_FILE)
        assert rows[-1]["step"] == steps and rows[-1]["lifetime_cost"] == pytest.approx(truth, rel=1e-9)
        assert rows[-1]["episodes"] == FINETUNE // EPISODE
        # a row per episode, its return and cost; here the episodes end with the run, so they sum up
        assert [r["step"] for r in rows] == list(range(steps - FINETUNE + EPISODE, steps + 1, EPISODE))
        assert sum(r["episode_cost"] for r in rows) == pytest.approx(truth, rel=1e-9)
        assert all(r["episode_return"] is not None for r in rows)
        assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})
        assert json.loads((run / "summary.json").read_text())["lifetime_cost"] == pytest.approx(truth, rel=1e-9)
    # ... counted apart from the learner's own count, which in fine-tuning includes pretraining's costs
    learner_count = float(_saved(finetune / "model.zip")["lifetime_cost"].sum())
    assert learner_count - float(end_of_pretrain["lifetime_cost"].sum()) == pytest.approx(
        recorded[str(finetune)]["costs"], rel=1e-9)

    # the table: from scratch vs zero-shot (Table 1), fine-tuned and lifetime costs, read back
    with open(result.csv_path) as handle:
        (row,) = list(csv.DictReader(handle))
    summaries = {run: json.loads((run / "summary.json").read_text()) for run in (finetune, scratch)}
    zero = json.loads(zero_shot.read_text())
    assert (row["robot"], row["target"], row["env"], row["seeds"]) == ("Point", TARGET, "PointHallwayPolesLidar-custom", "1")
    assert float(row["scratch_return_mean"]) == summaries[scratch]["return_mean"]
    assert float(row["scratch_cost_mean"]) == summaries[scratch]["cost_mean"]
    assert float(row["zero_shot_return_mean"]) == zero["return_mean"] and zero["episodes"] == 2
    assert float(row["zero_shot_cost_mean"]) == zero["cost_mean"]
    assert float(row["finetune_return_mean"]) == summaries[finetune]["return_mean"]
    assert float(row["finetune_lifetime_cost_mean"]) == pytest.approx(recorded[str(finetune)]["costs"])
    assert float(row["scratch_lifetime_cost_mean"]) == pytest.approx(recorded[str(scratch)]["costs"])
    markdown = result.markdown_path.read_text()
    assert "| env | seeds | from scratch return | from scratch cost | zero-shot return | zero-shot cost |" in markdown
    assert (f"| Point-HallwayPolesLidar-custom | 1 | {summaries[scratch]['return_mean']:.2f} ± 0.00 | "
            f"{summaries[scratch]['cost_mean']:.2f} ± 0.00 | {zero['return_mean']:.2f} ± 0.00 |") in markdown
    assert f"| {float(row['finetune_lifetime_cost_mean']):.2f} ± 0.00 |" in markdown
    image = matplotlib.image.imread(result.plot_path)
    assert image.shape[0] > 1000 and image.shape[1] > 500 and image[..., :3].std() > 0.05  # three panels drawn

    # the same fine-tuning again, in this process, whose random streams have moved on since: the same training, as a
    # learner loaded to go on as a new run is seeded from that run's seed
    repeat = train(str(finetune / "config.yaml"), [f"out_dir={tmp_path / 'again'}", "name=finetune"])
    assert read_lifetime_cost(repeat.run_dir / LIFETIME_COST_FILE) == read_lifetime_cost(finetune / LIFETIME_COST_FILE)
    assert repeat.summary["episode_returns"] == summaries[finetune]["episode_returns"]

    # a rerun skips everything that finished
    recorded["order"].clear()
    again = run_transfer("transfer_demo", overrides, search_root=configs)
    assert recorded["order"] == [] and again.rows == result.rows

    # killed during fine-tuning after its checkpoint at step 400 (of 300-450): the rerun resumes it there, and the lifetime
    # cost goes on from the checkpoint's count (the CSV rows after it are written again, not twice)
    checkpoint_state = json.loads((finetune / "checkpoints" / f"step_{400:012d}.state.json").read_text())
    for stale in [*finetune.glob("checkpoints/step_000000000450*"), finetune / "model.zip", finetune / "model.json",
                  finetune / "summary.json"]:
        stale.unlink()
    (finetune / "checkpoints" / "latest.json").write_text(json.dumps(
        {"step": 400, "manifest": f"step_{400:012d}.manifest.json"}))
    (finetune / "status.json").write_text(json.dumps({"state": "interrupted", "steps": 400}))
    recorded["order"].clear()
    resumed = run_transfer("transfer_demo", overrides, stages="finetune", search_root=configs)
    assert recorded["order"] == [str(finetune)] and resumed.ran == ["finetune"]
    total = checkpoint_state["lifetime_cost"] + recorded[str(finetune)]["costs"]
    rows = read_lifetime_cost(finetune / LIFETIME_COST_FILE)
    assert rows[-1]["step"] == PRETRAIN + FINETUNE and rows[-1]["lifetime_cost"] == pytest.approx(total, rel=1e-9)
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows})
    assert read_run_scalars(finetune)["deployment/lifetime_cost"].values[-1] == pytest.approx(total, rel=1e-6)


def _multipliers(model_file: Path) -> list[float]:
    from safexp_sb3.sac_lag_rnn import RecurrentSACLagrangian

    return list(RecurrentSACLagrangian.load(str(model_file)).lagrange_multipliers)


def test_bad_stages_and_targets_fail_with_the_choices_before_anything_is_written(tmp_path, configs, capsys):
    out = tmp_path / "runs"
    with pytest.raises(ParameterError, match="unknown stage 'finetun'; did you mean 'finetune'\\? valid choices: "
                                             "finetune, "):
        parse_stages("pretrain,finetun")
    with pytest.raises(ParameterError, match="unknown target env 'pointhallwaypolelidar' in transfer.targets; did you "
                                             "mean 'pointhallwaypoleslidar'\\? valid choices: pointhallwaypoleslidar, "):
        plan_transfer("transfer_demo", [f"out_dir={out}", "transfer.targets=[pointhallwaypolelidar]"])
    assert main(["transfer", "transfer_demo", f"out_dir={out}", "--stages", "zeroshot"]) != 0
    assert "unknown stage 'zeroshot'; did you mean 'zero_shot'?" in capsys.readouterr().err
    with pytest.raises(ParameterError, match="unknown key 'transfer.seed'.*did you mean 'seeds'"):
        plan_transfer("transfer_demo", [f"out_dir={out}", "transfer.seed=[1]"])
    with pytest.raises(TransferError, match="stage 'finetune' needs the pretrained agent of seed 0"):
        run_transfer("transfer_demo", [*SMALL, f"out_dir={out}"], stages="finetune,scratch", search_root=configs)
    assert not out.exists()
    with pytest.raises(ParameterError, match="transfer.constrained=false needs a Lagrangian learner.*'cpo' has none"):
        plan_transfer("transfer_demo", [f"out_dir={out}", "algo=cpo", "transfer.constrained=false"])
    assert not out.exists()


def test_the_ablation_switches_reach_every_run(tmp_path):
    plan = plan_transfer("transfer_demo", [f"out_dir={tmp_path}", "env.feedback=false", "transfer.constrained=false"])
    for stage in ("pretrain", "finetune", "scratch"):
        for job in plan.jobs(stage):
            assert job.config["env"]["feedback"] is False
            assert job.config["algo"]["multiplier"] == "sgd"
            assert job.config["algo"]["multiplier_settings"]["init"] == 0.0
            assert job.config["algo"]["multiplier_settings"]["lr"] == 0.0
    finetune = plan.jobs("finetune")
    assert [j.config["init_from"] for j in finetune] == [str(plan.pretrain_dir(0))] * 2
    assert [j.config["total_steps"] for j in finetune] == [6_000, 6_000]  # pretraining's steps, then 2,000 more
    assert [j.config["env"]["level"] for j in plan.jobs("scratch")] == ["PolesLidar", "PeopleLidar"]
    from safexp_sb3.multipliers import make_multiplier

    held = make_multiplier("sgd", 0.02, {"init": 0.0, "lr": 0.0})
    assert [held.update(cost) for cost in (5.0, 50.0)] == [0.0, 0.0]  # λ never moves: unconstrained SAC
    # an experiment folder holds one experiment: another budget in the same folder is refused
    (plan.directory).mkdir(parents=True)
    from omegaconf import OmegaConf

    (plan.directory / "transfer.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(plan.identity())))
    with pytest.raises(TransferError, match="holds a different transfer experiment \\(transfer.pretrain_steps differs\\)"):
        run_transfer("transfer_demo", [f"out_dir={tmp_path}", "env.feedback=false", "transfer.constrained=false",
                                       "transfer.pretrain_steps=8000"])
    (plan.directory / "transfer.yaml").write_text("transfer: {pretrain_steps: [")  # damaged: a clear error, not YAML's
    with pytest.raises(TransferError, match="transfer.yaml' is damaged \\(.*\\), so this folder cannot be checked"):
        run_transfer("transfer_demo", [f"out_dir={tmp_path}", "env.feedback=false", "transfer.constrained=false"])


PPO_LAG_TRANSFER = """\
# @package _global_
defaults:
  - /env: pointhallwaywallslidar
  - /algo: ppo_lag
  - _self_
env: {max_episode_steps: 50}
algo: {n_steps: 64, batch_size: 32, n_epochs: 1, cost_limit: 1}
eval_episodes: 1
transfer:
  targets: [pointhallwaypoleslidar]
  pretrain_steps: 100
  finetune_steps: 20
  zero_shot_episodes: 1
  seeds: [0]
"""


def test_fine_tuning_starts_where_pretraining_stopped_when_a_learner_rounds_the_budget_up(tmp_path, capsys):
    config = tmp_path / "ppo_lag_transfer.yaml"
    config.write_text(PPO_LAG_TRANSFER)
    run_transfer(config, [f"out_dir={tmp_path}", "launcher.workers=1"], stages="pretrain,finetune,scratch")
    seed_dir = tmp_path / "transfer" / "ppo_lag_transfer" / "seed=0"
    steps = {stage: json.loads((seed_dir / stage / "status.json").read_text())["steps"]
             for stage in ("pretrain", "finetune/pointhallwaypoleslidar", "scratch/pointhallwaypoleslidar")}
    # 100 steps in rollouts of 64 are 128; fine-tuning then trains as long as scratch does (20 → 64), from 128 (a
    # budget counted from the nominal 100 would end at 120, before the start: no fine-tuning at all)
    assert steps == {"pretrain": 128, "finetune/pointhallwaypoleslidar": 192, "scratch/pointhallwaypoleslidar": 64}

    # the fine-tuning stage's progress counts its own budget (20 from step 128), not the pretrained steps too
    jobs = plan_transfer(config, [f"out_dir={tmp_path}"]).jobs("finetune")
    sweep_plan = SweepPlan(str(config), seed_dir, jobs, [], [0], "local", 1)
    assert "20 env steps in all" in sweep_plan.describe()
    assert SweepProgress(sweep_plan, io.StringIO(), interval=0.0)._progress() == (20, 20, 20)

    # a learner goes on with the hyperparameters it was saved with: a run asking for others is refused, not misled
    assert main(["train", str(config), f"init_from={seed_dir / 'pretrain'}", "algo.learning_rate=0.001",
                 f"out_dir={tmp_path / 'other'}"]) != 0
    assert "algo.learning_rate 0.0003 there, 0.001 here" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    # a budget that ends where the pretrained run ended (or before) would train nothing: refused, by a sweep too
    pretrain = seed_dir / "pretrain"
    for command in (["train", str(config)], ["sweep", str(config), "--sweep-dir", str(tmp_path / "other")]):
        assert main([*command, f"init_from={pretrain}", "total_steps=100", f"out_dir={tmp_path / 'other'}"]) == 2
        assert (f"init_from: run '{pretrain}' ended at 128 env steps, where this run's count starts; total_steps 100 "
                "must be above it") in capsys.readouterr().err
        assert not (tmp_path / "other").exists()

    # a fine-tuned run and one trained from scratch with otherwise the same keys are two experiments to `safexp plot`
    finetuned = seed_dir / "finetune" / "pointhallwaypoleslidar"
    assert main(["train", str(config), "env=pointhallwaypoleslidar", "env.max_episode_steps=50", "total_steps=148",
                 "name=scratch192", f"out_dir={tmp_path}", "progress=false"]) == 0
    groups = group_runs([finetuned, finetuned, tmp_path / "scratch192"])
    assert [len(group.returns) for group in groups] == [2, 1]


def test_a_lifetime_cost_row_cut_short_by_a_kill_is_dropped_on_resume(tmp_path):
    from safexp_experiments.training import LifetimeCost, TrainerState

    path = tmp_path / LIFETIME_COST_FILE
    path.write_text("step,episodes,episode_return,episode_cost,lifetime_cost\n10,1,2.5,1.0,1.0\n20,2,3.0,0.")
    assert read_lifetime_cost(path) == [{"step": 10, "episodes": 1, "episode_return": 2.5, "episode_cost": 1.0,
                                         "lifetime_cost": 1.0}]
    counter = LifetimeCost(TrainerState(lifetime_cost=1.0, episodes=1), path, start_step=20)
    counter.finish(20)  # the resumed run's next row follows the whole ones
    assert [row["step"] for row in read_lifetime_cost(path)] == [10, 20]
    assert path.read_text().endswith("\n10,1,2.5,1.0,1.0\n20,1,,,1.0\n")


def test_the_cost_panel_draws_the_episode_limit_only_where_one_bounds_the_episode_cost(tmp_path):
    from safexp_experiments.transfer import _episode_cost_limit

    def limit(*overrides: str) -> float | None:
        return _episode_cost_limit(plan_transfer("transfer_demo", [f"out_dir={tmp_path}", *overrides]))

    assert limit() == pytest.approx(0.02 * 300)  # sac_lag_rnn's per-step limit over the 300-step episodes
    assert limit("transfer.constrained=false") is None
    assert limit("algo.cost_limits={cost_hazards: 0.01}") is None  # limits per constraint: none bounds the total


def test_the_progress_of_a_stage_counts_every_seed_and_names_each_run_by_its_folder(tmp_path):
    plan = plan_transfer("transfer_demo", [f"out_dir={tmp_path}", "transfer.seeds=[0,1]"])
    jobs = plan.jobs("pretrain")  # both named 'pretrain', one per seed folder
    stream = io.StringIO()
    progress = SweepProgress(SweepPlan("transfer_demo", plan.directory, jobs, [], [0, 1], "local", 2), stream,
                             interval=0.0)
    assert progress.counts() == {"finished": 0, "skipped": 0, "failed": 0, "running": 0, "waiting": 2}
    progress.run_ended(RunOutcome(jobs[0], "finished", {"return_mean": 1.0, "cost_mean": 0.0}, seconds=3.0))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "[1/2] finished seed=0/pretrain (3s): return 1.000, cost 0.000" in lines
    assert lines[-1].startswith("sweep: 1/2 runs done, 0 running, 1 waiting; 4,000 of 8,000 env steps")
