"""Training runs: config → registry lookup → vectorised env → learner → run directory.

:func:`train` starts a run from an experiment config, :func:`resume` continues one from its latest
checkpoint with the same config, step count, learner state (Lagrange multipliers included) and RNG streams.
While learning, the trainer

- writes the learner's scalars to TensorBoard against env steps after every update: the learner counts the
  run's costs (once, in its episode-cost monitor) and logs ``rollout/ep_rew_mean``, ``rollout/ep_cost_mean``
  (last 100 episodes) and ``rollout/cost_rate`` (Safety Gym's training cost rate = all cost / all env steps);
- evaluates the deterministic policy every ``eval_freq`` steps (``eval/return_mean``, ``eval/cost_mean``, ...);
- counts the run's *lifetime cost*, the cost of every env step this run trained on (the sum of the step infos'
  ``cost``), and logs it as ``deployment/lifetime_cost`` after every update and to ``lifetime_cost.csv``
  (:class:`LifetimeCost`): in a run that starts from another run's learner (``init_from``) it counts the new
  env's cost only, Knight & Achiam's "total accumulated cost" in the deployment env;
- checkpoints after the update of a rollout, every ``checkpoint_freq`` steps and when it stops, so a crash or
  ``kill -9`` at any point loses at most the steps since the last checkpoint;
- locks the run directory while it trains (:class:`~safexp_experiments.runs.RunLock`);
- stops cleanly on Ctrl-C (SIGINT; ``safexp train`` forwards SIGTERM to it): it finishes the rollout and its
  update, saves a checkpoint and marks the run ``interrupted``;
- shows a progress bar with steps/s, episode return and cost.

A finished run saves ``model.zip`` and evaluates it (``summary.json``).
"""

from __future__ import annotations

import csv
import functools
import io
import random
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from safexp.plugin import Learner, SafexpError, get_registry
from safexp_experiments.config import ExperimentConfig, describe_changes, load_config
from safexp_experiments.envs import env_label, make_env
from safexp_experiments.evaluation import EVAL_SEED_OFFSET, evaluation_report, run_episodes, train_cost_rate
from safexp_experiments.runs import RunDir, RunDirError, atomic_write_text, write_json
from safexp_sb3.learner import SB3Learner

TENSORBOARD_TAGS = {
    "return": "rollout/ep_rew_mean",
    "cost": "rollout/ep_cost_mean",
    "cost_rate": "rollout/cost_rate",
    "eval_return": "eval/return_mean",
    "eval_cost": "eval/cost_mean",
    "lifetime_cost": "deployment/lifetime_cost",
}
"""The scalars of a run's TensorBoard files that ``safexp plot`` reads back: the training ones the learner logs
(``safexp_sb3.costs.TENSORBOARD_TAGS`` and stable-baselines3's ``rollout/ep_rew_mean``), the evaluation ones
the trainer logs (``deployment/lifetime_cost``: see :class:`LifetimeCost`)."""

LIFETIME_COST_FILE = "lifetime_cost.csv"
"""The run's training episodes and lifetime cost as CSV (``step,episodes,episode_return,episode_cost,lifetime_cost``):
a row per finished episode, and one at the last step (:class:`LifetimeCost`)."""


@dataclass(frozen=True)
class RunResult:
    """What a call to :func:`train` or :func:`resume` did: the run directory, the state it ended in
    (``finished`` or ``interrupted``), the env steps done and, when finished, the final evaluation."""

    run_dir: Path
    state: str
    steps: int
    summary: dict[str, Any] | None


@dataclass
class TrainerState:
    """What a checkpoint keeps besides the learner: the schedule counters and the RNG streams."""

    next_eval: int = 0
    next_checkpoint: int = 0
    lifetime_cost: float = 0.0
    """The cost of every env step of this run so far (:class:`LifetimeCost`)."""
    episodes: int = 0
    """Training episodes this run finished so far."""

    def to_dict(self, learner: Learner) -> dict[str, Any]:
        """The counters, the learner's step count and training cost rate (for reports; the learner keeps the cost
        count itself) plus the current Python, NumPy and learner RNG states."""
        return {"env_steps": learner.num_timesteps, "train_cost_rate": learner.cost_rate(),
                "next_eval": self.next_eval, "next_checkpoint": self.next_checkpoint,
                "lifetime_cost": self.lifetime_cost, "episodes": self.episodes, "rng": {
                    "python": random.getstate(), "numpy": np.random.get_state(), "learner": learner.rng_state()}}

    @classmethod
    def restore(cls, saved: Mapping[str, Any], learner: Learner) -> TrainerState:
        """Counters from a checkpoint; also puts the saved RNG streams back in place."""
        random.setstate(saved["rng"]["python"])
        np.random.set_state(saved["rng"]["numpy"])
        learner.set_rng_state(saved["rng"]["learner"])
        return cls(int(saved["next_eval"]), int(saved["next_checkpoint"]), float(saved.get("lifetime_cost", 0.0)),
                   int(saved.get("episodes", 0)))


