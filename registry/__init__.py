"""Plugin discovery and the name → record tables.

:class:`Registry` loads the plugins of the ``safexp`` entry-point group on first use, validates their hook
implementations, and gathers the records their registration hooks return into one table per kind. Nothing a
plugin does can take the host down:

- a plugin whose import fails, whose hook raises, or whose hook returns something other than its record type
  is recorded as that plugin's load error (``safexp plugins`` shows it) and the other plugins work;
- two plugins registering one name of one kind make only that name unusable: it is left out of the table and
  looking it up raises an error naming both plugins and how to block one of them.

Strict mode turns any load error or conflict into an error at the first lookup.

Environment switches, for debugging an install:

- ``SAFEXP_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points (register plugins by hand with
  :meth:`Registry.register`).
- ``SAFEXP_BLOCK_PLUGINS=name,other``: skip the entry points (or distributions) of these names.
- ``SAFEXP_STRICT_PLUGINS=1``: strict mode (training runs also use it unless their config sets
  ``strict_plugins: false``).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import pluggy

from safexp.plugin import hookspecs
from safexp.plugin.errors import DuplicateComponentError, PluginLoadError, UnknownComponentError, choices_hint
from safexp.plugin.specs import SPEC_TYPES, CommandSpec, kind_singular

ENTRY_POINT_GROUP = "safexp"
KINDS = tuple(SPEC_TYPES)  # robots, tasks, hazards, costs, algorithms
RECORD_TYPES: dict[str, type] = {**SPEC_TYPES, "commands": CommandSpec}
"""Every registration hook's kind (``safexp_<kind>``) → the record type it must yield."""


@dataclass
class PluginInfo:
    """One plugin as the registry sees it: where it came from, what it provides, and any load errors."""

    name: str
    distribution: str = "-"
    version: str = "-"
    errors: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """The load errors as one message, or ``None``."""
        return "; ".join(self.errors) or None

    @property
    def label(self) -> str:
        return f"plugin '{self.name}' (distribution {self.distribution})"


