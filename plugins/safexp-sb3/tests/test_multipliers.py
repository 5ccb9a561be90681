"""Lagrange multipliers: direction of movement, bounds, presets, state round trip."""

import json
import math
import pickle

import pytest

from safexp.plugin import build_params, get_registry
from safexp.plugin.errors import ParameterError, SafexpError
from safexp_sb3.multipliers import (
    MULTIPLIER_PRESETS,
    GradientMultiplier,
    NonFiniteError,
    PIDMultiplier,
    make_multiplier,
)
from safexp_sb3.params import multiplier_kwargs


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
    pid = make_multiplier("pid", 25.0)  # OmniSafe's CPPOPID.yaml lagrange_cfgs
    assert (pid.kp, pid.ki, pid.kd, pid.d_delay, pid.ema, pid.ema_d, pid.max_value, pid.value) == (
        0.1, 0.01, 0.01, 10, 0.95, 0.95, 100.0, 0.001)
    assert make_multiplier("pid_trpo", 25.0).kp == 0.01  # OmniSafe's TRPOPID.yaml
    sgd = make_multiplier("sgd", 25.0)
    assert (sgd.parameterisation, sgd.optimizer, sgd.value) == ("clamp", "sgd", 0.0)
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


def test_pid_terms_against_hand_values_over_five_updates():
    """P and D smoothed with different factors, a three-update delay, and D clipped at zero."""
    m = PIDMultiplier(25.0, kp=0.1, ki=0.01, kd=0.01, d_delay=3, ema=0.8, ema_d=0.5, max_value=100.0, init=0.001)
    assert m.value == 0.001
    # (J_c, I, P, C_d, D): I += 0.01·Δ; P = 0.8·P + 0.2·Δ; C_d = 0.5·C_d + 0.5·J_c; D = C_d − C_d 3 updates back
    expected = [
        (45.0, 0.201, 4.0, 22.5, 22.5),       # C_d before the first update counts as 0
        (35.0, 0.301, 5.2, 28.75, 28.75),
        (15.0, 0.201, 2.16, 21.875, 21.875),  # Δ < 0 lowers I and P
        (55.0, 0.501, 7.728, 38.4375, 38.4375 - 22.5),  # the delay line now reaches back to update 1
        (0.0, 0.251, 1.1824, 19.21875, 0.0),  # C_d fell below update 2's 28.75: D is clipped at 0
    ]
    for cost, integral, proportional, _smoothed, derivative in expected:
        lam = m.update(cost)
        terms = m.diagnostics()
        assert terms == pytest.approx({"pid_p": 0.1 * proportional, "pid_i": integral, "pid_d": 0.01 * derivative})
        assert lam == pytest.approx(0.1 * proportional + integral + 0.01 * derivative)
    assert m.state_dict()["derivative_cost"] == pytest.approx(expected[-1][3])


def test_pid_integral_does_not_wind_up_past_the_penalty_max():
    m = PIDMultiplier(10.0, kp=0.0, ki=1.0, kd=0.0, max_value=5.0)
    assert m.update(1000.0) == 5.0 and m.diagnostics()["pid_i"] == 5.0  # not 990
    assert m.update(0.0) == 0.0  # one satisfied update (Δ = −10) releases it at once


def test_cost_ema_smooths_the_estimate_before_the_step():
    raw = GradientMultiplier(25.0, init=0.0, lr=0.01, parameterisation="clamp", optimizer="sgd")
    smooth = GradientMultiplier(25.0, init=0.0, lr=0.01, parameterisation="clamp", optimizer="sgd", cost_ema=0.5)
    # smoothed: Ĵ = 45, then 0.5·45 + 0.5·25 = 35, then 0.5·35 + 0.5·5 = 20
    assert [smooth.update(c) for c in (45.0, 25.0, 5.0)] == pytest.approx([0.2, 0.3, 0.25])
    assert [raw.update(c) for c in (45.0, 25.0, 5.0)] == pytest.approx([0.2, 0.2, 0.0])
    assert smooth.diagnostics() == pytest.approx({"violation": -5.0, "smoothed_cost": 20.0})
    assert "smoothed_cost" not in raw.diagnostics()
    pid = PIDMultiplier(25.0, kp=0.0, ki=0.01, kd=0.0, ema=0.0, ema_d=0.0, cost_ema=0.5)
    assert [pid.update(c) for c in (45.0, 25.0)] == pytest.approx([0.2, 0.3])  # I sees Δ = 20, then 10


