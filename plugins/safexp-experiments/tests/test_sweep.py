"""``safexp sweep``: the same grid on the local process pool and on a real local Ray instance gives the same
table; a failing run is reported without stopping the others; a rerun skips the finished runs; the plan and the
live progress (a tqdm bar on a terminal, plain lines otherwise)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ray

from safexp.cli import main
from safexp_experiments.runs import RunLock
from safexp_experiments.sweep import (
    RunOutcome,
    SweepPlan,
    SweepProgress,
    make_jobs,
    parse_grid,
    prior_state,
    run_sweep,
)

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"


def test_local_and_ray_sweeps_give_the_same_table(tmp_path):
    grid, seeds, overrides = ["env=[pointgoal1,pointgoal2]"], "0,1", ["total_steps=512"]
    local = run_sweep(TINY, grid, seeds, overrides, sweep_dir=tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        on_ray = run_sweep(TINY, grid, seeds, [*overrides, "launcher=ray"], sweep_dir=tmp_path / "ray")
    finally:
        ray.shutdown()
    assert [o.state for o in local.outcomes] == [o.state for o in on_ray.outcomes] == ["finished"] * 4
    assert [o.job.name for o in local.outcomes] == ["env=pointgoal1,seed=0", "env=pointgoal1,seed=1",
                                                     "env=pointgoal2,seed=0", "env=pointgoal2,seed=1"]
    assert local.rows == on_ray.rows
    assert [(r["env"], r["variant"], r["seeds"]) for r in local.rows] == [
        ("PointGoal1", "-", 2), ("PointGoal2", "-", 2), ("all (2 envs)", "-", None)]
    first = local.rows[0]
    returns = [o.summary["return_mean"] for o in local.outcomes[:2]]
    assert first["return_mean"] == sum(returns) / 2 and first["J_r"] is not None
    with open(local.csv_path) as handle:
        table = list(csv.DictReader(handle))
    with open(on_ray.csv_path) as handle:
        assert list(csv.DictReader(handle)) == table
    assert table[0]["env"] == "PointGoal1" and float(table[0]["return_mean"]) == first["return_mean"]
    assert (tmp_path / "ray" / "env=pointgoal2,seed=1" / "summary.json").is_file()


def test_failed_run_is_reported_and_a_rerun_skips_finished_runs(tmp_path, capsys):
    command = ["sweep", str(TINY), "--grid", "algo.activation=[tanh,sigmoid]", "--seeds", "0",
               "--sweep-dir", str(tmp_path), "total_steps=256", "launcher.workers=2"]
    assert main(command) == 1
    captured = capsys.readouterr()
    assert "unknown activation 'sigmoid'" in captured.err and "1 of 2 runs failed" in captured.err
    # the plan comes first, then one line per run as it ends and a status line after it (stderr is no terminal)
    plan, *progress = captured.err.splitlines()
    assert plan.startswith(f"sweep: 2 runs of {TINY} (algo.activation=[tanh,sigmoid] × seeds 0), 512 env steps")
    assert progress[:2] == ["  launcher: local, 2 worker processes",
                            f"  folder:   {tmp_path}  (one run directory per run; results.csv and results.md at the end)"]
    ended = [line for line in progress if line.startswith("[")]
    assert sorted(line.split()[1:3] for line in ended) == [["failed", "algo.activation=sigmoid,seed=0"],
                                                           ["finished", "algo.activation=tanh,seed=0"]]
    assert "sweep: 2/2 runs done (1 failed), 0 running, 0 waiting; 256 of 256 env steps" in progress
    assert "\x1b" not in captured.err and "\r" not in captured.err
    assert "| hazard_start-custom" not in captured.out  # env label of a customised scene
    markdown = (tmp_path / "results.md").read_text()
    assert "| algo.activation=tanh | 1 |" in markdown and "- `algo.activation=sigmoid,seed=0`: ParameterError" in markdown
    finished_summary = (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text()

    progress = io.StringIO()
    again = run_sweep(TINY, ["algo.activation=[tanh,sigmoid]"], [0], ["total_steps=256"], sweep_dir=tmp_path,
                      progress=progress)
    assert "from an earlier sweep: 1 finished (skipped), 0 to resume" in progress.getvalue()
    assert "skipped  algo.activation=tanh,seed=0 (finished before): return" in progress.getvalue()
    assert {o.job.name: o.state for o in again.outcomes} == {
        "algo.activation=tanh,seed=0": "skipped", "algo.activation=sigmoid,seed=0": "failed"}
    assert (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text() == finished_summary
    assert again.rows[0]["cost_mean"] == 50.0
    status_file = tmp_path / "algo.activation=tanh,seed=0" / "status.json"
    status = status_file.read_text()
    status_file.write_text(status[:10])  # damaged: the run is judged by its final model and summary, and skipped
    damaged = run_sweep(TINY, ["algo.activation=[tanh]"], [0], ["total_steps=256"], sweep_dir=tmp_path)
    assert [o.state for o in damaged.outcomes] == ["skipped"]
    assert (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text() == finished_summary
    status_file.write_text(status)

    # a sweep whose runs all finished before starts no workers: not even a connection to a Ray cluster that is not there
    done = run_sweep(TINY, ["algo.activation=[tanh]"], [0], ["total_steps=256", "launcher=ray",
                                                             "launcher.address=127.0.0.1:9"], sweep_dir=tmp_path)
    assert [o.state for o in done.outcomes] == ["skipped"] and not ray.is_initialized()

    # a rerun with other settings is refused before anything runs (it would skip the old run as if it were new);
    # how often a run saves does not change what it learns
    assert main(["sweep", str(TINY), "--grid", "algo.activation=[tanh]", "--seeds", "0", "--sweep-dir", str(tmp_path),
                 "total_steps=256", "algo.gamma=0.9"]) == 2
    run = tmp_path / "algo.activation=tanh,seed=0"
    assert (f"the sweep folder holds run '{run}' trained with other settings (algo.gamma: 0.99 → 0.9); delete it, "
            "or give the sweep another folder (--sweep-dir)") in capsys.readouterr().err
    saving = run_sweep(TINY, ["algo.activation=[tanh]"], [0], ["total_steps=256", "checkpoint_freq=128"],
                       sweep_dir=tmp_path)
    assert [o.state for o in saving.outcomes] == ["skipped"]
    assert (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text() == finished_summary
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text("algo: [unclosed\n")
    assert main(["sweep", str(TINY), "--grid", "algo.activation=[tanh]", "--seeds", "0", "--sweep-dir", str(tmp_path),
                 "total_steps=256"]) == 2
    assert f"the sweep folder holds run '{run}', which cannot be compared with the sweep's settings (" in (
        capsys.readouterr().err)
    (run / "config.yaml").write_text(config)


def test_sweep_input_errors(tmp_path, capsys):
    assert main(["sweep", str(TINY), "--grid", "env=[pointgoal1,pointgoal9]", "--sweep-dir", str(tmp_path)]) == 2
    assert "sweep run env=pointgoal9,seed=0: config group 'env' has no option 'pointgoal9'" in capsys.readouterr().err
    assert main(["sweep", str(TINY), "--grid", "env", "--sweep-dir", str(tmp_path)]) == 2
    assert main(["sweep", str(TINY), "--seeds", "0,x", "--sweep-dir", str(tmp_path)]) == 2
    assert main(["sweep", str(TINY), "launcher=slurm", "--sweep-dir", str(tmp_path)]) == 2
    assert "unknown launcher 'slurm'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def tiny_plan(tmp_path: Path) -> SweepPlan:
    grid = parse_grid(["env=[pointgoal1,pointgoal2]"])
    sweep_dir, jobs = make_jobs(TINY, grid, [0], ["total_steps=1000"], tmp_path)
    return SweepPlan(str(TINY), sweep_dir, jobs, grid, [0], "local", 2)


def write_status(run_dir: Path, state: str, steps: int, trained_here: bool = True) -> RunLock | None:
    """Write a run's status; for a ``running`` one trained here, hold its lock too (a run reads as running
    only while a live process holds it) and return the lock."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "status.json").write_text(json.dumps({"state": state, "steps": steps}))
    return RunLock.acquire(run_dir) if state == "running" and trained_here else None


