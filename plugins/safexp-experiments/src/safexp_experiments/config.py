"""Experiment configuration: Hydra-style config groups, composed over plain OmegaConf and validated.

A config root holds one directory per config group::

    configs/env/<option>.yaml         an environment: {robot, task, level, <scene keys>} or {id, <kwargs>}
    configs/algo/<option>.yaml        an algorithm: {name, <its hyperparameters>}
    configs/experiment/<name>.yaml    a run: a ``defaults:`` list picking one env and one algo, plus run keys

Experiment names and group options are looked up along a search path of config roots, the first root holding
the file wins (:func:`config_search_path`): an extra root given by the caller (``--configs DIR``), the current
folder's ``configs/``, each folder in ``SAFEXP_CONFIG_PATH`` (``os.pathsep``-separated), then the configs
shipped inside this package. An experiment file's own config root (the nearest folder above it holding a group
folder) is searched before all of them, so a file anywhere can name ``/env: pointgoal1``.

The ``defaults:`` list follows Hydra: entries ``/env: pointgoal1`` (or ``env: ...``, ``override /env: ...``)
place the group option's content under the group's key, ``_self_`` marks where the file's own keys are merged
(at the end when it is not listed), ``null`` selects nothing. Command-line overrides are OmegaConf dot-list
items: ``env=pointgoal2`` picks another group option, ``algo.cost_limit=10`` or ``env.hazards.num=12`` sets a
value after composition.

Every key is checked: the run keys against :class:`RunSettings`, the ``algo`` keys against the algorithm's
registered ``params`` dataclass, the ``env`` keys by the engine's scene validation (or the Gymnasium registry
for ``id`` envs). An error names the key, the file or override it came from, and the nearest valid key.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.resources
import os
import re
import tempfile
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from safexp.plugin import (
    ParameterError,
    SafexpError,
    UnknownComponentError,
    bounded,
    choices_hint,
    invalid_value,
    nearest_first,
    yaml_problem,
)

CONFIG_PATH_VARIABLE = "SAFEXP_CONFIG_PATH"
"""The environment variable listing more config roots (``os.pathsep``-separated), searched after ``./configs``."""

GROUPS = ("env", "algo")
"""The config groups: each selects one option file and places it under its own key."""

EXPERIMENT_GROUP = "experiment"
VEC_ENV_KINDS = ("dummy", "subproc")
DEVICES = ("auto", "cpu", "cuda", "mps")
"""The torch devices a run may name (and ``cuda:<index>``); ``auto`` is CUDA when there is one, else the CPU."""
MAX_SEED = 2**31 - 1
"""The largest seed: the learner, NumPy and every env (seeded ``seed + i``, ``seed + steps`` on resume) take it."""
ENV_WRAPPER_KEYS = ("max_episode_steps", "feedback")
"""Env keys that configure wrappers rather than the scene (accepted by every env): the episode length, and
``feedback: true``, the previous reward and costs as inputs (:class:`safexp.FeedbackObservation`)."""

COMMAND_SECTIONS = {"transfer": "safexp_experiments.transfer:TransferSettings"}
"""Top-level sections that configure a command on top of the run keys (``transfer:``, read by ``safexp
transfer``), each checked against its schema dataclass (``module:name``) and kept out of the run's config."""

Source = str
KeyPath = tuple[str, ...]


class ConfigError(SafexpError):
    """A config file that cannot be found or read, or an override that is not ``key=value``."""


@dataclass
class ActorSettings:
    """The ``actors`` keys of a run: the actor–learner mode on Ray (``safexp_sb3.actor_learner``).

    - ``num``: actor processes collecting for the learner (0: off, the learner steps its own ``n_envs`` envs);
    - ``envs_per_actor``: envs each actor steps together (the learner keeps a replay ring per actor × env);
    - ``sync_every``: steps per env after which an actor sends its transitions and pulls the newest weights;
    - ``address``: the Ray cluster to connect to (``ray://host:10001``, ``host:6379`` or ``auto``); ``null``
      starts a local Ray for the run (or uses the one already running in this process);
    - ``cpus_per_actor``: CPUs Ray reserves for each actor (a local Ray gets enough for every actor).
    """

    num: int = bounded(0, ge=0, le=1024)
    envs_per_actor: int = bounded(1, ge=1, le=256)
    sync_every: int = bounded(1000, ge=1)
    address: Optional[str] = None
    cpus_per_actor: float = bounded(1.0, ge=0, le=64)