@pytest.mark.parametrize("preset", sorted(MULTIPLIER_PRESETS))
def test_every_preset_follows_the_violation_within_its_bounds(preset):
    rising = make_multiplier(preset, 25.0, {"init": 1.0})
    values = [rising.update(45.0) for _ in range(5)]
    assert all(b > a for a, b in zip([1.0, *values], values)), values
    falling = make_multiplier(preset, 25.0, {"init": 1.0})
    values = [falling.update(5.0) for _ in range(5)]
    assert all(b < a or b == 0.0 for a, b in zip([1.0, *values], values)), values  # down, or held at the floor
    capped = make_multiplier(preset, 25.0, {"init": 1.0, "max_value": 3.0})
    values = [capped.update(1e4) for _ in range(200)]
    assert all(0.0 <= v <= 3.0 for v in values) and values[-1] == pytest.approx(3.0)
    floored = make_multiplier(preset, 25.0, {"init": 1.0})
    values = [floored.update(0.0) for _ in range(400)]
    assert all(v >= 0.0 for v in values) and values[-1] < 1e-3  # softplus only approaches 0; the others reach it


@pytest.mark.parametrize("preset", sorted(MULTIPLIER_PRESETS))
def test_state_is_plain_json_and_continues_identically(preset):
    a = make_multiplier(preset, 25.0, {"cost_ema": 0.5})
    for cost in (40.0, 30.0, 10.0):
        a.update(cost)
    b = make_multiplier(preset, 25.0, {"cost_ema": 0.5})
    state = a.state_dict()
    assert all(isinstance(v, (float, int)) or all(isinstance(x, float) for x in v) for v in state.values()), state
    b.load_state_dict(json.loads(json.dumps(state)))
    assert b.value == a.value
    assert [b.update(c) for c in (33.0, 12.0)] == [a.update(c) for c in (33.0, 12.0)]
    assert b.diagnostics() == a.diagnostics()


def test_multiplier_hyperparameters_pick_a_preset_and_check_ranges():
    spec = get_registry().get("algorithms", "ppo_lag")
    params = build_params(spec, {"multiplier": "pid", "multiplier_settings": {"kp": 0.02, "cost_ema": 0.9}})
    assert multiplier_kwargs(params) == {"multiplier": "pid", "multiplier_settings": {"kp": 0.02, "cost_ema": 0.9}}
    assert multiplier_kwargs(build_params(spec, {})) == {"multiplier": "sgd", "multiplier_settings": {}}
    assert build_params(get_registry().get("algorithms", "pid_lag"), {}).multiplier == "pid"
    assert build_params(get_registry().get("algorithms", "trpo_lag"), {}).multiplier == "sgd"
    with pytest.raises(ParameterError, match=r"'multiplier_settings.ema' of algorithm 'ppo_lag' is 1.0 \(valid: \[0, 1\)\)"):
        build_params(spec, {"multiplier_settings": {"ema": 1.0}})
    with pytest.raises(ParameterError, match=r"'multiplier_settings.lr' .* is -0.1 \(valid: \[0, inf\)\)"):
        build_params(spec, {"multiplier_settings": {"lr": -0.1}})
    with pytest.raises(ParameterError, match="no parameter 'multiplier_settings.kpp'; did you mean 'kp'"):
        build_params(spec, {"multiplier_settings": {"kpp": 0.1}})
