"""How the cost terms' values become ``info["cost"]``, ``info["costs"]`` and ``info["cost_<term>"]``.

By default every term, constraint and the total are turned into indicators (1.0 when above zero), as Safety
Gym does; ``cost_indicator=False`` keeps the raw values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safexp.plugin.cost import DEFAULT_CONSTRAINT, CostTerm

if TYPE_CHECKING:
    from safexp.engine.world import World


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