@dataclass
class RunSettings:
    """The top-level run keys of an experiment.

    - ``seed``: 0 to :data:`MAX_SEED`; seeds the learner, the envs (env ``i`` gets ``seed + i``) and the evaluation episodes;
    - ``total_steps``: env steps to train for, summed over the vectorised envs;
    - ``out_dir``: the directory under which run directories are made;
    - ``name``: the run directory's name (default: ``{env}_{algo}_s{seed}_{timestamp}``);
    - ``n_envs``, ``vec_env``: how many envs are stepped together and how (``dummy``: in this process,
      ``subproc``: one process each);
    - ``eval_freq``: evaluate every this many env steps during training (0: only at the end);
    - ``eval_episodes``: deterministic episodes per evaluation, including the final one;
    - ``checkpoint_freq``: save a checkpoint every this many env steps (0: only when stopping);
    - ``device``: the torch device of the learner: one of :data:`DEVICES` or ``cuda:<index>``;
    - ``torch_threads``: CPU threads torch may use (0: torch's default); one is fastest for the small
      networks of these learners and lets parallel runs share the cores;
    - ``progress``: show a progress bar on stderr;
    - ``strict_plugins``: refuse to train while a plugin failed to load or two plugins register one name
      (``safexp plugins`` shows both); ``false`` trains with what loaded;
    - ``actors``: the actor–learner mode on Ray (:class:`ActorSettings`; ``actors.num: 0``, off, by default).
    - ``init_from``: a finished run directory whose trained learner this run starts from, instead of a fresh
      one — weights, critics, multipliers, optimiser states, normaliser statistics and replay buffer — trained
      on in this run's env with its step count going on (``total_steps`` counts the steps before too); the two
      runs must use the same algorithm and spaces (``safexp transfer``'s fine-tune stage).
    """

    seed: int = bounded(0, ge=0, le=MAX_SEED)
    total_steps: int = bounded(100_000, ge=1)
    out_dir: str = "runs"
    name: Optional[str] = None
    n_envs: int = bounded(1, ge=1)
    vec_env: str = "dummy"
    eval_freq: int = bounded(0, ge=0)
    eval_episodes: int = bounded(10, ge=1)
    checkpoint_freq: int = bounded(0, ge=0)
    device: str = "cpu"
    torch_threads: int = bounded(1, ge=0)
    progress: bool = True
    strict_plugins: bool = True
    actors: ActorSettings = field(default_factory=ActorSettings)
    init_from: Optional[str] = None


@dataclass(frozen=True)
class ExperimentConfig:
    """A fully validated experiment: the run settings, the env config and the algorithm with its parameters.

    ``env`` is the env group as given (what ``config.yaml`` keeps); ``scene`` is the engine's validated scene of
    a scene env (``None`` for an ``id`` env), resolved once here and handed to every env the run builds;
    ``algo_params`` is the algorithm's filled-in ``params`` dataclass instance.
    """

    run: RunSettings
    env: Mapping[str, Any]
    algo: str
    algo_params: Any
    scene: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain containers: the run keys, ``env`` and ``algo`` (with every parameter)."""
        return {**dataclasses.asdict(self.run), "env": _plain(self.env),
                "algo": {"name": self.algo, **dataclasses.asdict(self.algo_params)}}

    def to_yaml(self) -> str:
        """The resolved config as YAML, the way a run directory keeps it (``config.yaml``)."""
        return OmegaConf.to_yaml(OmegaConf.create(self.to_dict()))


@dataclass
class ComposedConfig:
    """The merged keys of a composition, where each one came from, and the group options chosen."""

    values: dict[str, Any]
    sources: dict[KeyPath, Source] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    layers: list[tuple[KeyPath, dict[str, Any], Source]] = field(default_factory=list)
    """Every merged layer in order: (key prefix, keys, source)."""

    def source_of(self, path: KeyPath) -> Source:
        """The file or override that set ``path`` (or, for a mapping, one of its keys)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.sources:
                return self.sources[path[:end]]
        below = [src for key, src in self.sources.items() if key[: len(path)] == path]
        return below[0] if below else "the defaults"


