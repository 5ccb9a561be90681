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
from typing import TYPE_CHECKING, Any

from safexp.plugin.errors import ParameterError, choices_hint

if TYPE_CHECKING:  # the records' module reads the elements' PlacementParams, which are built with bounded()
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
        low = f"({_bound(self.gt)}" if self.gt is not None else f"[{_bound(self.ge)}" if self.ge is not None else "(-inf"
        high = f"{_bound(self.lt)})" if self.lt is not None else f"{_bound(self.le)}]" if self.le is not None else "inf)"
        return f"{low}, {high}"


def _bound(value: float) -> str:
    """A range bound as written: whole numbers in full (``2147483647``), others short (``0.05``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def bounded(default: Any = dataclasses.MISSING, *, gt: float | None = None, ge: float | None = None,
            lt: float | None = None, le: float | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose value (each value, for a list) must lie in the given range.

    ``size: float = bounded(0.2, gt=0)`` accepts any positive size; ``bounded(0.99, gt=0, le=1)`` any value in
    (0, 1]. :func:`validate_params` rejects a value outside the range with the parameter's name, the value
    and the range. A subclass that only changes the default (``keepout: float = 0.5``) keeps the base class's range.
    """
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"range": Range(gt=gt, ge=ge, lt=lt, le=le)})


def build_params(spec: ComponentSpec, overrides: Mapping[str, Any] | None, key: str = "") -> Any:
    """Validate ``overrides`` against ``spec.params`` and return the filled-in parameter dataclass.

    An unknown key names the component and the nearest valid key; a value of the wrong type names the key.
    ``key`` is where the user gave the parameters (``hazards``, ``robot_params``): errors name each parameter
    under it (``hazards.size``).
    """
    return validate_params(spec.params, overrides, spec.label, prefix=f"{key}." if key else "")


def validate_params(schema: type, overrides: Mapping[str, Any] | None, label: str, prefix: str = "") -> Any:
    """Fill the dataclass ``schema`` from ``overrides``; errors name ``label`` (what the parameters belong to) and
    each parameter with ``prefix`` before it (the user's key of the mapping, ``"hazards."``)."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ParameterError(f"the parameters of {label} must be a mapping of names to values, got {overrides!r}")
    from omegaconf import OmegaConf  # here, not at the top: importing safexp stays fast (OmegaConf takes ~0.15 s)
    from omegaconf.errors import OmegaConfBaseException

    overrides = dict(overrides or {})
    _check_keys(schema, overrides, label, prefix)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), overrides)
        params = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = str(exc).splitlines()[0]
        raise ParameterError(f"parameter '{prefix}{key}' of {label}: {reason}") from None
    invalid = invalid_value(params)
    if invalid is not None:
        raise ParameterError(f"parameter '{prefix}{invalid.name}' of {label} {invalid}")
    return params


@dataclasses.dataclass(frozen=True)
class InvalidValue:
    """A numeric parameter value that is NaN, ±inf or outside its field's declared range."""

    name: str  # dotted below the parameter dataclass: ``inner.rate``
    value: float
    valid: Range | None

    def __str__(self) -> str:
        """``is {value} (valid: {range})``, for an error message that names the parameter before it."""
        where = f" (valid: {self.valid})" if self.valid is not None else ""
        return f"is {self.value!r}{where}"


def invalid_value(params: Any, prefix: str = "") -> InvalidValue | None:
    """The first numeric field of the parameter dataclass instance ``params`` (each item of a list, nested
    parameter dataclasses included) that is NaN, ±inf or outside its :func:`bounded` range; ``None`` when every
    value is valid."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            nested = invalid_value(value, prefix=f"{prefix}{f.name}.")
            if nested is not None:
                return nested
            continue
        valid = _declared_range(type(params), f.name)
        for key, number in _numbers(value):
            if not math.isfinite(number) or (valid is not None and number not in valid):
                return InvalidValue(f"{prefix}{f.name}{key}", number, valid)
    return None


def _declared_range(schema: type, name: str) -> Range | None:
    """The range declared for the field ``name`` by ``schema`` or, when a subclass only changes its default, by the
    nearest base class that declares one."""
    for cls in schema.__mro__:
        declared = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
        if name in declared and "range" in declared[name].metadata:
            return declared[name].metadata["range"]
    return None


def _numbers(value: Any) -> list[tuple[str, float]]:
    """The numbers in a field's value, each with the key below the field that holds it: the value itself (key
    ``""``), those in the items of a list (rectangles and positions are lists of lists) or in the values of a
    mapping (per-constraint limits; key ``".name"``)."""
    if isinstance(value, Mapping):
        return [(f".{key}{below}", number) for key, item in value.items() for below, number in _numbers(item)]
    if isinstance(value, (list, tuple)):
        return [pair for item in value for pair in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    return [("", value)]


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
