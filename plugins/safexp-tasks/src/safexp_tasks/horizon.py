"""Episode horizons of the CPO paper's tasks: a number of steps drawn at every reset, after which the task
truncates the episode (Point-Circle's 50 to 65 steps; a fixed horizon is ``[n, n]``)."""

from __future__ import annotations

from typing import List, Optional

from safexp.plugin import ParameterError, Task, World


def check_horizon(task: str, horizon: Optional[List[int]]) -> None:
    """Raise :class:`ParameterError` unless ``horizon`` is ``None`` or ``[low, high]`` with 1 ≤ low ≤ high."""
    if horizon is not None and (len(horizon) != 2 or not 1 <= horizon[0] <= horizon[1]):
        raise ParameterError(f"task '{task}': parameter 'horizon' must be [low, high] steps with 1 ≤ low ≤ high "
                             f"(or null for no horizon of its own), got {list(horizon)}")


class HorizonTask(Task):
    """A task that ends each episode (truncation) after ``params.horizon`` steps: ``[low, high]``, the number drawn
    uniformly from low..high with the episode's generator at every reset; ``None`` leaves it to the time limit."""

    def __init__(self, params: object, name: str) -> None:
        super().__init__(params)
        check_horizon(name, params.horizon)
        self._steps = 0
        self._horizon = 0

    def reset(self, world: World) -> None:
        self._steps = 0
        if self.params.horizon is not None:
            low, high = self.params.horizon
            self._horizon = int(world.rng.integers(low, high + 1))

    def tick(self, world: World) -> None:
        self._steps += 1

    def truncated(self, world: World) -> bool:
        return self.params.horizon is not None and self._steps >= self._horizon

    @property
    def horizon(self) -> int | None:
        """This episode's horizon in steps (``None`` without one)."""
        return self._horizon if self.params.horizon is not None else None
