"""Run directories: what a training run leaves on disk, written so that a crash never leaves a torn file, read
back without running any code stored in them.

Layout of one run directory::

    config.yaml            the resolved experiment config (every key, every algorithm parameter)
    status.json            {"state": running | interrupted | finished | failed, "steps": ..., "error": ...}
    lock                   "<pid> <host>" of the process training in the run; an OS lock (flock) while it runs
    tensorboard/           TensorBoard event files
    checkpoints/           step_<N>.zip (the learner), step_<N>.state.json (trainer state: counters, RNG
                           streams), step_<N>.replay.npz (off-policy learners), step_<N>.manifest.json (the
                           sha256 and size of each of those files, and a copy of config.yaml) and latest.json
                           (the newest checkpoint's step and manifest, for tools)
    model.zip              the final learner, with model.json (its step, sha256 and size)
    summary.json           the final evaluation (mean ± std return and cost, cost rate, normalised metrics, the
                           run's lifetime cost)
    lifetime_cost.csv      step, episodes, episode_return, episode_cost, lifetime_cost: one row per training
                           episode (lifetime cost: the cost of every step the run trained on)
    eval.json              the latest ``safexp eval``

Every file is written to a temporary name in its directory and moved into place with :func:`os.replace`, with
the permissions the user's umask gives; a checkpoint counts once its manifest is written. Loading verifies
every file against its manifest: a damaged checkpoint is skipped, with a warning naming it and what was wrong,
for the newest intact one. A new run directory is assembled under a hidden name and renamed when its config is
written, so an invalid config or a learner that cannot be built leaves nothing.

The runner's own files are JSON and YAML: reading a run directory never unpickles anything of the runner's
(the learner's files are read by its plugin's ``load``). Run directories written by safexp versions that kept
the trainer state as a pickle (``step_<N>.state.pkl``) are refused with an error that says so.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safexp.plugin import Learner, SafexpError

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
LOCK_FILE = "lock"
SUMMARY_FILE = "summary.json"
EVAL_FILE = "eval.json"
MODEL_FILE = "model.zip"
MODEL_MANIFEST_FILE = "model.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
LATEST_FILE = "latest.json"
MANIFEST_SUFFIX = ".manifest.json"
CHECKPOINT_FORMAT = "safexp-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
REPLAY_BUFFERS_KEPT = 2
"""Replay buffers (the largest files) are kept for this many newest checkpoints, so a damaged newest one still
leaves an older complete checkpoint to fall back on."""


log = logging.getLogger(__name__)
"""Warnings about damaged files skipped for intact ones (shown on stderr when logging is not configured)."""


class RunDirError(SafexpError):
    """A path that is not a run directory, or a run directory without what the command needs."""


class RunLockedError(RunDirError):
    """A run directory another live process is training in."""


# -- writing files -----------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process's umask: from ``/proc/self/status`` on Linux, which leaves it alone; elsewhere by setting it
    (to the strictest value, so a file another thread creates meanwhile is never more open) and putting it back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def give_umask_mode(path: Path) -> None:
    """Give a directory made by :func:`tempfile.mkdtemp` (always 0700) the mode the user's umask gives."""
    os.chmod(path, 0o777 & ~current_umask())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and :func:`os.replace`, with
    the mode a plain ``open(path, "w")`` would give (0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
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


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files of :func:`atomic_write_bytes` that a killed process left in ``directory`` and
    its subdirectories; call it only while holding the run's lock. Returns what was deleted."""
    stale = [path for path in directory.rglob(".*.tmp") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def file_record(path: Path, data: bytes | None = None) -> dict[str, Any]:
    """``{"name", "sha256", "bytes"}`` of a file (of ``data`` when given: the bytes just written to it)."""
    data = path.read_bytes() if data is None else data
    return {"name": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def verify_file(path: Path, record: dict[str, Any]) -> str | None:
    """What is wrong with ``path`` against its manifest ``record`` (missing, wrong size, wrong sha256), or
    ``None`` when it is intact."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return f"{path.name} is missing"
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror})"
    if len(data) != record["bytes"]:
        return f"{path.name} has {len(data):,} bytes, its manifest says {record['bytes']:,}"
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        return f"{path.name} does not match its sha256 in the manifest"
    return None


# -- the trainer state as JSON -----------------------------------------------------------------------------
def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON: tuples, NumPy arrays and torch tensors (RNG states are made of them) become
    tagged objects that :func:`from_json_value` turns back into the same types, bit for bit.

    :raises TypeError: for any other type (naming it).
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"a trainer state mapping has a key that is not a string: {list(value)!r}")
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [to_json_value(item) for item in value]}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _array_record(value)}
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        return {"__tensor__": _array_record(value.detach().cpu().numpy())}
    raise TypeError(f"a checkpoint stores the trainer state as JSON and cannot store a {type(value).__qualname__}")


def from_json_value(value: Any) -> Any:
    """The inverse of :func:`to_json_value`. Builds only tuples, arrays and tensors: no stored code runs."""
    if isinstance(value, list):
        return [from_json_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tuple__"}:
        return tuple(from_json_value(item) for item in value["__tuple__"])
    if set(value) == {"__ndarray__"}:
        return _array_from_record(value["__ndarray__"])
    if set(value) == {"__tensor__"}:
        import torch

        return torch.from_numpy(_array_from_record(value["__tensor__"]))
    return {key: from_json_value(item) for key, item in value.items()}


def _array_record(array: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(array)
    if array.dtype.hasobject:
        raise TypeError("a checkpoint cannot store an array of Python objects")
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode()}


def _array_from_record(record: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(record["dtype"])
    if dtype.hasobject:
        raise ValueError("an array of Python objects")
    return np.frombuffer(base64.b64decode(record["data"]), dtype=dtype).reshape(record["shape"]).copy()


# -- the run lock ------------------------------------------------------------------------------------------
class RunLock:
    """An exclusive OS lock (:func:`fcntl.flock`) on a run directory's ``lock`` file, which holds the
    ``<pid> <host>`` of the process training in the run.

    The OS releases the lock when that process ends in any way (``kill -9`` included). A lock still held after
    its process died (by orphaned env worker processes that inherited it) is stale: the pid tells, and the
    lock file is replaced.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Lock ``run_dir`` for this process.

        :raises RunLockedError: when a live process holds the lock (naming its pid).
        """
        path = Path(run_dir) / LOCK_FILE
        for _ in range(3):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(fd)
                os.close(fd)
                if holder is not None and _alive(*holder):
                    pid, host = holder
                    where = "" if host == socket.gethostname() else f" on {host}"
                    raise RunLockedError(
                        f"run '{run_dir}' is being trained by process {pid}{where}; wait for it to end or stop it "
                        f"(kill -INT {pid}: it saves a checkpoint) before resuming") from None
                path.unlink(missing_ok=True)  # stale: held by leftovers of a dead process; start a new lock file
                continue
            try:
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    raise FileNotFoundError  # replaced by a stale-lock breaker meanwhile: lock the new file
            except FileNotFoundError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            return cls(path, fd)
        raise RunLockedError(f"run '{run_dir}' could not be locked: its lock file keeps changing")

    @staticmethod
    def holder(run_dir: Path) -> int | None:
        """The pid of the live process training in ``run_dir``, or ``None`` when none is."""
        try:
            fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            return holder[0] if holder is not None and _alive(*holder) else None
        else:
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        """Unlock (the file stays; its content is only read while it is locked)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_holder(fd: int) -> tuple[int, str] | None:
    try:
        pid, host = os.pread(fd, 4096, 0).decode().split()
        return int(pid), host
    except (ValueError, UnicodeDecodeError, OSError):
        return None


def _alive(pid: int, host: str) -> bool:
    """Whether process ``pid`` lives (always assumed for another host, where it cannot be checked)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- checkpoints -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """One complete, verified checkpoint: the learner, the trainer state, (off-policy) the replay buffer, and
    the config the run was started with."""

    step: int
    manifest: Path
    model: Path
    state: Path
    replay_buffer: Path | None
    config_yaml: str

    def trainer_state(self) -> dict[str, Any]:
        """The trainer state saved with the checkpoint (counters and RNG streams), checked against its
        manifest again, as it is read.

        :raises RunDirError: when the file changed since the checkpoint was verified.
        """
        record = read_json(self.manifest)["files"]["state"]
        data = self.state.read_bytes()
        if file_record(self.state, data) != record:
            raise RunDirError(f"{self.state} changed since its checkpoint was verified")
        try:
            return from_json_value(json.loads(data))
        except (ValueError, TypeError, KeyError) as exc:
            raise RunDirError(f"{self.state} is not a trainer state safexp can read ({exc})") from None


def _check_manifest(manifest: Path) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint a manifest describes if it and every file it names are intact, else what is wrong."""
    try:
        record = read_json(manifest)
        if record.get("format") != CHECKPOINT_FORMAT or record.get("version") != CHECKPOINT_FORMAT_VERSION:
            return None, f"{manifest.name} is not a {CHECKPOINT_FORMAT} manifest of version {CHECKPOINT_FORMAT_VERSION}"
        files, step, config_yaml = record["files"], int(record["step"]), str(record["config"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, f"{manifest.name} is unreadable or truncated"
    paths = {}
    for role in ("model", "state", "replay_buffer"):
        if files.get(role) is None:
            paths[role] = None
            continue
        path = manifest.parent / Path(files[role]["name"]).name
        problem = verify_file(path, files[role])
        if problem:
            return None, problem
        paths[role] = path
    if paths["model"] is None or paths["state"] is None:
        return None, f"{manifest.name} names no model or no state file"
    return Checkpoint(step, manifest, paths["model"], paths["state"], paths["replay_buffer"], config_yaml), None


def _warn_skipped(what: str, skipped: list[str]) -> None:
    if skipped:
        log.warning("warning: %s: skipped damaged %s", what, "; ".join(skipped))


class RunDir:
    """One run directory (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock: RunLock | None = None
        self._config_yaml: str | None = None

    # -- creating and opening ------------------------------------------------------------------------------
    @classmethod
    def create(cls, out_dir: str | Path, name: str, config_yaml: str, unique: bool) -> RunDir:
        """Make ``out_dir/name`` holding ``config.yaml`` and a ``running`` status, in one rename, locked by
        this process (:attr:`lock`; release it when training ends).

        :param unique: add ``-2``, ``-3``, ... when the name is taken (generated names); otherwise a taken
            name is an error.
        :raises RunDirError: when ``name`` is taken and ``unique`` is false.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{name}.", suffix=".partial"))
        lock = None
        try:
            give_umask_mode(staging)
            lock = RunLock.acquire(staging)  # the lock is on the file, so it moves with the rename
            atomic_write_text(staging / CONFIG_FILE, config_yaml)
            write_json(staging / STATUS_FILE, {"state": "running", "steps": 0})
            target, suffix = out / name, 1
            while True:
                try:
                    os.rename(staging, target)  # fails when target exists (and is not an empty directory)
                    lock.path = target / LOCK_FILE
                    run = cls(target)
                    run.lock, run._config_yaml = lock, config_yaml
                    return run
                except OSError:
                    if not target.exists():
                        raise
                    if not unique:
                        raise RunDirError(f"run directory '{target}' already exists; continue it with "
                                          f"`safexp train --resume {target}` or choose another name=...") from None
                    suffix += 1
                    target = out / f"{name}-{suffix}"
        except BaseException:
            if lock is not None:
                lock.release()
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run directory.

        :raises RunDirError: when ``path`` is missing or holds neither ``config.yaml`` nor checkpoints.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise RunDirError(f"run directory '{path}' does not exist")
        if not run.config_file.is_file() and not run.checkpoint_dir.is_dir():
            raise RunDirError(f"'{path}' is not a run directory (it has no {CONFIG_FILE})")
        return run

    def acquire_lock(self) -> None:
        """Lock the run for this process (:attr:`lock`) and delete what killed processes left half-written.

        :raises RunLockedError: when another live process trains in it.
        """
        self.lock = RunLock.acquire(self.path)
        remove_stale_temporaries(self.path)

    def release_lock(self) -> None:
        """Release :attr:`lock` if this process holds it."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

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

    def config_yaml(self) -> str:
        """The run's config: ``config.yaml`` when it matches the copy in the newest intact checkpoint (or when
        there is no checkpoint yet), else that copy, with a warning (:data:`log`).

        :raises RunDirError: when ``config.yaml`` is unreadable and no checkpoint holds a copy.
        """
        if self._config_yaml is None:
            try:
                text: str | None = self.config_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
            checkpoint = self._latest_checkpoint_quietly()
            if checkpoint is not None and text != checkpoint.config_yaml:
                log.warning("warning: %s is damaged or missing (it differs from the copy saved in %s); using that copy",
                            self.config_file, checkpoint.manifest.name)
                text = checkpoint.config_yaml
            if text is None:
                raise RunDirError(f"run '{self.path}' has no readable {CONFIG_FILE} and no checkpoint with a copy")
            self._config_yaml = text
        return self._config_yaml

    def config_source(self) -> Path | dict[str, Any]:
        """What to give :func:`safexp_experiments.config.load_config` for the run's config: ``config.yaml`` when
        it is intact, else the keys of the checkpoint's copy (see :meth:`config_yaml`)."""
        text = self.config_yaml()
        try:
            if self.config_file.read_text(encoding="utf-8") == text:
                return self.config_file
        except (OSError, UnicodeDecodeError):
            pass
        from omegaconf import OmegaConf

        return OmegaConf.to_container(OmegaConf.create(text), resolve=False)

    def repair(self, checkpoint: Checkpoint) -> None:
        """Before training on from ``checkpoint`` (the caller holds the lock): rewrite a damaged ``config.yaml``
        from :meth:`config_yaml` and point ``latest.json`` at ``checkpoint``."""
        text = self.config_yaml()
        try:
            intact = self.config_file.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            intact = False
        if not intact:
            atomic_write_text(self.config_file, text)
        write_json(self.checkpoint_dir / LATEST_FILE, {"step": checkpoint.step, "manifest": checkpoint.manifest.name})

    def status(self) -> dict[str, Any]:
        """The run's status record (``state``, ``steps`` and, for a failed run, ``error``).

        A run whose status says ``running`` but whose lock no live process holds was killed: it reads as
        ``interrupted`` at the step of its newest intact checkpoint (with ``"killed": true``). A missing or damaged ``status.json`` reads as ``unknown``,
        with the steps of the newest intact checkpoint.
        """
        try:
            status = read_json(self.path / STATUS_FILE)
            if not isinstance(status, dict) or not isinstance(status.get("state"), str):
                raise ValueError("not a status record")
        except (OSError, ValueError):
            checkpoint = self._latest_checkpoint_quietly()
            return {"state": "unknown", "steps": checkpoint.step if checkpoint else 0}
        if status["state"] == "running" and RunLock.holder(self.path) is None:
            checkpoint = self._latest_checkpoint_quietly()
            status = {**status, "state": "interrupted", "steps": checkpoint.step if checkpoint else 0, "killed": True}
        return status

    def set_status(self, state: str, steps: int, **extra: Any) -> None:
        """Record the run's state (``running``, ``interrupted``, ``finished`` or ``failed``)."""
        write_json(self.path / STATUS_FILE, {"state": state, "steps": int(steps), **extra})

    def finished(self) -> bool:
        """Whether the run finished: its status says so, or (status damaged) its final model and summary exist."""
        return self.finished_at() is not None

    def finished_at(self) -> int | None:
        """The env step a finished run ended at (that of its final checkpoint), ``None`` while it has not finished
        (:meth:`finished`)."""
        status = self.status()
        done = status["state"] == "finished" or (
            status["state"] == "unknown" and self.model_file.is_file() and self.summary_file.is_file())
        return int(status["steps"]) if done else None

    @classmethod
    def source(cls, init_from: str | Path, total_steps: int) -> tuple[RunDir, int]:
        """The finished run a run starts from (its ``init_from``), and the step it ended at, where the new run's
        count of env steps begins.

        :raises RunDirError: when ``init_from`` is not a run directory, has not finished, or ended at or past
            ``total_steps`` (the new run would train nothing).
        """
        source = cls.open(init_from)
        step = source.finished_at()
        if step is None:
            raise RunDirError(f"init_from: run '{source.path}' has not finished ({source.status()['state']}); finish "
                              f"it first (safexp train --resume {source.path})")
        if total_steps <= step:
            raise RunDirError(f"init_from: run '{source.path}' ended at {step:,} env steps, where this run's count "
                              f"starts; total_steps {total_steps:,} must be above it")
        return source, step

    # -- checkpoints ---------------------------------------------------------------------------------------
    def save_checkpoint(self, learner: Learner, trainer_state: dict[str, Any]) -> Checkpoint:
        """Save the learner, its replay buffer (if it has one) and ``trainer_state`` at the learner's step, then
        their manifest (the checkpoint counts from then on) and ``latest.json``; delete replay buffers older
        than the :data:`REPLAY_BUFFERS_KEPT` newest checkpoints'."""
        step = learner.num_timesteps
        stem = self.checkpoint_dir / f"step_{step:012d}"
        model_path, state_path = stem.with_suffix(".zip"), stem.with_suffix(".state.json")
        files: dict[str, Any] = {}
        model_bytes = _serialised(learner.save)
        atomic_write_bytes(model_path, model_bytes)
        files["model"] = file_record(model_path, model_bytes)
        state_bytes = (json.dumps(to_json_value(trainer_state)) + "\n").encode()
        atomic_write_bytes(state_path, state_bytes)
        files["state"] = file_record(state_path, state_bytes)
        replay_path = None
        if learner.has_replay_buffer:
            replay_path = stem.with_suffix(".replay.npz")
            replay_bytes = _serialised(learner.save_replay_buffer)
            atomic_write_bytes(replay_path, replay_bytes)
            files["replay_buffer"] = file_record(replay_path, replay_bytes)
        else:
            files["replay_buffer"] = None
        manifest = stem.with_suffix(MANIFEST_SUFFIX)
        config_yaml = self.config_yaml()
        write_json(manifest, {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_FORMAT_VERSION, "step": step,
                              "files": files, "config": config_yaml})
        write_json(self.checkpoint_dir / LATEST_FILE, {"step": step, "manifest": manifest.name})
        kept = {path.name for path in self._manifests()[:REPLAY_BUFFERS_KEPT]}
        for old in self.checkpoint_dir.glob("step_*.replay.npz"):
            if old.name.removesuffix(".replay.npz") + MANIFEST_SUFFIX not in kept:
                old.unlink()
        return Checkpoint(step, manifest, model_path, state_path, replay_path, config_yaml)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest intact checkpoint, or ``None`` before the first one. Newer damaged ones are skipped with
        a warning (:data:`log`) naming each and what is wrong with it.

        :raises RunDirError: when there are checkpoints but none is intact, or the run's checkpoints are in
            the old pickle format.
        """
        checkpoint, skipped = self._find_checkpoint()
        _warn_skipped(f"run '{self.path}'", skipped)
        return checkpoint

    def _latest_checkpoint_quietly(self) -> Checkpoint | None:
        try:
            return self._find_checkpoint()[0]
        except RunDirError:
            return None

    def _find_checkpoint(self) -> tuple[Checkpoint | None, list[str]]:
        manifests = self._manifests()
        if not manifests:
            old = sorted(self.checkpoint_dir.glob("step_*.state.pkl"))
            if old:
                raise RunDirError(
                    f"run '{self.path}' was written by an older safexp that saved the trainer state as a Python "
                    f"pickle ({old[-1].name}); loading a pickle can run any code stored in it, so safexp no longer "
                    "reads it. Start the run again with this version of safexp")
            return None, []
        skipped = []
        for manifest in manifests:
            checkpoint, problem = _check_manifest(manifest)
            if checkpoint is not None:
                return checkpoint, skipped
            skipped.append(f"checkpoint {manifest.name.removesuffix(MANIFEST_SUFFIX)} ({problem})")
        raise RunDirError(f"run '{self.path}' has no intact checkpoint: " + "; ".join(skipped))

    def _manifests(self) -> list[Path]:
        """The checkpoint manifests, newest step first."""
        return sorted(self.checkpoint_dir.glob(f"step_*{MANIFEST_SUFFIX}"), reverse=True)

    # -- the final model -----------------------------------------------------------------------------------
    def save_final_model(self, learner: Learner) -> None:
        """Save the trained learner as ``model.zip``, then its record ``model.json`` (step, sha256, size)."""
        data = _serialised(learner.save)
        atomic_write_bytes(self.model_file, data)
        write_json(self.path / MODEL_MANIFEST_FILE, {"step": learner.num_timesteps,
                                                     **file_record(self.model_file, data)})

    def policy_file(self) -> Path:
        """The learner to evaluate: the final model if it is intact, else the newest intact checkpoint's (with
        a warning (:data:`log`) when a final model was there but damaged).

        :raises RunDirError: when the run has neither.
        """
        problem = None
        if self.model_file.is_file():
            try:
                problem = verify_file(self.model_file, read_json(self.path / MODEL_MANIFEST_FILE))
            except (OSError, ValueError, KeyError, TypeError):
                problem = f"{MODEL_MANIFEST_FILE} (the record of {MODEL_FILE}) is missing or unreadable"
            if problem is None:
                return self.model_file
        checkpoint = self.latest_checkpoint()
        if checkpoint is None:
            raise RunDirError(f"run '{self.path}' has no trained model yet (no {MODEL_FILE} and no checkpoint)"
                              if problem is None else f"run '{self.path}' has a damaged {MODEL_FILE} ({problem}) "
                              "and no checkpoint")
        if problem is not None:
            log.warning("warning: run '%s': %s is damaged (%s); using checkpoint %s instead", self.path, MODEL_FILE,
                        problem, checkpoint.manifest.name.removesuffix(MANIFEST_SUFFIX))
        return checkpoint.model


def _serialised(save: Any) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()
