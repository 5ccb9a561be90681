"""Declared parameter ranges (``safexp.plugin.bounded``): values outside them, NaN and ±inf are rejected by name."""

from dataclasses import dataclass
from typing import List

import pytest

from safexp.plugin import ParameterError, bounded, validate_params


@dataclass
class Inner:
    rate: float = bounded(0.5, ge=0, le=1)


@dataclass
class Schema:
    size: float = bounded(0.2, gt=0)
    gamma: float = bounded(0.99, gt=0, le=1)
    offsets: List[float] = bounded(default_factory=lambda: [1.0], ge=0)
    free: float = 1.0
    count: int = bounded(3, ge=1)
    inner: Inner = bounded(default_factory=Inner)


def test_values_inside_the_ranges_are_kept():
    params = validate_params(Schema, {"size": 3, "gamma": 1, "offsets": [0, 2], "count": 1, "inner": {"rate": 0}}, "x")
    assert (params.size, params.gamma, params.offsets, params.count, params.inner.rate) == (3.0, 1.0, [0.0, 2.0], 1, 0)


@pytest.mark.parametrize(("values", "message"), [
    ({"size": 0}, "parameter 'size' of element 'hazards' is 0.0 (valid: (0, inf))"),
    ({"gamma": 2}, "parameter 'gamma' of element 'hazards' is 2.0 (valid: (0, 1])"),
    ({"offsets": [1, -1]}, "parameter 'offsets' of element 'hazards' is -1.0 (valid: [0, inf))"),
    ({"count": 0}, "parameter 'count' of element 'hazards' is 0 (valid: [1, inf))"),
    ({"inner": {"rate": 1.5}}, "parameter 'inner.rate' of element 'hazards' is 1.5 (valid: [0, 1])"),
    ({"free": float("nan")}, "parameter 'free' of element 'hazards' is nan"),
    ({"size": float("inf")}, "parameter 'size' of element 'hazards' is inf (valid: (0, inf))"),
    ({"free": float("-inf")}, "parameter 'free' of element 'hazards' is -inf"),
])
def test_values_outside_a_range_or_not_finite_name_the_parameter_and_the_range(values, message):
    with pytest.raises(ParameterError) as error:
        validate_params(Schema, values, "element 'hazards'")
    assert str(error.value) == message


@dataclass
class NewDefaults(Schema):
    size: float = 0.5  # a new default only: the base class's range still holds


def test_a_subclass_that_changes_a_default_keeps_the_declared_range():
    assert validate_params(NewDefaults, {}, "x").size == 0.5
    with pytest.raises(ParameterError, match=r"parameter 'hazards.size' of element 'hazards' is -1.0 \(valid: \(0, inf\)\)"):
        validate_params(NewDefaults, {"size": -1}, "element 'hazards'", prefix="hazards.")
