"""``safexp sweep``: the same grid on the local process pool and on a real local Ray instance gives the same
table; a failing run is reported without stopping the others; a rerun skips the finished runs."""

from __future__ import annotations

import csv
from pathlib import Path

import ray

from safexp.cli import main
from safexp_experiments.sweep import run_sweep

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
    assert "| hazard_start-custom" not in captured.out  # env label of a customised scene
    markdown = (tmp_path / "results.md").read_text()
    assert "| algo.activation=tanh | 1 |" in markdown and "- `algo.activation=sigmoid,seed=0`: ParameterError" in markdown
    finished_summary = (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text()

    again = run_sweep(TINY, ["algo.activation=[tanh,sigmoid]"], [0], ["total_steps=256"], sweep_dir=tmp_path)
    assert {o.job.name: o.state for o in again.outcomes} == {
        "algo.activation=tanh,seed=0": "skipped", "algo.activation=sigmoid,seed=0": "failed"}
    assert (tmp_path / "algo.activation=tanh,seed=0" / "summary.json").read_text() == finished_summary
    assert again.rows[0]["cost_mean"] == 50.0


def test_sweep_input_errors(tmp_path, capsys):
    assert main(["sweep", str(TINY), "--grid", "env=[pointgoal1,pointgoal9]", "--sweep-dir", str(tmp_path)]) == 2
    assert "sweep run env=pointgoal9,seed=0: config group 'env' has no option 'pointgoal9'" in capsys.readouterr().err
    assert main(["sweep", str(TINY), "--grid", "env", "--sweep-dir", str(tmp_path)]) == 2
    assert main(["sweep", str(TINY), "--seeds", "0,x", "--sweep-dir", str(tmp_path)]) == 2
    assert main(["sweep", str(TINY), "launcher=slurm", "--sweep-dir", str(tmp_path)]) == 2
    assert "unknown launcher 'slurm'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
