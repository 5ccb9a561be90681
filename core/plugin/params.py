"""Parameter schemas: filling a component's ``params`` dataclass from user values, with clear errors.

Every component record names a ``params`` dataclass; the engine and the experiment tooling fill it from the
user's mapping with :func:`build_params`. Plugins that take nested settings of their own can check them the
same way with :func:`validate_params`. A numeric field declares its valid range with :func:`bounded`
(``size: float = bounded(0.2, gt=0)``); no numeric parameter may be NaN or infinite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from safexp.plugin.errors import ParameterError, choices_hint
from safexp.plugin.specs import ComponentSpec


@dataclasses.dataclass(frozen=True)
class Range:
    """The valid values of a numeric parameter: bounds that are exclusive (``gt``, ``lt``) or inclusive
    (``ge``, ``le``), each optional."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def __contains__(self, value: float) -> bool:
        return ((self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
                and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))

    def __str__(self) -> str:
        low = f"({self.gt:g}" if self.gt is not None else f"[{self.ge:g}" if self.ge is not None else "(-inf"
        high = f"{self.lt:g})" if self.lt is not None else f"{self.le:g}]" if self.le is not None else "inf)"
        return f"{low}, {high}"


def bounded(default: Any = dataclasses.MISSING, *, gt: float | None = None, ge: float | None = None,
            lt: float | None = None, le: float | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose value (each value, for a list) must lie in the given range.

    ``size: float = bounded(0.2, gt=0)`` accepts any positive size; ``bounded(0.99, gt=0, le=1)`` any value in
    (0, 1]. :func:`validate_params` rejects a value outside the range with the parameter's name, the value
    and the range.
    """
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"range": Range(gt=gt, ge=ge, lt=lt, le=le)})


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
        params = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = str(exc).splitlines()[0]
        raise ParameterError(f"parameter '{key}' of {label}: {reason}") from None
    _check_ranges(params, label, prefix="")
    return params


def _check_ranges(params: Any, label: str, prefix: str) -> None:
    """Reject NaN and ±inf in any numeric field and values outside a :func:`bounded` field's range, recursing into
    nested parameter dataclasses."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            _check_ranges(value, label, prefix=f"{prefix}{f.name}.")
            continue
        valid = f.metadata.get("range")
        for number in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                continue
            if not math.isfinite(number) or (valid is not None and number not in valid):
                where = f" (valid: {valid})" if valid is not None else ""
                raise ParameterError(f"parameter '{prefix}{f.name}' of {label} is {number!r}{where}")


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
