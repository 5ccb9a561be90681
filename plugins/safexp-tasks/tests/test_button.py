"""The Button task on hand-placed layouts: the goal button, the timer, wrong buttons, the buttons' lidar."""

from __future__ import annotations

import math

import gymnasium
import mujoco
import numpy as np
import pytest

from safexp.plugin.errors import ParameterError

BUTTONS = [[0.8, 0.0], [-0.8, 0.0], [0.0, 0.8], [0.0, -0.8]]


def button_env(**kwargs):
    """PointButton0 with the four buttons on a cross and the wrong-button cost (raw)."""
    env = gymnasium.make("safexp/PointButton0-v0", robot_location=[0.0, 0.0], cost_indicator=False,
                         costs=["buttons"], buttons={"locations": BUTTONS}, **kwargs)
    env.reset(seed=0)
    return env, env.unwrapped.world, env.unwrapped.task


def put_robot_against(world, button: int) -> None:
    """Stop the robot and move it so that its sphere presses into ``button`` (5 mm), facing it."""
    bx, by = BUTTONS[button]
    direction = np.array([bx, by]) / math.hypot(bx, by)
    world._place_robot(np.array([bx, by]) - direction * 0.195, math.atan2(direction[1], direction[0]) + math.pi)
    world.data.qvel[:] = 0.0
    mujoco.mj_forward(world.model, world.data)


def wrong_button(task) -> int:
    return next(i for i in range(4) if i != task.buttons.goal_index)


def test_wrong_button_costs_from_the_first_step_while_the_timer_is_zero():
    env, world, task = button_env()
    assert task.buttons.timer == 0 and world.lidar_hidden == set()
    wrong = wrong_button(task)
    put_robot_against(world, wrong)
    touching = task.buttons.touched(world).count(wrong)
    assert touching >= 1
    _, _, _, _, info = env.step(np.zeros(2))
    assert info["goal_met"] is False
    assert info["cost_buttons"] == len(task.buttons.touched(world)) >= 1  # one per contact
    assert info["costs"] == {"safety": info["cost_buttons"]} and info["cost"] == info["cost_buttons"]


def test_reset_reports_no_cost_even_against_a_wrong_button():
    env = gymnasium.make("safexp/PointButton0-v0", robot_location=[0.0, 0.0], costs=["buttons"],
                         buttons={"locations": [[0.195, 0.0], [-0.8, 0.0], [0.0, 0.8], [0.0, -0.8]]})
    for seed in range(6):
        _, info = env.reset(seed=seed)
        assert info["cost"] == 0.0 and info["cost_buttons"] == 0.0  # reset never charges


def test_pressing_the_goal_button_gives_the_bonus_starts_the_timer_and_hides_the_buttons():
    env, world, task = button_env()
    layout = env.unwrapped.obs_layout
    goal = task.buttons.goal_index
    put_robot_against(world, goal)
    before = task._last_dist = task._dist(world)  # progress measured from here: only this step's
    obs, reward, terminated, truncated, info = env.step(np.zeros(2))
    after = math.dist(world.robot_pos[:2], BUTTONS[goal])
    assert info["goal_met"] is True and not terminated and not truncated
    assert reward == pytest.approx(before - after + 1.0, abs=1e-9)
    assert task.buttons.timer == 10 and world.lidar_hidden == {"buttons"}
    assert np.all(obs[layout["buttons_lidar"]] == 0.0)
    # the goal lidar and the compass follow the new goal button (possibly the same one, as in Safety Gym)
    new_goal = task.buttons.goal_index
    np.testing.assert_allclose(task.goal_position(world)[:2], BUTTONS[new_goal])
    np.testing.assert_allclose(world.elements["goal"].positions(world)[0, :2], BUTTONS[new_goal])
    assert obs[layout["goal_lidar"]].max() > 0


def test_the_timer_counts_down_wrong_buttons_are_free_meanwhile_and_the_lidar_returns():
    env, world, task = button_env()
    put_robot_against(world, task.buttons.goal_index)
    assert env.step(np.zeros(2))[4]["goal_met"] is True
    layout = env.unwrapped.obs_layout
    timers, costs, hidden = [], [], []
    for _ in range(11):
        put_robot_against(world, wrong_button(task))
        obs, _, _, _, info = env.step(np.zeros(2))
        assert info["goal_met"] is False
        timers.append(task.buttons.timer)
        costs.append(info["cost_buttons"])
        hidden.append(bool(np.all(obs[layout["buttons_lidar"]] == 0.0)))
    assert timers == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]
    assert costs[:10] == [0.0] * 10 and costs[10] >= 1  # the cost is read before the tick: timer 1 → free
    assert hidden == [True] * 9 + [False, False]


def test_the_dense_reward_is_progress_towards_the_goal_button():
    env, world, task = button_env()
    goal = np.array(BUTTONS[task.buttons.goal_index])
    total = 0.0
    start = math.dist(world.robot_pos[:2], goal)
    for _ in range(30):
        total += env.step(np.array([1.0, 0.3]))[1]
    assert total == pytest.approx(start - math.dist(world.robot_pos[:2], goal), abs=1e-9)


def test_goal_buttons_are_drawn_from_the_seed():
    env, _, task = button_env()
    picks = []
    for seed in range(12):
        env.reset(seed=seed)
        picks.append(task.buttons.goal_index)
    assert len(set(picks)) > 1
    again = []
    for seed in range(12):
        env.reset(seed=seed)
        again.append(task.buttons.goal_index)
    assert picks == again


def test_the_button_task_needs_buttons():
    with pytest.raises(ParameterError, match=r"task 'button' needs the element 'buttons' \(e.g. buttons: \{num: 4\}\)"):
        gymnasium.make("safexp/Arena-v0", robot="point", task="button")
    with pytest.raises(ParameterError, match=r"parameter 'task_params.resampling_delay' of task 'button' is -1 \(valid: \[0, inf\)\)"):
        gymnasium.make("safexp/PointButton0-v0", task_params={"resampling_delay": -1})
