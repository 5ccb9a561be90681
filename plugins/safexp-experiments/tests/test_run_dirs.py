"""Run directories as a hostile world leaves them: planted pickles, a second trainer, damaged files, a umask.

One small finished run (768 steps, a checkpoint every 256) is made once; each test works on a copy.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from safexp.cli import main
from safexp_experiments.config import load_config
from safexp_experiments.evaluation import evaluate
from safexp_experiments.runs import (
    RunDir,
    RunLock,
    RunLockedError,
    atomic_write_bytes,
    file_record,
    from_json_value,
    to_json_value,
)
from safexp_experiments.training import resume, train

TINY = Path(__file__).parent / "experiment_configs" / "experiment" / "tiny.yaml"
CHECKPOINTS = "checkpoints"
NEWEST, OLDER = "step_000000000768", "step_000000000512"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = train(TINY, [f"out_dir={out}", "name=run", "total_steps=768", "checkpoint_freq=256", "eval_episodes=1"])
    assert result.state == "finished" and result.steps == 768
    return result.run_dir


def interrupted_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A copy of the finished run made to look stopped after its last checkpoint (no final model or summary)."""
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    for name in ("model.zip", "model.json", "summary.json"):
        (run / name).unlink()
    RunDir(run).set_status("interrupted", 768)
    return run


class PlantedPayload:
    """Unpickling this creates ``marker``: proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


# -- safe format ---------------------------------------------------------------------------------------------
def test_rng_streams_round_trip_through_json_bit_for_bit():
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "learner": torch.get_rng_state(),
             "counters": (1, 2.5, None)}
    back = from_json_value(json.loads(json.dumps(to_json_value(state))))
    assert back["python"] == state["python"] and back["counters"] == (1, 2.5, None)
    assert back["numpy"][0] == "MT19937" and np.array_equal(back["numpy"][1], state["numpy"][1])
    assert back["numpy"][1].dtype == np.uint32 and back["numpy"][2:] == state["numpy"][2:]
    assert torch.equal(back["learner"], state["learner"]) and back["learner"].dtype == torch.uint8
    expected = (random.random(), np.random.random(), torch.rand(1).item())
    random.setstate(back["python"]), np.random.set_state(back["numpy"]), torch.set_rng_state(back["learner"])
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected
    with pytest.raises(TypeError, match="cannot store a PlantedPayload"):
        to_json_value({"rng": PlantedPayload(Path("never"))})


def test_a_planted_pickle_is_never_executed_by_eval_render_or_resume(finished_run, tmp_path, caplog):
    run = interrupted_copy(finished_run, tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(PlantedPayload(marker))
    pickle.loads(payload)  # the payload works: unpickling it makes the marker
    assert marker.is_file()
    marker.unlink()
    (run / CHECKPOINTS / f"{NEWEST}.state.json").write_bytes(payload)  # the newest checkpoint's trainer state
    (run / CHECKPOINTS / f"{NEWEST}.state.pkl").write_bytes(payload)  # and where older versions kept it

    assert main(["eval", str(run), "--episodes", "1"]) == 0
    assert main(["render", str(run), "--out", str(tmp_path / "v.gif"), "--max-steps", "2"]) == 0
    with caplog.at_level(logging.WARNING):
        result = resume(run)
    assert result.state == "finished" and result.steps == 768  # from the intact checkpoint before it
    assert f"checkpoint {NEWEST} ({NEWEST}.state.json has" in caplog.text
    assert not marker.exists()


def test_a_run_with_a_pickled_trainer_state_is_refused_naming_the_format(finished_run, tmp_path, capsys):
    run = tmp_path / "old"  # the layout of earlier safexp versions: no manifests, the state as a pickle
    (run / CHECKPOINTS).mkdir(parents=True)
    shutil.copy(finished_run / "config.yaml", run / "config.yaml")
    shutil.copy(finished_run / CHECKPOINTS / f"{NEWEST}.zip", run / CHECKPOINTS / f"{NEWEST}.zip")
    marker = tmp_path / "pwned"
    (run / CHECKPOINTS / f"{NEWEST}.state.pkl").write_bytes(pickle.dumps(PlantedPayload(marker)))
    (run / CHECKPOINTS / "latest.json").write_text(json.dumps(
        {"step": 768, "model": f"{NEWEST}.zip", "state": f"{NEWEST}.state.pkl", "replay_buffer": None}))
    (run / "status.json").write_text('{"state": "interrupted", "steps": 768}')
    for command in (["eval", str(run)], ["train", "--resume", str(run)],
                    ["render", str(run), "--out", str(tmp_path / "v.gif")]):
        assert main(command) == 2
        error = capsys.readouterr().err
        assert "older safexp that saved the trainer state as a Python pickle" in error
        assert f"{NEWEST}.state.pkl" in error and "can run any code" in error and "Traceback" not in error
    assert not marker.exists()


def test_a_forged_trainer_state_with_a_matching_manifest_is_a_clear_error(finished_run, tmp_path, capsys):
    run = interrupted_copy(finished_run, tmp_path)
    state = run / CHECKPOINTS / f"{NEWEST}.state.json"
    forged = json.loads(state.read_text())
    forged["rng"]["numpy"] = {"__ndarray__": {"dtype": "|O", "shape": [1], "data": ""}}  # an array of objects
    state.write_text(json.dumps(forged))
    manifest_path = run / CHECKPOINTS / f"{NEWEST}.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["state"] = file_record(state)  # checksums are against damage, not an attacker
    manifest_path.write_text(json.dumps(manifest))
    assert main(["train", "--resume", str(run)]) == 2
    error = capsys.readouterr().err
    assert f"{NEWEST}.state.json is not a trainer state safexp can read (an array of Python objects)" in error


# -- the lock ------------------------------------------------------------------------------------------------
HOLD_LOCK = textwrap.dedent("""
    import os, sys, time
    from safexp_experiments.runs import RunLock
    lock = RunLock.acquire(sys.argv[1])
    if sys.argv[2] == "orphan":  # a child inherits the locked file, then the locking process dies
        if os.fork():
            os._exit(0)
    print("locked", os.getpid(), flush=True)
    time.sleep(60)
