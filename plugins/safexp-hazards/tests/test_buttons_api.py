"""The buttons' goal and timer, changed through the element's methods only."""

from __future__ import annotations

import numpy as np
import pytest

from safexp.plugin.errors import ParameterError

FORWARD = np.array([1.0, 0.0])


def test_goal_and_timer_are_read_only_and_set_through_methods(arena):
    env = arena(buttons={"num": 2, "locations": [[0.4, 0.0], [-1.0, 1.0]]}, costs=["buttons"], cost_indicator=False)
    buttons = env.unwrapped.world.elements["buttons"]
    assert (buttons.goal_index, buttons.timer) == (-1, 0)
    with pytest.raises(AttributeError):
        buttons.timer = 3
    with pytest.raises(AttributeError):
        buttons.goal_index = 1
    buttons.set_goal(1)
    assert buttons.goal_index == 1
    with pytest.raises(ParameterError, match=r"buttons: goal button index must be in -1 .. 1, got 2"):
        buttons.set_goal(2)
    with pytest.raises(ParameterError, match=r"the button timer needs steps ≥ 0, got -1"):
        buttons.start_timer(-1)
    buttons.start_timer(2)
    assert [buttons.count_down(), buttons.timer, buttons.count_down(), buttons.timer] == [False, 1, True, 0]
    assert buttons.count_down() is False and buttons.timer == 0  # a stopped timer stays at 0


def test_wrong_presses_count_other_buttons_only_while_the_timer_is_zero(arena):
    env = arena(buttons={"num": 2, "locations": [[0.4, 0.0], [-1.0, 1.0]]}, costs=["buttons"], cost_indicator=False)
    world = env.unwrapped.world
    buttons = world.elements["buttons"]
    for _ in range(40):  # drive into button 0
        info = env.step(FORWARD)[4]
        if buttons.touched(world):
            break
    presses = len(buttons.touched(world))
    assert presses >= 1 and not buttons.goal_pressed(world)
    assert buttons.wrong_presses(world) == presses == info["cost_buttons"]
    buttons.start_timer(5)
    assert buttons.wrong_presses(world) == 0
    buttons.start_timer(0)
    buttons.set_goal(0)
    assert buttons.goal_pressed(world) and buttons.wrong_presses(world) == 0


def test_the_buttons_cost_needs_a_buttons_element(arena):
    with pytest.raises(ParameterError, match=r"cost 'buttons': element 'pillars' is not a buttons element"):
        arena(pillars={"num": 1}, costs=[{"name": "buttons", "params": {"element": "pillars"}}])
