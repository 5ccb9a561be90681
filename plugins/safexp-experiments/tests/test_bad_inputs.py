"""Bad input, as a hostile user gives it: every row is one input and a fragment of the error it must raise.

The env API rows go through ``safexp.make`` and ``gymnasium.make`` alike; the command-line rows run ``safexp``
in this process and must end with exit code 2, one error line naming the input, no traceback, and nothing
written. Adding a case is adding a row.
"""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium
import pytest

import safexp
from safexp.cli import main
from safexp.plugin import SafexpError

NAN = math.nan
BAD_SCENE_FILE = "robot: point\ntask: goal\nhazards: {num: 3\n"
BAD_EXPERIMENT_FILE = "defaults:\n  - /env: pointgoal1\n  - /algo: ppo_lag\nseed: [1, 2\ntotal_steps: 5\n"

# (scene keys for PointGoal1, a fragment of the error)
ENV_CASES = [
    ({"robot_params": {"timestep": 10}}, "parameter 'robot_params.timestep' of robot 'point' is 10.0 (valid: (0, 0.05])"),
    ({"robot_params": {"timestep": NAN}}, "parameter 'robot_params.timestep' of robot 'point' is nan"),
    ({"robot_params": {"frame_skip": 0}}, "parameter 'robot_params.frame_skip' of robot 'point' is 0 (valid: [1, 1000])"),
    ({"lidar_max_dist": NAN}, "parameter 'lidar_max_dist' of the scene settings is nan (valid: (0, inf))"),
    ({"lidar_bins": 0}, "parameter 'lidar_bins' of the scene settings is 0 (valid: [1, 1024])"),
    ({"task_params": {"reward_clip": -1}}, "parameter 'task_params.reward_clip' of task 'goal' is -1.0 (valid: (0, inf))"),
    ({"task_params": {"goal_size": 0}}, "parameter 'task_params.goal_size' of task 'goal' is 0.0 (valid: (0, inf))"),
    ({"robot_keepout": -1}, "parameter 'robot_keepout' of the scene settings is -1.0 (valid: [0, inf))"),
    ({"action_noise": -1}, "parameter 'action_noise' of the scene settings is -1.0 (valid: [0, inf))"),
    ({"placement_margin": float("inf")}, "parameter 'placement_margin' of the scene settings is inf"),
    ({"extents": [-1, -1, NAN, 1]}, "parameter 'extents' of the scene settings is nan"),
    ({"costs": [{"name": "speed_limit", "params": {"max_speed": -1}}]},
     "parameter 'costs.speed_limit.params.max_speed' of cost 'speed_limit' is -1.0 (valid: [0, inf))"),
    ({"costs": [{"name": "vases", "params": {"velocity_threshold": NAN}}]},
     "parameter 'costs.vases.params.velocity_threshold' of cost 'vases' is nan"),
    ({"hazards": {"size": 0}}, "parameter 'hazards.size' of hazard 'hazards' is 0.0 (valid: (0, inf))"),
    ({"hazards": {"num": -1}}, "parameter 'hazards.num' of hazard 'hazards' is -1 (valid: [0, inf))"),
    ({"vases": {"density": -1}}, "parameter 'vases.density' of hazard 'vases' is -1.0 (valid: (0, inf))"),
    ({"hazards": {"num": 2, "locations": [[5, 5]]}}, "hazards.locations: [5.0, 5.0] is outside the arena extents"),
    ({"hazards": {"placements": [[0, 0, 4, 4]]}}, "hazards.placements: [0.0, 0.0, 4.0, 4.0] is outside the arena"),
    ({"robot_location": [3, 0]}, "robot_location: [3.0, 0.0] is outside the arena extents [-1.5, -1.5, 1.5, 1.5]"),
    ({"task_params": {"goal_locations": [[9, 9]]}}, "goal.locations: [9.0, 9.0] is outside the arena extents"),
    ({"render_width": 0}, "parameter 'render_width' of the scene settings is 0 (valid: [1, 8192])"),
    ({"hazards": {"num": 300}}, "no layout found in 100 tries: 'hazards"),
    ({"scene_file": "{bad_scene_file}"}, "does not parse: line 4, column 1: did not find expected ',' or '}'"),
]

