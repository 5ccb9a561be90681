"""A run whose ``total_steps`` is not a whole number of rollouts says at its start how many steps it will run, and
its progress bar counts to that number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from safexp.cli import main
from safexp_experiments.training import planned_steps

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"


@pytest.mark.parametrize(("total", "done", "per_collection", "planned"), [
    (20_000, 0, 2_048, 20_480),  # ten rollouts fall short, the eleventh passes
    (20_480, 0, 2_048, 20_480),
    (1, 0, 64, 64),
    (300, 128, 64, 320),  # a resumed run goes on in whole rollouts from where it stopped
    (100, 128, 64, 128),  # nothing left to do
])
def test_learning_stops_at_the_first_whole_collection_phase_past_total_steps(total, done, per_collection, planned):
    assert planned_steps(total, done, per_collection) == planned


def test_the_run_announces_the_real_step_count_and_the_bar_counts_to_it(tmp_path, capsys):
    code = main(["train", str(TINY), f"out_dir={tmp_path}", "name=run", "total_steps=100", "algo.n_steps=64",
                 "progress=true"])
    err = capsys.readouterr().err
    assert code == 0
    assert "total_steps 100 is not a multiple of the 64 steps of a collection phase: will run 128 steps" in err
    bars = re.findall(r"\] +([\d,]+)/([\d,]+) steps", err)
    assert bars and {total for _, total in bars} == {"128"} and bars[-1][0] == "128"
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 128