# -- finding config files -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfigRoot:
    """A folder of config groups on the search path, and why it is there (for error messages)."""

    path: Path
    origin: str

    def describe(self, group: str) -> str:
        folder = self.path / group
        return f"{folder} ({self.origin}{'' if folder.is_dir() else ', missing'})"


def config_search_path(extra: str | Path | None = None, beside: Path | None = None) -> list[ConfigRoot]:
    """The config roots searched for experiment names and group options, in order:

    ``beside`` (the config root of the experiment file being composed), ``extra`` (``--configs DIR``), the
    current folder's ``configs/``, each folder in ``$SAFEXP_CONFIG_PATH``, then the configs shipped with
    safexp-experiments. A folder reached twice is kept at its first place; missing folders stay on the path
    (they hold nothing, and errors show them).
    """
    candidates = []
    if beside is not None:
        candidates.append(ConfigRoot(Path(beside), "next to the experiment file"))
    if extra is not None:
        candidates.append(ConfigRoot(Path(extra), "the extra config root, --configs"))
    candidates.append(ConfigRoot(Path("configs"), "./configs"))
    for entry in os.environ.get(CONFIG_PATH_VARIABLE, "").split(os.pathsep):
        if entry.strip():
            candidates.append(ConfigRoot(Path(entry.strip()).expanduser(), f"${CONFIG_PATH_VARIABLE}"))
    shipped = shipped_config_root()
    if shipped is not None:
        candidates.append(ConfigRoot(shipped, "shipped with safexp-experiments"))
    roots: list[ConfigRoot] = []
    seen: set[Path] = set()
    for root in candidates:
        resolved = root.path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            roots.append(ConfigRoot(resolved, root.origin))
    return roots


@functools.cache
def shipped_config_root() -> Path | None:
    """The ``configs/`` folder installed inside this package (``None`` when the package is not on a file system)."""
    shipped = importlib.resources.files("safexp_experiments") / "configs"
    path = Path(str(shipped))
    return path if path.is_dir() else None


def find_option(roots: Sequence[ConfigRoot], group: str, option: str) -> Path | None:
    """The first ``<root>/<group>/<option>.yaml`` along ``roots``."""
    for root in roots:
        candidate = root.path / group / f"{option}.yaml"
        if candidate.is_file():
            return candidate
    return None


def searched(roots: Sequence[ConfigRoot], group: str) -> str:
    """Where a group's options were looked for, for an error message."""
    return (f"looked in {', '.join(root.describe(group) for root in roots)}; add a config root with --configs DIR "
            f"or {CONFIG_PATH_VARIABLE}=DIR")


def find_config(config: str | Path, search_root: str | Path | None = None) -> Path:
    """The experiment file named by ``config``: a path to a YAML file, or an experiment name looked up under
    ``experiment/`` along the search path (:func:`config_search_path`, ``search_root`` first).

    :raises ConfigError: a missing file or name, with the experiments nearest to it and the folders searched.
    """
    path = Path(config)
    if path.is_file():
        return path
    roots = config_search_path(search_root)
    is_name = path.suffix == "" and len(path.parts) == 1
    if is_name:
        named = find_option(roots, EXPERIMENT_GROUP, str(config))
        if named is not None:
            return named
    available = all_options(roots, EXPERIMENT_GROUP)
    if not is_name:
        names = f"; or name an experiment: {', '.join(nearest_first(path.stem, available))}" if available else ""
        raise ConfigError(f"config file '{config}' not found: no such file (from {Path.cwd()}){names}")
    hint = choices_hint(path.stem, available) if available else "no experiments found"
    raise ConfigError(f"config file '{config}' not found; {hint} ({searched(roots, EXPERIMENT_GROUP)})")