# -- the public entry points ------------------------------------------------------------------------------
def train(config: Any, overrides: Sequence[str] = (), *, search_root: str | Path | None = None) -> RunResult:
    """Train a learner as an experiment config says, in a new run directory.

    :param config: an experiment file or name, a mapping of config keys, or an :class:`ExperimentConfig`.
    :param overrides: dot-list overrides (``algo.cost_limit=10``, ``env=pointgoal2``, ``seed=3``).
    :param search_root: an extra config root searched first for experiment names and ``defaults:``.
    :return: the :class:`RunResult`; an interrupted run can be continued with :func:`resume`.
    """
    cfg = load_config(config, overrides, search_root)
    spec = _algorithm(cfg)
    learner = _learner_from_run(cfg, spec) if cfg.run.init_from is not None else _new_learner(cfg, spec)
    try:
        explicit = cfg.run.name is not None
        name = cfg.run.name or f"{env_label(cfg.env)}_{cfg.algo}_s{cfg.run.seed}_{datetime.now():%Y%m%d-%H%M%S}"
        run = RunDir.create(cfg.run.out_dir, name, cfg.to_yaml(), unique=not explicit)
    except BaseException:
        learner.close()
        raise
    start = learner.num_timesteps  # 0, or the steps of the run it starts from (init_from)
    return _learn(run, cfg, learner, TrainerState(next_eval=start + cfg.run.eval_freq,
                                                  next_checkpoint=start + cfg.run.checkpoint_freq))


def _learner_from_run(cfg: ExperimentConfig, spec: Any) -> Learner:
    """The trained learner of the finished run ``cfg.run.init_from`` (its final checkpoint: weights, critics,
    multipliers, optimiser states, normaliser statistics, replay buffer), on new envs of ``cfg``.

    :raises RunDirError: when that run is not finished, ended at or past this run's ``total_steps``, used another
        algorithm, or its spaces differ from the env's.
    """
    source, _ = RunDir.source(cfg.run.init_from, cfg.run.total_steps)
    source_cfg = load_config(source.config_source())
    if source_cfg.algo != cfg.algo:
        raise RunDirError(f"init_from: run '{source.path}' trained '{source_cfg.algo}', this run is for '{cfg.algo}'; "
                          "a learner can only go on as the algorithm it is")
    differing = describe_changes(source_cfg.to_dict()["algo"], cfg.to_dict()["algo"], prefix="algo.")
    if differing:  # the learner goes on with its saved hyperparameters: others here would be silently ignored
        raise RunDirError(f"init_from: this run's algo settings differ from those of run '{source.path}', which "
                          f"its learner keeps: {differing}")
    checkpoint = source.latest_checkpoint()
    if checkpoint is None:
        raise RunDirError(f"init_from: run '{source.path}' has no checkpoint to start from")
    try:
        learner = _saved_learner(cfg, spec, str(checkpoint.model), cfg.run.seed, fresh_streams=True)
    except (ValueError, SafexpError) as exc:  # stable-baselines3 raises ValueError for spaces that differ
        raise RunDirError(f"init_from: the learner of run '{source.path}' cannot act in this run's env: {exc}") from None
    try:
        if checkpoint.replay_buffer is not None:
            learner.load_replay_buffer(str(checkpoint.replay_buffer))
    except BaseException:
        learner.close()
        raise
    return learner