# (a command line after `safexp`, a fragment of the error); `train` runs get out_dir=<a fresh directory> unless they set it
TRAIN = ["train", "pointgoal1_ppo_lag"]
CLI_CASES = [
    ([*TRAIN, "algo.n_steps=0"], "key 'algo.n_steps' (from command line 'algo.n_steps=0') is 0 (valid: [1, inf))"),
    ([*TRAIN, "algo.batch_size=0"], "key 'algo.batch_size' (from command line 'algo.batch_size=0') is 0 (valid: [2, inf))"),
    ([*TRAIN, "algo.learning_rate=-1"], "key 'algo.learning_rate' (from command line 'algo.learning_rate=-1') is -1.0"),
    ([*TRAIN, "algo.gamma=2"], "key 'algo.gamma' (from command line 'algo.gamma=2') is 2.0 (valid: [0, 1])"),
    ([*TRAIN, "algo.cost_limit=-5"], "key 'algo.cost_limit' (from command line 'algo.cost_limit=-5') is -5.0 (valid: [0, inf))"),
    ([*TRAIN, "algo.cost_limits={safety: -1}"],
     "key 'algo.cost_limits.safety' (from command line 'algo.cost_limits={safety: -1}') is -1.0 (valid: [0, inf))"),
    ([*TRAIN, "algo.target_kl=.nan"], "key 'algo.target_kl' (from command line 'algo.target_kl=.nan') is nan"),
    ([*TRAIN, "seed=-1"], "key 'seed' (from command line 'seed=-1') is -1 (valid: [0, 2147483647])"),
    ([*TRAIN, "total_steps=0"], "key 'total_steps' (from command line 'total_steps=0') is 0 (valid: [1, inf))"),
    ([*TRAIN, "device=tpu"], "key 'device' (from command line 'device=tpu') names no torch device 'tpu'; did you mean 'cpu'?"),
    ([*TRAIN, "env.robot_params.timestep=10"], "parameter 'robot_params.timestep' of robot 'point' is 10.0"),
    ([*TRAIN, "env.lidar_max_dist=.nan"], "parameter 'lidar_max_dist' of the scene settings is nan"),
    ([*TRAIN, "env.hazards.size=0"], "parameter 'hazards.size' of hazard 'hazards' is 0.0 (valid: (0, inf))"),
    ([*TRAIN, "env.hazards.num=300"], "no layout found in 100 tries"),
    ([*TRAIN, "env.hazards.num=300", "vec_env=subproc", "n_envs=2"], "no layout found in 100 tries"),
    ([*TRAIN, "env.render_camera=fixedfra"], "unknown render_camera 'fixedfra'; did you mean 'fixedfar'?"),
    ([*TRAIN, "out_dir={a_file}"], "key 'out_dir' (from command line 'out_dir={a_file}'): '{a_file}' is not a directory"),
    ([*TRAIN, "out_dir=/proc/runs"], "key 'out_dir' (from command line 'out_dir=/proc/runs'): cannot write in '/proc'"),
    ([*TRAIN, "out_dir={a_file}/runs"], "is not a directory, so nothing can be written in"),
    ([*TRAIN, "out_dir="], "key 'out_dir' (from command line 'out_dir=')"),
    (["train", "{bad_experiment_file}"],
     "cannot read config file '{bad_experiment_file}': line 5, column 12: did not find expected ',' or ']'"),
    (["render", "safexp/PointGoal1-v0", "--out", "/proc/video.gif"], "--out '/proc/video.gif': cannot write in '/proc'"),
    (["render", "safexp/PointGoal1-v0", "--out", "{a_file}/video.gif"], "'{a_file}' is not a directory"),
    (["sweep", "{bad_experiment_file}"], "cannot read config file '{bad_experiment_file}': line 5, column 12"),
    (["sweep", "pointgoal1_ppo_lag", "--grid", "seed=[1,2]", "--sweep-dir", "{runs}"],
     "--grid cannot sweep 'seed': the sweep sets each run's seed from --seeds"),
    (["sweep", "pointgoal1_ppo_lag", "--grid", "out_dir=[a,b]", "--sweep-dir", "{runs}"],
     "--grid cannot sweep 'out_dir': the runs go into the sweep's folder"),
    (["sweep", "pointgoal1_ppo_lag", "seed=3", "--sweep-dir", "{runs}"],
     "sweep override 'seed=3': the sweep sets each run's seed from --seeds"),
    (["sweep", "pointgoal1_ppo_lag", "--grid", "algo.cost_limit=[10,25,10]", "--sweep-dir", "{runs}"],
     "--grid 'algo.cost_limit=[10,25,10]' lists '10' twice; each value makes one run per seed"),
    (["sweep", "pointgoal1_ppo_lag", "init_from={runs}/base", "--sweep-dir", "{runs}"],
     "sweep run seed=0: run directory '{runs}/base' does not exist"),
    (["plot", "{a_file}", "--out", "{a_file}/curves.png"], "plot output '{a_file}/curves.png': '{a_file}' is not a directory"),
    (["plot", "{a_file}", "--out", "/proc/curves.png"], "plot output '/proc/curves.png': cannot write in '/proc'"),
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The files the cases name: malformed YAML, a plain file where a directory is expected, and the folder the runs
    would go to (it must stay absent)."""
    (tmp_path / "bad_scene.yaml").write_text(BAD_SCENE_FILE)
    (tmp_path / "bad_experiment.yaml").write_text(BAD_EXPERIMENT_FILE)
    (tmp_path / "a_file").write_text("not a directory\n")
    return {"bad_scene_file": str(tmp_path / "bad_scene.yaml"), "bad_experiment_file": str(tmp_path / "bad_experiment.yaml"),
            "a_file": str(tmp_path / "a_file"), "runs": str(tmp_path / "runs")}


def _fill(value, files: dict[str, str]):
    """``value`` with each ``{name}`` of a file in ``files`` replaced by its path."""
    if isinstance(value, str):
        for name, path in files.items():
            value = value.replace(f"{{{name}}}", path)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    return value


@pytest.mark.parametrize("make", [lambda **keys: safexp.make("point", "goal", 1, **keys),
                                  lambda **keys: gymnasium.make("safexp/PointGoal1-v0", **keys)],
                         ids=["safexp.make", "gymnasium.make"])
@pytest.mark.parametrize(("keys", "fragment"), ENV_CASES, ids=[str(case[0]) for case in ENV_CASES])
def test_a_bad_env_input_is_a_clear_error(make, keys, fragment, files):
    with pytest.raises(SafexpError) as error:
        make(**_fill(keys, files))
    assert fragment in str(error.value)


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[" ".join(case[0]) for case in CLI_CASES])
def test_a_bad_command_line_is_one_error_line_with_exit_code_2(args, fragment, files, tmp_path, capsys):
    args = [_fill(arg, files) for arg in args]
    out = tmp_path / "runs"
    if args[0] == "train" and not any(arg.startswith("out_dir=") for arg in args):
        args.append(f"out_dir={out}")
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.startswith(f"safexp {args[0]}: error: ") and captured.err.count("\n") == 1, captured.err
    assert _fill(fragment, files) in captured.err
    assert not out.exists()  # validated before anything is written