def config_root(config_file: Path) -> Path | None:
    """The config root of an experiment file: the nearest folder above it holding a group folder (``None``
    when there is none)."""
    for directory in config_file.resolve().parents:
        if any((directory / group).is_dir() for group in GROUPS):
            return directory
    return None


def all_options(roots: Sequence[ConfigRoot], group: str) -> list[str]:
    """The option names of a config group over every root of the search path."""
    return sorted({name for root in roots for name in group_options(root.path, group)})


def group_options(root: Path, group: str) -> list[str]:
    """The option names of a config group (its YAML files' stems)."""
    return sorted(p.stem for p in (root / group).glob("*.yaml"))


def _load_yaml(path: Path, label: str) -> dict[str, Any]:
    try:
        loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except FileNotFoundError:
        raise ConfigError(f"{label} '{path}' not found") from None
    except (OmegaConfBaseException, yaml.YAMLError, ValueError, OSError) as exc:
        raise ConfigError(f"cannot read {label} '{path}': {yaml_problem(exc)}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{label} '{path}' must hold a mapping of keys to values, got {type(loaded).__name__}")
    return loaded


# -- composition ----------------------------------------------------------------------------------------------
def parse_overrides(overrides: Sequence[str]) -> tuple[dict[str, str | None], list[str]]:
    """Split command-line overrides into group choices (``env=pointgoal2``) and value overrides."""
    choices: dict[str, str | None] = {}
    values: list[str] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override '{item}' is not key=value (for example algo.cost_limit=10 or env=pointgoal2)")
        key = key.strip()
        if key in GROUPS:
            choices[key] = None if value.strip() in ("null", "") else value.strip()
        else:
            values.append(f"{key}={value}")
    return choices, values


def compose(config: str | Path | Mapping[str, Any], overrides: Sequence[str] = (),
            search_root: str | Path | None = None) -> ComposedConfig:
    """Compose an experiment: its defaults list, its own keys, then the command-line overrides.

    :param config: an experiment file (a path, or a name under ``experiment/`` on the search path) or a
        mapping of keys (whose ``defaults:`` are looked up along the search path).
    :param overrides: dot-list items, ``group=option`` or ``dotted.key=value``.
    :param search_root: an extra config root, searched before ``./configs``, ``$SAFEXP_CONFIG_PATH`` and the
        shipped configs (see :func:`config_search_path`).
    :return: the merged keys with the source of each; unchecked (see :func:`validate`).
    """
    if isinstance(config, Mapping):
        roots, data, label = config_search_path(search_root), _plain(config), "the given config"
    else:
        path = find_config(config, search_root)
        roots = config_search_path(search_root, beside=config_root(path))
        data, label = _load_yaml(path, "config file"), str(path)
    choices, value_overrides = parse_overrides(overrides)
    composed = ComposedConfig(values={})
    for prefix, layer, source in _layers(data, label, roots, choices, composed.choices, prefix=()):
        _merge_into(composed, prefix, layer, source)
    for item in value_overrides:
        key, _, _ = item.partition("=")
        try:
            layer = OmegaConf.to_container(OmegaConf.from_dotlist([item]), resolve=False)
        except OmegaConfBaseException as exc:
            raise ConfigError(f"cannot parse override '{item}': {str(exc).splitlines()[0]}") from None
        _merge_into(composed, (), layer, f"command line '{item}'")
    return composed


