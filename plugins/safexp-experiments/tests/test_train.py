"""``safexp train`` end to end on small envs, then eval, plot and render on the runs it made.

The main env (plugins/safexp-experiments/tests/experiment_configs/env/hazard_start.yaml) starts the robot inside a hazard it cannot leave
within its 50-step episodes, so every step costs exactly 1: episode cost 50, training cost rate 1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from safexp.cli import main
from safexp_experiments.config import load_config
from safexp_experiments.evaluation import evaluate
from safexp_experiments.metrics import normalize
from safexp.registry import get_registry
from safexp_experiments.runs import RunDir
from safexp_experiments.training import resume, train
from safexp_experiments.video import read_video

TEST_CONFIGS = Path(__file__).parent / "experiment_configs"
TINY = TEST_CONFIGS / "experiment" / "tiny.yaml"
RUN_OVERRIDES = ["total_steps=2048", "checkpoint_freq=1024", "eval_freq=1024", "eval_episodes=2", "name=run"]


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) of one TensorBoard scalar over every event file of a run, in file order."""
    out = []
    for event_file in sorted((run_dir / "tensorboard").glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(event_file), size_guidance={"scalars": 0})
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            out += [(e.step, e.value) for e in accumulator.Scalars(tag)]
    return out


def _tags(run_dir: Path) -> set[str]:
    """Every scalar tag of a run's TensorBoard files."""
    tags: set[str] = set()
    for event_file in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(event_file))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    return tags


def red_pixels(frame: np.ndarray) -> int:
    return int(((frame[..., 0].astype(int) - frame[..., 1].astype(int)) > 120).sum())


@pytest.fixture(scope="module")
def hazard_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", str(TINY), f"out_dir={out}", *RUN_OVERRIDES]) == 0
    return out / "run"


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("suite")
    result = train(TINY, ["env=pointgoal1", f"out_dir={out}", "total_steps=1024", "name=suite"])
    assert result.state == "finished"
    return result.run_dir


def test_run_directory_contents(hazard_run):
    names = sorted(p.name for p in hazard_run.iterdir())
    assert names == ["checkpoints", "config.yaml", "lifetime_cost.csv", "lock", "model.json", "model.zip", "status.json",
                     "summary.json", "tensorboard"]
    assert not [p for p in hazard_run.rglob(".*")], "temporary files left behind"
    assert load_config(hazard_run / "config.yaml") == load_config(TINY, [f"out_dir={hazard_run.parent}", *RUN_OVERRIDES])
    assert json.loads((hazard_run / "status.json").read_text()) == {"state": "finished", "steps": 2048}
    summary = json.loads((hazard_run / "summary.json").read_text())
    assert summary["steps"] == 2048 and summary["episodes"] == 2 and summary["length_mean"] == 50
    assert summary["cost_mean"] == 50.0 and summary["cost_std"] == 0.0
    assert summary["train_cost_rate"] == 1.0
    assert summary["metrics"] is None and summary["suite_env"] is None  # a customised scene has no references
    latest = json.loads((hazard_run / "checkpoints" / "latest.json").read_text())
    assert latest == {"step": 2048, "manifest": "step_000000002048.manifest.json"}
    manifest = json.loads((hazard_run / "checkpoints" / latest["manifest"]).read_text())
    assert manifest["files"]["state"]["name"] == "step_000000002048.state.json"
    assert manifest["config"] == (hazard_run / "config.yaml").read_text()
    assert (hazard_run / "checkpoints" / "step_000000001024.zip").is_file()


def test_tensorboard_scalars_read_back(hazard_run):
    costs = scalars(hazard_run, "rollout/ep_cost_mean")
    assert costs and all(value == 50.0 for _, value in costs)
    assert [v for _, v in scalars(hazard_run, "rollout/cost_rate")] == [1.0] * len(scalars(hazard_run, "rollout/cost_rate"))
    steps = [s for s, _ in scalars(hazard_run, "rollout/ep_rew_mean")]
    assert steps == sorted(steps) and steps[-1] == 2048
    evaluations = scalars(hazard_run, "eval/cost_mean")
    assert [s for s, _ in evaluations] == [1024, 2048] and all(v == 50.0 for _, v in evaluations)
    assert not [tag for tag in _tags(hazard_run) if tag.startswith("safexp/")]  # one set of cost tags, the learner's


