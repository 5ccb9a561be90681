"""The stable-baselines3 side of the learner contract (:class:`safexp.plugin.Learner`).

Everything the experiment runner needs from stable-baselines3 lives here, so the runner itself imports no
learning library: the vectorised envs (each env wrapped in SB3's ``Monitor``), the TensorBoard logger, and an SB3 callback that calls the runner's :class:`~safexp.plugin.TrainingCallback`
objects. :class:`SB3Learner` wraps the model an :class:`~safexp.plugin.AlgorithmSpec` factory (or ``load``)
returns — any model with the stable-baselines3 surface, first- or third-party.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import gymnasium
import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from safexp.plugin import AlgorithmSpec, SafexpError, TrainingCallback

EnvFactory = Callable[[], gymnasium.Env]


def _leave_to_the_trainer(signum: int, frame: Any) -> None:
    """An env worker's handler of Ctrl-C and SIGTERM: nothing (the trainer closes its workers, or its end closes
    their pipes). A handler, not ``SIG_IGN``, so that programs the env starts do not inherit an ignored signal."""


def _monitored(make_env: EnvFactory, in_subprocess: bool) -> EnvFactory:
    def build() -> gymnasium.Env:
        if in_subprocess:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, _leave_to_the_trainer)
        return Monitor(make_env())

    return build


def make_vec_env(make_env: EnvFactory, n_envs: int, kind: str, seed: int) -> VecEnv:
    """``n_envs`` monitored envs from ``make_env``, stepped together in this process (``kind`` ``dummy``) or one
    process each (``subproc``), seeded for their first reset with ``seed + i``."""
    subprocess = kind == "subproc"
    env_fns = [_monitored(make_env, subprocess) for _ in range(n_envs)]
    vec_env: VecEnv = SubprocVecEnv(env_fns) if subprocess else DummyVecEnv(env_fns)
    vec_env.seed(seed)
    return vec_env


def _limit_threads(torch_threads: int) -> None:
    if torch_threads:
        torch.set_num_threads(torch_threads)


class _CallbackBridge(BaseCallback):
    """Calls the runner's callbacks from inside stable-baselines3's training loop.

    stable-baselines3 has no hook after an update, but its loop always updates after a collection phase that
    ended normally, and the next thing it does is start another phase or return from ``learn``: so
    ``on_update_end`` is called at the next phase's start and by :meth:`finish` after ``learn``.
    """

    def __init__(self, learner: SB3Learner, callbacks: Sequence[TrainingCallback]) -> None:
        super().__init__()
        self.learner, self.callbacks = learner, list(callbacks)
        self.update_pending = False

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        return all([callback.on_step(self.learner, infos) for callback in self.callbacks])

    def _on_rollout_end(self) -> None:
        self.update_pending = True

    def _on_rollout_start(self) -> None:
        self.finish()

    def finish(self) -> None:
        """Call ``on_update_end`` if a collection phase ended normally since the last call (its update is done)."""
        if self.update_pending:
            self.update_pending = False
            for callback in self.callbacks:
                callback.on_update_end(self.learner)


def seed_streams(model: Any, seed: int) -> None:
    """Seed every random stream of a learner from ``seed``, as its factory seeds a new one: Python's, NumPy's and
    torch's global streams, its action space's and its envs' (stable-baselines3's ``set_random_seed``), and the
    random generator of an on-policy cost critic's own schedule (``cost_critic_rng``); ``seed`` becomes the
    learner's own (``model.seed``, which its checkpoints record)."""
    model.seed = seed  # what its checkpoints record, and a resume rebuilds it with
    model.set_random_seed(seed)
    if getattr(model, "cost_critic_rng", None) is not None:
        model.cost_critic_rng = np.random.default_rng(seed)