def _layers(data: dict[str, Any], label: str, roots: Sequence[ConfigRoot], choices: Mapping[str, str | None],
            chosen: dict[str, str], prefix: KeyPath) -> list[tuple[KeyPath, dict[str, Any], Source]]:
    """The (key prefix, keys, source) layers of one file in merge order, its defaults expanded."""
    data = dict(data)
    defaults = data.pop("defaults", None)
    if defaults is None:
        defaults = []
    if not isinstance(defaults, list):
        raise ConfigError(f"'defaults' in {label} must be a list (for example - /env: pointgoal1), got {defaults!r}")
    entries: list[tuple[str, str | None] | str] = []
    for entry in defaults:
        if entry == "_self_":
            entries.append("_self_")
        elif isinstance(entry, dict) and len(entry) == 1:
            key, option = next(iter(entry.items()))
            group = re.sub(r"^(override\s+)?/?", "", str(key).strip())
            entries.append((group, None if option is None else str(option)))
        else:
            raise ConfigError(f"defaults entry {entry!r} in {label} is not '- group: option' or '_self_'")
    if prefix == ():
        listed = {e[0] for e in entries if isinstance(e, tuple)}
        extra = [(g, o) for g, o in choices.items() if g not in listed]
        at = entries.index("_self_") if "_self_" in entries else len(entries)
        entries[at:at] = extra
    if "_self_" not in entries:
        entries.append("_self_")
    layers: list[tuple[KeyPath, dict[str, Any], Source]] = []
    for entry in entries:
        if entry == "_self_":
            layers.append((prefix, data, label))
            continue
        group, option = entry
        if prefix == () and group in choices:
            option = choices[group]
        if group not in GROUPS:
            raise ConfigError(f"defaults entry '{group}' in {label} names no config group; {choices_hint(group, GROUPS)}")
        if option is None:
            continue
        option_file = find_option(roots, group, option)
        if option_file is None:
            options = all_options(roots, group)
            hint = choices_hint(option, options) if options else f"no '{group}' options found"
            raise UnknownComponentError(f"config group '{group}' has no option '{option}'; {hint} "
                                        f"({searched(roots, group)})")
        chosen[group] = option
        option_data = _load_yaml(option_file, f"{group} config")
        if "defaults" in option_data:
            raise ConfigError(f"{option_file}: a '{group}' option cannot have its own defaults list")
        layers.append(((group,), option_data, str(option_file)))
    return layers


def _merge_into(composed: ComposedConfig, prefix: KeyPath, layer: Mapping[str, Any], source: Source) -> None:
    composed.layers.append((prefix, dict(layer), source))
    target = composed.values
    for key in prefix:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    _deep_merge(target, layer, prefix, composed.sources, source)


def _deep_merge(target: dict[str, Any], layer: Mapping[str, Any], path: KeyPath,
                sources: dict[KeyPath, Source], source: Source) -> None:
    for key, value in layer.items():
        key = str(key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value, (*path, key), sources, source)
        else:
            target[key] = _plain(value)
            sources[(*path, key)] = source
            for stale in [p for p in sources if p[: len(path) + 1] == (*path, key) and len(p) > len(path) + 1]:
                del sources[stale]
            if isinstance(value, Mapping):
                _record_leaves(value, (*path, key), sources, source)


def _record_leaves(value: Mapping[str, Any], path: KeyPath, sources: dict[KeyPath, Source], source: Source) -> None:
    for key, sub in value.items():
        sources[(*path, str(key))] = source
        if isinstance(sub, Mapping):
            _record_leaves(sub, (*path, str(key)), sources, source)


# -- validation -----------------------------------------------------------------------------------------------
def validate(composed: ComposedConfig) -> ExperimentConfig:
    """Check every key of a composition and fill in the defaults.

    :raises ParameterError: an unknown key or a value of the wrong type (naming the key, its source and the
        nearest valid key).
    :raises UnknownComponentError: an unknown env, robot, task or algorithm name.
    """
    values = composed.values
    run_fields = [f.name for f in dataclasses.fields(RunSettings)]
    for key in values:
        if key not in (*run_fields, *GROUPS, *COMMAND_SECTIONS):
            raise ParameterError(f"unknown key '{key}' (from {composed.source_of((key,))}); "
                                 f"{choices_hint(key, (*run_fields, *GROUPS, *COMMAND_SECTIONS))}")
    for section in COMMAND_SECTIONS:
        if section in values:
            command_section(composed, section)
    for group in GROUPS:
        if not isinstance(values.get(group), dict) or not values[group]:
            options = "env=<option>" if group == "env" else "algo=<option>"
            raise ParameterError(f"the config has no '{group}' (add '/{group}: <option>' to its defaults list or "
                                 f"pass {options})")
    run_values = {k: v for k, v in values.items() if k in run_fields}
    run = fill_schema(RunSettings, run_values, composed, ())
    _check_run_settings(run, composed)
    env, scene = validate_env(values["env"], composed)
    algo_name, algo_params = validate_algo(values["algo"], composed)
    _check_actor_settings(run, algo_name, composed)
    return ExperimentConfig(run=run, env=env, algo=algo_name, algo_params=algo_params, scene=scene)