""")


def hold_lock(run: Path, mode: str = "hold") -> tuple[subprocess.Popen, int]:
    """A process that locks ``run`` (``orphan``: then forks and exits), and the pid of the one holding it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run), mode], stdout=subprocess.PIPE, text=True)
    word, pid = proc.stdout.readline().split()
    assert word == "locked"
    return proc, int(pid)


def test_a_second_trainer_is_refused_naming_the_pid_until_the_first_dies(finished_run, tmp_path, capsys):
    run = interrupted_copy(finished_run, tmp_path)
    RunDir(run).set_status("running", 700)
    holder, _ = hold_lock(run)
    try:
        assert RunLock.holder(run) == holder.pid
        assert RunDir(run).status() == {"state": "running", "steps": 700}
        assert main(["train", "--resume", str(run)]) == 2  # this process is the second one
        assert f"is being trained by process {holder.pid}; wait for it to end" in capsys.readouterr().err
        assert not list((run / CHECKPOINTS).glob("step_000000001024*"))  # it wrote nothing
    finally:
        holder.kill()
        holder.wait()
    # killed (SIGKILL: no clean-up ran), the OS released its lock: the status no longer says running
    assert RunLock.holder(run) is None
    assert RunDir(run).status() == {"state": "interrupted", "steps": 768, "killed": True}
    with RunLock.acquire(run):
        assert RunLock.holder(run) == os.getpid()
    assert RunLock.holder(run) is None


def test_a_stale_lock_held_by_leftovers_of_a_dead_process_is_broken_by_its_pid(tmp_path):
    holder, orphan = hold_lock(tmp_path, "orphan")  # exits at once; its forked child keeps the lock
    holder.wait()
    dead_pid = int((tmp_path / "lock").read_text().split()[0])
    assert dead_pid == holder.pid
    try:
        assert RunLock.holder(tmp_path) is None  # held by a process, but not by the live one it names
        with RunLock.acquire(tmp_path):
            assert (tmp_path / "lock").read_text().split()[0] == str(os.getpid())
    finally:
        os.kill(orphan, signal.SIGKILL)