def resume(run_dir: str | Path) -> RunResult:
    """Continue an interrupted (or killed) run from its newest intact checkpoint, with its own config.

    The run is locked first, so a second resume of it fails while this one trains. The envs restart from fresh
    episodes seeded with ``seed + steps``, so resuming one checkpoint twice gives the same continuation.

    :raises RunLockedError: when another live process trains in the run (naming its pid).
    :raises RunDirError: when the run has no intact checkpoint or has already finished.
    """
    run = RunDir.open(run_dir)
    run.acquire_lock()
    try:
        if run.finished():
            raise RunDirError(f"run '{run.path}' has already finished ({run.status()['steps']} steps); to train it "
                              f"longer, start a new run from it: safexp train {run.path / 'config.yaml'} "
                              f"init_from={run.path} total_steps=N name=NEW_NAME")
        checkpoint = run.latest_checkpoint()
        if checkpoint is None:
            raise RunDirError(f"run '{run.path}' has no checkpoint to resume from")
        run.repair(checkpoint)
        cfg = load_config(run.config_source())
        spec = _algorithm(cfg)
        learner = _saved_learner(cfg, spec, str(checkpoint.model), cfg.run.seed + checkpoint.step)
    except BaseException:
        run.release_lock()
        raise
    try:
        if checkpoint.replay_buffer is not None:
            learner.load_replay_buffer(str(checkpoint.replay_buffer))
        state = TrainerState.restore(checkpoint.trainer_state(), learner)
    except BaseException:
        learner.close()
        run.release_lock()
        raise
    return _learn(run, cfg, learner, state)


def _algorithm(cfg: ExperimentConfig) -> Any:
    """The run's algorithm record; in strict mode (``strict_plugins``, the default) any plugin that failed to
    load, or a name two plugins register, stops the run before it starts."""
    registry = get_registry()
    if cfg.run.strict_plugins:
        registry.check()
    return registry.get("algorithms", cfg.algo)


def _new_learner(cfg: ExperimentConfig, spec: Any) -> Learner:
    """The run's learner on its own vectorised envs, or fed by Ray actors when ``actors.num`` > 0."""
    if cfg.run.actors.num:
        from safexp_sb3.actor_learner import RayActorLearner

        return RayActorLearner.create_actor_learner(spec, cfg.algo_params, _env_factory(cfg), _actor_layout(cfg),
                                                    cfg.run.seed, cfg.run.device, cfg.run.torch_threads)
    return SB3Learner.create(spec, cfg.algo_params, _env_factory(cfg), cfg.run.n_envs, cfg.run.vec_env,
                             cfg.run.seed, cfg.run.device, cfg.run.torch_threads)


def _saved_learner(cfg: ExperimentConfig, spec: Any, path: str, seed: int, fresh_streams: bool = False) -> Learner:
    """A checkpointed learner continued as :func:`_new_learner` would build it, its envs seeded from ``seed``; with
    ``fresh_streams`` (a new run from another's checkpoint) all its random streams are (``SB3Learner.load``)."""
    if cfg.run.actors.num:
        from safexp_sb3.actor_learner import RayActorLearner

        return RayActorLearner.load_actor_learner(spec, path, _env_factory(cfg), _actor_layout(cfg), seed,
                                                  cfg.run.device, cfg.run.torch_threads, fresh_streams)
    return SB3Learner.load(spec, path, _env_factory(cfg), cfg.run.n_envs, cfg.run.vec_env, seed, cfg.run.device,
                           cfg.run.torch_threads, fresh_streams)


def _actor_layout(cfg: ExperimentConfig) -> Any:
    """The run's ``actors`` keys as the actor–learner mode takes them."""
    from safexp_sb3.actor_learner import ActorLayout

    actors = cfg.run.actors
    return ActorLayout(actors.num, actors.envs_per_actor, actors.sync_every, actors.address, actors.cpus_per_actor)


def _env_factory(cfg: ExperimentConfig) -> Any:
    """A picklable zero-argument builder of the run's env (for subprocess envs too)."""
    return functools.partial(make_env, cfg.env, scene=cfg.scene)


