"""Learner checkpoints that load without unpickling anything.

A checkpoint is one ``torch.save`` file of plain data that ``torch.load(..., weights_only=True)`` reads: tensors,
state dicts, and ints, floats, strings, lists and dicts (the hyperparameter record, counters, the multipliers'
and the cost monitor's state, optimiser states). stable-baselines3's own ``save`` is not used: its zip holds
cloudpickled objects, and loading one runs whatever code the file names. Loading rebuilds the learner from its
saved hyperparameters through the learner's own factory (validated like a config), then loads the state.

A replay buffer (``sac_lag``'s) is a NumPy ``.npz`` archive of plain arrays, read with ``allow_pickle=False``.
(``sac_lag_rnn`` writes its own checkpoint, with :func:`space_state`'s spaces.)

The common part is the hyperparameters, the seed, the spaces, the constraint names, the step and update counters
and the recent episodes; what each learner saves beyond it (policy, optimisers, critics, multipliers) it names in
its ``checkpoint_parts()``: modules, optimisers and components with ``state_dict``/``load_state_dict``.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecTransposeImage

from safexp.plugin import SafexpError, validate_params
from safexp_sb3 import hyperparameters

FORMAT = "safexp-sb3 learner checkpoint"
VERSION = 1
SETTINGS_BEFORE_THEY_EXISTED = {"normalize_observations": False, "learn_margin": False}
"""Hyperparameters added after learners were first saved whose default has changed since: a checkpoint written
before a setting existed holds a learner that trained without it, and it goes on so (not with today's default)."""


class CheckpointError(SafexpError):
    """A checkpoint file that is not a safe safexp-sb3 learner checkpoint, or not one for this learner."""


@dataclass(frozen=True)
class CheckpointParts:
    """What a learner saves besides the common part: ``modules`` (name → ``nn.Module``), ``optimizers`` (name →
    ``torch.optim.Optimizer``), ``components`` (name → object with ``state_dict``/``load_state_dict`` of plain
    data) and ``tensors`` (name → a tensor parameter restored in place). ``optional_components`` names the
    components a checkpoint may lack because it was saved before the learner kept them: such a component is left
    as the learner was built."""

    modules: Mapping[str, th.nn.Module]
    optimizers: Mapping[str, th.optim.Optimizer]
    components: Mapping[str, Any]
    tensors: Mapping[str, th.Tensor]
    optional_components: frozenset[str] = frozenset()


# -- spaces as plain data --------------------------------------------------------------------------------------
def space_state(space: spaces.Space) -> dict[str, Any]:
    """A ``Box``, ``Discrete``, ``MultiDiscrete``, ``MultiBinary`` or ``Dict`` (of those) space as tensors and plain
    values."""
    if isinstance(space, spaces.Box):
        return {"kind": "Box", "low": th.as_tensor(space.low), "high": th.as_tensor(space.high),
                "dtype": str(space.dtype)}
    if isinstance(space, spaces.Discrete):
        return {"kind": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"kind": "MultiDiscrete", "nvec": th.as_tensor(space.nvec)}
    if isinstance(space, spaces.MultiBinary):
        return {"kind": "MultiBinary", "n": th.as_tensor(np.asarray(space.n))}
    if isinstance(space, spaces.Dict):
        return {"kind": "Dict", "spaces": {key: space_state(entry) for key, entry in space.spaces.items()}}
    raise CheckpointError(f"cannot save a learner on a {type(space).__name__} space; supported: Box, Discrete, "
                          "MultiDiscrete, MultiBinary, Dict")


def space_from_state(state: Mapping[str, Any]) -> spaces.Space:
    """The space :func:`space_state` described."""
    kind = state["kind"]
    if kind == "Box":
        return spaces.Box(state["low"].numpy(), state["high"].numpy(), dtype=np.dtype(state["dtype"]))
    if kind == "Discrete":
        return spaces.Discrete(state["n"], start=state["start"])
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(state["nvec"].numpy())
    if kind == "MultiBinary":
        return spaces.MultiBinary(state["n"].numpy().tolist())
    if kind == "Dict":
        return spaces.Dict({key: space_from_state(entry) for key, entry in state["spaces"].items()})
    raise CheckpointError(f"unknown space kind '{kind}' in checkpoint")


def as_learner_sees_it(space: spaces.Space) -> spaces.Space:
    """``space`` as a stable-baselines3 learner on it has it: every channel-last image (an entry of a ``Dict``
    too) channel-first, as stable-baselines3's ``VecTransposeImage`` wrapper makes it."""
    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: as_learner_sees_it(entry) for key, entry in space.spaces.items()})
    if is_image_space(space) and not is_image_space_channels_first(space):
        return VecTransposeImage.transpose_space(space)
    return space