def test_progress_reads_the_steps_of_running_runs_from_their_status_files(tmp_path):
    plan = tiny_plan(tmp_path)
    first, second = plan.jobs
    write_status(second.run_dir, "running", 900, trained_here=False)  # left behind by an earlier sweep
    stale = time.time() - 3600
    os.utime(second.run_dir / "status.json", (stale, stale))
    stream = io.StringIO()
    progress = SweepProgress(plan, stream, interval=0.0)
    lock = write_status(first.run_dir, "running", 250)
    progress.poll()
    lock.release()
    assert progress.counts() == {"finished": 0, "skipped": 0, "failed": 0, "running": 1, "waiting": 1}
    assert stream.getvalue().splitlines()[-1].startswith(
        "sweep: 0/2 runs done, 1 running, 1 waiting; 250 of 2,000 env steps, about ")
    progress.run_ended(RunOutcome(first, "finished", {"return_mean": 1.0, "cost_mean": 2.0}, seconds=75.0))
    progress.run_ended(RunOutcome(second, "failed", error="ValueError: boom", seconds=1.0))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "[1/2] finished env=pointgoal1,seed=0 (1m15s): return 1.000, cost 2.000" in lines
    assert "[2/2] failed   env=pointgoal2,seed=0 (1s): ValueError: boom" in lines
    assert lines[-1] == "sweep: 2/2 runs done (1 failed), 0 running, 0 waiting; 1,000 of 1,000 env steps"


