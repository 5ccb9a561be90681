"""Run directories: what a training run leaves on disk, written so that a crash never leaves a torn file.

Layout of one run directory::

    config.yaml            the resolved experiment config (every key, every algorithm parameter)
    status.json            {"state": running | interrupted | finished | failed, "steps": ..., "error": ...}
    tensorboard/           TensorBoard event files
    checkpoints/           step_<N>.zip (the learner), step_<N>.state.pkl (trainer state: counters, RNG
                           streams), step_<N>.replay.pkl (off-policy learners) and latest.json naming them
    model.zip              the final learner
    summary.json           the final evaluation (mean ± std return and cost, cost rate, normalised metrics)
    eval.json              the latest ``safexp eval``

Every file is written to a temporary name in its directory and moved into place with :func:`os.replace`; a
checkpoint counts once ``latest.json`` names it. A new run directory is assembled under a hidden name and
renamed when its config is written, so an invalid config or a learner that cannot be built leaves nothing.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safexp.plugin import Learner, SafexpError

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
SUMMARY_FILE = "summary.json"
EVAL_FILE = "eval.json"
MODEL_FILE = "model.zip"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
LATEST_FILE = "latest.json"


class RunDirError(SafexpError):
    """A path that is not a run directory, or a run directory without what the command needs."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and :func:`os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Checkpoint:
    """One complete checkpoint: the learner, the trainer state and (off-policy) the replay buffer."""

    step: int
    model: Path
    state: Path
    replay_buffer: Path | None

    def trainer_state(self) -> dict[str, Any]:
        """The trainer state saved with the checkpoint (counters and RNG streams)."""
        with open(self.state, "rb") as handle:
            return pickle.load(handle)


class RunDir:
    """One run directory (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- creating and opening ------------------------------------------------------------------------------
    @classmethod
    def create(cls, out_dir: str | Path, name: str, config_yaml: str, unique: bool) -> RunDir:
        """Make ``out_dir/name`` holding ``config.yaml`` and a ``running`` status, in one rename.

        :param unique: add ``-2``, ``-3``, ... when the name is taken (generated names); otherwise a taken
            name is an error.
        :raises RunDirError: when ``name`` is taken and ``unique`` is false.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{name}.", suffix=".partial"))
        try:
            atomic_write_text(staging / CONFIG_FILE, config_yaml)
            write_json(staging / STATUS_FILE, {"state": "running", "steps": 0})
            target, suffix = out / name, 1
            while True:
                try:
                    os.rename(staging, target)  # fails when target exists (and is not an empty directory)
                    return cls(target)
                except OSError:
                    if not target.exists():
                        raise
                    if not unique:
                        raise RunDirError(f"run directory '{target}' already exists; continue it with "
                                          f"`safexp train --resume {target}` or choose another name=...") from None
                    suffix += 1
                    target = out / f"{name}-{suffix}"
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory.

        :raises RunDirError: when ``path`` is missing or holds no ``config.yaml``.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise RunDirError(f"run directory '{path}' does not exist")
        if not (run.path / CONFIG_FILE).is_file():
            raise RunDirError(f"'{path}' is not a run directory (it has no {CONFIG_FILE})")
        return run

    # -- contents ------------------------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / TENSORBOARD_DIR

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def summary_file(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def eval_file(self) -> Path:
        return self.path / EVAL_FILE

    def status(self) -> dict[str, Any]:
        """The run's status record (``state``, ``steps`` and, for a failed run, ``error``)."""
        path = self.path / STATUS_FILE
        return read_json(path) if path.is_file() else {"state": "unknown", "steps": 0}

    def set_status(self, state: str, steps: int, **extra: Any) -> None:
        """Record the run's state (``running``, ``interrupted``, ``finished`` or ``failed``)."""
        write_json(self.path / STATUS_FILE, {"state": state, "steps": int(steps), **extra})

    # -- checkpoints ---------------------------------------------------------------------------------------
    def save_checkpoint(self, learner: Learner, trainer_state: dict[str, Any]) -> Checkpoint:
        """Save the learner, its replay buffer (if it has one) and ``trainer_state`` at the learner's step,
        then point ``latest.json`` at them and delete older replay buffers (the largest files)."""
        step = learner.num_timesteps
        stem = self.checkpoint_dir / f"step_{step:012d}"
        model_path, state_path = stem.with_suffix(".zip"), stem.with_suffix(".state.pkl")
        atomic_write_bytes(model_path, _serialised(learner.save))
        atomic_write_bytes(state_path, pickle.dumps(trainer_state))
        replay_path = None
        if learner.has_replay_buffer:
            replay_path = stem.with_suffix(".replay.pkl")
            atomic_write_bytes(replay_path, _serialised(learner.save_replay_buffer))
        write_json(self.checkpoint_dir / LATEST_FILE, {
            "step": step, "model": model_path.name, "state": state_path.name,
            "replay_buffer": replay_path.name if replay_path else None,
        })
        for old in self.checkpoint_dir.glob("step_*.replay.pkl"):
            if old != replay_path:
                old.unlink()
        return Checkpoint(step, model_path, state_path, replay_path)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint ``latest.json`` names, or ``None`` before the first one."""
        latest = self.checkpoint_dir / LATEST_FILE
        if not latest.is_file():
            return None
        record = read_json(latest)
        replay = record.get("replay_buffer")
        return Checkpoint(int(record["step"]), self.checkpoint_dir / record["model"],
                          self.checkpoint_dir / record["state"], self.checkpoint_dir / replay if replay else None)

    def save_final_model(self, learner: Learner) -> None:
        """Save the trained learner as ``model.zip``."""
        atomic_write_bytes(self.model_file, _serialised(learner.save))

    def policy_file(self) -> Path:
        """The learner to evaluate: the final model, else the latest checkpoint's.

        :raises RunDirError: when the run has neither yet.
        """
        if self.model_file.is_file():
            return self.model_file
        checkpoint = self.latest_checkpoint()
        if checkpoint is None:
            raise RunDirError(f"run '{self.path}' has no trained model yet (no {MODEL_FILE} and no checkpoint)")
        return checkpoint.model


def _serialised(save: Any) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()
