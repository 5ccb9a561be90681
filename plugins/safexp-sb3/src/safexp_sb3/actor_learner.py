"""The actor–learner mode on Ray: remote actors collect, one learner trains (``sac_lag_rnn``).

How the paper trained its recurrent SAC-Lagrangian (Knight & Achiam: 60 actors feeding one learner). Here:

- **Actors** (:class:`CollectingActor`, one Ray actor each, so one process each) step ``envs_per_actor`` envs
  with their own copy of the agent. Each works in *blocks* of ``sync_every`` steps per env: a block starts
  from the newest weights the learner published when it handed the block out (the pull every ``sync_every``
  steps), and returns everything the learner's own collection would have stored: per step, the observations,
  the GRU states before and after reading them, the actions, rewards, dones and infos, and the episode ids.
- **The learner** (:class:`RayActorLearner`, the runner's :class:`~safexp.plugin.Learner`) keeps one block in
  flight per actor. The envs of actor ``a`` fill the replay rings ``a·E .. a·E + E − 1`` (``E`` envs per
  actor), so the sequence replay's per-env rings extend to actor × env, and a sequence never leaves one
  env's ring (nor, unmasked, its episode). Episode ids are unique across all rings, as in a normal run.
- **Replay ratio**: the same as a normal run with ``actors.num × envs_per_actor`` envs: a training phase of
  ``gradient_steps`` gradient steps per ``train_freq`` steps of every env (``train_freq · N`` env steps),
  from ``learning_starts`` on. The learner owes the phases of the steps it has taken in; while it owes one it
  trains, and it takes in a returned block (polling with ``ray.wait(timeout=0)``: whatever has arrived) only
  once it owes none. So it waits for collection only when no block has arrived and it owes no phase (the
  actors are slower than its updates); an actor whose block has arrived waits only while the learner is
  behind (the learner is slower). The lag is bounded: a block is acted with weights at most one block of its
  actor old (plus the other actors' blocks taken in meanwhile).
- **Determinism**: with one actor the run is deterministic (same seed, same curves): block ``j + 1`` is handed
  out when block ``j`` is taken in, with the weights after every phase owed for the steps before block ``j``,
  whatever the timing. With several actors, the order in which blocks arrive depends on the actors' speed,
  hence which weights each block gets, the rings' interleaving in time and the learner's samples: runs differ
  (each actor's own envs and exploration are seeded, ``seed + ring`` as in a normal run).
- Before ``learning_starts`` actors act uniformly at random; an actor counts the steps handed out before its
  block (all actors') as the steps taken, exact with one actor.

TensorBoard (besides the learner's own scalars): ``actors/steps_per_s`` (env steps taken in per second of
learning), ``actors/learner_wait_fraction`` (the share of the learner's time spent waiting for a block) and
``actors/policy_lag`` (gradient steps between the weights a block was acted with and the learner's now).

Ray is imported when the mode is used (safexp-experiments' ``ray`` extra: ``pip install 'ray[default]>=2.9,<3'``).
A local Ray is started for the run unless ``address`` names a cluster or Ray already runs in this process.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.utils import configure_logger

from safexp.plugin import AlgorithmSpec, SafexpError

from safexp_sb3.costs import resolve_constraint_names
from safexp_sb3.learner import SB3Learner, _CallbackBridge, make_vec_env, seed_streams
from safexp_sb3.params import cost_limit_argument
from safexp_sb3.sac_lag_rnn import (
    RecurrentAgent,
    RecurrentSACLagrangian,
    acting_step,
    as_entries,
    carried_over,
    observation_tensors,
    scale_action,
)

ACTOR_LEARNER_ALGORITHMS = ("sac_lag_rnn",)
"""The algorithms the actor–learner mode trains."""

EnvFactory = Callable[[], gymnasium.Env]


@dataclass(frozen=True)
class ActorLayout:
    """How many actors, how they collect and where Ray runs (the run's ``actors`` keys).

    :param num: actor processes.
    :param envs_per_actor: envs each actor steps together.
    :param sync_every: steps per env of a block: an actor returns its transitions and pulls the newest weights
        every this many steps.
    :param address: the Ray cluster to connect to; ``None``: a local Ray (or the one already running here).
    :param cpus_per_actor: CPUs Ray reserves for each actor.
    """

    num: int
    envs_per_actor: int
    sync_every: int
    address: str | None = None
    cpus_per_actor: float = 1.0

    @property
    def n_envs(self) -> int:
        """All actors' envs: the learner's replay rings."""
        return self.num * self.envs_per_actor


class CollectedStep(NamedTuple):
    """One vectorised step of an actor's envs (``E`` rows), as the learner stores it."""

    observation: dict[str, np.ndarray]
    hidden_before: np.ndarray
    hidden_after: np.ndarray
    action: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    infos: list[dict[str, Any]]
    episodes: np.ndarray


class Block(NamedTuple):
    """What an actor returns for a block: its steps, the weight version it acted with and its episode ids after
    the block (for the learner's checkpoints)."""

    steps: list[CollectedStep]
    weights_version: int
    episodes: np.ndarray


class CollectingActor:
    """Steps ``n_envs`` envs with a copy of the agent (run as a Ray actor: one process).

    :param make_env: builds one env (picklable).
    :param n_envs: envs of this actor, seeded for their first reset with ``seed, seed + 1, ...``.
    :param seed: seeds the envs and this process's torch RNG (the exploration).
    :param agent_args: the :class:`RecurrentAgent` arguments (space, action size, costs, sizes).
    :param action_space: the env's action space (actions are scaled onto it).
    :param episodes: the episode id of each env's first episode; ``id_stride``: added at each new episode.
    """

    def __init__(self, make_env: EnvFactory, n_envs: int, seed: int, agent_args: Mapping[str, Any],
                 action_space: gymnasium.spaces.Box, episodes: np.ndarray, id_stride: int) -> None:
        th.set_num_threads(1)
        th.manual_seed(seed)
        self.envs = make_vec_env(make_env, n_envs, "dummy", seed)
        self.agent = RecurrentAgent(**agent_args).requires_grad_(False)
        self.space, self.action_space = agent_args["space"], action_space
        self.hidden = np.zeros((n_envs, self.agent.hidden_size), dtype=np.float32)
        self.episodes, self.id_stride = np.asarray(episodes, dtype=np.int64), id_stride
        self.observation = self.envs.reset()
        self.weights_version = -1

    def collect(self, weights: Mapping[str, th.Tensor], weights_version: int, steps: int,
                uniform_until: int) -> Block:
        """Load ``weights`` (the learner's agent, version ``weights_version``), then step the envs ``steps``
        times, acting uniformly at random for the first ``uniform_until`` of them."""
        self.agent.load_state_dict(weights)
        self.weights_version = weights_version
        collected = []
        for step in range(steps):
            observation = as_entries(self.observation)
            hidden_after, action = acting_step(self.agent, observation_tensors(self.space, observation, "cpu"),
                                               th.as_tensor(self.hidden), step < uniform_until)
            self.observation, rewards, dones, infos = self.envs.step(scale_action(self.action_space, action))
            hidden_after = hidden_after.numpy()
            collected.append(CollectedStep({name: np.array(value) for name, value in observation.items()},
                                           self.hidden, hidden_after, action, rewards, dones, list(infos),
                                           self.episodes))
            self.hidden, self.episodes = carried_over(hidden_after, self.episodes, dones, self.id_stride)
        return Block(collected, weights_version, self.episodes)

    def weights(self) -> tuple[int, dict[str, th.Tensor]]:
        """The version (the learner's gradient steps; -1 before the first block) and the values of the agent
        weights this actor acts with now."""
        return self.weights_version, {name: value.clone() for name, value in self.agent.state_dict().items()}

    def close(self) -> None:
        """Close the envs."""
        self.envs.close()


def import_ray() -> Any:
    """The ``ray`` module.

    :raises SafexpError: when Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise SafexpError("the actor-learner mode (actors.num > 0) needs Ray: pip install 'ray[default]>=2.9,<3' "
                          "(safexp-experiments' ray extra)") from None
    return ray


class RayActorLearner(SB3Learner):
    """A :class:`RecurrentSACLagrangian` trained from ``layout.num`` Ray actors (module docstring), behind the
    learner contract: TensorBoard, checkpoints (weights, multipliers, replay rings, episode ids) and resume as
    for a normal run. Build one with :meth:`create_actor_learner` or :meth:`load_actor_learner`; :meth:`close`
    stops the actors (and a Ray this learner started).

    Over all calls of :meth:`learn`: ``steps_taken_in`` (env steps), ``learn_seconds`` and ``wait_seconds`` (the
    part spent waiting for a block).
    """

    def __init__(self, model: RecurrentSACLagrangian, layout: ActorLayout, make_env: EnvFactory, seed: int,
                 started_ray: bool) -> None:
        super().__init__(model)
        self.layout, self.started_ray = layout, started_ray
        self.ray = import_ray()
        model._start_episodes()  # the actors' envs start new episodes: fresh ids, zero GRU states
        p, per = model.params, layout.envs_per_actor
        agent_args = dict(space=model.observation_space, action_dim=int(np.prod(model.action_space.shape)),
                          n_costs=len(model.constraint_names), cnn_embedding=p.cnn_embedding,
                          vector_net_arch=p.vector_net_arch, gru_hidden=p.gru_hidden, head_net_arch=p.head_net_arch)
        remote = self.ray.remote(num_cpus=layout.cpus_per_actor)(CollectingActor)
        self.actors = [remote.remote(make_env, per, seed + a * per, agent_args, model.action_space,
                                     model.actor_episodes[a * per:(a + 1) * per], layout.n_envs)
                       for a in range(layout.num)]
        self.published: tuple[int, Any] | None = None  # (weights version, object ref)
        self.wait_seconds = 0.0
        self.learn_seconds = 0.0
        self.steps_taken_in = 0

    @staticmethod
    def start_ray(layout: ActorLayout) -> bool:
        """Connect to ``layout.address``, or start a local Ray with room for every actor, unless Ray already
        runs in this process. Returns whether it started or connected (and so :meth:`close` shuts it down)."""
        ray = import_ray()
        if ray.is_initialized():
            return False
        cpus = None if layout.address else max(os.cpu_count() or 1, math.ceil(layout.num * layout.cpus_per_actor))
        ray.init(address=layout.address, num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        return True

    @classmethod
    def create_actor_learner(cls, spec: AlgorithmSpec, params: Any, make_env: EnvFactory, layout: ActorLayout,
                             seed: int, device: str, torch_threads: int = 0) -> RayActorLearner:
        """A new learner from ``spec``'s learner class, its rings filled by ``layout.num`` actors of
        ``layout.envs_per_actor`` envs (env ``i`` of all of them seeded ``seed + i``)."""
        probe = make_vec_env(make_env, 1, "dummy", seed)  # the spaces and constraint names of the env
        try:
            if torch_threads:
                th.set_num_threads(torch_threads)
            constraint_names = resolve_constraint_names(probe, cost_limit_argument(params))
            model = RecurrentSACLagrangian(None, params, seed=seed, device=device,
                                           observation_space=probe.observation_space, action_space=probe.action_space,
                                           constraint_names=constraint_names, n_envs=layout.n_envs)
        finally:
            probe.close()
        started = cls.start_ray(layout)
        return cls(model, layout, make_env, seed, started)

    @classmethod
    def load_actor_learner(cls, spec: AlgorithmSpec, path: str, make_env: EnvFactory, layout: ActorLayout,
                           seed: int, device: str, torch_threads: int = 0,
                           fresh_streams: bool = False) -> RayActorLearner:
        """A saved learner (its rings for ``layout.n_envs`` envs), continued by fresh actors seeded from ``seed``;
        ``fresh_streams`` seeds the learner's own random streams from it too (as :meth:`SB3Learner.load`)."""
        if torch_threads:
            th.set_num_threads(torch_threads)
        model = RecurrentSACLagrangian.load(path, device=device, n_envs=layout.n_envs)
        if fresh_streams:
            seed_streams(model, seed)
        started = cls.start_ray(layout)
        return cls(model, layout, make_env, seed, started)

    # -- the contract ----------------------------------------------------------------------------------------
    @property
    def steps_per_collection(self) -> int:
        """Env steps of one actor's block (the learner takes in whole blocks)."""
        return self.layout.sync_every * self.layout.envs_per_actor

    def learn(self, total_steps: int, callbacks: Sequence[Any], native_callbacks: Sequence[Any] = ()) -> None:
        """Train from the actors until :attr:`num_timesteps` reaches ``total_steps`` (whole blocks) and every
        training phase owed is done, or a callback returns ``False`` (module docstring)."""
        model, ray = self.model, self.ray
        bridge = _CallbackBridge(self, callbacks)
        model.start_time = time.time_ns()  # what stable-baselines3's own learn sets up (it would reset envs)
        model._num_timesteps_at_start = model.num_timesteps
        if model.ep_info_buffer is None:
            model.ep_info_buffer = deque(maxlen=model.params.stats_window_size)
            model.ep_success_buffer = deque(maxlen=model.params.stats_window_size)
        if not model._custom_logger:
            model._logger = configure_logger(model.verbose, None, "", True)
        callback = model._init_callback(CallbackList([bridge, *native_callbacks]), False)
        callback.on_training_start(locals(), globals())
        handed_out = model.num_timesteps
        in_flight: dict[Any, int] = {}  # block ref → actor
        logged_at_episode = model._episode_num
        started = time.perf_counter()
        wait_before, steps_before = self.wait_seconds, self.steps_taken_in

        def log_every_few_episodes() -> None:  # as a normal run: every log_interval finished episodes
            nonlocal logged_at_episode
            if model._episode_num - logged_at_episode >= model.params.log_interval:
                logged_at_episode = model._episode_num
                self.record_throughput(started, wait_before, steps_before)
                model.dump_logs()

        def hand_out(actor: int) -> None:
            nonlocal handed_out
            if handed_out < total_steps:
                uniform = max(0, -(-(model.params.learning_starts - handed_out) // self.layout.envs_per_actor))
                ref = self.actors[actor].collect.remote(*self.publish(), self.layout.sync_every, uniform)
                in_flight[ref] = actor
                handed_out += self.steps_per_collection

        for actor in range(self.layout.num):
            hand_out(actor)
        stopped = False
        while not stopped:
            if self.phases_owed() > 0:
                model.train(model.params.gradient_steps)
                log_every_few_episodes()
                continue
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=0)
            if not ready:
                waited = time.perf_counter()
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                self.wait_seconds += time.perf_counter() - waited
            for ref in ready:
                actor = in_flight.pop(ref)
                block = ray.get(ref)
                hand_out(actor)  # with the weights of every phase owed so far
                callback.on_rollout_start()
                if not self.take_in(block, actor, callback):
                    stopped = True
                    break
                callback.on_rollout_end()
                log_every_few_episodes()
        self.learn_seconds += time.perf_counter() - started
        self.record_throughput(started, wait_before, steps_before)
        callback.on_training_end()
        bridge.finish()  # the blocks still in flight when a callback stopped the run are never taken in

    def publish(self) -> tuple[Any, int]:
        """The learner's agent weights in Ray's object store (put once per weight version) and their version
        (the gradient steps done)."""
        version = int(self.model._n_updates)
        if self.published is None or self.published[0] != version:
            weights = {name: value.detach().cpu().clone() for name, value in self.model.agent.state_dict().items()}
            self.published = (version, self.ray.put(weights))
        return self.published[1], version

    def phases_owed(self) -> int:
        """Training phases due for the steps taken in (one per ``train_freq`` steps of every env, from
        ``learning_starts``) and not done yet."""
        model, p = self.model, self.model.params
        phase = p.train_freq * self.layout.n_envs
        first = max(1, -(-p.learning_starts // phase))
        due = max(0, model.num_timesteps // phase - first + 1)
        return due - model._n_updates // p.gradient_steps

    def take_in(self, block: Block, actor: int, callback: Any) -> bool:
        """Store a block in actor ``actor``'s rings, step by step, calling the callbacks after each step as a
        normal run does. Returns ``False`` when a callback asks to stop (the rest of the block is dropped).

        The callbacks see one info, done and reward per ring (actor × env), the other actors' slots empty
        (``{}``, ``False``, 0), so that a callback that follows each env's episode (the runner's per-episode
        cost) never mixes two actors' envs."""
        model = self.model
        first_ring = actor * self.layout.envs_per_actor
        rings = slice(first_ring, first_ring + self.layout.envs_per_actor)
        model.actor_episodes[rings] = block.episodes  # for checkpoints
        model.logger.record("actors/policy_lag", model._n_updates - block.weights_version)
        for step in block.steps:
            model.num_timesteps += len(step.dones)  # first, as in a normal run's step (learning_starts is checked)
            model._store_step(first_ring, step.observation, step.hidden_before, step.hidden_after, step.action,
                              step.rewards, step.dones, step.infos, step.episodes)
            self.steps_taken_in += len(step.dones)
            infos: list[dict[str, Any]] = [{} for _ in range(self.layout.n_envs)]
            infos[rings] = step.infos
            dones, rewards = np.zeros(self.layout.n_envs, dtype=bool), np.zeros(self.layout.n_envs, dtype=np.float32)
            dones[rings], rewards[rings] = step.dones, step.rewards
            callback.update_locals({"infos": infos, "dones": dones, "rewards": rewards})
            if not callback.on_step():
                return False
        return True

    def record_throughput(self, started: float, wait_before: float, steps_before: int) -> None:
        """Log the env steps taken in per second and the learner's share of time waiting, since ``started``."""
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.model.logger.record("actors/steps_per_s", (self.steps_taken_in - steps_before) / elapsed)
        self.model.logger.record("actors/learner_wait_fraction", (self.wait_seconds - wait_before) / elapsed)

    def actor_weights(self) -> list[tuple[int, dict[str, th.Tensor]]]:
        """Each actor's weight version and agent weights now (they pull the learner's with each block)."""
        return self.ray.get([actor.weights.remote() for actor in self.actors])

    def close(self) -> None:
        """Stop the actors (closing their envs) and a Ray this learner started."""
        try:
            self.ray.get([actor.close.remote() for actor in self.actors], timeout=30)
        except Exception:  # an actor that died already has nothing left to close
            pass
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started_ray:
            self.ray.shutdown()
