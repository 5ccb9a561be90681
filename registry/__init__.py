"""Plugin discovery and the name → record tables.

:class:`Registry` loads every plugin in the ``safexp`` entry-point group, validates its hook implementations,
and gathers the records its registration hooks return into one table per component kind. A plugin that
fails to import is recorded with its error and the others still load (``strict=True`` raises instead).

Environment switches, for debugging a broken install:

- ``SAFEXP_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points (register plugins by hand with
  :meth:`Registry.register`).
- ``SAFEXP_BLOCK_PLUGINS=name,other``: skip the entry points (or distributions) of these names.
- ``SAFEXP_STRICT_PLUGINS=1``: a plugin that fails to load is an error, not a warning.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from safexp import hookspecs
from safexp.errors import (
    DuplicateComponentError,
    ParameterError,
    PluginLoadError,
    UnknownComponentError,
    choices_hint,
)
from safexp.specs import SPEC_TYPES, ComponentSpec

ENTRY_POINT_GROUP = "safexp"
KINDS = tuple(SPEC_TYPES)  # robots, tasks, hazards, costs, algorithms


@dataclass
class PluginInfo:
    """One plugin as the registry sees it: where it came from, what it provides, and any load error."""

    name: str
    distribution: str = "-"
    version: str = "-"
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class Registry:
    """The plugin manager and the component tables built from it."""

    def __init__(self, autoload: bool | None = None, strict: bool | None = None) -> None:
        self.strict = _env_flag("SAFEXP_STRICT_PLUGINS") if strict is None else strict
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._tables: dict[str, dict[str, ComponentSpec]] = {}
        if (not _env_flag("SAFEXP_DISABLE_PLUGIN_AUTOLOAD")) if autoload is None else autoload:
            self.load_entry_points()

    # -- loading -------------------------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Load every plugin of the ``safexp`` entry-point group that is not blocked."""
        blocked = {b.strip() for b in os.environ.get("SAFEXP_BLOCK_PLUGINS", "").split(",") if b.strip()}
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist else "-"
            version = ep.dist.version if ep.dist else "-"
            if ep.name in blocked or dist in blocked:
                continue
            if ep.name in self.plugins:
                other = self.plugins[ep.name]
                self._fail(PluginInfo(ep.name, dist, version), f"entry point name '{ep.name}' is already taken by "
                           f"distribution {other.distribution}; rename one of them")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any import-time error of a third-party plugin
                self._fail(PluginInfo(ep.name, dist, version), f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(plugin, name=ep.name, distribution=dist, version=version)

    def register(self, plugin: object, name: str | None = None, distribution: str = "-", version: str = "-") -> None:
        """Register a plugin object (a module or an instance with hook implementations) by hand."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        info = PluginInfo(name, distribution, version)
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._fail(info, f"invalid plugin: {exc}")
            return
        unknown = [h for h in _hook_names(plugin) if not hasattr(self.pm.hook, h) or not _is_spec(self.pm, h)]
        if unknown:
            self.pm.unregister(plugin)
            valid = [h for h in dir(hookspecs) if h.startswith("safexp_")]
            self._fail(info, "; ".join(f"unknown hook '{h}' ({choices_hint(h, valid)})" for h in unknown))
            return
        self.plugins[name] = info
        self._tables.clear()

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.error = message
        self.plugins[info.name] = info
        text = f"safexp plugin '{info.name}' (distribution {info.distribution}) failed to load: {message}"
        if self.strict:
            raise PluginLoadError(text)
        warnings.warn(text, RuntimeWarning, stacklevel=3)

    def load_errors(self) -> list[PluginInfo]:
        """The plugins that failed to load."""
        return [p for p in self.plugins.values() if p.error]

    # -- tables --------------------------------------------------------------------------------------------
    def components(self, kind: str) -> dict[str, ComponentSpec]:
        """The ``name → record`` table of one kind (``robots``, ``tasks``, ``hazards``, ``costs``, ``algorithms``)."""
        if kind not in SPEC_TYPES:
            raise UnknownComponentError(f"unknown component kind '{kind}'; {choices_hint(kind, KINDS)}")
        if kind not in self._tables:
            self._tables[kind] = self._collect(kind)
        return self._tables[kind]

    def _collect(self, kind: str) -> dict[str, ComponentSpec]:
        record_type = SPEC_TYPES[kind]
        table: dict[str, ComponentSpec] = {}
        owners: dict[str, str] = {}
        for impl in getattr(self.pm.hook, f"safexp_{kind}").get_hookimpls():  # in registration order
            owner = impl.plugin_name
            info = self.plugins.get(owner)
            where = f"plugin '{owner}'" + (f" (distribution {info.distribution})" if info else "")
            try:
                records = list(impl.function() or ())
            except Exception as exc:
                raise PluginLoadError(f"{where}: hook safexp_{kind} raised {type(exc).__name__}: {exc}") from exc
            for record in records:
                if not isinstance(record, record_type):
                    raise PluginLoadError(f"{where}: safexp_{kind} returned {record!r}, expected {record_type.__name__}")
                if record.name in table:
                    raise DuplicateComponentError(
                        f"{kind[:-1]} '{record.name}' is registered by both {owners[record.name]} and {where}; "
                        "uninstall or block one of them (SAFEXP_BLOCK_PLUGINS)"
                    )
                table[record.name] = record
                owners[record.name] = where
                if info:
                    info.provides.setdefault(kind, []).append(record.name)
        return table

    def get(self, kind: str, name: str) -> ComponentSpec:
        """The record of one component; an unknown name lists the valid ones, nearest first."""
        table = self.components(kind)
        if name not in table:
            raise UnknownComponentError(f"unknown {kind[:-1]} '{name}'; {choices_hint(name, table)}")
        return table[name]

    def provided_by(self) -> dict[str, PluginInfo]:
        """Every plugin with what it provides (builds all tables)."""
        for kind in KINDS:
            self.components(kind)
        return self.plugins

    def hook(self) -> Any:
        """The pluggy hook relay, for calling the lifecycle hooks."""
        return self.pm.hook


def _hook_names(plugin: object) -> list[str]:
    return [n for n in dir(plugin) if n.startswith("safexp_") and callable(getattr(plugin, n, None))
            and getattr(getattr(plugin, n), "safexp_impl", None) is not None]


def _is_spec(pm: pluggy.PluginManager, name: str) -> bool:
    return getattr(pm.hook, name).spec is not None


def build_params(spec: ComponentSpec, overrides: Mapping[str, Any] | None) -> Any:
    """Validate ``overrides`` against ``spec.params`` and return the filled-in parameter dataclass.

    An unknown key names the component and the nearest valid key; a value of the wrong type names the key.
    """
    return validate_params(spec.params, overrides, f"{spec.kind[:-1]} '{spec.name}'")


def validate_params(schema: type, overrides: Mapping[str, Any] | None, label: str) -> Any:
    """Fill the dataclass ``schema`` from ``overrides``; errors name ``label`` (what the parameters belong to)."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ParameterError(f"the parameters of {label} must be a mapping of names to values, got {overrides!r}")
    overrides = dict(overrides or {})
    _check_keys(schema, overrides, label, prefix="")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), overrides)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = str(exc).splitlines()[0]
        raise ParameterError(f"parameter '{key}' of {label}: {reason}") from None


def _check_keys(schema: type, values: Mapping[str, Any], label: str, prefix: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for key, value in values.items():
        if key not in fields:
            raise ParameterError(f"{label} has no parameter '{prefix}{key}'; {choices_hint(str(key), fields)}")
        sub = fields[key].type
        sub_type = sub if isinstance(sub, type) else None
        if sub_type is None and isinstance(sub, str):  # postponed annotations: resolve nested dataclasses only
            default = fields[key].default_factory if fields[key].default_factory is not dataclasses.MISSING else None
            sub_type = type(default()) if default else None
        if sub_type is not None and dataclasses.is_dataclass(sub_type) and isinstance(value, Mapping):
            _check_keys(sub_type, value, label, prefix=f"{prefix}{key}.")


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def reset_registry(registry: Registry | None = None) -> Registry:
    """Replace the process-wide registry (a fresh load by default) — for tests and interactive sessions."""
    global _registry
    _registry = registry if registry is not None else Registry()
    return _registry
