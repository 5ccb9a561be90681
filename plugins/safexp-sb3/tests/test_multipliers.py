"""Lagrange multipliers: direction of movement, bounds, presets, state round trip."""

import math
import pickle

import pytest

from safexp.plugin.errors import ParameterError, SafexpError
from safexp_sb3.multipliers import (
    MULTIPLIER_PRESETS,
    GradientMultiplier,
    NonFiniteError,
    PIDMultiplier,
    make_multiplier,
)


@pytest.mark.parametrize("parameterisation", ["softplus", "clamp"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_gradient_multiplier_rises_on_violation_and_falls_when_satisfied(parameterisation, optimizer):
    m = GradientMultiplier(25.0, init=1.0, lr=0.05, parameterisation=parameterisation, optimizer=optimizer)
    values = [m.update(40.0) for _ in range(5)]
    assert all(b > a for a, b in zip([1.0, *values], values))
    m2 = GradientMultiplier(25.0, init=1.0, lr=0.05, parameterisation=parameterisation, optimizer=optimizer)
    values = [m2.update(10.0) for _ in range(5)]
    assert all(b <= a for a, b in zip([1.0, *values], values)) and values[-1] < 1.0
    assert min(values) >= 0.0


def test_adam_moves_by_lr_and_sgd_by_lr_times_violation():
    adam = GradientMultiplier(25.0, init=1.0, lr=0.05, parameterisation="clamp", optimizer="adam")
    assert adam.update(1025.0) == pytest.approx(1.05, abs=1e-6)  # first Adam step is lr·sign(grad)
    sgd = GradientMultiplier(25.0, init=1.0, lr=0.01, parameterisation="clamp", optimizer="sgd")
    assert sgd.update(35.0) == pytest.approx(1.0 + 0.01 * 10.0)


def test_softplus_parameterisation_maps_init_exactly_and_stays_positive():
    m = GradientMultiplier(25.0, init=1.0, lr=0.5, parameterisation="softplus", optimizer="sgd")
    assert m.value == pytest.approx(1.0)
    for _ in range(50):
        m.update(0.0)  # violation −25 every step: p falls fast
    assert 0.0 < m.value < 1e-3


def test_clamp_parameterisation_stops_at_zero_and_at_max_value():
    m = GradientMultiplier(25.0, init=0.1, lr=1.0, parameterisation="clamp", optimizer="sgd", max_value=3.0)
    assert m.update(0.0) == 0.0
    assert m.update(1000.0) == 3.0


def test_pid_terms_follow_stooke_et_al():
    m = PIDMultiplier(10.0, kp=0.1, ki=0.01, kd=0.01, d_delay=2, ema=0.5, ema_d=0.5, max_value=100.0)
    lam1 = m.update(30.0)  # Δ = 20: I = 0.2, P = 10, C_d = 15, D = 15 − 0 = 15
    assert m.diagnostics() == pytest.approx({"pid_p": 1.0, "pid_i": 0.2, "pid_d": 0.15})
    assert lam1 == pytest.approx(1.0 + 0.2 + 0.15)
    lam2 = m.update(30.0)  # I = 0.4, P = 15, C_d = 22.5, D = 22.5 − C_d two updates back (0) = 22.5
    assert lam2 == pytest.approx(1.5 + 0.4 + 0.225)
    lam3 = m.update(30.0)  # C_d = 26.25, D = 26.25 − 15 (delay 2)
    assert m.diagnostics()["pid_d"] == pytest.approx(0.01 * (26.25 - 15.0))
    assert lam3 > lam2


def test_pid_is_bounded_below_by_zero_and_above_by_penalty_max():
    m = PIDMultiplier(10.0, kp=1.0, ki=1.0, kd=0.0, max_value=5.0)
    assert m.update(1000.0) == 5.0
    low = PIDMultiplier(10.0)
    for _ in range(20):
        assert low.update(0.0) == 0.0
    assert low.diagnostics()["pid_i"] == 0.0  # the integral is clipped at zero too (no wind-up below)


def test_state_dict_round_trip_through_pickle_continues_identically():
    for preset in MULTIPLIER_PRESETS:
        a = make_multiplier(preset, 25.0)
        for cost in (40.0, 30.0, 10.0):
            a.update(cost)
        b = make_multiplier(preset, 25.0)
        b.load_state_dict(pickle.loads(pickle.dumps(a.state_dict())))
        assert b.value == a.value
        assert b.update(33.0) == a.update(33.0)


def test_presets_carry_the_reference_figures():
    ssa = make_multiplier("safety_starter_agents", 25.0)
    assert (ssa.parameterisation, ssa.optimizer, ssa.lr) == ("softplus", "adam", 0.05)
    assert ssa.value == pytest.approx(1.0)
    omni = make_multiplier("omnisafe", 25.0)
    assert (omni.parameterisation, omni.optimizer, omni.lr, omni.value) == ("clamp", "adam", 0.035, 0.001)
    pid = make_multiplier("pid", 25.0)
    assert (pid.kp, pid.ki, pid.kd, pid.d_delay, pid.ema, pid.max_value) == (0.1, 0.01, 0.01, 10, 0.95, 100.0)
    assert make_multiplier("omnisafe", 25.0, {"lr": 0.5, "init": 2.0}).value == 2.0


def test_bad_presets_and_settings_name_the_valid_choices():
    with pytest.raises(ParameterError, match="did you mean 'omnisafe'"):
        make_multiplier("omnisaf", 25.0)
    with pytest.raises(ParameterError, match="has no setting 'lr'.*valid choices"):
        make_multiplier("pid", 25.0, {"lr": 0.1})
    with pytest.raises(ParameterError, match="did you mean 'softplus'"):
        GradientMultiplier(25.0, parameterisation="softpls")


def test_non_finite_cost_estimate_is_a_named_error():
    m = make_multiplier("omnisafe", 25.0)
    with pytest.raises(NonFiniteError, match="episode cost estimate J_c is nan") as info:
        m.update(math.nan)
    assert isinstance(info.value, SafexpError)
