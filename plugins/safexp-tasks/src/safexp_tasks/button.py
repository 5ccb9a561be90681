"""The Button task: press the goal button among several; a new goal button is chosen on every success.

The buttons are a scene element (``buttons``, from safexp-hazards); the task picks the goal button and drives
the button timer through the element's methods (``set_goal``, ``start_timer``, ``count_down``, ``goal_pressed``),
and moves a ``goal`` marker onto the goal button so that the goal lidar (and the compass) point at it. Per step, in the engine's order: the dense reward, the costs (a wrong button costs only while the timer
is 0), :meth:`ButtonTask.tick` (the timer counts down), then success — a robot geom touching the goal button —
gives the bonus, sets the timer to ``resampling_delay`` and picks a new goal button at random (possibly the
same one, as in Safety Gym). While the timer runs the buttons' lidar reads zero (``World.hide_from_lidar``).
The timer is 0 at reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from safexp.plugin import Element, ParameterError, PlacementParams, Task, World, bounded, choices_hint


BUTTONS_METHODS = ("set_goal", "start_timer", "count_down", "goal_pressed")
"""What the task needs of its buttons element (safexp-hazards' ``Buttons``, or any element with these methods)."""


@dataclass
class ButtonParams:
    """Button task parameters (Safety Gym defaults).

    - ``buttons``: the scene element whose objects are the buttons;
    - ``resampling_delay``: steps after a success during which wrong buttons cost nothing and the buttons'
      lidar reads zero;
    - ``reward_distance``: reward per metre of progress towards the goal button;
    - ``reward_goal``: bonus on success (added after the dense reward is clipped to ±``reward_clip``).
    """

    buttons: str = "buttons"
    resampling_delay: int = bounded(10, ge=0)
    reward_distance: float = bounded(1.0, ge=0)
    reward_goal: float = bounded(1.0, ge=0)
    reward_clip: float = bounded(10.0, gt=0)


class GoalButtonMarker(Element):
    """A translucent green disc under the goal button; the task moves it, the layout never places it."""

    order = 20
    placed = False
    radius = 0.2

    def body_xml(self, index: int) -> str:
        return (f'<geom type="cylinder" size="{self.radius} 0.005" pos="0 0 0.005" rgba="0 1 0 0.4" '
                'contype="0" conaffinity="0"/>')


class ButtonTask(Task):
    """Reward = (previous − current) XY distance from the robot's centre to the goal button × ``reward_distance``."""

    def __init__(self, params: ButtonParams) -> None:
        super().__init__(params)
        self.reward_goal = params.reward_goal
        self.reward_clip = params.reward_clip
        self.marker = GoalButtonMarker(PlacementParams(num=1, keepout=0.0))
        self._last_dist = 0.0
        self._timer_running = False  # whether the buttons' timer runs (started by a success, not run out yet)
        self._goal_pos = np.zeros(3)  # a view of the goal button's row of data.xpos once a goal is chosen

    def elements(self) -> dict[str, Element]:
        return {"goal": self.marker}

    def bind(self, world: World) -> None:
        name = self.params.buttons
        if name not in world.elements:
            raise ParameterError(
                f"task 'button' needs the element '{name}' (e.g. {name}: {{num: 4}}); the scene has "
                f"{choices_hint(name, world.elements)}"
            )
        self.buttons = world.elements[name]
        missing = [m for m in BUTTONS_METHODS if not callable(getattr(self.buttons, m, None))]
        if missing:
            raise ParameterError(f"task 'button': element '{name}' is not a buttons element (it has no {missing[0]}())")

    def goal_position(self, world: World) -> np.ndarray:
        return self._goal_pos

    def _dist(self, world: World) -> float:
        (gx, gy, _), (rx, ry, _) = self._goal_pos.tolist(), world.robot_pos.tolist()
        return math.hypot(gx - rx, gy - ry)

    def _choose_goal(self, world: World) -> None:
        goal = int(world.rng.integers(self.buttons.params.num))
        self.buttons.set_goal(goal)
        self._goal_pos = world.data.xpos[self.buttons.body_ids[goal]]
        self.marker.place(world, self._goal_pos[None, :2], np.zeros(1))
        mujoco.mj_kinematics(world.model, world.data)  # the marker's position is read this step (lidar)
        self._last_dist = self._dist(world)

    def reset(self, world: World) -> None:
        self.buttons.start_timer(0)
        self._timer_running = False
        world.show_in_lidar(self.buttons.name)
        self._choose_goal(world)

    def reward(self, world: World) -> float:
        dist = self._dist(world)
        reward = (self._last_dist - dist) * self.params.reward_distance
        self._last_dist = dist
        return reward

    def tick(self, world: World) -> None:
        if self._timer_running and self.buttons.count_down():  # the flag spares idle steps a method call
            self._timer_running = False
            world.show_in_lidar(self.buttons.name)

    def goal_met(self, world: World) -> bool:
        return self.buttons.goal_pressed(world)

    def on_goal_met(self, world: World) -> bool:
        self.buttons.start_timer(self.params.resampling_delay)
        self._timer_running = self.params.resampling_delay > 0
        if self._timer_running:
            world.hide_from_lidar(self.buttons.name)
        self._choose_goal(world)
        return True
