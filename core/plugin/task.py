"""Tasks: what the robot is asked to do — the elements it needs, its reward and its success test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from safexp.plugin.element import Element
    from safexp.engine.world import World


class Task:
    """Base class of tasks; a :class:`safexp.TaskSpec` factory returns an instance.

    The engine calls, per episode: :meth:`reset` after the layout is placed; per step: :meth:`reward`
    (the dense reward, clipped by the engine to ±``reward_clip``), :meth:`tick`, then :meth:`goal_met`; on
    success it adds ``reward_goal`` after the clip and calls :meth:`on_goal_met` — or, when ``goal_ends_episode``
    is set, ends the episode as a terminal state (``terminated``) instead. When the robot falls (see
    :meth:`safexp.RobotModel.is_healthy`) the step's reward gets ``reward_fall`` and the episode terminates. A
    task that overrides :meth:`truncated` is asked every step, last, whether its own horizon ends the episode.
    """

    reward_goal: float = 1.0
    reward_clip: float = 10.0
    goal_ends_episode: bool = False
    reward_fall: float = 0.0

    def __init__(self, params: object) -> None:
        self.params = params

    # -- override -------------------------------------------------------------------------------------------
    def elements(self) -> dict[str, Element]:
        """The task's own scene elements (a goal, a box), by element name. They are placed like any other."""
        return {}

    def bind(self, world: World) -> None:
        """Called once after the model compiles: look up ids and the elements the task uses."""

    def reset(self, world: World) -> None:
        """Called after every new layout: remember the distances the dense reward is measured from."""

    def reward(self, world: World) -> float:
        """The dense reward of the step just simulated (before clipping, without the goal bonus)."""
        return 0.0

    def tick(self, world: World) -> None:
        """Called every step after the cost, before :meth:`goal_met` (timers)."""

    def goal_met(self, world: World) -> bool:
        """Whether the task was accomplished on this step."""
        return False

    def on_goal_met(self, world: World) -> bool:
        """React to success (move the goal). :return: ``False`` to end the episode (no new goal fits)."""
        return True

    def start_heading(self, world: World) -> float | None:
        """The robot's yaw (radians) at the start of an episode, drawn from ``world.rng`` after the layout is
        sampled, or ``None`` for a uniformly random heading (the default)."""
        return None

    def truncated(self, world: World) -> bool:
        """Whether the task's own horizon ends the episode after this step (a truncation, not a terminal state).

        Only called when a subclass overrides it; a fixed horizon is better left to the env's time limit.
        """
        return False

    def goal_position(self, world: World) -> np.ndarray | None:
        """The goal's world position for the compass observation, or ``None`` if the task has no goal point."""
        return None