def command_section(composed: ComposedConfig, section: str) -> Any:
    """The filled-in schema instance of a command section (:data:`COMMAND_SECTIONS`) of a composition.

    :raises ParameterError: when the section is not a mapping, or an unknown key or a bad value (naming its source).
    """
    module, name = COMMAND_SECTIONS[section].split(":")
    schema = getattr(importlib.import_module(module), name)
    values = composed.values.get(section, {})
    if not isinstance(values, Mapping):
        raise ParameterError(f"key '{section}' (from {composed.source_of((section,))}) must be a mapping of keys, "
                             f"got {values!r}")
    return fill_schema(schema, values, composed, (section,))


def load_config(config: str | Path | Mapping[str, Any] | ExperimentConfig, overrides: Sequence[str] = (),
                search_root: str | Path | None = None) -> ExperimentConfig:
    """Compose and validate in one step; an :class:`ExperimentConfig` is returned as it is (overrides applied)."""
    if isinstance(config, ExperimentConfig):
        if not overrides:
            return config
        config = config.to_dict()
    return validate(compose(config, overrides, search_root))


def _check_run_settings(run: RunSettings, composed: ComposedConfig) -> None:
    def fail(key: str, expected: str) -> None:
        raise ParameterError(f"key '{key}' (from {composed.source_of((key,))}) must be {expected}, "
                             f"got {getattr(run, key)!r}")

    if run.vec_env not in VEC_ENV_KINDS:
        raise ParameterError(f"key 'vec_env' (from {composed.source_of(('vec_env',))}) has no kind '{run.vec_env}'; "
                             f"{choices_hint(run.vec_env, VEC_ENV_KINDS)}")
    if run.device not in DEVICES and not re.fullmatch(r"cuda:\d+", run.device):
        raise ParameterError(f"key 'device' (from {composed.source_of(('device',))}) names no torch device "
                             f"'{run.device}'; {choices_hint(run.device, DEVICES)} (or cuda:<index>)")
    _check_out_dir(run.out_dir, composed)
    if run.name is not None and (not run.name or "/" in run.name or run.name.startswith(".")):
        fail("name", "a plain directory name")


def _check_actor_settings(run: RunSettings, algo: str, composed: ComposedConfig) -> None:
    """The actor–learner mode (``actors.num`` > 0) trains the algorithms that support it, from the actors' envs
    only, on a Ray at a non-empty ``address`` (or a local one)."""
    actors = run.actors
    if actors.num == 0:
        return
    from safexp_sb3.actor_learner import ACTOR_LEARNER_ALGORITHMS  # (torch: only for runs with actors)

    where = f"key 'actors.num' (from {composed.source_of(('actors', 'num'))})"
    if algo not in ACTOR_LEARNER_ALGORITHMS:
        raise ParameterError(f"{where}: the actor-learner mode trains {', '.join(ACTOR_LEARNER_ALGORITHMS)}, not "
                             f"'{algo}'; {choices_hint(algo, ACTOR_LEARNER_ALGORITHMS)}, or set actors.num=0")
    if run.n_envs != 1:
        raise ParameterError(f"key 'n_envs' (from {composed.source_of(('n_envs',))}) must stay 1 with actors "
                             f"(actors.num={actors.num}): the actors step the envs; set actors.envs_per_actor "
                             f"instead, got n_envs={run.n_envs}")
    if actors.address is not None and not actors.address.strip():
        raise ParameterError(f"key 'actors.address' (from {composed.source_of(('actors', 'address'))}) must name a "
                             f"Ray cluster (ray://host:10001, host:6379 or auto) or be null, got {actors.address!r}")


def _check_out_dir(out_dir: str, composed: ComposedConfig) -> None:
    """``out_dir`` must be a directory this process can make run directories in, or one it can create."""
    where = f"key 'out_dir' (from {composed.source_of(('out_dir',))})"
    if not out_dir.strip() or "\0" in out_dir:
        raise ParameterError(f"{where} must be a directory path, got {out_dir!r}")
    check_writable_dir(out_dir, where)