# -- the learning loop ------------------------------------------------------------------------------------
def _learn(run: RunDir, cfg: ExperimentConfig, learner: Learner, state: TrainerState) -> RunResult:
    """Train ``learner`` in ``run`` (whose lock this process holds, and releases here, however it ends)."""
    try:
        learner.log_to(str(run.tensorboard_dir))
        eval_env = make_env(cfg.env, scene=cfg.scene)
    except BaseException:
        learner.close()
        run.release_lock()
        raise
    stop = threading.Event()
    plugin_callbacks = [callback for callbacks in get_registry().call_each(
        "safexp_training_callbacks", algorithm=cfg.algo, run_dir=str(run.path)) for callback in callbacks]
    planned = planned_steps(cfg.run.total_steps, learner.num_timesteps, learner.steps_per_collection)
    if planned != cfg.run.total_steps:
        print(f"total_steps {cfg.run.total_steps:,} is not a multiple of the {learner.steps_per_collection:,} steps of a "
              f"collection phase: will run {planned:,} steps", file=sys.stderr)
    progress = [ProgressBar(planned, sys.stderr)] if cfg.run.progress else []
    checkpoints = PeriodicCheckpoint(state, cfg, run, stop, saved_step=learner.num_timesteps)
    lifetime = LifetimeCost(state, run.path / LIFETIME_COST_FILE, learner.num_timesteps)
    callbacks = [lifetime, WriteLogs(), PeriodicEvaluation(state, cfg, eval_env), checkpoints, *progress]
    run.set_status("running", learner.num_timesteps)
    try:
        with _sigint_sets(stop):
            learner.learn(cfg.run.total_steps, callbacks, plugin_callbacks)
        for bar in progress:
            bar.finish(learner)
        if stop.is_set():  # stopped after the checkpoint of the first update that ended after the request
            run.set_status("interrupted", checkpoints.saved_step)
            return RunResult(run.path, "interrupted", checkpoints.saved_step, None)
        lifetime.finish(learner.num_timesteps)
        if checkpoints.saved_step != learner.num_timesteps:
            run.save_checkpoint(learner, state.to_dict(learner))
        run.save_final_model(learner)
        stats = run_episodes(learner, eval_env, cfg.run.eval_episodes, cfg.run.seed + EVAL_SEED_OFFSET)
        summary = evaluation_report(cfg, stats, learner.num_timesteps, train_cost_rate(state.to_dict(learner)))
        summary["run_dir"] = str(run.path)
        summary["lifetime_cost"] = state.lifetime_cost
        write_json(run.summary_file, summary)
        run.set_status("finished", learner.num_timesteps)
        return RunResult(run.path, "finished", learner.num_timesteps, summary)
    except KeyboardInterrupt:
        run.set_status("interrupted", checkpoints.saved_step)
        raise
    except BaseException as exc:
        run.set_status("failed", checkpoints.saved_step, error=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc())
        raise
    finally:
        eval_env.close()
        learner.close()
        run.release_lock()


