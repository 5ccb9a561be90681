"""Cost terms (constraints) and how their values become ``info["cost"]``.

A cost plugin's :class:`safexp.CostSpec` factory returns a :class:`CostTerm`: a raw per-step value read off
the world, where anything above zero is unsafe. The engine groups terms into named constraints
(:attr:`CostTerm.constraint`, ``"safety"`` unless the scene configuration says otherwise) and, by default,
turns every term, constraint and the total into indicators (1.0 when above zero), as Safety Gym does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safexp.errors import ParameterError, choices_hint

if TYPE_CHECKING:
    from safexp.element import Element
    from safexp.world import World

DEFAULT_CONSTRAINT = "safety"


class CostTerm:
    """Base class of cost terms. ``name`` and ``constraint`` are set by the engine from the configuration."""

    def __init__(self, params: object) -> None:
        self.params = params
        self.name = ""
        self.constraint = DEFAULT_CONSTRAINT

    def bind(self, world: World) -> None:
        """Called once after the model compiles: look up the elements and ids the term reads."""

    def reset(self, world: World) -> None:
        """Called after every new layout (remember initial positions, say)."""

    def __call__(self, world: World) -> float:
        """The raw cost of the step just simulated (≥ 0; 0 means safe)."""
        raise NotImplementedError(f"{type(self).__name__} must define __call__()")

    def element(self, world: World, name: str) -> Element:
        """The scene element ``name`` this term reads, or an error naming the elements present."""
        if name not in world.elements:
            raise ParameterError(
                f"cost '{self.name}' needs the element '{name}', which this scene does not have; "
                f"{choices_hint(name, world.elements)}"
            )
        return world.elements[name]


class CostMonitor:
    """Evaluates every term once per step and builds the cost entries of ``info``.

    ``info["cost"]``: the combined per-step cost (indicator of any raw cost, or the raw sum);
    ``info["costs"]``: one value per constraint in :attr:`constraint_names` order;
    ``info["cost_<term>"]``: each term's value (indicator or raw, like the rest).
    """

    def __init__(self, terms: list[CostTerm], indicator: bool) -> None:
        self.terms = terms
        self.indicator = indicator
        self.constraint_names: tuple[str, ...] = tuple(dict.fromkeys(t.constraint for t in terms)) or (DEFAULT_CONSTRAINT,)
        self._keys = [f"cost_{t.name}" for t in terms]
        self._entries = [(t, key, self.constraint_names.index(t.constraint)) for t, key in zip(terms, self._keys)]

    def evaluate(self, world: World) -> dict[str, object]:
        info: dict[str, object] = {}
        per_constraint = [0.0] * len(self.constraint_names)
        total = 0.0
        indicator = self.indicator
        for term, key, group in self._entries:
            value = float(term(world))
            per_constraint[group] += value
            total += value
            info[key] = float(value > 0) if indicator else value
        if indicator:
            per_constraint = [float(v > 0) for v in per_constraint]
            total = float(total > 0)
        info["costs"] = dict(zip(self.constraint_names, per_constraint))
        info["cost"] = total
        return info

    def reset(self, world: World) -> None:
        for term in self.terms:
            term.reset(world)

    def zero(self) -> dict[str, object]:
        """The cost entries of a step with no cost (reset, physics failure)."""
        info: dict[str, object] = dict.fromkeys(self._keys, 0.0)
        info["costs"] = dict.fromkeys(self.constraint_names, 0.0)
        info["cost"] = 0.0
        return info