def check_writable_dir(directory: str | Path, what: str) -> None:
    """Check that ``directory`` is a directory this process can write in, or one it can create.

    :param what: the option or key that named it, for the message.
    :raises ParameterError: naming ``what`` and what is in the way (a file, or a directory without permission).
    """
    path = Path(directory).expanduser().absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ParameterError(f"{what}: '{existing}' is not a directory, so nothing can be written in '{directory}'")
    try:  # a file that vanishes on close: the only test that a file system, permissions and all, accepts files
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ParameterError(f"{what}: cannot write in '{existing}' ({exc.strerror or exc}), so nothing can be "
                             f"written in '{directory}'; choose another directory") from None


def fill_schema(schema: type, values: Mapping[str, Any], composed: ComposedConfig, path: KeyPath) -> Any:
    """Check ``values`` against the dataclass ``schema`` and return the filled-in instance.

    :param path: where ``values`` sit in the composition (for the error messages).
    :raises ParameterError: an unknown key (with the nearest valid one) or a value of the wrong type.
    """
    _check_keys(schema, values, composed, path)
    try:
        filled = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), dict(values)))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or ""
        key_path = (*path, *[k for k in str(key).split(".") if k])
        reason = str(exc).splitlines()[0]
        raise ParameterError(f"key '{'.'.join(key_path)}' (from {composed.source_of(key_path)}): {reason}") from None
    invalid = invalid_value(filled)
    if invalid is not None:
        key_path = (*path, *invalid.name.split("."))
        raise ParameterError(f"key '{'.'.join(key_path)}' (from {composed.source_of(key_path)}) {invalid}")
    return filled


def _check_keys(schema: type, values: Mapping[str, Any], composed: ComposedConfig, path: KeyPath) -> None:
    hints = typing.get_type_hints(schema)
    names = [f.name for f in dataclasses.fields(schema)]
    for key, value in values.items():
        key_path = (*path, str(key))
        if key not in names:
            raise ParameterError(f"unknown key '{'.'.join(key_path)}' (from {composed.source_of(key_path)}); "
                                 f"{choices_hint(str(key), names)}")
        sub = hints.get(key)
        if isinstance(sub, type) and dataclasses.is_dataclass(sub) and isinstance(value, Mapping):
            _check_keys(sub, value, composed, key_path)


def validate_algo(algo: Mapping[str, Any], composed: ComposedConfig) -> tuple[str, Any]:
    """The algorithm's registry name and its filled-in parameter dataclass."""
    from safexp.plugin import get_registry

    name = algo.get("name")
    if not isinstance(name, str) or not name:
        raise ParameterError(f"the algo config (from {composed.source_of(('algo',))}) needs a 'name', the registered "
                             f"algorithm; {choices_hint('', get_registry().components('algorithms'))}")
    try:
        spec = get_registry().get("algorithms", name)
    except UnknownComponentError as exc:
        raise UnknownComponentError(f"algo.name: {exc} (from {composed.source_of(('algo', 'name'))})") from None
    params = {k: v for k, v in algo.items() if k != "name"}
    return spec.name, fill_schema(spec.params, params, composed, ("algo",))


def validate_env(env: Mapping[str, Any], composed: ComposedConfig) -> tuple[dict[str, Any], Any]:
    """Check an env config: a suite/custom scene through the engine's scene validation, then built once (an
    impossible layout, a MuJoCo compile error or an unknown camera fails here, in this process, not in a
    subprocess worker after the run directory exists); an ``id`` env against the Gymnasium registry.

    :return: the env config unchanged, and the validated scene of a scene env (``None`` for an ``id`` env).
    """
    import gymnasium

    import safexp

    for key in ENV_WRAPPER_KEYS:
        if key == "feedback":
            if not isinstance(env.get(key, False), bool):
                raise ParameterError(f"key 'env.feedback' (from {composed.source_of(('env', key))}) must be true or "
                                     f"false, got {env[key]!r}")
        elif key in env and (not isinstance(env[key], int) or isinstance(env[key], bool) or env[key] < 1):
            raise ParameterError(f"key 'env.{key}' (from {composed.source_of(('env', key))}) must be a positive "
                                 f"integer, got {env[key]!r}")
    if "id" in env:
        env_id = env["id"]
        if env_id not in gymnasium.registry:
            raise UnknownComponentError(f"env.id: unknown Gymnasium env '{env_id}' (from "
                                        f"{composed.source_of(('env', 'id'))}); "
                                        f"{choices_hint(str(env_id), nearest_first(str(env_id), gymnasium.registry)[:12])}")
        return dict(env), None
    scene_keys = {k: v for k, v in env.items() if k not in ENV_WRAPPER_KEYS}
    try:
        scene = safexp.scene_config(**scene_keys)
        safexp.make(scene=scene).close()
    except SafexpError as exc:
        raise type(exc)(f"env: {exc} ({_blame(exc, composed)})") from None
    return dict(env), scene


