"""The Button task works through the world's and the buttons' methods: no writes into another plugin's state."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import safexp  # noqa: F401  (registers the ids)
from safexp.plugin.errors import ParameterError


def lidar(env, name: str) -> np.ndarray:
    inner = env.unwrapped
    return inner._observe()[inner.obs_layout[f"{name}_lidar"]]


def test_hiding_an_element_from_the_lidar():
    env = gymnasium.make("safexp/PointButton1-v0")
    env.reset(seed=0)
    world = env.unwrapped.world
    assert world.lidar_hidden == frozenset() and lidar(env, "buttons").any()
    world.hide_from_lidar("buttons")
    assert world.lidar_hidden == {"buttons"} and not lidar(env, "buttons").any() and lidar(env, "hazards").any()
    with pytest.raises(AttributeError):
        world.lidar_hidden.add("hazards")  # a frozen copy: change it through the methods
    world.show_in_lidar("buttons")
    world.show_in_lidar("buttons")  # showing what is shown does nothing
    assert world.lidar_hidden == frozenset() and lidar(env, "buttons").any()
    world.hide_from_lidar("hazards")
    env.reset(seed=1)
    assert world.lidar_hidden == frozenset()  # every episode starts with everything visible
    with pytest.raises(ParameterError, match=r"this scene has no element 'button'; did you mean 'buttons'\?"):
        world.hide_from_lidar("button")


def test_the_task_drives_the_timer_and_the_buttons_lidar_through_methods():
    env = gymnasium.make("safexp/PointButton0-v0", task_params={"resampling_delay": 3})
    env.reset(seed=0)
    world, task = env.unwrapped.world, env.unwrapped.task
    buttons = world.elements["buttons"]
    assert 0 <= buttons.goal_index < 4 and buttons.timer == 0
    assert task.on_goal_met(world) is True  # a success, as the engine reports it
    assert buttons.timer == 3 and world.lidar_hidden == {"buttons"}
    hidden = []
    for _ in range(3):
        task.tick(world)
        hidden.append(world.lidar_hidden == {"buttons"})
    assert hidden == [True, True, False] and buttons.timer == 0
    env.reset(seed=1)
    assert buttons.timer == 0 and world.lidar_hidden == frozenset()


def test_the_task_needs_a_buttons_element():
    with pytest.raises(ParameterError, match=r"element 'hazards' is not a buttons element \(it has no set_goal\(\)\)"):
        gymnasium.make("safexp/Arena-v0", robot="point", task="button", hazards={"num": 2},
                       task_params={"buttons": "hazards"})
