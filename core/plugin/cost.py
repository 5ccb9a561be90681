"""Cost terms: the per-step constraint signals a cost plugin provides.

A cost plugin's :class:`safexp.CostSpec` factory returns a :class:`CostTerm`: a raw per-step value read off
the world, where anything above zero is unsafe. The engine groups terms into named constraints
(:attr:`CostTerm.constraint`, ``"safety"`` unless the scene configuration says otherwise) and turns them into
``info["cost"]`` (see :mod:`safexp.engine.costs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safexp.plugin.errors import ParameterError, choices_hint

if TYPE_CHECKING:
    from safexp.plugin.element import Element
    from safexp.engine.world import World

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