def _blame(exc: Exception, composed: ComposedConfig) -> str:
    """Which env key, from which file or override, an engine error is about.

    The culprit source is the first layer after which the env fails with the same message; within it, the
    deepest key whose name or value the message quotes (or its only key)."""
    import safexp

    message = str(exc)
    env: dict[str, Any] = {}
    culprit: Source | None = None
    for prefix, layer, source in composed.layers:
        env_part = layer.get("env") if prefix == () else layer if prefix == ("env",) else None
        if not isinstance(env_part, Mapping):
            continue
        scratch = ComposedConfig(values={"env": env})
        _deep_merge(env, env_part, ("env",), scratch.sources, source)
        try:
            safexp.scene_config(**{k: v for k, v in env.items() if k not in ENV_WRAPPER_KEYS})
        except SafexpError as partial:
            if str(partial) == message:
                culprit = source
                break
    paths = [p for p, s in composed.sources.items() if p[:1] == ("env",) and len(p) > 1 and s == culprit]
    if not paths:
        return "env from " + ", ".join(sorted({s for p, s in composed.sources.items() if p[:1] == ("env",)}))
    quoted = [p for p in paths if f"'{p[-1]}'" in message or f".{p[-1]}'" in message
              or f"'{_value_at(composed.values, p)}'" in message]
    best = max(quoted or paths, key=len) if quoted or len(paths) == 1 else None
    return f"{'.'.join(best)} from {culprit}" if best else f"env from {culprit}"


def _value_at(values: Mapping[str, Any], path: KeyPath) -> Any:
    for key in path:
        values = values.get(key) if isinstance(values, Mapping) else None
    return values


def _plain(value: Any) -> Any:
    """Plain dicts and lists (from OmegaConf containers or mappings)."""
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


RUN_ONLY_KEYS = ("out_dir", "name", "progress", "checkpoint_freq")
"""Run keys that say where a run goes, what it prints and how often it saves, not what it learns or reports: a
rerun of a sweep or a transfer may change them, and ``safexp plot`` groups runs across them (an interrupted run
resumes with its own values)."""


def flatten_keys(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"algo.gamma": 0.99, ...}``: every leaf (or empty mapping) under its dotted path."""
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if isinstance(sub, Mapping) and sub:
            out.update(flatten_keys(sub, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = sub
    return out


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The dotted paths whose values differ between two nested configs (added and removed keys included),
    sorted."""
    old, new = flatten_keys(before), flatten_keys(after)
    return sorted(key for key in {*old, *new} if old.get(key, ...) != new.get(key, ...))


def describe_changes(there: Mapping[str, Any], here: Mapping[str, Any], prefix: str = "") -> str:
    """Each key whose value differs between two nested configs, as ``"algo.gamma 0.99 there, 0.995 here"``
    (``prefix`` ``"algo."`` names the keys in full; a key one side lacks reads ``(absent)``), comma-separated;
    empty when none differs."""
    old, new = flatten_keys(there), flatten_keys(here)

    def shown(values: Mapping[str, Any], key: str) -> str:
        return repr(values[key]) if key in values else "(absent)"

    return ", ".join(f"{prefix}{key} {shown(old, key)} there, {shown(new, key)} here"
                     for key in changed_keys(there, here))
