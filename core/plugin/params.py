"""Parameter schemas: filling a component's ``params`` dataclass from user values, with clear errors.

Every component record names a ``params`` dataclass; the engine and the experiment tooling fill it from the
user's mapping with :func:`build_params`. Plugins that take nested settings of their own can check them the
same way with :func:`validate_params`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from safexp.plugin.errors import ParameterError, choices_hint
from safexp.plugin.specs import ComponentSpec


def build_params(spec: ComponentSpec, overrides: Mapping[str, Any] | None) -> Any:
    """Validate ``overrides`` against ``spec.params`` and return the filled-in parameter dataclass.

    An unknown key names the component and the nearest valid key; a value of the wrong type names the key.
    """
    return validate_params(spec.params, overrides, f"{spec.kind[:-1]} '{spec.name}'")


def validate_params(schema: type, overrides: Mapping[str, Any] | None, label: str) -> Any:
    """Fill the dataclass ``schema`` from ``overrides``; errors name ``label`` (what the parameters belong to)."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ParameterError(f"the parameters of {label} must be a mapping of names to values, got {overrides!r}")
    from omegaconf import OmegaConf  # here, not at the top: importing safexp stays fast (OmegaConf takes ~0.15 s)
    from omegaconf.errors import OmegaConfBaseException

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