def test_progress_on_a_terminal_is_a_tqdm_bar(tmp_path):
    plan = tiny_plan(tmp_path)
    stream = Terminal()
    progress = SweepProgress(plan, stream)
    lock = write_status(plan.jobs[0].run_dir, "running", 500)
    progress.poll()
    lock.release()
    assert progress.bar is not None and progress.bar.n == 500 and progress.bar.total == 2000
    progress.run_ended(RunOutcome(plan.jobs[0], "finished", {"return_mean": 1.0, "cost_mean": 2.0}, seconds=3.0))
    progress.close()
    output = stream.getvalue()
    assert output.startswith("sweep: 2 runs of ")
    assert "0/2 runs done, 1 running, 1 waiting  25%|" in output and "500/2.00k steps" in output
    assert "[1/2] finished env=pointgoal1,seed=0 (3s)" in output


def test_ctrl_c_stops_a_sweep_after_the_running_run_checkpoints_and_starts_no_other(tmp_path):
    """SIGINT to the sweep's process group, as a terminal's Ctrl-C sends it: the running run saves a checkpoint and
    stops as interrupted, the waiting ones never start, and the sweep exits with 130."""
    sweep_dir = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "safexp.cli", "sweep", str(TINY), "--seeds", "0,1,2",
                             "--sweep-dir", str(sweep_dir), "launcher.workers=1", "total_steps=200000",
                             "checkpoint_freq=100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # its own process group, as a terminal's foreground job
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored as here
    first_status = sweep_dir / "seed=0" / "status.json"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not first_status.is_file():
            time.sleep(0.2)
        time.sleep(2.0)  # a few updates into the first run
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:  # a sweep that did not stop is not left training
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "safexp sweep: interrupted" in stderr
    status = json.loads(first_status.read_text())
    assert status["state"] == "interrupted" and 0 < status["steps"] < 200000
    assert (sweep_dir / "seed=0" / "checkpoints" / "latest.json").is_file()  # resumable from where it stopped
    assert not (sweep_dir / "seed=1").exists() and not (sweep_dir / "seed=2").exists()
    # with its status.json damaged, the run is still resumed from its checkpoint by a rerun, not deleted
    first_status.write_text('{"state": "interr')
    _, jobs = make_jobs(TINY, [], [0], ["total_steps=200000", "checkpoint_freq=100000"], sweep_dir)
    assert prior_state(jobs[0]) == ("resumable", status["steps"])