def planned_steps(total_steps: int, done: int, per_collection: int) -> int:
    """The step count a learner stops at when asked for ``total_steps`` with ``done`` behind it: whole collection
    phases of ``per_collection`` steps from ``done`` until ``total_steps`` is reached."""
    if done >= total_steps:
        return done
    return done + -(-(total_steps - done) // per_collection) * per_collection


@contextmanager
def _sigint_sets(stop: threading.Event) -> Iterator[None]:
    """While active, the first SIGINT (Ctrl-C; ``safexp train`` forwards SIGTERM here too) sets ``stop``: the
    trainer then checkpoints and returns. A second one interrupts at once. Only the main thread can own signal
    handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        print(f"\nsafexp: {signal.Signals(signum).name}: stopping after this rollout's update and saving a checkpoint "
              f"({again} again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# -- the runner's callbacks (safexp.plugin.TrainingCallback) ----------------------------------------------
class WriteLogs:
    """After each update, writes the learner's scalars (its training return and cost tags among them) at the
    learner's step."""

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        return True

    def on_update_end(self, learner: Learner) -> None:
        learner.dump(learner.num_timesteps)


class LifetimeCost:
    """Counts the run's lifetime cost, the cost of every env step it trains on (the sum of the step infos'
    ``cost``, 0 for a step without one), in ``state`` (so checkpoints keep it), with the training episodes
    finished. Records ``deployment/lifetime_cost`` before each update's logs are written; appends a row to
    ``csv_path`` (:data:`LIFETIME_COST_FILE`) for every training episode that ends — its step, the episodes so far,
    its return (stable-baselines3's ``Monitor``) and cost, and the lifetime cost — and, through :meth:`finish`,
    one at the run's last step (without an episode's figures).

    :param start_step: the step the run (re)starts from: rows after it, left by a run killed after its last
        checkpoint, are dropped, since the resumed run writes them again; its envs start new episodes.
    """

    COLUMNS = ("step", "episodes", "episode_return", "episode_cost", "lifetime_cost")

    def __init__(self, state: TrainerState, csv_path: Path, start_step: int) -> None:
        self.state, self.csv_path = state, csv_path
        self.episode_costs: list[float] = []
        """The cost of each env's running episode."""
        rows = read_lifetime_cost(csv_path) if csv_path.is_file() else []
        kept = [row for row in rows if row["step"] <= start_step]
        # written whole, so that rows are appended after whole rows (a kill during an append cuts the last short)
        atomic_write_text(csv_path, ",".join(self.COLUMNS) + "\n" + "".join(self._line(**row) for row in kept))
        self.last_row_step = kept[-1]["step"] if kept else None

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        if len(self.episode_costs) != len(infos):
            self.episode_costs = [0.0] * len(infos)
        for index, info in enumerate(infos):
            cost = float(info.get("cost", 0.0))
            self.state.lifetime_cost += cost
            self.episode_costs[index] += cost
        ended = [index for index, info in enumerate(infos) if "episode" in info]  # the Monitor: an episode ended
        if ended:
            with open(self.csv_path, "a", encoding="utf-8") as file:
                for index in ended:
                    self.state.episodes += 1
                    file.write(self._line(learner.num_timesteps, self.state.episodes,
                                          float(infos[index]["episode"]["r"]), self.episode_costs[index],
                                          self.state.lifetime_cost))
                    self.episode_costs[index] = 0.0
            self.last_row_step = learner.num_timesteps
        return True

    def on_update_end(self, learner: Learner) -> None:
        learner.record(TENSORBOARD_TAGS["lifetime_cost"], self.state.lifetime_cost)

    def finish(self, step: int) -> None:
        """Append the row of the run's last ``step``, unless an episode's row already has it."""
        if step != self.last_row_step:
            with open(self.csv_path, "a", encoding="utf-8") as file:
                file.write(self._line(step, self.state.episodes, None, None, self.state.lifetime_cost))
            self.last_row_step = step

    @staticmethod
    def _line(step: int, episodes: int, episode_return: float | None, episode_cost: float | None,
              lifetime_cost: float) -> str:
        figures = ["" if value is None else repr(value) for value in (episode_return, episode_cost, lifetime_cost)]
        return f"{step},{episodes},{','.join(figures)}\n"


def read_lifetime_cost(csv_path: str | Path) -> list[dict[str, Any]]:
    """The rows of a run's ``lifetime_cost.csv``: ``step`` and ``episodes`` (int), ``episode_return`` and
    ``episode_cost`` (float, ``None`` in the last step's row), ``lifetime_cost`` (float). The file is appended to
    a row at a time, each ending in a newline: a last row without one was cut short by a kill and is left out."""
    def number(text: str) -> float | None:
        return float(text) if text else None

    text = Path(csv_path).read_text(encoding="utf-8")
    whole_rows = io.StringIO(text[:text.rfind("\n") + 1])
    return [{"step": int(row["step"]), "episodes": int(row["episodes"]),
             "episode_return": number(row["episode_return"]), "episode_cost": number(row["episode_cost"]),
             "lifetime_cost": float(row["lifetime_cost"])} for row in csv.DictReader(whole_rows)]


class PeriodicEvaluation:
    """Every ``eval_freq`` env steps, play ``eval_episodes`` deterministic episodes and log their figures."""

    def __init__(self, state: TrainerState, cfg: ExperimentConfig, env: Any) -> None:
        self.state, self.cfg, self.env = state, cfg, env

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        freq, steps = self.cfg.run.eval_freq, learner.num_timesteps
        if freq and steps >= self.state.next_eval:
            while self.state.next_eval <= steps:
                self.state.next_eval += freq
            stats = run_episodes(learner, self.env, self.cfg.run.eval_episodes, self.cfg.run.seed + EVAL_SEED_OFFSET)
            figures = stats.summary()
            for key in ("return_mean", "return_std", "cost_mean", "cost_std"):
                learner.record(f"eval/{key}", figures[key])
            learner.dump(steps)
        return True

    def on_update_end(self, learner: Learner) -> None:
        pass


class PeriodicCheckpoint:
    """Save a checkpoint after the update of a rollout (so it keeps everything collected until then, the
    multiplier step included) every ``checkpoint_freq`` env steps, and after the first update that ends once
    ``stop`` is set (by Ctrl-C); then end learning at the next step. At most every :attr:`STATUS_SECONDS`,
    record the steps done in the run's status (a sweep's progress display reads it).

    :param saved_step: the step of the checkpoint the run starts from (0 for a new run).
    """

    STATUS_SECONDS = 10.0

    def __init__(self, state: TrainerState, cfg: ExperimentConfig, run: RunDir, stop: threading.Event,
                 saved_step: int) -> None:
        self.state, self.cfg, self.run, self.stop = state, cfg, run, stop
        self.saved_step = saved_step
        """The step of the newest checkpoint of the run (what a resume continues from)."""
        self.saved_for_stop = False
        self.status_written = time.monotonic()

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        return not self.saved_for_stop

    def on_update_end(self, learner: Learner) -> None:
        freq, steps = self.cfg.run.checkpoint_freq, learner.num_timesteps
        stopping = self.stop.is_set()
        checkpoint = stopping or (freq and steps >= self.state.next_checkpoint)
        if checkpoint:
            while freq and self.state.next_checkpoint <= steps:
                self.state.next_checkpoint += freq
            if steps != self.saved_step:
                self.run.save_checkpoint(learner, self.state.to_dict(learner))
                self.saved_step = steps
            self.saved_for_stop = stopping
        if checkpoint or time.monotonic() - self.status_written >= self.STATUS_SECONDS:
            self.run.set_status("running", steps)
            self.status_written = time.monotonic()


class ProgressBar:
    """A one-line progress bar on ``stream``: steps, steps/s, mean episode return and cost, time left.

    On a terminal it redraws in place a few times a second; otherwise it prints a line every 10 % of the run.
    """

    WIDTH = 24

    def __init__(self, total_steps: int, stream: TextIO) -> None:
        self.total, self.stream = total_steps, stream
        self.interactive = stream.isatty()
        self.last_draw = 0.0
        self.start_time: float | None = None
        self.start_steps = self.next_line = 0
        self.printed_at = -1
        self.steps = 0

    def on_step(self, learner: Learner, infos: Sequence[Mapping[str, Any]]) -> bool:
        now, self.steps = time.perf_counter(), learner.num_timesteps
        if self.start_time is None:
            self.start_time, self.start_steps = now, self.steps  # the clock starts after the first step
            self.next_line = self.start_steps
        if self.interactive and now - self.last_draw >= 0.25:
            self.last_draw = now
            self.stream.write("\r" + self.line(learner, now))
            self.stream.flush()
        elif not self.interactive and self.steps >= self.next_line:
            while self.next_line <= self.steps:
                self.next_line += max(self.total // 10, 1)
            self.stream.write(self.line(learner, now) + "\n")
            self.stream.flush()
            self.printed_at = self.steps
        return True

    def on_update_end(self, learner: Learner) -> None:
        pass

    def finish(self, learner: Learner) -> None:
        """Draw the final line (the runner calls this when learning stops)."""
        if self.start_time is not None and (self.interactive or self.printed_at != self.steps):
            self.stream.write(("\r" if self.interactive else "") + self.line(learner, time.perf_counter()) + "\n")
            self.stream.flush()

    def line(self, learner: Learner, now: float) -> str:
        """The bar's text at time ``now``."""
        done = min(self.steps, self.total)
        filled = int(self.WIDTH * done / max(self.total, 1))
        elapsed = now - (self.start_time or now)
        rate = (self.steps - self.start_steps) / elapsed if elapsed >= 0.5 else 0.0  # no rate from one step
        episodes = learner.recent_episodes()
        ret = f"{np.mean([r for r, _ in episodes]):8.2f}" if episodes else "       -"
        cost = f"{np.mean([c for _, c in episodes]):7.2f}" if episodes else "      -"
        speed = f"{rate:7,.0f}" if rate > 0 else "      -"
        eta = f"{int((self.total - done) / rate) // 60}m{int((self.total - done) / rate) % 60:02d}s" if rate > 0 else "-"
        return (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:>10,}/{self.total:,} steps "
                f"{speed} steps/s  return {ret}  cost {cost}  eta {eta}")