class _SpacesOnlyEnv(gym.Env):
    """An env that only has the saved spaces (and constraint names): what a learner loaded for acting is built on;
    stepping it is an error."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, constraint_names: list[str]):
        self.observation_space, self.action_space = observation_space, action_space
        self.constraint_names = tuple(constraint_names)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        raise CheckpointError("this learner was loaded without an env; load it with one to train it")

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        raise CheckpointError("this learner was loaded without an env; load it with one to train it")


# -- save ------------------------------------------------------------------------------------------------------
def save_learner(model: Any, file: str | BinaryIO) -> None:
    """Write ``model`` (built by its factory, so that it has ``params``) to ``file`` (a path or a binary file).

    :raises CheckpointError: for a model built without its hyperparameter record.
    """
    params = getattr(model, "params", None)
    if params is None:
        raise CheckpointError(f"{type(model).__name__} was built without a hyperparameter record; build it with its "
                              "registry factory (safexp.plugin.get_registry().get('algorithms', name).factory) to save it")
    parts: CheckpointParts = model.checkpoint_parts()
    state = {
        "format": FORMAT, "version": VERSION, "learner": type(model).__name__,
        "params_record": type(params).__name__, "hyperparameters": asdict(params),
        "seed": model.seed,
        "observation_space": space_state(model.observation_space), "action_space": space_state(model.action_space),
        "constraint_names": list(getattr(model, "constraint_names", ()) or ()),
        "counters": {"num_timesteps": int(model.num_timesteps), "n_updates": int(model._n_updates),
                     "episode_num": int(model._episode_num),
                     "progress_remaining": float(model._current_progress_remaining)},
        "ep_info_buffer": [{k: float(v) for k, v in info.items()} for info in (model.ep_info_buffer or ())],
        "modules": {name: module.state_dict() for name, module in parts.modules.items()},
        "optimizers": {name: optimizer.state_dict() for name, optimizer in parts.optimizers.items()},
        "components": {name: component.state_dict() for name, component in parts.components.items()},
        "tensors": {name: tensor.detach().cpu() for name, tensor in parts.tensors.items()},
    }
    th.save(state, file)


# -- load ------------------------------------------------------------------------------------------------------
def read_checkpoint(path: str, device: str | th.device = "cpu") -> dict[str, Any]:
    """The plain data of a checkpoint, read with ``weights_only=True`` (nothing is unpickled).

    :raises CheckpointError: for a file that is not a safe checkpoint (a pickle payload, an old
        stable-baselines3 zip, a foreign or truncated file), naming the file and the reason.
    """
    try:
        state = th.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a safexp learner checkpoint that loads without unpickling, refusing it "
                              f"({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a safexp learner checkpoint (no '{FORMAT}' header)")
    if state.get("version") != VERSION:
        raise CheckpointError(f"{path} is a checkpoint of format version {state.get('version')}; this safexp-sb3 "
                              f"reads version {VERSION}")
    return state


def load_learner(path: str, learner_cls: type, records: tuple[type, ...], factory: Callable[..., Any],
                 env: VecEnv | None = None, *, device: str = "cpu", tensorboard_log: str | None = None) -> Any:
    """Rebuild a learner from its checkpoint: its factory on its saved hyperparameters, then its saved state.

    :param learner_cls: the class the checkpoint must hold.
    :param records: the hyperparameter records this learner accepts (``PPOLagParams`` and ``PIDLagParams``...).
    :param factory: ``factory(env, params, seed=..., tensorboard_log=..., device=...)`` (the registry factory).
    :param env: the env to continue training on; ``None`` loads for acting only (the learner has no env).
    :raises CheckpointError: for an unsafe or foreign file, another learner's checkpoint, or an env whose spaces
        or constraints differ from the saved ones.
    """
    state = read_checkpoint(path, device)
    if state["learner"] != learner_cls.__name__:
        raise CheckpointError(f"{path} holds a {state['learner']} learner, not a {learner_cls.__name__}")
    record = {r.__name__: r for r in records}.get(state["params_record"])
    if record is None or not hasattr(hyperparameters, record.__name__):
        raise CheckpointError(f"{path} names hyperparameter record '{state['params_record']}'; a "
                              f"{learner_cls.__name__} takes {', '.join(r.__name__ for r in records)}")
    settings = {field.name for field in fields(record)}
    saved = {**{key: value for key, value in SETTINGS_BEFORE_THEY_EXISTED.items() if key in settings},
             **state["hyperparameters"]}
    params = validate_params(record, saved, f"the checkpoint {path}")
    observation_space = space_from_state(state["observation_space"])
    action_space = space_from_state(state["action_space"])
    acting_only = env is None
    if acting_only:
        env = DummyVecEnv([lambda: _SpacesOnlyEnv(observation_space, action_space, state["constraint_names"])])
    elif as_learner_sees_it(env.observation_space) != observation_space or env.action_space != action_space:
        raise CheckpointError(f"the env's spaces ({env.observation_space}, {env.action_space}) differ from those "
                              f"the checkpoint {path} was trained on ({observation_space}, {action_space})")
    model = factory(env, params, seed=state["seed"], tensorboard_log=tensorboard_log, device=device)
    names = list(getattr(model, "constraint_names", ()) or ())
    if names != list(state["constraint_names"]):
        raise CheckpointError(f"the env has constraints {names}, the checkpoint {path} was trained on "
                              f"{state['constraint_names']}")
    _restore(model, state)
    if acting_only:
        model.env = None
    return model


def _restore(model: Any, state: Mapping[str, Any]) -> None:
    parts: CheckpointParts = model.checkpoint_parts()
    for group, live in (("modules", parts.modules), ("optimizers", parts.optimizers),
                        ("components", parts.components), ("tensors", parts.tensors)):
        optional = parts.optional_components if group == "components" else frozenset()
        if not set(live) - optional <= set(state[group]) <= set(live):
            raise CheckpointError(f"the checkpoint's {group} ({', '.join(sorted(state[group]))}) are not this "
                                  f"learner's ({', '.join(sorted(live))})")
    for name, module in parts.modules.items():
        module.load_state_dict(state["modules"][name])
    for name, optimizer in parts.optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, component in parts.components.items():
        if name in state["components"]:
            component.load_state_dict(state["components"][name])
    with th.no_grad():
        for name, tensor in parts.tensors.items():
            tensor.copy_(state["tensors"][name])
    counters = state["counters"]
    model.num_timesteps = int(counters["num_timesteps"])
    model._n_updates = int(counters["n_updates"])
    model._episode_num = int(counters["episode_num"])
    model._current_progress_remaining = float(counters["progress_remaining"])
    model.ep_info_buffer = deque((dict(info) for info in state["ep_info_buffer"]), maxlen=model._stats_window_size)
    model.ep_success_buffer = deque(maxlen=model._stats_window_size)


# -- replay buffers --------------------------------------------------------------------------------------------
REPLAY_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts", "costs")


def save_replay_buffer(buffer: ReplayBuffer, file: str | BinaryIO) -> None:
    """Write ``buffer``'s arrays (those of :data:`REPLAY_FIELDS` it has) and position as an ``.npz`` archive."""
    arrays = {name: getattr(buffer, name) for name in REPLAY_FIELDS if getattr(buffer, name, None) is not None}
    np.savez(file, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)


def load_replay_buffer(buffer: ReplayBuffer, path: str) -> None:
    """Fill ``buffer`` from :func:`save_replay_buffer`'s archive (read with ``allow_pickle=False``).

    :raises CheckpointError: for a file that is not such an archive, or arrays of another shape.
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path} is not a replay buffer archive that loads without unpickling ({exc})") from None
    with archive:
        for name in REPLAY_FIELDS:
            current = getattr(buffer, name, None)
            if current is None and name not in archive:
                continue
            if name not in archive or archive[name].shape != current.shape:
                found = archive[name].shape if name in archive else "missing"
                raise CheckpointError(f"replay buffer {path}: '{name}' is {found}, this learner's buffer holds "
                                      f"{getattr(current, 'shape', None)}")
            current[...] = archive[name]
        buffer.pos, buffer.full = int(archive["pos"]), bool(archive["full"])
