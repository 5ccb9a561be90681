"""Safety Gym's normalised metrics against hand-computed values, the reference table, and the sweep table."""

from __future__ import annotations

import math

import pytest

from safexp_experiments.metrics import NormalizedMetrics, normalize, reference_table, suite_aggregates
from safexp_experiments.sweep import RunOutcome, SweepJob, markdown_table, table_rows


def test_reference_table_holds_the_published_figures():
    table = reference_table()
    assert table.cost_limit == 25
    assert len(table.references) == 18
    point_goal1 = table.references["PointGoal1"]
    assert (point_goal1.episode_return, point_goal1.episode_cost, point_goal1.cost_rate) == (25.179, 53.109, 0.063)
    doggo_push2 = table.references["DoggoPush2"]
    assert (doggo_push2.episode_return, doggo_push2.episode_cost, doggo_push2.cost_rate) == (1.193, 88.774, 0.097)
    assert table.subsets["SG6"] == ("CarGoal1", "DoggoGoal1", "PointButton1", "PointGoal1", "PointGoal2", "PointPush1")
    assert set(table.subsets["SG18"]) == set(table.references)


def test_normalisation_by_hand():
    # PointGoal1: R_ref 25.179, C_ref 53.109, rho_ref 0.063
    m = normalize("PointGoal1", episode_return=12.5895, episode_cost=39.0545, cost_rate=0.0315)
    assert m.normalized_return == pytest.approx(0.5)            # 12.5895 / 25.179
    assert m.normalized_violation == pytest.approx(0.5)         # (39.0545 - 25) / (53.109 - 25) = 14.0545 / 28.109
    assert m.normalized_cost_rate == pytest.approx(0.5)         # 0.0315 / 0.063
    # at or below the limit there is no violation
    assert normalize("PointGoal1", 10.0, 25.0, 0.0).normalized_violation == 0.0
    # PointPush1 (C_ref 47.804): cost 60 -> 35 / 22.804
    assert normalize("PointPush1", 0.0, 60.0, 0.0).normalized_violation == pytest.approx(35 / 22.804)
    # envs without reference scores get no metrics
    assert normalize("PointGoal0", 1.0, 0.0, 0.0) is None


def test_suite_aggregates_average_over_the_subset():
    sg6 = reference_table().subsets["SG6"]
    per_env = {env: NormalizedMetrics(float(i), 2.0 * i, 0.5) for i, env in enumerate(sg6)}
    rows = suite_aggregates(per_env)
    assert list(rows) == ["SG6"]  # exactly SG6: no separate "all" row
    assert rows["SG6"] == NormalizedMetrics(2.5, 5.0, 0.5)  # mean of 0..5, of 0..10 step 2, of 0.5
    partial = suite_aggregates({"PointGoal1": NormalizedMetrics(1.0, 0.0, 1.0), "PointGoal2": NormalizedMetrics(0.0, 1.0, 0.0)})
    assert partial == {"all (2 envs)": NormalizedMetrics(0.5, 0.5, 0.5)}


def _outcome(env: str, algo: str, seed: int, ret: float, cost: float, rate: float) -> RunOutcome:
    metrics = normalize(env, ret, cost, rate)
    summary = {"env": env, "suite_env": env, "return_mean": ret, "cost_mean": cost, "train_cost_rate": rate,
               "metrics": metrics.as_dict() if metrics else None}
    job = SweepJob(f"env={env},algo={algo},seed={seed}", (("env", env.lower()), ("algo", algo)), seed, {})
    return RunOutcome(job, "finished", summary)


def test_sweep_table_rows_by_hand():
    outcomes = [
        _outcome("PointGoal1", "ppo_lag", 0, 10.0, 30.0, 0.03),
        _outcome("PointGoal1", "ppo_lag", 10, 20.0, 20.0, 0.05),
        _outcome("PointGoal2", "ppo_lag", 0, 5.0, 100.0, 0.1),
        RunOutcome(SweepJob("env=pointgoal2,algo=ppo_lag,seed=10", (("env", "pointgoal2"), ("algo", "ppo_lag")), 10, {}),
                   "failed", error="ValueError: boom"),
    ]
    rows = table_rows(outcomes)
    first, second, aggregate = rows
    assert (first["env"], first["variant"], first["seeds"]) == ("PointGoal1", "algo=ppo_lag", 2)
    assert first["return_mean"] == 15.0 and first["return_std"] == 5.0
    assert first["cost_mean"] == 25.0 and first["cost_std"] == 5.0
    assert first["J_r"] == pytest.approx((10 / 25.179 + 20 / 25.179) / 2)
    assert first["M_c"] == pytest.approx((5 / 28.109 + 0.0) / 2)          # seed 0 violates by 5, seed 10 not
    assert first["rho_c"] == pytest.approx((0.03 / 0.063 + 0.05 / 0.063) / 2)
    assert second["seeds"] == 1 and second["M_c"] == pytest.approx(75 / 171.736)
    assert aggregate["env"] == "all (2 envs)" and aggregate["seeds"] is None
    assert aggregate["J_r"] == pytest.approx((first["J_r"] + second["J_r"]) / 2)
    text = markdown_table(rows, outcomes)
    assert "| PointGoal1 | algo=ppo_lag | 2 | 15.000 ± 5.000 | 25.000 ± 5.000 |" in text
    assert "1 failed run(s):" in text and "- `env=pointgoal2,algo=ppo_lag,seed=10`: ValueError: boom" in text
    assert all(not math.isnan(v) for row in rows for v in row.values() if isinstance(v, float))