class SB3Learner:
    """A stable-baselines3 model behind :class:`safexp.plugin.Learner`.

    Build one with :meth:`create` (a new learner on new envs) or :meth:`load` (a saved one, on envs or
    none, for evaluation).
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def create(cls, spec: AlgorithmSpec, params: Any, make_env: EnvFactory, n_envs: int, vec_env: str, seed: int,
               device: str, torch_threads: int = 0) -> SB3Learner:
        """A new learner from ``spec.factory`` on ``n_envs`` envs.

        :param torch_threads: CPU threads torch may use (0: torch's default).
        """
        _limit_threads(torch_threads)
        envs = make_vec_env(make_env, n_envs, vec_env, seed)
        try:
            return cls(spec.factory(envs, params, seed=seed, tensorboard_log=None, verbose=0, device=device))
        except BaseException:
            envs.close()
            raise

    @classmethod
    def load(cls, spec: AlgorithmSpec, path: str, make_env: EnvFactory | None = None, n_envs: int = 1,
             vec_env: str = "dummy", seed: int = 0, device: str = "cpu", torch_threads: int = 0,
             fresh_streams: bool = False) -> SB3Learner:
        """A saved learner through ``spec.load``: on new envs to train on (``make_env``, seeded from ``seed``), or on
        none, to act.

        :param fresh_streams: seed every random stream of the learner from ``seed`` as a new learner's are
            (:func:`seed_streams`): for a new run that goes on from another run's checkpoint (``init_from``), so
            that it is as reproducible as a new one and its seed counts. Off, the learner keeps the streams of the
            checkpoint (a resume then puts the global ones back).
        """
        if spec.load is None:
            raise SafexpError(f"algorithm '{spec.name}' registers no load function, so its runs cannot be reloaded")
        _limit_threads(torch_threads)
        envs = make_vec_env(make_env, n_envs, vec_env, seed) if make_env is not None else None
        try:
            model = spec.load(path, env=envs, device=device, tensorboard_log=None)
        except BaseException:
            if envs is not None:
                envs.close()
            raise
        if fresh_streams:
            seed_streams(model, seed)
        return cls(model)

    # -- the contract ----------------------------------------------------------------------------------------
    @property
    def num_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    @property
    def steps_per_collection(self) -> int:
        model = self.model
        if hasattr(model, "n_steps"):  # on-policy: a rollout of n_steps per env
            return int(model.n_steps * model.n_envs)
        frequency = model.train_freq  # off-policy: steps per env between trainings (1 when counted in episodes)
        return int((frequency.frequency if frequency.unit == TrainFrequencyUnit.STEP else 1) * model.n_envs)

    def learn(self, total_steps: int, callbacks: Sequence[TrainingCallback], native_callbacks: Sequence[Any] = ()) -> None:
        remaining = total_steps - self.num_timesteps
        if remaining > 0:
            bridge = _CallbackBridge(self, callbacks)
            self.model.learn(remaining, callback=CallbackList([bridge, *native_callbacks]),
                             reset_num_timesteps=self.num_timesteps == 0)
            bridge.finish()

    def predict(self, observation: Any, deterministic: bool = True, episode_start: bool = False) -> np.ndarray:
        action, _ = self.model.predict(observation, episode_start=np.array([episode_start]), deterministic=deterministic)
        return action

    def save(self, file: BinaryIO) -> None:
        self.model.save(file)

    @property
    def has_replay_buffer(self) -> bool:
        return getattr(self.model, "replay_buffer", None) is not None and hasattr(self.model, "save_replay_buffer")

    def save_replay_buffer(self, file: BinaryIO) -> None:
        self.model.save_replay_buffer(file)

    def load_replay_buffer(self, path: str) -> None:
        self.model.load_replay_buffer(path)

    def log_to(self, directory: str) -> None:
        self.model.set_logger(configure(directory, ["tensorboard"]))

    def record(self, tag: str, value: float) -> None:
        self.model.logger.record(tag, value)

    def dump(self, step: int) -> None:
        self.model.logger.dump(step)

    def recent_episodes(self) -> list[tuple[float, float]]:
        if hasattr(self.model, "training_cost_rate"):  # a learner keeping its own episode statistics (sac_lag_rnn)
            return self.model.recent_episodes()
        monitor = getattr(self.model, "cost_monitor", None)
        if monitor is not None:  # the one count of the run's costs (safexp_sb3.costs.EpisodeCostMonitor)
            return monitor.recent_episodes()
        return [(float(ep["r"]), 0.0) for ep in self.model.ep_info_buffer or ()]  # a third-party model

    def cost_rate(self) -> float | None:
        if hasattr(self.model, "training_cost_rate"):
            return self.model.training_cost_rate()
        monitor = getattr(self.model, "cost_monitor", None)
        if monitor is None or monitor.steps == 0:
            return None
        return float(np.sum(monitor.cost_rate))

    def multipliers(self) -> dict[str, float]:
        values = getattr(self.model, "lagrange_multipliers", None)
        if values is None:
            return {}
        return dict(zip(self.model.constraint_names, (float(v) for v in values)))

    def rng_state(self) -> Any:
        """torch's CPU stream and, once CUDA is in use, every GPU's (a policy on ``device: cuda`` samples there)."""
        state = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def set_rng_state(self, state: Any) -> None:
        if isinstance(state, torch.Tensor):  # a checkpoint from before the GPU streams were saved: the CPU's alone
            state = {"cpu": state}
        torch.set_rng_state(state["cpu"])
        if "cuda" in state and torch.cuda.is_available():  # a run resumed on fewer GPUs takes the first streams
            for device, stream in enumerate(state["cuda"][:torch.cuda.device_count()]):
                torch.cuda.set_rng_state(stream, device)

    def close(self) -> None:
        env = self.model.get_env()
        if env is not None:
            env.close()