@dataclass(frozen=True)
class Conflict:
    """One name of one kind registered by several plugins (none of them is used)."""

    kind: str
    name: str
    owners: tuple[PluginInfo, ...]

    def message(self) -> str:
        what = f"{kind_singular(self.kind)} '{self.name}'"
        distinct = list(dict.fromkeys(owner.label for owner in self.owners))
        if len(distinct) == 1:
            return f"{what} is registered {len(self.owners)} times by {distinct[0]}, so it is not used; report it to its authors"
        block = ",".join(dict.fromkeys(owner.name for owner in self.owners[1:]))
        return (f"{what} is registered by both {' and '.join(distinct)}, so neither is used; "
                f"block one of them (SAFEXP_BLOCK_PLUGINS={block}) or uninstall its distribution")


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class Registry:
    """The plugin manager and the component tables built from it, loaded on first use."""

    def __init__(self, autoload: bool | None = None, strict: bool | None = None) -> None:
        self.strict = env_flag("SAFEXP_STRICT_PLUGINS") if strict is None else strict
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._autoload = (not env_flag("SAFEXP_DISABLE_PLUGIN_AUTOLOAD")) if autoload is None else autoload
        self._loaded = False
        self._plugins: dict[str, PluginInfo] = {}
        self._tables: dict[str, dict[str, Any]] = {}
        self._conflicts: dict[str, dict[str, Conflict]] = {}
        self._failed_calls: set[tuple[str, str]] = set()  # (plugin, lifecycle hook) pairs that raised
        self._deferred: list[importlib.metadata.EntryPoint] = []
        self.loaded_listeners: list[Any] = []
        """Called with the registry when plugins that had to wait for their own import have loaded."""

    # -- loading -------------------------------------------------------------------------------------------
    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every plugin loaded or tried, by name (loads the entry points on first use)."""
        self._load()
        return self._plugins

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            if self._autoload:
                self.load_entry_points()
        elif self._deferred:
            self._load_deferred()

    def load_entry_points(self) -> None:
        """Load every plugin of the ``safexp`` entry-point group that is not blocked."""
        self._loaded = True
        blocked = blocked_plugins()
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "-"
            if ep.name in blocked or dist in blocked:
                continue
            if ep.name in self._plugins:  # refused before its module is imported
                self._refuse_taken_name(ep.name, dist, ep.dist.version if ep.dist else "-")
                continue
            self._load_entry_point(ep)

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist else "-"
        version = ep.dist.version if ep.dist else "-"
        try:
            plugin = ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # any import-time error of a plugin, SystemExit included
            if _mid_import(ep.module):  # the plugin's own package is importing safexp: load it once that is done
                self._deferred.append(ep)
                return
            self._fail(PluginInfo(ep.name, dist, version), f"import failed: {type(exc).__name__}: {exc}")
            return
        self.register(plugin, name=ep.name, distribution=dist, version=version)

    def _load_deferred(self) -> None:
        """Load the plugins whose package was still importing when the others loaded (a user imported, say,
        ``safexp_tasks.button`` before ``safexp``), then tell the listeners (the catalogue registers its ids)."""
        waiting, self._deferred = self._deferred, []
        for ep in waiting:
            if _mid_import(ep.module):
                self._deferred.append(ep)
            else:
                self._load_entry_point(ep)
        if len(self._deferred) < len(waiting):
            for listener in self.loaded_listeners:
                listener(self)

    def register(self, plugin: object, name: str | None = None, distribution: str = "-", version: str = "-") -> None:
        """Register a plugin object (a module or an instance with hook implementations) by hand (the entry-point
        plugins load first, if they have not yet). A name already taken is refused, as a load error of this one."""
        if not self._loaded:
            self._load()
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self._plugins:
            self._refuse_taken_name(name, distribution, version)
            return
        info = PluginInfo(name, distribution, version)
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._fail(info, f"invalid plugin: {exc}")
            return
        valid = [h for h in dir(hookspecs) if h.startswith("safexp_")]
        problems = [f"unknown hook '{h}' ({choices_hint(h, valid)})" if h not in valid else
                    f"hook '{h}' is not decorated with @hookimpl (from safexp.plugin), so it would never be called"
                    for h in _hook_names(plugin)
                    if h not in valid or getattr(getattr(plugin, h), "safexp_impl", None) is None]
        if problems:
            self.pm.unregister(plugin)
            self._fail(info, "; ".join(problems))
            return
        self._plugins[name] = info
        self._tables.clear()  # rebuilt on the next lookup, with every plugin's records
        self._conflicts.clear()
        for other in self._plugins.values():
            other.provides.clear()

    def _refuse_taken_name(self, name: str, distribution: str, version: str) -> None:
        """Record a second plugin named ``name`` (listed as ``name (distribution)``) as one that failed to load."""
        self._fail(PluginInfo(f"{name} ({distribution})", distribution, version),
                   f"plugin name '{name}' is already taken by distribution {self._plugins[name].distribution}; "
                   "rename one of them")

    def _fail(self, info: PluginInfo, message: str, failed: str = "failed to load") -> None:
        if message in info.errors:  # the same hook failing again when the tables are rebuilt
            return
        info.errors.append(message)
        self._plugins.setdefault(info.name, info)
        warnings.warn(f"safexp {info.label} {failed}: {message}", RuntimeWarning, stacklevel=3)

    def load_errors(self) -> list[PluginInfo]:
        """The plugins that failed to load (after building every table, so failing hooks count too)."""
        self.provided_by()
        return [p for p in self._plugins.values() if p.errors]

    def conflicts(self, kind: str | None = None) -> list[Conflict]:
        """Every name registered by more than one plugin: over all kinds, or of one ``kind`` (which builds that
        table alone, so listing robots calls no algorithm hook)."""
        if kind is not None:
            self._table(kind)
            return list(self._conflicts[kind].values())
        self.provided_by()
        return [c for table in self._conflicts.values() for c in table.values()]

    def check(self) -> None:
        """Raise :class:`PluginLoadError` naming every load error and conflict (strict mode's test)."""
        problems = [f"{p.label}: {p.error}" for p in self.load_errors()] + [c.message() for c in self.conflicts()]
        if problems:
            raise PluginLoadError("plugins failed to load (strict mode; see `safexp plugins`, or block a plugin "
                                  "with SAFEXP_BLOCK_PLUGINS): " + " | ".join(problems))

    # -- tables --------------------------------------------------------------------------------------------
    def components(self, kind: str) -> dict[str, Any]:
        """The ``name → record`` table of one kind (``robots``, ``tasks``, ``hazards``, ``costs``,
        ``algorithms``, ``commands``); names in conflict are left out."""
        table = self._table(kind)
        if self.strict and (kind != "commands"):
            self.check()
        return table

    def _table(self, kind: str) -> dict[str, Any]:
        """The table of ``kind``, built on first use (never raises for a plugin's fault)."""
        if kind not in RECORD_TYPES:
            raise UnknownComponentError(f"unknown component kind '{kind}'; {choices_hint(kind, RECORD_TYPES)}")
        self._load()
        if kind not in self._tables:
            self._tables[kind], self._conflicts[kind] = self._collect(kind)
        return self._tables[kind]

    def _collect(self, kind: str) -> tuple[dict[str, Any], dict[str, Conflict]]:
        record_type = RECORD_TYPES[kind]
        table: dict[str, Any] = {}
        owners: dict[str, list[PluginInfo]] = {}
        for impl in getattr(self.pm.hook, f"safexp_{kind}").get_hookimpls():  # in registration order
            info = self._plugins.get(impl.plugin_name) or PluginInfo(impl.plugin_name)
            try:
                records = list(impl.function() or ())
            except BaseException as exc:  # SystemExit included: a plugin never takes the host down
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(info, f"hook safexp_{kind} raised {type(exc).__name__}: {exc}")
                continue
            wrong = [r for r in records if not isinstance(r, record_type)]
            if wrong:
                self._fail(info, f"hook safexp_{kind} returned {wrong[0]!r}, expected {record_type.__name__} records")
                continue
            for record in records:
                owners.setdefault(record.name, []).append(info)
                table.setdefault(record.name, record)
                info.provides.setdefault(kind, []).append(record.name)
        conflicts = {name: Conflict(kind, name, tuple(who)) for name, who in owners.items() if len(who) > 1}
        for name in conflicts:
            del table[name]
        return table, conflicts

    def get(self, kind: str, name: str) -> Any:
        """The record of one component; an unknown name lists the valid ones, nearest first."""
        table = self.components(kind)
        if name in self._conflicts.get(kind, {}):
            raise DuplicateComponentError(self._conflicts[kind][name].message())
        if name not in table:
            raise UnknownComponentError(f"unknown {kind_singular(kind)} '{name}'; {choices_hint(name, table)}")
        return table[name]

    def provided_by(self) -> dict[str, PluginInfo]:
        """Every plugin with what it provides (builds all tables, never raises for a plugin's fault)."""
        strict, self.strict = self.strict, False
        try:
            for kind in RECORD_TYPES:
                self.components(kind)
        finally:
            self.strict = strict
        return self._plugins

    def call_each(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call every plugin's implementation of the lifecycle hook ``hook`` (``safexp_env_created``,
        ``safexp_training_callbacks``) on its own, in pluggy's order.

        A plugin whose implementation raises does not fail the caller: the error becomes that plugin's load error
        (``safexp plugins`` lists it, a warning says so once) and its implementation is not called again. In strict
        mode the call then raises :class:`PluginLoadError`.

        :return: the results of the implementations that returned something other than ``None``.
        """
        self._load()
        results = []
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            if (impl.plugin_name, hook) in self._failed_calls:
                continue
            try:
                result = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit included, as when loading
                self._failed_calls.add((impl.plugin_name, hook))
                info = self._plugins.get(impl.plugin_name) or PluginInfo(impl.plugin_name)
                self._fail(info, f"hook {hook} raised {type(exc).__name__}: {exc}", failed="failed (it is not called again)")
                continue
            if result is not None:
                results.append(result)
        if self.strict and self._failed_calls:
            self.check()
        return results


def _mid_import(module: str) -> bool:
    """Whether a module of ``module``'s top-level package is being imported right now (``safexp_tasks.button``
    for ``safexp_tasks.plugin``): a plugin whose own module imports safexp first can load once that import ends."""
    package = module.split(".")[0]
    return any(getattr(getattr(loaded, "__spec__", None), "_initializing", False)
               for name, loaded in list(sys.modules.items()) if name == package or name.startswith(package + "."))


def blocked_plugins() -> set[str]:
    """The entry-point or distribution names in ``SAFEXP_BLOCK_PLUGINS``."""
    return {b.strip() for b in os.environ.get("SAFEXP_BLOCK_PLUGINS", "").split(",") if b.strip()}


def _hook_names(plugin: object) -> list[str]:
    """The ``safexp_``-named functions of a plugin, decorated with ``@hookimpl`` or not (a hook without the
    decorator would be ignored by pluggy: the plugin is refused instead)."""
    return [n for n in dir(plugin) if n.startswith("safexp_") and inspect.isroutine(getattr(plugin, n, None))]


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry (its plugins load on first use)."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def reset_registry(registry: Registry | None = None) -> Registry:
    """Replace the process-wide registry (a fresh one by default) — for tests and interactive sessions."""
    global _registry
    _registry = registry if registry is not None else Registry()
    return _registry