# -- damaged files -------------------------------------------------------------------------------------------
def halve(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {  # what is done to the newest checkpoint, and what the warning says about it
    "half model file": (lambda c: halve(c / f"{NEWEST}.zip"), f"{NEWEST}.zip has "),
    "empty model file": (lambda c: (c / f"{NEWEST}.zip").write_bytes(b""), f"{NEWEST}.zip has 0 bytes"),
    "deleted model file": (lambda c: (c / f"{NEWEST}.zip").unlink(), f"{NEWEST}.zip is missing"),
    "model file same size, other bytes": (
        lambda c: (c / f"{NEWEST}.zip").write_bytes(bytes(len((c / f"{NEWEST}.zip").read_bytes()))),
        f"{NEWEST}.zip does not match its sha256"),
    "truncated state": (lambda c: halve(c / f"{NEWEST}.state.json"), f"{NEWEST}.state.json has "),
    "truncated manifest": (lambda c: halve(c / f"{NEWEST}.manifest.json"), f"{NEWEST}.manifest.json is unreadable"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before_with_a_warning(finished_run, tmp_path, caplog,
                                                                                 damage):
    run = interrupted_copy(finished_run, tmp_path)
    harm, problem = DAMAGE[damage]
    harm(run / CHECKPOINTS)
    with caplog.at_level(logging.WARNING):
        checkpoint = RunDir(run).latest_checkpoint()
    assert checkpoint.step == 512 and checkpoint.model.name == f"{OLDER}.zip"
    assert checkpoint.trainer_state()["env_steps"] == 512
    assert f"skipped damaged checkpoint {NEWEST} ({problem}" in caplog.text


def test_resuming_past_a_damaged_checkpoint_retrains_its_steps(finished_run, tmp_path, caplog):
    run = interrupted_copy(finished_run, tmp_path)
    halve(run / CHECKPOINTS / f"{NEWEST}.zip")
    with caplog.at_level(logging.WARNING):
        result = resume(run)
    assert f"skipped damaged checkpoint {NEWEST}" in caplog.text
    assert result.state == "finished" and result.steps == 768
    checkpoint = RunDir(run).latest_checkpoint()  # the damaged one was written again, intact
    assert checkpoint.step == 768 and checkpoint.trainer_state()["env_steps"] == 768
    assert result.summary["train_cost_rate"] == 1.0  # the counters continued from step 512


def test_no_intact_checkpoint_is_a_clear_error_naming_each(finished_run, tmp_path, capsys):
    run = interrupted_copy(finished_run, tmp_path)
    for manifest in (run / CHECKPOINTS).glob("*.manifest.json"):
        halve(manifest.with_name(manifest.name.replace(".manifest.json", ".state.json")))
    assert main(["train", "--resume", str(run)]) == 2
    error = capsys.readouterr().err
    assert f"run '{run}' has no intact checkpoint: checkpoint {NEWEST} ({NEWEST}.state.json has " in error
    assert "checkpoint step_000000000256 (step_000000000256.state.json has" in error and "Traceback" not in error


def test_damaged_latest_json_status_and_config_are_survived(finished_run, tmp_path, caplog):
    run = interrupted_copy(finished_run, tmp_path)
    config = (run / "config.yaml").read_text()
    halve(run / CHECKPOINTS / "latest.json")  # a pointer for tools: safexp finds checkpoints by their manifests
    assert RunDir(run).latest_checkpoint().step == 768
    halve(run / "status.json")
    assert RunDir(run).status() == {"state": "unknown", "steps": 768}
    (run / "config.yaml").write_text(config[: config.index("\nalgo:")])  # still valid YAML: algo keys lost
    with caplog.at_level(logging.WARNING):
        source = RunDir(run).config_source()
    assert "config.yaml is damaged or missing (it differs from the copy saved in " in caplog.text
    assert load_config(source) == load_config(finished_run / "config.yaml")
    result = resume(run)
    assert result.state == "finished" and result.steps == 768
    assert (run / "config.yaml").read_text() == config  # repaired from the checkpoint's copy
    assert json.loads((run / CHECKPOINTS / "latest.json").read_text())["step"] == 768


def test_a_damaged_final_model_is_evaluated_from_the_last_checkpoint(finished_run, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    halve(run / "model.zip")
    with caplog.at_level(logging.WARNING):
        report = evaluate(run, episodes=1)
    assert "model.zip is damaged (model.zip has " in caplog.text and f"using checkpoint {NEWEST} instead" in caplog.text
    assert report["steps"] == 768 and report["cost_mean"] == 50.0


def test_off_policy_checkpoints_keep_two_replay_buffers_so_a_damaged_newest_falls_back(tmp_path, caplog):
    result = train(TINY, [f"out_dir={tmp_path}", "name=run", "algo=sac_lag", "algo.learning_starts=40",
                          "algo.buffer_size=500", "algo.batch_size=16", "algo.net_arch=[8]", "total_steps=150",
                          "checkpoint_freq=50", "eval_episodes=1"])
    assert result.state == "finished"
    checkpoints = result.run_dir / CHECKPOINTS
    assert sorted(p.name for p in checkpoints.glob("*.replay.npz")) == [
        "step_000000000100.replay.npz", "step_000000000150.replay.npz"]  # the largest files: two kept
    halve(checkpoints / "step_000000000150.replay.npz")
    with caplog.at_level(logging.WARNING):
        checkpoint = RunDir(result.run_dir).latest_checkpoint()
    assert "skipped damaged checkpoint step_000000000150 (step_000000000150.replay.npz has" in caplog.text
    assert checkpoint.step == 100 and checkpoint.replay_buffer == checkpoints / "step_000000000100.replay.npz"


# -- permissions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_and_directories_get_the_users_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        run = RunDir.create(tmp_path, "run", "seed: 0\n", unique=False)
        run.release_lock()
        atomic_write_bytes(run.checkpoint_dir / "file", b"data")
    finally:
        os.umask(previous)
    for path in (run.path, run.checkpoint_dir):
        assert path.stat().st_mode & 0o777 == 0o777 & ~umask, path
    for path in (run.config_file, run.path / "status.json", run.path / "lock", run.checkpoint_dir / "file"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


# -- kill -9 -------------------------------------------------------------------------------------------------
def newest_manifest_step(run: Path) -> int:
    names = sorted((run / CHECKPOINTS).glob("*.manifest.json"))
    return int(names[-1].name.split("_")[1].split(".")[0]) if names else 0


def kill_at_random(command: list[str], run: Path, rng: random.Random, after_step: int) -> int:
    """Start ``safexp`` with ``command``; once it has saved a checkpoint past ``after_step``, SIGKILL it at a
    random moment within the next 0.3 s. Returns the newest checkpoint step seen complete before the kill."""
    proc = subprocess.Popen([sys.executable, "-m", "safexp.cli", *command], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while newest_manifest_step(run) <= after_step:
            assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(RunLockedError, match=f"is being trained by process {proc.pid};"):
            resume(run)  # while it trains, no one else may
        time.sleep(rng.uniform(0.0, 0.3))
        seen = newest_manifest_step(run)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "it finished before the kill: make the run longer"
    return seen


def test_kill_9_at_random_points_loses_at_most_the_steps_since_the_last_checkpoint(tmp_path, caplog):
    rng = random.Random(12)
    run = tmp_path / "run"
    total = 4096  # long enough that the kill, up to 0.3 s after a checkpoint, lands while it trains: a fast machine
    seen = kill_at_random(["train", str(TINY), f"out_dir={tmp_path}", "name=run", f"total_steps={total}",
                           "checkpoint_freq=256"], run, rng, after_step=0)
    for resumed in (True, False):  # killed while training, then killed while training on after a resume
        checkpoint = RunDir(run).latest_checkpoint()
        assert checkpoint.step >= seen  # the kill damaged no complete checkpoint
        assert RunDir(run).status() == {"state": "interrupted", "steps": checkpoint.step, "killed": True}
        if resumed and checkpoint.step < total - 256:
            seen = kill_at_random(["train", "--resume", str(run)], run, rng, after_step=checkpoint.step)
    with caplog.at_level(logging.WARNING):
        result = resume(run)
    assert not caplog.text  # nothing damaged to skip
    assert result.state == "finished" and result.steps == total
    state = RunDir(run).latest_checkpoint().trainer_state()
    assert state["env_steps"] == total and state["train_cost_rate"] == 1.0  # every step counted once (cost 1 each)
    assert result.summary["train_cost_rate"] == 1.0
    assert not [path for path in run.rglob(".*.tmp")], "half-written files left behind"
    steps = sorted(int(p.name.split("_")[1].split(".")[0]) for p in (run / CHECKPOINTS).glob("*.manifest.json"))
    assert steps == list(range(256, total + 1, 256))
