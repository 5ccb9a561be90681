"""A training run validates its scene once and builds every env (the learner's and the evaluation's) from it."""

from __future__ import annotations

from pathlib import Path

import safexp.engine.scene as scene_module
from safexp_experiments.training import train

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"


def test_a_run_resolves_its_scene_once(tmp_path, monkeypatch):
    calls = []
    resolve = scene_module.resolve_scene

    def counted(*args, **kwargs):
        calls.append(1)
        return resolve(*args, **kwargs)

    monkeypatch.setattr(scene_module, "resolve_scene", counted)
    result = train(TINY, [f"out_dir={tmp_path}", "name=run", "total_steps=512", "n_envs=2", "eval_freq=256",
                          "eval_episodes=1"])
    assert result.state == "finished"
    assert len(calls) == 1  # not once per env: two learner envs and the evaluation env share the validated scene