def test_checkpoint_restores_the_learner_with_its_multipliers(hazard_run):
    load = get_registry().get("algorithms", "ppo_lag").load
    final = load(str(hazard_run / "model.zip"))
    checkpoint = load(str(RunDir(hazard_run).latest_checkpoint().model))
    assert checkpoint.num_timesteps == final.num_timesteps == 2048
    assert final.lagrange_multipliers == checkpoint.lagrange_multipliers and final.lagrange_multipliers[0] > 0.0
    for a, b in zip(final.policy.state_dict().values(), checkpoint.policy.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_eval_cli_writes_mean_and_std(hazard_run, capsys):
    assert main(["eval", str(hazard_run), "--episodes", "3"]) == 0
    out = capsys.readouterr().out
    assert "cost 50.000 ± 0.000" in out and "training cost rate 1.0000" in out
    report = json.loads((hazard_run / "eval.json").read_text())
    assert report["episodes"] == 3 and report["episode_costs"] == [50.0, 50.0, 50.0]
    assert evaluate(hazard_run, 3, write=False)["episode_returns"] == report["episode_returns"]  # deterministic


def test_eval_metrics_on_a_suite_env(suite_run):
    report = evaluate(suite_run, 1)
    assert report["suite_env"] == "PointGoal1" and report["length_mean"] == 1000
    rate = scalars(suite_run, "rollout/cost_rate")[-1][1]
    assert report["train_cost_rate"] == pytest.approx(rate, rel=1e-6)  # the logged rate is the one normalised
    expected = normalize("PointGoal1", report["return_mean"], report["cost_mean"], report["train_cost_rate"])
    assert report["metrics"] == expected.as_dict()
    assert report["metrics"]["J_r"] == pytest.approx(report["return_mean"] / 25.179)
    assert report["metrics"]["rho_c"] == pytest.approx(report["train_cost_rate"] / 0.063)
    assert report["metrics"]["M_c"] == pytest.approx(max(0.0, report["cost_mean"] - 25) / (53.109 - 25))


def test_same_seed_same_curves(tmp_path):
    runs = [train(TINY, [f"out_dir={tmp_path}", "seed=7", f"name=r{i}", "env.hazards.size=0.3"]) for i in range(2)]
    other = train(TINY, [f"out_dir={tmp_path}", "seed=8", "name=other", "env.hazards.size=0.3"])
    curves = [scalars(r.run_dir, "rollout/ep_rew_mean") for r in (*runs, other)]
    assert curves[0] == curves[1] and len(curves[0]) >= 3
    assert curves[0] != curves[2]
    assert runs[0].summary["episode_returns"] == runs[1].summary["episode_returns"]


def test_plot_writes_a_png(hazard_run, suite_run, tmp_path, capsys):
    import matplotlib.image

    out = tmp_path / "curves.png"
    assert main(["plot", str(hazard_run), str(suite_run), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out)
    assert image.shape[:2] == (1350, 1050)  # 7 × 9 inches at 150 dpi: return, cost and λ panels
    assert image[..., :3].std() > 0.05  # not blank


def test_plot_errors(hazard_run, tmp_path, capsys):
    assert main(["plot", str(hazard_run), "--out", str(tmp_path / "x.jpg")]) == 2
    assert main(["plot", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    assert "is not a run directory (it has no config.yaml)" in capsys.readouterr().err


def test_render_a_trained_run_shows_the_cost_light(hazard_run, tmp_path):
    out = tmp_path / "episode.mp4"
    assert main(["render", str(hazard_run), "--out", str(out), "--max-steps", "12"]) == 0
    meta, frames = read_video(out)
    assert frames.shape == (13, 256, 256, 3) and meta["fps"] == 50  # the Point robot's control rate: real time
    # the robot is red; the cost light adds a large red disc on every step with cost (all but the reset frame)
    assert red_pixels(frames[0]) < 600
    assert all(red_pixels(frame) > 1000 for frame in frames[1:])


def test_render_an_env_id_with_a_random_policy_to_gif(tmp_path, capsys):
    out = tmp_path / "random.gif"
    assert main(["render", "safexp/PointGoal1-v0", "--out", str(out), "--max-steps", "8", "--seed", "3"]) == 0
    meta, frames = read_video(out)
    assert frames.shape == (9, 256, 256, 3)
    assert out.read_bytes()[:6] == b"GIF89a"
    assert main(["render", "PointGoal1", "--out", str(tmp_path / "same.gif"), "--max-steps", "8", "--seed", "3"]) == 0
    assert np.array_equal(read_video(tmp_path / "same.gif")[1], frames)  # suite name, same seed: same video
    assert main(["render", "PointGaol1", "--out", str(tmp_path / "x.gif")]) == 2
    assert "did you mean" in capsys.readouterr().err


def _train_until_signal(command: list[str], after_steps: int, signum: int, to_group: bool) -> subprocess.CompletedProcess:
    """Run ``safexp train`` in a subprocess (a session of its own) and send ``signum`` once its progress passes
    ``after_steps``: to the trainer alone, or to its whole process group (env workers included), as a batch
    scheduler does."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "safexp.cli", *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    sent = False

    def watch() -> None:
        nonlocal sent
        for line in proc.stderr:
            lines.append(line)
            if not sent and "steps/s" in line and int(line.split("]")[1].split("/")[0].replace(",", "")) >= after_steps:
                if to_group:  # once: a second one aborts without the checkpoint, by design
                    os.killpg(proc.pid, signum)
                else:
                    proc.send_signal(signum)
                sent = True

    output: list[str] = []
    threads = [threading.Thread(target=watch), threading.Thread(target=lambda: output.append(proc.stdout.read()))]
    for thread in threads:  # stderr is read by the watcher alone (communicate() would take lines from it)
        thread.start()
    proc.wait(timeout=180)
    for thread in threads:
        thread.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(output), "".join(lines))


@pytest.mark.parametrize(("signum", "to_group", "envs"), [
    (signal.SIGINT, False, []),
    (signal.SIGTERM, True, ["vec_env=subproc", "n_envs=2"]),  # the env workers get it too, and leave it to the trainer
], ids=["ctrl-c", "sigterm-to-the-group"])
def test_interrupted_run_resumes_with_its_step_count_and_counters(tmp_path, signum, to_group, envs):
    command = ["train", str(TINY), f"out_dir={tmp_path}", "name=run", "total_steps=4096", "progress=true", *envs]
    interrupted = _train_until_signal(command, after_steps=1000, signum=signum, to_group=to_group)
    assert interrupted.returncode == 130, interrupted.stderr
    assert f"safexp: {signal.Signals(signum).name}: stopping after this rollout's update" in interrupted.stderr
    run = RunDir(tmp_path / "run")
    status = run.status()
    assert status["state"] == "interrupted" and 1000 <= status["steps"] < 4096
    assert status["steps"] % 256 == 0  # the checkpoint of the first update after the signal: no step lost
    assert f"interrupted at {status['steps']:,} steps" in interrupted.stdout
    checkpoint = run.latest_checkpoint()
    assert checkpoint.step == status["steps"]
    assert checkpoint.trainer_state()["env_steps"] == status["steps"]
    assert not (tmp_path / "run" / "summary.json").exists()
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "run", copy)

    resumed = subprocess.run([sys.executable, "-m", "safexp.cli", "train", "--resume", str(tmp_path / "run")],
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    final = run.status()
    assert final["state"] == "finished" and 4096 <= final["steps"] < 4096 + 256
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == final["steps"] and summary["train_cost_rate"] == 1.0
    assert run.latest_checkpoint().trainer_state()["env_steps"] == final["steps"]  # counters carried over
    steps = [s for s, _ in scalars(tmp_path / "run", "rollout/ep_rew_mean")]
    assert steps[0] < status["steps"] < steps[-1]  # the curve continues past the interruption in the same run

    again = resume(copy)  # the same checkpoint resumed twice continues identically (learner state and RNG streams)
    assert again.summary["episode_returns"] == summary["episode_returns"]
    assert scalars(copy, "rollout/ep_rew_mean")[-1] == scalars(tmp_path / "run", "rollout/ep_rew_mean")[-1]


def test_train_command_runs_off_the_main_thread(hazard_run, capsys):
    """A notebook or a scheduler may run the command in a thread, where no signal handler can be installed: it runs
    there (without the SIGTERM handler) and leaves the main thread's handler as it was."""
    before = signal.getsignal(signal.SIGTERM)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["train", "--resume", str(hazard_run)])))
    thread.start()
    thread.join()
    assert codes == [2] and "has already finished (2048 steps)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before


def test_resume_errors(hazard_run, tmp_path, capsys):
    assert main(["train", "--resume", str(hazard_run)]) == 2
    message = capsys.readouterr().err
    assert "has already finished (2048 steps); to train it longer, start a new run from it: safexp train " in message
    recipe = message.split("start a new run from it: safexp train ")[1].split()  # the command it gives works
    recipe = [word.replace("NEW_NAME", "longer").replace("=N", "=4096") for word in recipe]
    assert recipe == [str(hazard_run / "config.yaml"), f"init_from={hazard_run}", "total_steps=4096", "name=longer"]
    assert main(["train", *recipe]) == 0
    longer = RunDir(hazard_run.parent / "longer")
    assert longer.status()["state"] == "finished" and longer.status()["steps"] == 4096
    other = [*recipe[:-1], "name=other", "algo.n_epochs=3", "algo.multiplier_settings.lr=0.5"]
    assert main(["train", *other]) == 2  # the learner keeps its saved settings: other ones here are refused
    assert (f"init_from: this run's algo settings differ from those of run '{hazard_run}', which its learner keeps: "
            "algo.multiplier_settings.lr None there, 0.5 here, algo.n_epochs 1 there, 3 here") in capsys.readouterr().err
    assert not (hazard_run.parent / "other").exists()  # refused before anything was written
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", str(TINY), "--resume", str(hazard_run)]) == 2

